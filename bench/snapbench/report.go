package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/bench/chart"
)

// The report's sections, in order.
const (
	secTravel = "travel"
	secPlan   = "plan"
	secMerge  = "merge"
	secMeta   = "meta"
)

var sectionOrder = []string{secTravel, secPlan, secMerge, secMeta}

var chartTitles = map[string]string{
	secTravel: "Time travel: old vs current snapshot, ms (lower is better)",
	secPlan:   "Binding a snapshot of the many-file table, ms",
	secMerge:  "MERGE and its phases, ms",
	secMeta:   "Metadata bytes as a share of data bytes, % (lower is better)",
}

// title is a section's heading.
func (c config) title(sec string) string {
	switch sec {
	case secTravel:
		return fmt.Sprintf("Time travel: a query at an old snapshot versus the current one (%s rows each)", count(c.ttRows))
	case secPlan:
		return fmt.Sprintf("Resolving and planning a snapshot of a %s-file table", count(c.files))
	case secMeta:
		return fmt.Sprintf("Metadata after %s hourly appends of %s rows", count(c.hourly), count(c.hourlyRows))
	}
	return fmt.Sprintf("MERGE of %s changed rows into a %s-row table", count(c.mergeDelta), count(c.mergeRows))
}

// count renders n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// figure is one line of the results table.
type figure struct {
	section string
	name    string
	value   string
	target  string // "—" when there is none
	met     string // "met", "NOT MET" or ""
	chart   []bar  // bars this figure adds to its section's chart
}

type bar struct {
	label string
	ms    float64
}

