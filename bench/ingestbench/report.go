package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/bench/chart"
)

// sectionReport renders one section: the table, then each target met or not.
func sectionReport(s section, results []result, note string) string {
	ing := results[0]
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s\n\n", s.title)
	fmt.Fprintf(&b, "| tool | seconds | MB/s | rows/s | ingest speed ÷ tool speed |\n|---|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %.3f | %.0f | %.2fM | %.2f× |\n", r.name, r.seconds, r.mbps(), r.rowsps()/1e6, r.seconds/ing.seconds)
	}
	b.WriteString("\n")
	for _, t := range s.targets {
		b.WriteString(targetLine(t, results))
	}
	if note != "" {
		fmt.Fprintf(&b, "\n%s\n", note)
	}
	return b.String()
}

// targetLine checks ingest (results[0]) against t.
func targetLine(t target, results []result) string {
	ing := results[0]
	var goal, got string
	var met bool
	switch {
	case t.vs != "":
		for _, r := range results {
			if r.name == t.vs {
				ratio := r.seconds / ing.seconds
				goal = fmt.Sprintf("≥ %.1f× %s", t.want, t.vs)
				got, met = fmt.Sprintf("%.2f×", ratio), ratio >= t.want
			}
		}
		if goal == "" {
			return fmt.Sprintf("- target against %q: no such tool in this section\n", t.vs)
		}
	case t.unit == "rows/s":
		goal = fmt.Sprintf("≥ %.1fM rows/s", t.want/1e6)
		got, met = fmt.Sprintf("%.2fM rows/s", ing.rowsps()/1e6), ing.rowsps() >= t.want
	default:
		goal = fmt.Sprintf("≥ %.0f MB/s", t.want)
		got, met = fmt.Sprintf("%.0f MB/s", ing.mbps()), ing.mbps() >= t.want
	}
	verdict := "**not met**"
	if met {
		verdict = "met"
	}
	return fmt.Sprintf("- target %s: %s (measured %s)\n", goal, verdict, got)
}

// goalLine is one end-to-end goal, met or not.
func goalLine(goal string, met bool, got string) string {
	verdict := "**not met**"
	if met {
		verdict = "met"
	}
	return fmt.Sprintf("- target %s: %s (measured %s)\n", goal, verdict, got)
}

// chartOf draws a section's tools: MB/s of input, rows/s for Parquet.
func chartOf(s section, results []result) string {
	labels := make([]string, len(results))
	values := make([]float64, len(results))
	for i, r := range results {
		labels[i] = r.name
		values[i] = r.mbps()
		if s.format == "parquet" {
			values[i] = r.rowsps() / 1e6
		}
	}
	if s.format == "parquet" {
		return chart.BarChart(s.title+", million rows/s (higher is better)", "M rows/s", labels, values)
	}
	return chart.BarChart(s.title+", MB/s of input (higher is better)", "MB/s", labels, values)
}

func writeReport(cfg config, load, sections string, charts map[string]string) error {
	host, _ := os.Hostname()
	var b strings.Builder
	b.WriteString("# lakeflight ingest benchmarks\n\n")
	b.WriteString("Written by `make bench` (`go run -tags duckdb_arrow ./bench/ingestbench`); re-run it when a parser changes.\n\n")
	fmt.Fprintf(&b, "Method: `bench/ingestdata` generates %d rows of ten columns (int64 id, float64 price, name, a quoted note with commas "+
		"and, on one row in 16, embedded quotes, bool, date, timestamp, int64 category, float64 ratio, code) as CSV with a header, "+
		"as newline-delimited JSON with the same values, and as a zstd Parquet file. Each tool reads the same file in this process, "+
		"on the same cores (DuckDB with `threads` = GOMAXPROCS); the tools' runs alternate, %d runs each, and every figure is the median run. "+
		"MB/s is the input file's size over the time. lakeflight is `ingest.OpenFile` drained, inferring the schema (only the format is given); "+
		"DuckDB is `CREATE TABLE t AS SELECT * FROM read_…('file')` in an in-memory database (sniffing included); "+
		"the arrow-go readers are given the schema and run on one goroutine. "+
		"The ratio column is how many times faster ingest is than the tool.\n\n", cfg.rows, cfg.runs)
	fmt.Fprintf(&b, "Machine: %s, %d cores (GOMAXPROCS %d), %s, %s/%s, measured %s.\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	b.WriteString(load)
	b.WriteString(sections)
	base := strings.TrimSuffix(cfg.out, filepath.Ext(cfg.out))
	for _, key := range []string{"csv", "ndjson", "parquet"} {
		if _, ok := charts[key]; ok {
			fmt.Fprintf(&b, "\n![%s chart](%s)\n", key, filepath.Base(base+"-"+key+".svg"))
		}
	}
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return err
	}
	for key, chart := range charts {
		if err := os.WriteFile(base+"-"+key+".svg", []byte(chart), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(cfg.out, []byte(b.String()), 0o644)
}
