#!/usr/bin/env bash
# Partition pruning (issue 13): a one-day query on a 100-day table, partitioned and not, and DuckDB's
# iceberg extension on the partitioned one. Uses the TPC-H bench's pinned virtualenv (DuckDB 1.5.5
# with its iceberg and avro extension wheels, ADBC). The binary is not built here (make bench builds
# it). Arguments go to main.py (--rows, --runs, --bin, --out); the arrow-go side that follows takes its
# own flags (go run ./bench/partitions/goclient -h) and appends to docs/benchmarks-partitions.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# shellcheck source=../venv.sh
source "$here/../venv.sh"

bench_venv "$repo/bench/tpch/.venv" "$repo/bench/tpch/requirements.txt"
cd "$repo"
"$repo/bench/tpch/.venv/bin/python" "$here/main.py" "$@"
# The same queries through arrow-go's client (its round trip is far shorter than the Python driver's),
# appended to the report.
go run -tags duckdb_arrow ./bench/partitions/goclient
