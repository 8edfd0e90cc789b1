// Command ingestbench measures lakeflight's ingest parsers against their
// peers in one process, on the same files and cores: CSV, newline-delimited
// JSON and Parquet read into Arrow by ingest.OpenFile, parsed into a table by
// in-process DuckDB (duckdb-go), and read by arrow-go's own readers. It
// generates the inputs (bench/ingestdata), alternates the tools' runs,
// reports medians and ratios against the targets, and rewrites
// docs/benchmarks-ingest.md. With -e2e it also times `lakeflight ingest`
// into a server (see endToEnd). A missed target is reported, not an error;
// the exit status is non-zero only when something fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/bench/ingestdata"
	"github.com/lakeflight/lakeflight/bench/profile"
	"github.com/lakeflight/lakeflight/ingest"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.rows, "rows", 1_000_000, "rows in the generated files (~110 bytes a row as CSV)")
	flag.IntVar(&cfg.runs, "runs", 3, "alternating runs of every tool; medians are reported")
	flag.StringVar(&cfg.dir, "dir", "", "directory for the generated files (default: a temporary one, removed at the end)")
	flag.StringVar(&cfg.only, "only", "csv,ndjson,parquet", "comma-separated sections to run")
	flag.StringVar(&cfg.out, "out", "docs/benchmarks-ingest.md", "markdown report to write ('' for none)")
	flag.BoolVar(&cfg.e2e, "e2e", false, "also run the end-to-end section: `lakeflight ingest` into a server")
	flag.StringVar(&cfg.e2eCfg.bin, "bin", "bin/lakeflight", "lakeflight binary for the end-to-end section")
	flag.StringVar(&cfg.e2eCfg.addr, "server", "", "Flight SQL address of a running server for the end-to-end section ('' starts one from -bin)")
	flag.Float64Var(&cfg.e2eCfg.bigGB, "e2e-gb", 1, "size in GB of the end-to-end sustained-throughput CSV")
	flag.IntVar(&cfg.e2eCfg.smallRun, "e2e-runs", 20, "timed ingests of the end-to-end 10 MB CSV")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if err := profile.Run(*cpuprofile, func() error { return run(context.Background(), cfg) }); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

type config struct {
	rows, runs     int
	dir, only, out string
	e2e            bool
	e2eCfg         e2eConfig
}

// A tool is one contender of a section.
type tool struct {
	name string
	read reader
}

// A target is a goal for ingest: want× the speed of the tool named vs, or,
// when vs is "", an absolute MB/s or rows/s.
type target struct {
	vs   string
	want float64
	unit string // "MB/s" or "rows/s" for absolute targets
}

// A section is one input format: its file, the tools (ingest first) and
// ingest's targets.
type section struct {
	key, title string
	path       string
	format     ingest.Format
	tools      []tool
	targets    []target
	note       string // method notes for the report
}

// result is one tool's measurement: the median of its runs.
type result struct {
	name    string
	rows    int64
	bytes   int64 // the input file's size
	seconds float64
	runs    []float64
}

func (r result) mbps() float64   { return float64(r.bytes) / 1e6 / r.seconds }
func (r result) rowsps() float64 { return float64(r.rows) / r.seconds }

