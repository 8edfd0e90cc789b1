// Command flightbench measures lakeflight's query path against its peer in
// one run: a 10-million-row, several-column result streamed through Flight
// SQL to the arrow-go client versus the same query read in-process through
// DuckDB's own Arrow API (duckdb-go), and the round-trip latency of a
// one-row query. It prints a table and rewrites docs/benchmarks.md.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	"github.com/duckdb/duckdb-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lakeflight/lakeflight/bench/chart"
	"github.com/lakeflight/lakeflight/bench/profile"
	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/flightsql"
)

// wideQuery is the throughput query: integers, a double, a string and a date.
const wideQuery = `SELECT i AS id, i * 2 AS twice, i::DOUBLE / 3 AS third,
  (i %% 1000)::VARCHAR AS label, DATE '2020-01-01' + (i %% 3650)::INTEGER AS day
FROM range(%d) t(i)`

func main() {
	rows := flag.Int("rows", 10_000_000, "rows in the throughput query")
	runs := flag.Int("runs", 5, "alternating runs of the two readers (best times, median ratio are reported)")
	pings := flag.Int("pings", 2000, "one-row queries for the latency figures")
	out := flag.String("out", "docs/benchmarks.md", "markdown report to write ('' for none)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.IntVar(&serverBatchRows, "batch-rows", 0, "the server's rows per streamed batch (0: its default)")
	flag.Int64Var(&serverBatchBytes, "max-batch-bytes", 0, "the server's most bytes in one streamed batch (0: its default)")
	flag.IntVar(&serverThreads, "threads", 0, "the server's DuckDB threads (0: its default, the cores)")
	flag.Parse()
	if err := profile.Run(*cpuprofile, func() error {
		return run(context.Background(), *rows, *runs, *pings, *out)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "flightbench:", err)
		os.Exit(1)
	}
}

// The server's streaming settings, as lakeflight serve's flags would set them.
var (
	serverBatchRows  int
	serverBatchBytes int64
	serverThreads    int
)

type result struct {
	name    string
	seconds float64
	cpu     float64 // CPU seconds of the whole process (server and client) while reading
	rows    int64
	bytes   int64
	batches int
}

func (r result) mbps() float64   { return float64(r.bytes) / 1e6 / r.seconds }
func (r result) rowsps() float64 { return float64(r.rows) / r.seconds }

// streamCase is one throughput measurement: the same rows read in-process
// and over Flight SQL.
type streamCase struct {
	name     string
	inproc   string // the query DuckDB runs in-process
	flight   string // the query sent to lakeflight
	inprocRd result // best run of each reader
	flightRd result
	ratio    float64 // median of the pairs' in-process time / Flight time
}

func run(ctx context.Context, rows, runs, pings int, out string) error {
	dir, err := os.MkdirTemp("", "flightbench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	addr, stop, err := startServer(ctx, dir)
	if err != nil {
		return err
	}
	defer stop()

	query := fmt.Sprintf(wideQuery, rows)
	cl, err := afsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		return err
	}
	defer func() { _ = cl.Close() }()
	cl.Alloc = mallocator.NewMallocator() // like the server: decoded batches in C memory
	files, err := createTable(ctx, cl, query)
	if err != nil {
		return fmt.Errorf("creating the table: %w", err)
	}
	cases := []*streamCase{
		{name: "computed result (the query above)", inproc: query, flight: query},
		{name: "table scan (`SELECT * FROM bench.wide`, the same rows as an Iceberg table)",
			inproc: "SELECT * FROM read_parquet(" + sqlList(files) + ")", flight: "SELECT * FROM bench.wide"},
	}
	for _, c := range cases {
		if err := c.measure(ctx, cl, runs); err != nil {
			return err
		}
	}
	lat, err := latencies(ctx, cl, pings)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}

	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	var b strings.Builder
	fmt.Fprintf(&b, "| case | reader | rows | batches | seconds | CPU seconds | rows/s | MB/s |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cases {
		for _, r := range []result{c.inprocRd, c.flightRd} {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %.3f | %.3f | %.1fM | %.0f |\n",
				c.name, r.name, r.rows, r.batches, r.seconds, r.cpu, r.rowsps()/1e6, r.mbps())
		}
	}
	b.WriteString("\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "- %s: **Flight SQL / in-process throughput ratio %.2f** (median of %d alternating pairs; goal ≥ %.2f: %s)\n",
			c.name, c.ratio, runs, goalStreamRatio, metOrNot(c.ratio >= goalStreamRatio))
	}
	fmt.Fprintf(&b, "\nOne-row query round trip over loopback (`SELECT 1`, execute + DoGet, %d runs): "+
		"**p50 %.3f ms, p99 %.3f ms** (goal p50 < 1 ms: %s; p99 < %.0f ms: %s)\n", pings, ms(p50), ms(p99),
		metOrNot(p50 < time.Millisecond), goalPingP99.Seconds()*1000, metOrNot(p99 < goalPingP99))
	fmt.Print(b.String())
	if out == "" {
		return nil
	}
	chart := chart.BarChart(fmt.Sprintf("%dM-row result, MB/s of Arrow data (higher is better)", rows/1_000_000), "MB/s",
		[]string{"computed: DuckDB in-process", "computed: lakeflight Flight SQL", "table: DuckDB in-process read_parquet",
			"table: lakeflight Flight SQL"},
		[]float64{cases[0].inprocRd.mbps(), cases[0].flightRd.mbps(), cases[1].inprocRd.mbps(), cases[1].flightRd.mbps()})
	return writeReport(out, rows, runs, b.String(), chart)
}

