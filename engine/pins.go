//go:build duckdb_arrow

package engine

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	bindings "github.com/duckdb/duckdb-go-bindings"

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
	// A pin of what is current (a table's current snapshot, its metadata
	// now) names the table and the metadata location it was made from;
	// other pins (a snapshot asked for by id) leave them empty. Set once
	// under Engine.mu.
	table   catalog.Ident
	current string
	// scan is, for a pin of a pruned file list, what was planned (prune.go);
	// set once under Engine.mu.
	scan *scanNote
	// release gives back the cached copies of an object-store warehouse's
	// files the view reads, once the view is dropped.
	release func()
}

// markCurrent records that p pins table id as of metadata location loc.
func (e *Engine) markCurrent(p *pin, id catalog.Ident, loc string) {
	e.mu.Lock()
	p.table, p.current = id, loc
	e.mu.Unlock()
}

// pinsCurrent reports whether every pin of what was current still is: its
// table is bound at the metadata location the pin was made from. A
// prepared statement whose pins are current reads what a new prepare
// would, so it need not be prepared again when other tables move.
func (e *Engine) pinsCurrent(pins []*pin) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range pins {
		if p.current == "" {
			continue
		}
		if v, ok := e.views[p.table]; !ok || v.metadataLocation != p.current {
			return false
		}
	}
	return true
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
	return e.pinView(ctx, key, key, func() (string, func(), error) {
		st, err := e.source.TableStateAt(ctx, id, snap)
		if err != nil {
			return "", nil, err
		}
		st, release, err := e.localize(ctx, st)
		if err != nil {
			return "", nil, err
		}
		body, err := viewSQL(st, e.norm())
		if err != nil {
			release()
			return "", nil, fmt.Errorf("binding %s at snapshot %d: %w", id, snap, err)
		}
		return body, release, nil
	})
}

// pinCurrent returns the pinned view of table id as its current view shows
// it: the current snapshot read with the table's current schema (a column
// added since that snapshot reads as NULL), keyed by metadata location.
func (e *Engine) pinCurrent(ctx context.Context, id catalog.Ident) (*pin, error) {
	e.mu.Lock()
	bound, ok := e.views[id]
	e.mu.Unlock()
	if !ok {
		return nil, newError(ErrNotFound, "table "+id.String()+" is not bound")
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(bound.metadataLocation))
	key := fmt.Sprintf("%s@%d#%x", id, bound.snapshotID, h.Sum64())
	p, err := e.pinView(ctx, key, key, func() (string, func(), error) {
		// The pin holds the bound view's files itself: it may outlive the
		// bound view.
		release, err := e.hold(ctx, bound.held)
		return bound.body, release, err
	})
	if err != nil {
		return nil, err
	}
	e.markCurrent(p, id, bound.metadataLocation)
	return p, nil
}

// acquireLocked takes a reference on the pin of key, if there is one
// (e.mu held).
func (e *Engine) acquireLocked(key string) *pin {
	p, ok := e.pins[key]
	if !ok {
		return nil
	}
	e.pinTick++
	p.refs++
	p.used = e.pinTick
	return p
}

// pinView returns the pinned view named by key with the given body, built
// and created outside Engine.mu only when the view does not exist yet, by
// one caller at a time per key (a flight, binds.go); others wait for it.
// Eviction drops a pin's view in a flight of its key too, so a creation
// never overlaps the drop of the same name. The caller owns one reference.
func (e *Engine) pinView(ctx context.Context, key, name string, body func() (string, func(), error)) (*pin, error) {
	e.mu.Lock()
	for {
		if e.closed {
			e.mu.Unlock()
			return nil, ErrClosed
		}
		if p := e.acquireLocked(key); p != nil {
			e.mu.Unlock()
			return p, nil
		}
		f := e.pinning[key]
		if f == nil {
			break
		}
		e.mu.Unlock()
		// Created, dropped or failed: look again, unless it failed for
		// a reason that is also this caller's.
		if retry, err := await(ctx, f); err != nil && !retry {
			return nil, err
		}
		e.mu.Lock()
	}
	f := e.startFlightLocked()
	e.pinning[key] = f
	e.mu.Unlock()
	p, err := e.createPin(key, name, body)
	e.mu.Lock()
	delete(e.pinning, key)
	var ev eviction
	if err == nil {
		ev = e.evictLocked()
	}
	e.mu.Unlock()
	e.endFlight(f, err)
	e.dropPins(ev)
	return p, err
}

// createPin is a pin flight's work: build the body, create the view, record
// the pin with one reference.
func (e *Engine) createPin(key, name string, body func() (string, func(), error)) (*pin, error) {
	sql, release, err := body()
	if err != nil {
		return nil, err
	}
	if release == nil {
		release = func() {}
	}
	p := &pin{key: key, name: name, refs: 1, release: release}
	if err := e.ddlExec("CREATE OR REPLACE VIEW " + p.qualified() + " AS " + sql); err != nil {
		release()
		return nil, fmt.Errorf("pinning %s: %w", key, err)
	}
	e.mu.Lock()
	e.pinTick++
	p.used = e.pinTick
	e.pins[key] = p
	e.mu.Unlock()
	return p, nil
}

// releasePins drops one reference to each pin.
func (e *Engine) releasePins(pins []*pin) {
	if len(pins) == 0 {
		return
	}
	e.mu.Lock()
	for _, p := range pins {
		p.refs--
	}
	ev := e.evictLocked()
	e.mu.Unlock()
	e.dropPins(ev)
}

// eviction is pins taken out of Engine.pins whose views are still to be
// dropped, under one flight registered for each of their keys.
type eviction struct {
	f    *flight
	pins []*pin
}

// evictLocked takes the least recently used idle pins beyond maxIdlePins
// out of e.pins; the caller passes them to dropPins once it has released
// e.mu.
func (e *Engine) evictLocked() eviction {
	var idle []*pin
	for _, p := range e.pins {
		if p.refs <= 0 {
			idle = append(idle, p)
		}
	}
	if len(idle) <= maxIdlePins || e.closed {
		return eviction{}
	}
	slices.SortFunc(idle, func(a, b *pin) int { return cmp.Compare(a.used, b.used) })
	victims := idle[:len(idle)-maxIdlePins]
	f := e.startFlightLocked()
	for _, p := range victims {
		delete(e.pins, p.key)
		e.pinning[p.key] = f
	}
	return eviction{f: f, pins: victims}
}

// dropPins drops the views of evicted pins, outside e.mu, on one
// connection. A view that cannot be dropped stays, as an idle pin.
func (e *Engine) dropPins(ev eviction) {
	if ev.f == nil {
		return
	}
	victims := ev.pins
	var kept []*pin
	err := e.ddl(func(conn bindings.Connection) error {
		for _, p := range victims {
			if err := execSQL(conn, "DROP VIEW IF EXISTS "+p.qualified()); err != nil {
				e.log.Warn("dropping pinned view", "view", p.name, "err", err)
				kept = append(kept, p)
				continue
			}
			if p.release != nil {
				p.release() // its cached copies may go now
			}
		}
		return nil
	})
	if err != nil { // no connection: nothing was dropped
		e.log.Warn("dropping pinned views", "err", err)
		kept = victims
	}
	e.mu.Lock()
	for _, p := range victims {
		delete(e.pinning, p.key)
	}
	for _, p := range kept {
		e.pins[p.key] = p
	}
	e.mu.Unlock()
	e.endFlight(ev.f, nil)
}