func (b *bench) add(f figure) {
	b.results = append(b.results, f)
	fmt.Fprintf(os.Stderr, "  %s: %s\n", f.name, f.value)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// table renders the results as one markdown table per section.
func (b *bench) table() string {
	var s strings.Builder
	for _, sec := range sectionOrder {
		fmt.Fprintf(&s, "\n### %s\n\n| measurement | figure | target | |\n|---|---:|---|---|\n", b.cfg.title(sec))
		for _, f := range b.results {
			if f.section == sec {
				fmt.Fprintf(&s, "| %s | %s | %s | %s |\n", f.name, f.value, f.target, f.met)
			}
		}
	}
	return s.String()
}

// charts draws one bar chart per section that has bars.
func (b *bench) charts() map[string]string {
	out := map[string]string{}
	for _, sec := range sectionOrder {
		var labels []string
		var values []float64
		for _, f := range b.results {
			if f.section != sec {
				continue
			}
			for _, br := range f.chart {
				labels = append(labels, br.label)
				values = append(values, br.ms)
			}
		}
		if len(values) > 0 {
			out[sec] = chart.BarChart(chartTitles[sec], "ms", labels, values)
		}
	}
	return out
}

func (b *bench) writeReport(path string) error {
	host, _ := os.Hostname()
	cfg := b.cfg
	var s strings.Builder
	s.WriteString("# lakeflight snapshot benchmarks\n\n")
	s.WriteString("Written by `make bench` (`go run -tags duckdb_arrow ./bench/snapbench`); re-run it when planning, " +
		"time travel or the SQL write path changes. Everything runs in one process: the catalog (SQLite + local warehouse) " +
		"and the engine (embedded DuckDB), driven through `engine.Session` as Flight SQL drives it, without the network. " +
		"Times are wall-clock medians of alternating runs unless a line says otherwise.\n\n")
	fmt.Fprintf(&s, "Machine: %s, %d cores (GOMAXPROCS %d), %s, %s/%s, measured %s. The machine was shared with other work "+
		"while it ran, so single figures may be noisy; ratios come from alternating runs.\n\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	s.WriteString("Command: `go run -tags duckdb_arrow ./bench/snapbench` " +
		fmt.Sprintf("(this run: `-tt-rows %d -files %d -merge-rows %d -merge-changes %d -runs %d`).\n",
			cfg.ttRows, cfg.files, cfg.mergeRows, cfg.mergeDelta, cfg.runs))
	s.WriteString("\n## Method\n\n")
	fmt.Fprintf(&s, "**Time travel.** Table `silver.travel` (BIGINT id, INTEGER qty, DOUBLE price, VARCHAR name of 1,000 values, "+
		"TIMESTAMP ts) gets two snapshots of %s rows each, both written by the same writer (`catalog.Txn.Overwrite`, one Parquet "+
		"file each): the second replaces every row of the first with rows of the same ids and distributions but other values "+
		"(the bench checks that all %s rows differ). So `… FROM silver.travel AT (VERSION => first)` and `… FROM silver.travel` "+
		"read the same amount of the same kind of data, through the same path: the engine rewrites both table references to "+
		"pinned `read_parquet` views (the current one bound at commit, the old one on first use). Each query runs once per "+
		"side before timing (pins and prepared statements exist afterwards for both), then %d alternating runs each: "+
		"prepare, execute, read every batch, close. The figure is the median over the pairs of old / current, with both "+
		"sides' median times. The first query at a "+
		"snapshot nothing has read yet (resolution, planning and pinning included) is given apart.\n\n", count(cfg.ttRows), count(cfg.ttRows), cfg.runs)
	fmt.Fprintf(&s, "**Planning.** Table `silver.many` has %s real data files (hard links to one 100-row Parquet file written "+
		"by the catalog, registered with that file's full column metrics, as ingest registers files) in 10 commits of "+
		"equal size (10 manifests), then %d single-file appends (one more manifest each) that make as many snapshots of "+
		"just over %s files that nothing has read. *Cold* is `catalog.TableStateAt` on a freshly opened `catalog.Catalog` "+
		"each time (loading the table metadata, the manifest list and every manifest; Open itself not timed); *warm* the "+
		"same call again on the bench's catalog (the plan comes from the per-snapshot cache); *not planned before* a "+
		"snapshot the warm catalog has not planned, plus building the SQL of its view the way the engine does "+
		"(`read_parquet([…files…], schema = map{field_id: …})`) — together what the engine's catalog side costs to bind a "+
		"new snapshot, which the %.0f ms target is about. The peer is iceberg-go's `Scan.PlanFiles` on the same snapshot, "+
		"which the catalog used before. The DuckDB lines are that view created on the session (`CREATE TEMP VIEW`) and "+
		"a query on it prepared; the engine lines are `SELECT count(*) FROM silver.many AT (VERSION => s)` prepared through "+
		"the engine for a snapshot it has not pinned (all of the above end to end), another query text prepared at the "+
		"same, now pinned, snapshot, and the count executed.\n\n",
		count(cfg.files), planExtraSnapshots, count(cfg.files), ms(planTarget))
	fmt.Fprintf(&s, "**MERGE.** Table `silver.big` gets %s generated rows in one append (`catalog.Txn.AppendParallel`, one "+
		"Parquet writer per core, as ingest writes). The MERGE below runs through the engine (`Session.Prepare`, "+
		"`Statement.Exec`), once per table (it changes the table); the bench checks the row counts afterwards. The engine copies the target snapshot into a TEMP "+
		"stand-in table with each row's file and position, runs the MERGE there with `RETURNING`, writes the new rows as "+
		"data files and the replaced rows as position deletes, and commits one snapshot. The MERGE then runs again on "+
		"`silver.big2` (the same data files registered in a second table), since one run is noisy on a shared machine; "+
		"its phases are the engine's own timings of that statement (`engine.Session.LastWrite`).\n\n", count(cfg.mergeRows))
	fmt.Fprintf(&s, "```sql\n%s\n```\n", mergeSQL("silver.big", cfg.mergeRows, cfg.mergeDelta))
	s.WriteString("\n## Results\n")
	s.WriteString(b.table())
	if len(b.notes) > 0 {
		s.WriteString("\n## Observations from this run\n\n")
		for _, n := range b.notes {
			fmt.Fprintf(&s, "- %s\n", n)
		}
	}
	charts := b.charts()
	base := strings.TrimSuffix(path, filepath.Ext(path))
	for _, key := range sectionOrder {
		if _, ok := charts[key]; ok {
			fmt.Fprintf(&s, "\n![%s chart](%s)\n", key, filepath.Base(base+"-"+key+".svg"))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	for key, svg := range charts {
		if err := os.WriteFile(base+"-"+key+".svg", []byte(svg), 0o644); err != nil {
			return err
		}
	}
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), keptMarker); i >= 0 {
			s.WriteString("\n" + string(old[i:]))
		}
	}
	return os.WriteFile(path, []byte(s.String()), 0o644)
}

// keptMarker starts the part of the report other benchmarks write (by hand
// or by their own tools): snapbench rewrites everything above it and keeps
// it and what follows.
const keptMarker = "<!-- snapbench keeps what follows -->"