func run(ctx context.Context, cfg config) error {
	if cfg.runs < 1 || cfg.rows < 1 {
		return fmt.Errorf("-rows and -runs must be positive")
	}
	dir := cfg.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ingestbench-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	loadBefore := loadAverage()
	start := time.Now()
	files, err := ingestdata.Generate(dir, cfg.rows)
	if err != nil {
		return fmt.Errorf("generating inputs: %w", err)
	}
	sizes, err := fileSizes(files)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d rows in %.1fs: CSV %.1f MB, NDJSON %.1f MB, Parquet %.1f MB\n",
		cfg.rows, time.Since(start).Seconds(), mb(sizes.CSV), mb(sizes.NDJSON), mb(sizes.Parquet))

	duck, err := openDuck(ctx)
	if err != nil {
		return fmt.Errorf("opening DuckDB: %w", err)
	}
	defer func() { _ = duck.Close() }()

	all := []section{
		{
			key: "csv", title: "CSV → Arrow", path: files.CSV, format: ingest.FormatCSV,
			tools: []tool{
				{"lakeflight ingest", readIngest(ingest.FormatCSV)},
				{"DuckDB read_csv → table", duck.table("read_csv", "")},
				{"arrow-go arrow/csv (schema given, 1 goroutine)", readArrowCSV},
			},
			targets: []target{{vs: "DuckDB read_csv → table", want: 3}, {vs: "arrow-go arrow/csv (schema given, 1 goroutine)", want: 5}, {want: 500, unit: "MB/s"}},
		},
		{
			key: "ndjson", title: "NDJSON → Arrow", path: files.NDJSON, format: ingest.FormatJSON,
			tools: []tool{
				{"lakeflight ingest", readIngest(ingest.FormatJSON)},
				{"DuckDB read_json → table", duck.table("read_json", ", format = 'newline_delimited'")},
				{"arrow-go NewJSONReader (schema given, 1 goroutine)", readArrowJSON},
			},
			targets: []target{{vs: "DuckDB read_json → table", want: 1.5}, {vs: "arrow-go NewJSONReader (schema given, 1 goroutine)", want: 6}},
			note: fmt.Sprintf("arrow-go's JSON reader is fed %d-line blocks, a new reader each: on one long stream its decoder "+
				"(goccy/go-json) moves its whole buffer at every escaped character, so the note column's escaped quotes make it quadratic "+
				"(200k rows took 45 s; goccy/go-json#535, apache/arrow-go#448). The blocks give it its best linear speed.", jsonBlockLines),
		},
		{
			key: "parquet", title: "Parquet → Arrow", path: files.Parquet, format: ingest.FormatParquet,
			tools: []tool{
				{"lakeflight ingest", readIngest(ingest.FormatParquet)},
				{"DuckDB read_parquet → table", duck.table("read_parquet", "")},
				{"arrow-go pqarrow (parallel columns)", readPqarrow},
			},
			targets: []target{{want: 5e6, unit: "rows/s"}},
		},
	}
	want := strings.Split(cfg.only, ",")
	var report strings.Builder
	charts := map[string]string{}
	parseMBps := 0.0 // ingest's CSV parse-only speed, for the end-to-end goal
	for _, s := range all {
		if !slices.Contains(want, s.key) {
			continue
		}
		fmt.Printf("\n%s (%s, %d runs)\n", s.title, s.path, cfg.runs)
		results, err := measure(ctx, s, int64(cfg.rows), cfg.runs)
		if err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
		if s.key == "csv" {
			parseMBps = results[0].mbps()
		}
		note := strings.TrimSpace(s.note + "\n\n" + schemaNote(ctx, s))
		text := sectionReport(s, results, note)
		fmt.Print(text)
		report.WriteString(text)
		charts[s.key] = chartOf(s, results)
	}
	sizeLine := fmt.Sprintf("\nFile sizes for the same %d rows: CSV %.1f MB, NDJSON %.1f MB, Parquet (zstd level 1) %.1f MB — "+
		"**Parquet is %.2f× the CSV's size** (%.1f%%).\n", cfg.rows, mb(sizes.CSV), mb(sizes.NDJSON), mb(sizes.Parquet),
		float64(sizes.Parquet)/float64(sizes.CSV), 100*float64(sizes.Parquet)/float64(sizes.CSV))
	fmt.Print(sizeLine)
	report.WriteString(sizeLine)

	if cfg.e2e {
		ref, err := duck.parquetRef(ctx, files.CSV, dir)
		if err != nil {
			return fmt.Errorf("DuckDB's Parquet of the CSV: %w", err)
		}
		text, err := endToEnd(ctx, cfg.e2eCfg, dir, parseMBps, ref)
		if err != nil {
			return fmt.Errorf("end to end: %w", err)
		}
		fmt.Print(text)
		report.WriteString(text)
	}
	load := fmt.Sprintf("Load average (1 min): %s at the start, %s at the end.\n", loadBefore, loadAverage())
	fmt.Print(load)
	if cfg.out == "" {
		return nil
	}
	return writeReport(cfg, load, report.String(), charts)
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// loadAverage is the one-minute load average, "?" where /proc has none:
// on a shared machine it says how much the other figures can be trusted.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// fileSize holds the sizes of the generated files.
type fileSize struct{ CSV, NDJSON, Parquet int64 }

func fileSizes(f ingestdata.Files) (fileSize, error) {
	var s fileSize
	for _, p := range []struct {
		path string
		n    *int64
	}{{f.CSV, &s.CSV}, {f.NDJSON, &s.NDJSON}, {f.Parquet, &s.Parquet}} {
		fi, err := os.Stat(p.path)
		if err != nil {
			return s, err
		}
		*p.n = fi.Size()
	}
	return s, nil
}

// measure runs every tool of s runs times, alternating: each round starts
// with a different tool so that none always runs first (or right after the
// heaviest). Every tool must read every row.
func measure(ctx context.Context, s section, rows int64, runs int) ([]result, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return nil, err
	}
	results := make([]result, len(s.tools))
	for i, t := range s.tools {
		results[i] = result{name: t.name, bytes: fi.Size()}
	}
	for round := range runs {
		for k := range s.tools {
			i := (k + round) % len(s.tools)
			runtime.GC()
			start := time.Now()
			n, err := s.tools[i].read(ctx, s.path)
			secs := time.Since(start).Seconds()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.tools[i].name, err)
			}
			if n != rows {
				return nil, fmt.Errorf("%s read %d rows; the file has %d", s.tools[i].name, n, rows)
			}
			results[i].rows = n
			results[i].runs = append(results[i].runs, secs)
			fmt.Printf("  run %d  %-52s %7.3fs %8.0f MB/s\n", round+1, s.tools[i].name, secs, mb(fi.Size())/secs)
		}
	}
	for i := range results {
		sorted := slices.Sorted(slices.Values(results[i].runs))
		results[i].seconds = sorted[len(sorted)/2]
	}
	return results, nil
}

// schemaNote says whether ingest inferred the generated schema.
func schemaNote(ctx context.Context, s section) string {
	if s.format == ingest.FormatParquet {
		return ""
	}
	got, err := ingestSchema(ctx, s.path, s.format)
	if err != nil {
		return fmt.Sprintf("Schema inference failed: %v.", err)
	}
	var diffs []string
	want := ingestdata.Schema()
	for i, w := range want.Fields() {
		if i >= got.NumFields() {
			diffs = append(diffs, fmt.Sprintf("%s missing", w.Name))
			continue
		}
		if g := got.Field(i); g.Name != w.Name || g.Type.String() != w.Type.String() {
			diffs = append(diffs, fmt.Sprintf("%s %s (generated as %s %s)", g.Name, g.Type, w.Name, w.Type))
		}
	}
	if got.NumFields() > want.NumFields() {
		diffs = append(diffs, fmt.Sprintf("%d extra columns", got.NumFields()-want.NumFields()))
	}
	if len(diffs) == 0 {
		return "ingest inferred the generated schema exactly (int64, float64, string, bool, date32, timestamp[us])."
	}
	return "ingest inferred a different schema: " + strings.Join(diffs, "; ") + "."
}
