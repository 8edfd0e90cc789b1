//go:build duckdb_arrow

package engine

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// The prepared-statement cache. Clients without a session send the same
// few statements again and again (dashboards, health probes, drivers'
// metadata queries), and DuckDB's prepare is a large part of a small
// query's latency. A connection therefore keeps the prepared statements of
// closed read-only statements, keyed by SQL text, and hands them to the next
// Prepare of the same text on that connection.
//
// An entry is valid only while nothing it was bound against has changed:
// the engine's generation moves whenever names change (a table or view
// bound anew or dropped, a schema created), the tables it pins at their
// current snapshots must still be bound there (pinsCurrent: a commit to one
// table spares the plans of the others), and a connection's epoch moves
// whenever a statement that can change session state (SET, USE, temp
// objects) is prepared on it.

// cachePerConn bounds the statements one connection keeps; past it the
// one put back longest ago makes room. (With 16 and no eviction, the 17th
// and later texts of a session were prepared anew on every run: TPC-H's
// Q17-Q22 through arrow-go's client 35-80 ms slower each.)
const cachePerConn = 64

// cached is one reusable prepared statement and what was learnt preparing it.
type cached struct {
	gen, epoch uint64
	ps         bindings.PreparedStatement
	opts       bindings.ArrowOptions
	stype      bindings.StatementType
	isQuery    bool
	schema     *arrow.Schema
	params     *arrow.Schema
	text       string  // the text prepared (Iceberg tables pinned)
	pins       []*pin  // held while the entry lives
	eng        *Engine // releases pins
	put        uint64  // stmtCache.puts when it was put back
}

// stmtCache lives in a dconn.
type stmtCache struct {
	mu      sync.Mutex
	epoch   uint64
	puts    uint64
	entries map[string]*cached
}

// take removes and returns the entry for sql if it is still valid.
func (c *stmtCache) take(sql string, gen uint64) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sql]
	if !ok {
		return nil
	}
	delete(c.entries, sql)
	if e.gen != gen || e.epoch != c.epoch {
		e.destroy()
		return nil
	}
	return e
}

// put keeps e for reuse; it reports false (and keeps nothing) when e is
// stale or the cache already holds that text. A full cache makes room by
// evicting the entry put back longest ago; the caller gets it to destroy,
// as it destroys a statement put refused.
func (c *stmtCache) put(sql string, e *cached, gen uint64) (ok bool, evicted *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.gen != gen || e.epoch != c.epoch {
		return false, nil
	}
	if _, dup := c.entries[sql]; dup {
		return false, nil
	}
	if c.entries == nil {
		c.entries = make(map[string]*cached)
	}
	if len(c.entries) >= cachePerConn {
		var oldest string
		for k, v := range c.entries {
			if evicted == nil || v.put < evicted.put {
				oldest, evicted = k, v
			}
		}
		delete(c.entries, oldest)
	}
	bindings.ClearBindings(e.ps)
	c.puts++
	e.put = c.puts
	c.entries[sql] = e
	return true, evicted
}

// currentEpoch is the epoch a statement prepared now belongs to.
func (c *stmtCache) currentEpoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// invalidate drops every entry and makes statements prepared before now
// ineligible for the cache.
func (c *stmtCache) invalidate() {
	c.mu.Lock()
	entries := c.entries
	c.entries = nil
	c.epoch++
	c.mu.Unlock()
	for _, e := range entries {
		e.destroy()
	}
}

func (e *cached) destroy() {
	bindings.DestroyPrepare(&e.ps)
	bindings.DestroyArrowOptions(&e.opts)
	if e.eng != nil {
		e.eng.releasePins(e.pins)
		e.pins = nil
	}
}
