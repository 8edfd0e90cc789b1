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
	"time"

	"github.com/apache/arrow-go/v18/arrow"
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
	flag.Parse()
	if err := profile.Run(*cpuprofile, func() error {
		return run(context.Background(), *rows, *runs, *pings, *out)
	}); err != nil {
		fmt.Fprintln(os.Stderr, "flightbench:", err)
		os.Exit(1)
	}
}

type result struct {
	name    string
	seconds float64
	rows    int64
	bytes   int64
	batches int
}

func (r result) mbps() float64   { return float64(r.bytes) / 1e6 / r.seconds }
func (r result) rowsps() float64 { return float64(r.rows) / r.seconds }

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
	// Runs alternate between the two readers so that both see the same
	// machine; each pair gives a ratio and the median ratio is reported.
	var inproc, flight result
	ratios := make([]float64, 0, runs)
	for i := range runs {
		a, err := readInProcess(ctx, query)
		if err != nil {
			return fmt.Errorf("in-process DuckDB: %w", err)
		}
		b, err := readFlight(ctx, cl, query)
		if err != nil {
			return fmt.Errorf("flight sql: %w", err)
		}
		if b.rows != a.rows {
			return fmt.Errorf("row counts differ: flight %d, in-process %d", b.rows, a.rows)
		}
		ratios = append(ratios, a.seconds/b.seconds)
		if i == 0 || a.seconds < inproc.seconds {
			inproc = a
		}
		if i == 0 || b.seconds < flight.seconds {
			flight = b
		}
	}
	slices.Sort(ratios)
	lat, err := latencies(ctx, cl, pings)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}

	ratio := ratios[len(ratios)/2]
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	var b strings.Builder
	fmt.Fprintf(&b, "| measurement | rows | batches | seconds | rows/s | MB/s |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range []result{inproc, flight} {
		fmt.Fprintf(&b, "| %s | %d | %d | %.3f | %.1fM | %.0f |\n", r.name, r.rows, r.batches, r.seconds, r.rowsps()/1e6, r.mbps())
	}
	fmt.Fprintf(&b, "\n**Flight SQL / in-process throughput ratio (median of %d alternating pairs): %.2f** (goal ≥ 0.8)\n\n", runs, ratio)
	fmt.Fprintf(&b, "One-row query round trip over loopback (`SELECT 1`, execute + DoGet, %d runs): "+
		"**p50 %.3f ms, p99 %.3f ms** (goal p50 < 1 ms, p99 < 3 ms)\n", pings, ms(p50), ms(p99))
	fmt.Print(b.String())
	if out == "" {
		return nil
	}
	chart := chart.BarChart("10M-row result, MB/s of Arrow data (higher is better)", "MB/s",
		[]string{"DuckDB in-process (duckdb-go Arrow)", "lakeflight over Flight SQL"},
		[]float64{inproc.mbps(), flight.mbps()})
	return writeReport(out, rows, runs, b.String(), chart)
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
	eng, err := engine.Open(ctx, engine.Config{Warehouse: cat.WarehouseDir(), CatalogName: "lakehouse"}, cat, log)
	if err != nil {
		_ = cat.Close()
		return "", nil, err
	}
	srv, err := flightsql.New(flightsql.Options{Engine: eng, Logger: log, Allocator: mallocator.NewMallocator()})
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
	start := time.Now()
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
	res.seconds = time.Since(start).Seconds()
	return res, err
}

func readFlight(ctx context.Context, cl *afsql.Client, query string) (result, error) {
	res := result{name: "lakeflight Flight SQL → arrow-go client"}
	start := time.Now()
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
	res.seconds = time.Since(start).Seconds()
	return res, nil
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
		"(catalog, engine and Flight SQL in the same process) by arrow-go's Flight SQL client. %d alternating runs; times are the best of each reader, "+
		"MB/s counts Arrow buffer bytes received; the ratio (in-process time / Flight time) is the median over the pairs.\n\n", rows, runs)
	fmt.Fprintf(&b, "```sql\n%s\n```\n\n", fmt.Sprintf(wideQuery, rows))
	fmt.Fprintf(&b, "Machine: %s, %d cores (GOMAXPROCS %d), %s, %s/%s, measured %s.\n\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
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
