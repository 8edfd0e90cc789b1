# lakeflight build, run, test, bench. Every Go command carries the duckdb_arrow tag.
GO        ?= go
TAGS      := duckdb_arrow
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN       := bin/lakeflight
GOLANGCI  := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: all build run setup s3server amtool restcatalog hivemetastore demo test test-go test-postgres test-s3 test-rest test-hive test-e2e test-airflow lint bench bench-tpch bench-load bench-pgwire tidy-check clean

all: build

build:
	$(GO) build -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lakeflight

## run: start the server with embedded defaults (./lakeflight-data, Flight SQL :31337, HTTP :8080)
run: build
	./$(BIN) serve

## setup: the Python environment (e2e/.venv: test clients, dbt, the lakeflight dbt adapter) from pinned files
setup:
	bash e2e/setup.sh

## demo: the five-minute tour: start the server, load the demo shop, build silver and gold with dbt, query
demo: build setup
	bash scripts/demo.sh

## test: every test: Go (race detector on), the catalog and engine suites again on PostgreSQL, on an Iceberg REST catalog and on a Hive Metastore, and the Python ADBC + JDBC end-to-end suites
test: setup test-go test-postgres test-s3 test-rest test-hive test-e2e test-airflow

## s3server: versitygw, the S3-compatible server the object-store tests start (internal/s3test), when missing
s3server:
	@command -v versitygw >/dev/null || test -x "$$($(GO) env GOPATH)/bin/versitygw" || \
		{ echo "installing versitygw (go install, a few minutes once)"; $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0; }

## amtool: Alertmanager's config checker, the version compose runs (Debian's is older), for deploy/prometheus's tests
amtool:
	@test -x "$$($(GO) env GOPATH)/bin/amtool" || \
		{ echo "installing amtool (go install, about 30 s once)"; $(GO) install github.com/prometheus/alertmanager/cmd/amtool@v0.28.1; }

## restcatalog: Apache Iceberg's Java REST catalog server (jars from Maven Central, in ~/.cache/lakeflight), the external catalog of internal/resttest
restcatalog:
	bash internal/resttest/fixture/build.sh

## hivemetastore: Apache Hive's standalone metastore 4.0.0 (jars from Maven Central, in ~/.cache/lakeflight), the Hive catalog of internal/hmstest
hivemetastore:
	bash internal/hmstest/fixture/build.sh

test-go: s3server amtool restcatalog hivemetastore
	$(GO) test -tags $(TAGS) -race -count=1 -timeout 20m ./...

## test-postgres: the catalog and engine suites with their catalogs in PostgreSQL (Debian's server, in a private cluster the suites start)
test-postgres:
	LAKEFLIGHT_TEST_CATALOG=postgres $(GO) test -tags $(TAGS) -race -count=1 -timeout 20m ./catalog/ ./engine/

## test-s3: the engine suite on a PostgreSQL catalog with every Iceberg test's warehouse in a bucket of versitygw (read through the object cache); tests that handle the warehouse's files on local disk are skipped, saying why
test-s3: s3server
	LAKEFLIGHT_TEST_CATALOG=postgres LAKEFLIGHT_TEST_WAREHOUSE=s3 $(GO) test -tags $(TAGS) -race -count=1 -timeout 20m ./engine/

## test-rest: the catalog and engine suites with their catalog an external Iceberg REST catalog (Apache Iceberg's Java server)
test-rest: s3server restcatalog
	LAKEFLIGHT_TEST_CATALOG=rest $(GO) test -tags $(TAGS) -race -count=1 -timeout 20m ./catalog/ ./engine/

## test-hive: the catalog and engine suites with their catalog a Hive Metastore (Apache Hive's, on a private PostgreSQL); its S3 and view tests are skipped, saying why
test-hive: hivemetastore
	LAKEFLIGHT_TEST_CATALOG=hive $(GO) test -tags $(TAGS) -race -count=1 -timeout 20m ./catalog/ ./engine/

test-e2e: build restcatalog hivemetastore
	LAKEFLIGHT_BIN=$(CURDIR)/$(BIN) bash e2e/run.sh

