package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// mix names which classes run beside the lookups.
type mix string

const (
	mixLookup mix = "lookup" // lookups only
	mixHeavy  mix = "heavy"  // lookups and the heavy clients
	mixIngest mix = "ingest" // lookups and the ingest stream
	mixAll    mix = "all"    // lookups, the heavy clients and the ingest stream
)

func parseMix(s string) (mix, error) {
	switch m := mix(s); m {
	case mixLookup, mixHeavy, mixIngest, mixAll:
		return m, nil
	}
	return "", fmt.Errorf("unknown mix %q (lookup, heavy, ingest, all)", s)
}

func (m mix) describe(heavy int) string {
	switch m {
	case mixHeavy:
		return fmt.Sprintf("lookups + %d heavy", heavy)
	case mixIngest:
		return "lookups + 1 ingest"
	case mixAll:
		return fmt.Sprintf("lookups + %d heavy + 1 ingest", heavy)
	}
	return "lookups only"
}

// workload is what every run shares.
type workload struct {
	addr       string
	lookupRows int64
	literal    bool // lookups as ad-hoc text instead of a prepared statement
	heavy      int  // heavy clients in the heavy and all mixes
	queries    []heavyQuery
	ingestRows int
	duration   time.Duration
}

// runResult is one run: a client count and a mix for the duration.
type runResult struct {
	clients  int // lookup clients
	mix      mix
	elapsed  time.Duration
	classes  []classStats // in the order lookup, heavy, ingest (those that ran)
	peakRSS  int64        // the server's, during the run
	cpu      float64      // server CPU seconds used during the run
	loadFrom string       // load average before and after
	loadTo   string
}

// total is the operations a second of every class together.
func (r runResult) total() float64 {
	var n int
	for _, c := range r.classes {
		n += c.ops
	}
	return float64(n) / r.elapsed.Seconds()
}

func (r runResult) class(name string) (classStats, bool) {
	for _, c := range r.classes {
		if c.name == name {
			return c, true
		}
	}
	return classStats{}, false
}

// classStats is what one class did in a run.
type classStats struct {
	name    string
	clients int
	ops     int
	qps     float64
	p50     time.Duration
	p99     time.Duration
	max     time.Duration
	errs    int
	refused int        // errors that were RESOURCE_EXHAUSTED: a documented limit said no
	samples []errCount // the first distinct error messages
}

type errCount struct {
	msg string
	n   int
}

// recorder collects one class's latencies and errors.
type recorder struct {
	mu      sync.Mutex
	lat     []time.Duration
	errs    int
	refused int
	msgs    []errCount
}

const maxErrorSamples = 5

func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
}

func (r *recorder) fail(err error) {
	msg := err.Error()
	if len(msg) > 240 {
		msg = msg[:240] + "…"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs++
	if st, ok := status.FromError(err); ok && st.Code() == codes.ResourceExhausted { // wrapped ones too
		r.refused++
	}
	for i := range r.msgs {
		if r.msgs[i].msg == msg {
			r.msgs[i].n++
			return
		}
	}
	if len(r.msgs) < maxErrorSamples {
		r.msgs = append(r.msgs, errCount{msg, 1})
	}
}

func (r *recorder) stats(name string, clients int, elapsed time.Duration) classStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	cs := classStats{name: name, clients: clients, ops: len(lat), qps: float64(len(lat)) / elapsed.Seconds(),
		errs: r.errs, refused: r.refused, samples: slices.Clone(r.msgs)}
	if len(lat) > 0 {
		cs.p50, cs.p99, cs.max = percentile(lat, 0.50), percentile(lat, 0.99), lat[len(lat)-1]
	}
	return cs
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(float64(len(sorted)-1)*p)]
}

// errorBackoff is how long a client waits after an error before its next
// operation, so a refusing server is not hammered by a spinning loop.
const errorBackoff = 20 * time.Millisecond

// runOnce runs lookup clients (and the mix's others) against the server
// for w.duration. All clients connect and prepare before the clock starts;
// only operations that end before the deadline count.
func runOnce(ctx context.Context, srv *server, w workload, lookups int, m mix, seq int) (runResult, error) {
	type group struct {
		name    string
		clients []client
		rec     *recorder
	}
	groups := []*group{{name: classLookup, rec: &recorder{}}}
	defer func() {
		for _, g := range groups {
			for _, c := range g.clients {
				c.close()
			}
		}
	}()
	for i := range lookups {
		c, err := newLookupClient(ctx, w.addr, w.lookupRows, uint64(seq)<<32|uint64(i), w.literal)
		if err != nil {
			return runResult{}, err
		}
		groups[0].clients = append(groups[0].clients, c)
	}
	if m == mixHeavy || m == mixAll {
		g := &group{name: classHeavy, rec: &recorder{}}
		groups = append(groups, g)
		for i := range w.heavy {
			c, err := newHeavyClient(ctx, w.addr, w.queries, i*len(w.queries)/max(w.heavy, 1))
			if err != nil {
				return runResult{}, err
			}
			g.clients = append(g.clients, c)
		}
	}
	if m == mixIngest || m == mixAll {
		c, err := newIngestClient(w.addr, fmt.Sprintf("load_stream_%d", seq), w.ingestRows)
		if err != nil {
			return runResult{}, err
		}
		groups = append(groups, &group{name: classIngest, clients: []client{c}, rec: &recorder{}})
	}

	res := runResult{clients: lookups, mix: m, loadFrom: loadAvg()}
	srv.resetPeak()
	cpu0, _ := srv.cpuSeconds()
	rctx, cancel := context.WithTimeout(ctx, w.duration)
	defer cancel()
	deadline, _ := rctx.Deadline()

	var peak int64
	sampled := make(chan struct{})
	go func() { // VmRSS every 100 ms, in case the kernel would not reset VmHWM
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := srv.memory(); err == nil {
				peak = max(peak, rss)
			}
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	for _, g := range groups {
		for _, c := range g.clients {
			wg.Go(func() {
				for rctx.Err() == nil {
					t0 := time.Now()
					err := c.op(rctx)
					end := time.Now()
					if end.After(deadline) || rctx.Err() != nil {
						return // cut short by the end of the run: not counted
					}
					if err != nil {
						g.rec.fail(err)
						time.Sleep(errorBackoff)
						continue
					}
					g.rec.ok(end.Sub(t0))
				}
			})
		}
	}
	wg.Wait()
	<-sampled
	res.elapsed = min(time.Since(start), w.duration)
	cpu1, _ := srv.cpuSeconds()
	res.cpu = cpu1 - cpu0
	if _, hwm, err := srv.memory(); err == nil {
		peak = max(peak, hwm)
	}
	res.peakRSS = peak
	res.loadTo = loadAvg()
	for _, g := range groups {
		res.classes = append(res.classes, g.rec.stats(g.name, len(g.clients), res.elapsed))
	}
	return res, nil
}

// line is a one-line summary of a run for the terminal.
func (r runResult) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%3d clients, %-6s %7.0f op/s", r.clients, r.mix, r.total())
	for _, c := range r.classes {
		fmt.Fprintf(&b, " | %s %.0f/s p50 %.1f p99 %.1f max %.0f ms", c.name, c.qps, ms(c.p50), ms(c.p99), ms(c.max))
		if c.errs > 0 {
			fmt.Fprintf(&b, " errors %d", c.errs)
		}
	}
	fmt.Fprintf(&b, " | RSS %.0f MB, CPU %.1f s", mb(r.peakRSS), r.cpu)
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mb(n int64) float64         { return float64(n) / 1e6 }