// The goals of issue 12.
const (
	goalStreamRatio = 0.95
	goalPingP99     = time.Millisecond
)

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// measure alternates the two readers so that both see the same machine;
// each pair gives a ratio and the median ratio is kept.
func (c *streamCase) measure(ctx context.Context, cl *afsql.Client, runs int) error {
	ratios := make([]float64, 0, runs)
	for i := range runs {
		a, err := readInProcess(ctx, c.inproc)
		if err != nil {
			return fmt.Errorf("%s: in-process DuckDB: %w", c.name, err)
		}
		b, err := readFlight(ctx, cl, c.flight)
		if err != nil {
			return fmt.Errorf("%s: flight sql: %w", c.name, err)
		}
		if b.rows != a.rows {
			return fmt.Errorf("%s: row counts differ: flight %d, in-process %d", c.name, b.rows, a.rows)
		}
		ratios = append(ratios, a.seconds/b.seconds)
		if i == 0 || a.seconds < c.inprocRd.seconds {
			c.inprocRd = a
		}
		if i == 0 || b.seconds < c.flightRd.seconds {
			c.flightRd = b
		}
	}
	slices.Sort(ratios)
	c.ratio = ratios[len(ratios)/2]
	return nil
}

// createTable stores the query's rows as the Iceberg table bench.wide and
// returns the local paths of its data files.
func createTable(ctx context.Context, cl *afsql.Client, query string) ([]string, error) {
	for _, stmt := range []string{"CREATE SCHEMA bench", "CREATE TABLE bench.wide AS " + query} {
		if _, err := cl.ExecuteUpdate(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	info, err := cl.Execute(ctx, "SELECT file_path FROM iceberg_files('bench.wide')")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, err
		}
		for rdr.Next() {
			col := rdr.RecordBatch().Column(0).(*array.String)
			for i := range col.Len() {
				files = append(files, strings.TrimPrefix(col.Value(i), "file://"))
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, errors.New("bench.wide lists no data files")
	}
	return files, nil
}

func sqlList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// loadBefore is the load average when the bench started.
var loadBefore = loadAverage()

// loadAverage is the one-minute load average (0 where /proc has none).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var v float64
	_, _ = fmt.Sscan(string(b), &v)
	return v
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// startServer runs catalog + engine + Flight SQL on a loopback port, as
// `lakeflight serve` wires them.
func startServer(ctx context.Context, dir string) (string, func(), error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat, err := catalog.Open(ctx, catalog.Config{
		Name: "lakehouse", URI: filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse"),
	}, log)
	if err != nil {
		return "", nil, err
	}
	eng, err := engine.Open(ctx, engine.Config{Warehouse: cat.WarehouseDir(), CatalogName: "lakehouse", BatchRows: serverBatchRows, Threads: serverThreads}, cat, log)
	if err != nil {
		_ = cat.Close()
		return "", nil, err
	}
	srv, err := flightsql.New(flightsql.Options{
		Engine: eng, Logger: log, Allocator: mallocator.NewMallocator(), MaxBatchBytes: serverBatchBytes,
	})
	if err != nil {
		_ = eng.Close()
		_ = cat.Close()
		return "", nil, err
	}
	gs := grpc.NewServer(srv.ServerOptions()...)
	srv.Register(gs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = gs.Serve(ln) }()
	return ln.Addr().String(), func() {
		gs.Stop()
		_ = srv.Close()
		_ = eng.Close()
		_ = cat.Close()
	}, nil
}

func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		for _, buf := range col.Data().Buffers() {
			if buf != nil {
				n += int64(buf.Len())
			}
		}
	}
	return n
}

