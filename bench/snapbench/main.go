// Command snapbench measures what snapshots cost lakeflight, in process
// (catalog + engine, no Flight): a query at an old snapshot against the same
// query at the current one (time travel), resolving and planning a snapshot
// of a 10,000-file table, and a MERGE of 100K changed rows into a 10M-row
// table with its phases. It prints a table with each figure, its target and
// whether it was met, and rewrites docs/benchmarks-snapshots.md. A missed
// target is reported, not an error; the exit status is non-zero only when
// something fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/bench/profile"
	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
)

type config struct {
	ttRows     int // rows of each snapshot of the time-travel table
	files      int // data files of the planning table
	mergeRows  int // rows of the MERGE target
	mergeDelta int // rows the MERGE changes
	hourly     int // appends of the metadata table
	hourlyRows int // rows each
	runs       int
	dir, out   string
	only       string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.ttRows, "tt-rows", 1_000_000, "rows in each of the two snapshots of the time-travel table")
	flag.IntVar(&cfg.files, "files", 10_000, "data files of the planning table")
	flag.IntVar(&cfg.mergeRows, "merge-rows", 10_000_000, "rows of the MERGE target table")
	flag.IntVar(&cfg.mergeDelta, "merge-changes", 100_000, "rows the MERGE changes (9 in 10 updated, 1 in 10 inserted)")
	flag.IntVar(&cfg.runs, "runs", 11, "alternating runs of each time-travel query and of each planning measurement; medians are reported")
	flag.StringVar(&cfg.dir, "dir", "", "data directory (default: a temporary one, removed at the end)")
	flag.StringVar(&cfg.out, "out", "docs/benchmarks-snapshots.md", "markdown report to write ('' for none)")
	flag.IntVar(&cfg.hourly, "hourly", 1000, "hourly appends of the metadata table")
	flag.IntVar(&cfg.hourlyRows, "hourly-rows", 3600, "rows of each hourly append")
	flag.StringVar(&cfg.only, "only", "travel,plan,merge,meta", "comma-separated sections to run")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if err := profile.Run(*cpuprofile, func() error { return run(context.Background(), cfg) }); err != nil {
		fmt.Fprintln(os.Stderr, "snapbench:", err)
		os.Exit(1)
	}
}

// bench is the catalog and engine the sections share.
type bench struct {
	cfg     config
	catCfg  catalog.Config
	cat     *catalog.Catalog
	eng     *engine.Engine
	sess    *engine.Session
	mem     memory.Allocator
	results []figure

	notes []string // observations drawn from this run's figures
}

func run(ctx context.Context, cfg config) error {
	dir := cfg.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "snapbench-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		dir = tmp
	}
	b := &bench{cfg: cfg, mem: memory.DefaultAllocator, catCfg: catalog.Config{
		Name: catalog.DefaultName, URI: filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse"),
	}}
	var err error
	if b.cat, err = catalog.Open(ctx, b.catCfg, quiet()); err != nil {
		return err
	}
	defer func() { _ = b.cat.Close() }()
	if err := b.cat.EnsureNamespace(ctx, "silver"); err != nil {
		return err
	}
	if b.eng, err = engine.Open(ctx, engine.Config{Warehouse: b.cat.WarehouseDir(), CatalogName: catalog.DefaultName}, b.cat, quiet()); err != nil {
		return err
	}
	defer func() { _ = b.eng.Close() }()
	if b.sess, err = b.eng.NewSession(ctx); err != nil {
		return err
	}
	defer func() { _ = b.sess.Close() }()

	start := time.Now()
	sections := []struct {
		name string
		run  func(context.Context) error
	}{
		{"travel", b.timeTravel},
		{"plan", b.planning},
		{"merge", b.merge},
		{"meta", b.metadataShare},
	}
	for _, s := range sections {
		if !slices.Contains(strings.Split(cfg.only, ","), s.name) {
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "snapbench: %s…\n", s.name)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "snapbench: %s took %.1f s\n", s.name, time.Since(t0).Seconds())
	}
	fmt.Print(b.table())
	fmt.Fprintf(os.Stderr, "snapbench: %.0f s in all\n", time.Since(start).Seconds())
	if cfg.out == "" {
		return nil
	}
	return b.writeReport(cfg.out)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// query prepares and runs sql on the bench's session and reads the result
// to the end, as a client does; it returns the rows and the first row's
// first column (as text).
func (b *bench) query(ctx context.Context, sql string) (int64, string, error) {
	st, err := b.sess.Prepare(ctx, sql)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = st.Close() }()
	rdr, err := st.Query(ctx, nil, b.mem)
	if err != nil {
		return 0, "", err
	}
	defer rdr.Release()
	var rows int64
	first := ""
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rows == 0 && rec.NumRows() > 0 && rec.NumCols() > 0 {
			first = rec.Column(0).ValueStr(0)
		}
		rows += rec.NumRows()
	}
	return rows, first, rdr.Err()
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchSchema is the tables' schema: a key, a small int, a double, a
// string of 1000 distinct values and a timestamp.
var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
}, nil)
