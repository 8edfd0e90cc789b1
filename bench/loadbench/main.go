// Command loadbench puts a lakeflight server under many concurrent
// clients (issue 12, "many clients"): one-row lookups, TPC-H queries and
// an ingest stream, each client a Flight SQL connection of its own in a
// closed loop, for a bounded time per run. The server is the real binary
// in a process of its own (so its RSS is its own and the Go client's work
// is visible apart from it). Per run it reports each class's throughput,
// p50/p99/max latency and errors, the server's peak RSS and CPU time, and
// the load average; it prints a line per run and writes
// docs/benchmarks-load.md with the goals met or not.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lakeflight/lakeflight/bench/profile"
)

type options struct {
	bin         string
	tpch        string
	queriesDir  string
	clients     []int
	mixes       []mix
	duration    time.Duration
	heavy       int
	queries     []int
	lookupRows  int64
	literal     bool
	ingestRows  int
	memoryLimit string
	serveArgs   []string
	out         string
	keep        bool
}

func main() {
	var o options
	var clients, mixes, queries, serveArgs string
	flag.StringVar(&o.bin, "bin", "bin/lakeflight", "the lakeflight binary (make build)")
	flag.StringVar(&o.tpch, "tpch", "", "directory of TPC-H Parquet files (customer.parquet, lineitem.parquet, …) for the heavy queries; required by the heavy and all mixes")
	flag.StringVar(&o.queriesDir, "queries-dir", "bench/tpch/queries", "directory of the TPC-H query texts qNN.sql")
	flag.StringVar(&clients, "clients", "1,4,16,64", "comma-separated counts of lookup clients, one run set each")
	flag.StringVar(&mixes, "mix", "lookup,heavy,all", "comma-separated mixes to run at each client count: lookup (lookups only), heavy (lookups + -heavy TPC-H clients), ingest (lookups + one ingest stream), all (heavy + the ingest stream)")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "length of each run")
	flag.IntVar(&o.heavy, "heavy", 2, "TPC-H clients in the heavy and all mixes")
	flag.StringVar(&queries, "queries", "1,3,5,6,10", "TPC-H query numbers the heavy clients run in turn")
	flag.Int64Var(&o.lookupRows, "lookup-rows", 1_000_000, "rows of the lookup table")
	flag.BoolVar(&o.literal, "literal", false, "send each lookup as SQL text with the key in it instead of binding it to a prepared statement")
	flag.IntVar(&o.ingestRows, "ingest-rows", 1000, "rows per ingest of the ingest stream (one snapshot each)")
	flag.StringVar(&o.memoryLimit, "memory-limit", "4GB", "the server's --memory-limit (the goal: peak RSS under it)")
	flag.StringVar(&serveArgs, "serve-args", "", "more `lakeflight serve` flags, space-separated")
	flag.StringVar(&o.out, "out", "docs/benchmarks-load.md", "markdown report to write ('' for none)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (server log and data)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the driver to this file")
	flag.Parse()

	var err error
	if o.clients, err = parseInts(clients); err == nil {
		o.queries, err = parseInts(queries)
	}
	for s := range strings.SplitSeq(mixes, ",") {
		if err != nil {
			break
		}
		var m mix
		if m, err = parseMix(strings.TrimSpace(s)); err == nil {
			o.mixes = append(o.mixes, m)
		}
	}
	o.serveArgs = strings.Fields(serveArgs)
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = profile.Run(*cpuprofile, func() error { return run(ctx, o) })
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func (o options) needsTPCH() bool {
	for _, m := range o.mixes {
		if m == mixHeavy || m == mixAll {
			return true
		}
	}
	return false
}

func run(ctx context.Context, o options) error {
	if o.needsTPCH() && o.tpch == "" {
		return fmt.Errorf("the heavy and all mixes need -tpch DIR (TPC-H Parquet files; bench/loadbench/tpchdata.sh makes them)")
	}
	began := time.Now()
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "loadbench: work directory", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	args := append([]string{"--memory-limit", o.memoryLimit}, o.serveArgs...)
	srv, err := startServer(ctx, o.bin, dir, args...)
	if err != nil {
		return err
	}
	defer func() { _ = srv.stop() }()

	rep := report{opts: o, loadBefore: loadAvg(), version: binVersion(o.bin), date: began}
	if rep.lookupSetup, err = setupLookup(ctx, srv.addr, o.lookupRows); err != nil {
		return err
	}
	fmt.Printf("lookup table: %d rows in %.1f s\n", o.lookupRows, rep.lookupSetup.Seconds())
	w := workload{addr: srv.addr, lookupRows: o.lookupRows, literal: o.literal, heavy: o.heavy, ingestRows: o.ingestRows, duration: o.duration}
	if o.needsTPCH() {
		if w.queries, err = readQueries(o.queriesDir, o.queries); err != nil {
			return err
		}
		if rep.tpchLoad, err = loadTPCH(ctx, o.bin, srv.addr, o.tpch); err != nil {
			return err
		}
		rep.tpchScale = tpchScale(o.tpch)
		fmt.Printf("TPC-H (SF %s) loaded in %.1f s\n", rep.tpchScale, rep.tpchLoad.Seconds())
		if rep.solo, err = soloTimes(ctx, srv.addr, w.queries); err != nil {
			return err
		}
	}
	if rep.soloLookup, err = soloLookup(ctx, srv.addr, o.lookupRows, o.literal); err != nil {
		return err
	}

	seq := 0
	for _, m := range o.mixes {
		for _, n := range o.clients {
			seq++
			res, err := runOnce(ctx, srv, w, n, m, seq)
			if err != nil {
				return fmt.Errorf("%d clients, mix %s: %w", n, m, err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Println(res.line())
			rep.runs = append(rep.runs, res)
		}
	}
	rep.loadAfter = loadAvg()
	rep.took = time.Since(began)
	if err := srv.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "loadbench: server exited with %v (log: %s)\n", err, srv.log)
	}
	md := rep.markdown()
	fmt.Print("\n", md)
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.out, []byte(md), 0o644)
}

// soloTimes runs each heavy query alone (the first run warms the Parquet
// footer cache and is dropped; the best of three is kept).
func soloTimes(ctx context.Context, addr string, queries []heavyQuery) ([]time.Duration, error) {
	c, err := newHeavyClient(ctx, addr, queries, 0)
	if err != nil {
		return nil, err
	}
	defer c.close()
	out := make([]time.Duration, len(queries))
	for i := range queries {
		for r := range 4 {
			c.next = i
			t0 := time.Now()
			if err := c.op(ctx); err != nil {
				return nil, err
			}
			if d := time.Since(t0); r == 1 || (r > 1 && d < out[i]) {
				out[i] = d
			}
		}
	}
	return out, nil
}

// soloLookup is the median of 200 lookups by one client on an idle server.
func soloLookup(ctx context.Context, addr string, rows int64, literal bool) (time.Duration, error) {
	c, err := newLookupClient(ctx, addr, rows, 42, literal)
	if err != nil {
		return 0, err
	}
	defer c.close()
	rec := &recorder{}
	for range 200 {
		t0 := time.Now()
		if err := c.op(ctx); err != nil {
			return 0, err
		}
		rec.ok(time.Since(t0))
	}
	return rec.stats(classLookup, 1, time.Second).p50, nil
}

func binVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