// readInProcess is the peer: duckdb-go's Arrow API on an in-memory DuckDB.
func readInProcess(ctx context.Context, query string) (result, error) {
	res := result{name: "DuckDB in-process Arrow (duckdb-go)"}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return res, err
	}
	db := sql.OpenDB(connector)
	defer func() { _ = db.Close() }()
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer func() { _ = conn.Close() }()
	start, cpu0 := time.Now(), cpuSeconds()
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rdr, err := ar.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rdr.Release()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			res.rows += rec.NumRows()
			res.bytes += recordBytes(rec)
			res.batches++
		}
		return rdr.Err()
	})
	res.seconds, res.cpu = time.Since(start).Seconds(), cpuSeconds()-cpu0
	return res, err
}

func readFlight(ctx context.Context, cl *afsql.Client, query string) (result, error) {
	res := result{name: "lakeflight Flight SQL → arrow-go client"}
	start, cpu0 := time.Now(), cpuSeconds()
	info, err := cl.Execute(ctx, query)
	if err != nil {
		return res, err
	}
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return res, err
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			res.rows += rec.NumRows()
			res.bytes += recordBytes(rec)
			res.batches++
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return res, err
		}
	}
	res.seconds, res.cpu = time.Since(start).Seconds(), cpuSeconds()-cpu0
	return res, nil
}

// cpuSeconds is the user and system CPU time of this process so far: with
// the server in the process, a reader's CPU cost whatever else the machine
// runs.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func latencies(ctx context.Context, cl *afsql.Client, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := range n + n/10 {
		start := time.Now()
		info, err := cl.Execute(ctx, "SELECT 1")
		if err != nil {
			return nil, err
		}
		rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
		if err != nil {
			return nil, err
		}
		for rdr.Next() {
		}
		rdr.Release()
		if i >= n/10 { // the first tenth warms up
			out = append(out, time.Since(start))
		}
	}
	slices.Sort(out)
	return out, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func writeReport(path string, rows, runs int, table, chart string) error {
	host, _ := os.Hostname()
	var b strings.Builder
	b.WriteString("# lakeflight benchmarks\n\n")
	b.WriteString("Written by `make bench` (`go run -tags duckdb_arrow ./bench/flightbench`); re-run it when a hot path changes.\n\n")
	b.WriteString("## Query streaming (Flight SQL) versus in-process DuckDB\n\n")
	fmt.Fprintf(&b, "Method: the query below (%d rows: two BIGINT, one DOUBLE, one VARCHAR, one DATE column) is read to the end "+
		"(a) in-process through duckdb-go's Arrow API on an in-memory DuckDB and (b) from a lakeflight server on loopback "+
		"(catalog, engine and Flight SQL in the same process) by arrow-go's Flight SQL client. The same rows, stored once by "+
		"`CREATE TABLE bench.wide AS` the query (an Iceberg table, lakeflight's Parquet files), are then read the same two ways: "+
		"`SELECT * FROM bench.wide` over Flight SQL against `read_parquet` of the table's data files in-process. "+
		"%d alternating runs a case; times are the best of each reader, "+
		"MB/s counts Arrow buffer bytes received; CPU seconds are the whole process's (server, client and DuckDB's threads) "+
		"while the reader ran, a figure other work on the machine barely moves; the ratio (in-process time / Flight time) "+
		"is the median over the pairs.\n\n", rows, runs)
	fmt.Fprintf(&b, "```sql\n%s\n```\n\n", fmt.Sprintf(wideQuery, rows))
	fmt.Fprintf(&b, "Machine: %s, %d cores (GOMAXPROCS %d), %s, %s/%s, measured %s; load average (1 min) %.2f before, %.2f after.\n\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"),
		loadBefore, loadAverage())
	b.WriteString(table)
	svg := strings.TrimSuffix(path, filepath.Ext(path)) + "-stream.svg"
	fmt.Fprintf(&b, "\n![throughput chart](%s)\n", filepath.Base(svg))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(svg, []byte(chart), 0o644); err != nil {
		return err
	}
	// Sections other tools measure follow keptMarker; a re-run keeps them.
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if i := bytes.Index(old, []byte(keptMarker)); i >= 0 {
		b.WriteString("\n")
		b.Write(old[i:])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// keptMarker starts the part of the report that flightbench does not write.
const keptMarker = "<!-- flightbench keeps what follows -->"
