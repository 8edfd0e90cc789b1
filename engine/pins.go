//go:build duckdb_arrow

package engine

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	"github.com/lakeflight/lakeflight/catalog"
)

// Snapshot pins. A statement that reads Iceberg tables is rewritten before
// DuckDB prepares it (rewrite.go): each table reference names a view of
// one snapshot, kept in the hidden database PinCatalog. A snapshot never
// changes, so such a view never changes either, and a prepared statement,
// the ticket that names it and every retry of that ticket read exactly the
// data resolved at prepare time, whatever commits land meanwhile. Views of
// metadata (iceberg_snapshots(…) and friends) are pinned the same way, by
// the table's metadata location.
//
// Pins are shared and counted: statements (and cached plans) hold the pins
// they were prepared against; a pin nobody holds stays for reuse until more
// than maxIdlePins idle pins exist, oldest first out.

// PinCatalog is the DuckDB database holding the pinned views. It is an
// implementation detail: metadata listings leave it out.
const PinCatalog = "lakeflight_snapshots"

// maxIdlePins bounds the pinned views kept while no statement uses them.
const maxIdlePins = 64

// pin is one pinned view.
type pin struct {
	key  string // what it pins, e.g. "bronze.events@123"
	name string // view name in PinCatalog.main
	refs int    // holders; guarded by Engine.mu
	used uint64 // e.pinTick at the last acquire; guarded by Engine.mu
}

// qualified is the pinned view's full name, ready for SQL.
func (p *pin) qualified() string {
	return quoteIdent(PinCatalog) + ".main." + quoteIdent(p.name)
}

// pinSnapshot returns the pinned view of table id at snapshot snap, read
// with that snapshot's schema (time travel), creating it when needed. The
// caller owns one reference.
func (e *Engine) pinSnapshot(ctx context.Context, id catalog.Ident, snap int64) (*pin, error) {
	key := id.String() + "@" + strconv.FormatInt(snap, 10)
	if p := e.acquirePin(key); p != nil {
		return p, nil
	}
	st, err := e.tables.TableStateAt(ctx, id, snap)
	if err != nil {
		return nil, err
	}
	body, err := viewSQL(st)
	if err != nil {
		return nil, fmt.Errorf("binding %s at snapshot %d: %w", id, snap, err)
	}
	return e.createPin(key, key, body)
}

// pinCurrent returns the pinned view of table id as its current view shows
// it: the current snapshot read with the table's current schema (a column
// added since that snapshot reads as NULL), keyed by metadata location.
func (e *Engine) pinCurrent(id catalog.Ident) (*pin, error) {
	e.mu.Lock()
	bound, ok := e.views[id]
	e.mu.Unlock()
	if !ok {
		return nil, newError(ErrNotFound, "table "+id.String()+" is not bound")
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(bound.metadataLocation))
	key := fmt.Sprintf("%s@%d#%x", id, bound.snapshotID, h.Sum64())
	if p := e.acquirePin(key); p != nil {
		return p, nil
	}
	return e.createPin(key, key, bound.body)
}

// pinView returns the pinned view named by key with the given body (built
// only when the view does not exist yet). The caller owns one reference.
func (e *Engine) pinView(key, name string, body func() (string, error)) (*pin, error) {
	if p := e.acquirePin(key); p != nil {
		return p, nil
	}
	sql, err := body()
	if err != nil {
		return nil, err
	}
	return e.createPin(key, name, sql)
}

// acquirePin takes a reference to an existing pin, or returns nil.
func (e *Engine) acquirePin(key string) *pin {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pins[key]
	if !ok {
		return nil
	}
	e.pinTick++
	p.refs++
	p.used = e.pinTick
	return p
}

func (e *Engine) createPin(key, name, body string) (*pin, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	e.pinTick++
	if p, ok := e.pins[key]; ok { // created meanwhile by another statement
		p.refs++
		p.used = e.pinTick
		return p, nil
	}
	p := &pin{key: key, name: name, refs: 1, used: e.pinTick}
	if err := execSQL(e.admin, "CREATE OR REPLACE VIEW "+p.qualified()+" AS "+body); err != nil {
		return nil, fmt.Errorf("pinning %s: %w", key, err)
	}
	e.pins[key] = p
	e.evictPinsLocked()
	return p, nil
}

// releasePins drops one reference to each pin.
func (e *Engine) releasePins(pins []*pin) {
	if len(pins) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range pins {
		p.refs--
	}
	e.evictPinsLocked()
}

// evictPinsLocked drops the least recently used idle pins beyond maxIdlePins.
func (e *Engine) evictPinsLocked() {
	var idle []*pin
	for _, p := range e.pins {
		if p.refs <= 0 {
			idle = append(idle, p)
		}
	}
	if len(idle) <= maxIdlePins || e.closed {
		return
	}
	slices.SortFunc(idle, func(a, b *pin) int { return cmp.Compare(a.used, b.used) })
	for _, p := range idle[:len(idle)-maxIdlePins] {
		if err := execSQL(e.admin, "DROP VIEW IF EXISTS "+p.qualified()); err != nil {
			e.log.Warn("dropping pinned view", "view", p.name, "err", err)
			continue
		}
		delete(e.pins, p.key)
	}
}
