//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Admission of heavy queries. Every DuckDB query runs on all of DuckDB's
// threads, so two long scans at once finish no sooner in total than one
// after the other; they only take more of the cores from the short queries
// running beside them (measured with bench/loadbench, 16 lookup clients on
// 2 cores: beside two TPC-H clients the lookups kept about half of their
// throughput alone, beside one about two thirds, and the TPC-H queries
// finished as many a second either way; docs/benchmarks-load.md).
//
// So, when the server is started with a bound, a query is heavy when the last run of the same SQL text took at least
// the threshold, and at most maxRunning heavy queries stream at once; more
// wait in line (FIFO) for a slot, up to maxQueued of them, and past that
// are refused with ResourceExhausted. Other queries never wait. A text
// becomes heavy after one slow run and light again after one fast one, so
// a lookup that once waited behind a burst is back in the fast lane after
// its next run; a heavy text's first run is not held back. Off by default:
// under overload a short text's runs can pass the threshold too, and then
// it waits with the scans (docs/benchmarks-load.md, Findings).

// admission is the heavy-query gate; nil admits everything at once.
type admission struct {
	*queryLimit // the heavy queries' slots and their line
	threshold   time.Duration
	mu          sync.Mutex
	heavyTexts  map[string]struct{} // SQL texts whose last run was heavy
}

// maxHeavyTexts bounds what admission remembers; past it, an arbitrary
// heavy text is forgotten (its next run is not held back, and tells again).
const maxHeavyTexts = 4096

// newAdmission returns the gate, or nil when maxRunning is 0 (no gate).
func newAdmission(maxRunning, maxQueued int, threshold time.Duration) *admission {
	if maxRunning <= 0 {
		return nil
	}
	return &admission{
		queryLimit: newQueryLimit(maxRunning, maxQueued, "heavy queries", "--max-heavy-queries, --max-queued-heavy-queries"),
		threshold:  threshold,
		heavyTexts: map[string]struct{}{},
	}
}

// enter admits one run of the query sql: at once, or once a heavy slot is
// free. The caller must call the returned leave with the run's duration
// (negative when the run failed: it then teaches nothing).
func (a *admission) enter(ctx context.Context, sql string) (leave func(time.Duration), err error) {
	if a == nil {
		return func(time.Duration) {}, nil
	}
	a.mu.Lock()
	_, heavy := a.heavyTexts[sql]
	a.mu.Unlock()
	if !heavy {
		return func(d time.Duration) { a.learn(sql, d) }, nil
	}
	free, err := a.queryLimit.enter(ctx)
	if err != nil {
		return nil, err
	}
	return func(d time.Duration) {
		free()
		a.learn(sql, d)
	}, nil
}

// learn classifies sql by the duration of the run that just ended.
func (a *admission) learn(sql string, d time.Duration) {
	if d < 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if d < a.threshold {
		delete(a.heavyTexts, sql)
		return
	}
	if len(a.heavyTexts) >= maxHeavyTexts {
		for k := range a.heavyTexts {
			delete(a.heavyTexts, k)
			break
		}
	}
	a.heavyTexts[sql] = struct{}{}
}

// sqlText is what the gate needs of a statement: its text, the key of its
// class (the engine's statements have it).
type sqlText interface{ SQL() string }

// admit passes a query through the server's gate (admission.enter).
func (s *Server) admit(ctx context.Context, st stmt) (func(time.Duration), error) {
	t, ok := st.(sqlText)
	if !ok || s.gate == nil {
		return func(time.Duration) {}, nil
	}
	return s.gate.enter(ctx, t.SQL())
}

// queryLimit bounds queries running at once: one more waits in line for a
// slot, up to maxQueued waiting, and past that is refused with
// ResourceExhausted naming what (the queries bounded) and the flags that
// set the bounds. nil: no bound. Options.MaxQueries bounds every query
// streaming; the heavy-query gate (admission) bounds the heavy ones.
type queryLimit struct {
	slots       chan struct{}
	maxQueued   int64
	queued      atomic.Int64
	what, flags string
}

func newQueryLimit(maxRunning, maxQueued int, what, flags string) *queryLimit {
	if maxRunning <= 0 {
		return nil
	}
	return &queryLimit{slots: make(chan struct{}, maxRunning), maxQueued: int64(maxQueued), what: what, flags: flags}
}

// enter takes a slot (waiting while ctx lasts); leave gives it back.
func (l *queryLimit) enter(ctx context.Context) (leave func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	leave = func() { <-l.slots }
	select {
	case l.slots <- struct{}{}:
		return leave, nil
	default:
	}
	if n := l.queued.Add(1); n > l.maxQueued {
		l.queued.Add(-1)
		return nil, fmt.Errorf("%w: %d %s are running and %d waiting, the server's limits (lakeflight serve %s); retry later",
			errOverloaded, cap(l.slots), l.what, l.maxQueued, l.flags)
	}
	defer l.queued.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return leave, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