## test-airflow: the Airflow DAGs (dags/) in their own virtualenv (e2e/airflow/.venv, Airflow 3 pinned in dags/): DagBag checks, then `airflow dags test` of ingest, transform, quality and maintenance against a real server
test-airflow: build setup
	LAKEFLIGHT_BIN=$(CURDIR)/$(BIN) bash e2e/airflow/run.sh

lint: setup
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet -tags $(TAGS) ./...
	$(GO) run $(GOLANGCI) run ./...
	e2e/.venv/bin/ruff check --config e2e/ruff.toml e2e bench/dbtbench bench/tpch bench/pgwire bench/partitions bench/lakeflight_proc.py dbt/adapter dags e2e/airflow

tidy-check:
	$(GO) mod tidy -diff

## bench: throughput and latency figures with ratios against in-process DuckDB and arrow-go
## (TPC-H is apart, in bench-tpch: it takes a few minutes at SF 1)
bench: build s3server restcatalog
	$(GO) run -tags $(TAGS) ./bench/flightbench
	# an s3:// warehouse on versitygw: SQL writes into the bucket against a local warehouse, a scan with a cold and a warm cache
	$(GO) run -tags $(TAGS) ./bench/s3bench
	$(GO) run -tags $(TAGS) ./bench/ingestbench -e2e -bin $(BIN)
	$(GO) run -tags $(TAGS) ./bench/snapbench
	# (catalog: BenchmarkCatalogCalls sets SQLite's catalog calls against Apache Iceberg's Java REST catalog on loopback)
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem -benchtime 3x ./engine/ ./flightsql/ ./catalog/
	# parser throughput with the UTF-8 and stream checks on, and their own cost
	$(GO) test -tags $(TAGS) -run '^$$' -bench 'CSV$$|NDJSON$$|FixBatchUTF8|Decompress' -benchmem -benchtime 3x ./ingest/
	# POST /transform's response time (goal: p50 under 10 ms)
	$(GO) test -tags $(TAGS) -run '^$$' -bench TransformPOST -benchtime 500x ./cmd/lakeflight/
	# one walk of 200 tables' metadata for the per-table gauges of /metrics (at most one a minute)
	$(GO) test -tags $(TAGS) -run '^$$' -bench TableStatsWalk -benchtime 20x ./cmd/lakeflight/
	# lakeflight query's CSV and JSON output, formatting alone (end to end: docs/benchmarks.md, CLI output)
	$(GO) test -tags $(TAGS) -run '^$$' -bench 'Write(CSV|JSON)$$' -benchmem ./cmd/lakeflight/
	# dbt build of the demo shop (~1M bronze rows), first and incremental, against dbt-duckdb on a DuckDB file
	bash bench/dbtbench/run.sh
	# 10M rows read from lakeflight (ADBC) against PostgreSQL's clients (ADBC, COPY binary, a cursor)
	bash bench/pgwire/run.sh
	# a one-day query on 10M rows over 100 days, partitioned by day and not, and DuckDB's iceberg_scan
	bash bench/partitions/run.sh
	$(MAKE) --no-print-directory bench-load

## bench-pgwire: 10M rows over Flight SQL against PostgreSQL's wire protocol; docs/benchmarks-pgwire.md
bench-pgwire: build
	bash bench/pgwire/run.sh

## bench-tpch: the 22 TPC-H queries (SF 1) over Flight SQL against in-process DuckDB; docs/benchmarks-tpch.md
bench-tpch: build
	bash bench/tpch/run.sh

## bench-load: 1 to 64 concurrent clients (one-row lookups, TPC-H queries, an ingest stream) against
## one server, about 4 minutes; docs/benchmarks-load.md. TPC-H SF 1 files are made once in .cache/
bench-load: build
	bash bench/loadbench/tpchdata.sh .cache/tpch-sf1 1
	$(GO) run -tags $(TAGS) ./bench/loadbench -bin $(BIN) -tpch .cache/tpch-sf1

clean:
	rm -rf bin
