//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/catalog"
)

// Binding without the engine lock. A bind reads the table's state from the
// catalog (metadata, manifests) and creates a view over its files; for a
// table of many files both take milliseconds. Engine.mu guards only the
// maps, in short critical sections; the slow part runs in a flight:
//
//   - one flight per table (binds) or per pin key (pins.go) at a time;
//     callers wanting the same one wait for it and take its answer, unless
//     it started before they asked (its catalog read may predate the commit
//     they know of), in which case they wait and then start a new one;
//   - flights of one table therefore run one after another, each reading
//     the catalog after the previous finished: a newer bind is never
//     overwritten by an older one finishing later;
//   - DDL runs on a connection of its own (DuckDB connections are not safe
//     for concurrent use), taken from a small pool;
//   - Close waits for every flight before it closes the database.

// flight is one bind, pin creation or batch of pin drops in progress.
type flight struct {
	seq  uint64 // Engine.flightSeq when it started
	done chan struct{}
	err  error // set before done is closed
}

// startFlightLocked registers a new flight; the caller must end it.
func (e *Engine) startFlightLocked() *flight {
	f := &flight{seq: e.flightSeq, done: make(chan struct{})}
	e.flightSeq++
	e.flights.Add(1)
	return f
}

// endFlight publishes f's result to its waiters.
func (e *Engine) endFlight(f *flight, err error) {
	f.err = err
	close(f.done)
	e.flights.Done()
}

// await waits for f. retry reports that f's answer is not the caller's to
// take: it failed only because its starter's context ended.
func await(ctx context.Context, f *flight) (retry bool, err error) {
	select {
	case <-f.done:
	case <-ctx.Done():
		return false, canceled(ctx)
	}
	if f.err != nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
		return true, nil
	}
	return false, f.err
}

// bind brings id's view up to date with the catalog: it binds the table's
// current snapshot, or drops the view of a table that no longer exists. A
// non-empty want is the metadata location the caller saw; a view already
// bound at it is left alone.
func (e *Engine) bind(ctx context.Context, id catalog.Ident, want string) error {
	e.mu.Lock()
	asked := e.flightSeq // flights from here on read the catalog after the caller asked
	for {
		if e.closed {
			e.mu.Unlock()
			return ErrClosed
		}
		if v, ok := e.views[id]; ok && want != "" && v.metadataLocation == want {
			e.mu.Unlock()
			return nil
		}
		f := e.binding[id]
		if f == nil {
			break
		}
		e.mu.Unlock()
		retry, err := await(ctx, f)
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		if f.seq >= asked && !retry {
			return err
		}
		e.mu.Lock()
	}
	f := e.startFlightLocked()
	e.binding[id] = f
	e.mu.Unlock()
	err := e.bindTable(ctx, id)
	e.mu.Lock()
	delete(e.binding, id)
	e.mu.Unlock()
	e.endFlight(f, err)
	return err
}

// bindTable is one bind flight's work: read the state, create the view,
// record it. A lakehouse schema dropped meanwhile (which takes its views
// with it) makes it start over, so a dropped table's view is never left
// behind.
func (e *Engine) bindTable(ctx context.Context, id catalog.Ident) error {
	for {
		st, err := e.source.TableState(ctx, id)
		if errors.Is(err, catalog.ErrNoSuchTable) {
			return e.unbind(id)
		}
		if err != nil {
			return fmt.Errorf("binding %s: %w", id, err)
		}
		e.mu.Lock()
		err = e.ensureSchemaLocked(id.Namespace)
		epoch := e.dropEpoch
		e.mu.Unlock()
		if err != nil {
			return err
		}
		st, release, err := e.localize(ctx, st)
		if err != nil {
			return fmt.Errorf("binding %s: %w", id, err)
		}
		built, err := buildViewSQL(st, false, e.norm())
		if err != nil {
			release()
			return fmt.Errorf("binding %s: %w", id, err)
		}
		body, guarded := built.plain(), built.guarded(asOfGuard(id))
		err = e.ddlExec("CREATE OR REPLACE VIEW " + e.qualified(id) + " AS " + guarded)
		e.mu.Lock()
		if e.dropEpoch != epoch {
			e.mu.Unlock()
			release()
			continue
		}
		if err != nil {
			e.mu.Unlock()
			release()
			return fmt.Errorf("binding %s: %w", id, err)
		}
		// A table bound before only moved to a new snapshot or schema: the
		// statements that read it hold a pin of its old metadata location
		// and are prepared again when they next run (pinsCurrent), while
		// the plans of statements reading other tables stay good. A new
		// name can change what a statement's names resolve to: every plan
		// is stale.
		if _, had := e.views[id]; !had {
			e.gen.Add(1)
		}
		e.views[id].letGo() // the view replaced
		bv := boundView{metadataLocation: st.MetadataLocation, snapshotID: st.SnapshotID, files: len(st.DataFiles), body: body}
		if e.cfg.Files != nil {
			bv.held, bv.release = append(slices.Clone(st.DataFiles), st.DeleteFiles...), release
		}
		e.views[id] = bv
		delete(e.stored, id) // a view of that name was dropped: the table's view replaced it
		e.mu.Unlock()
		e.stats.rebinds.Add(1)
		e.log.Debug("bound table", "table", id.String(), "snapshot", st.SnapshotID, "files", len(st.DataFiles))
		return nil
	}
}

// maxDDLConns bounds the idle connections kept for view DDL.
const maxDDLConns = 4

// ddl runs fn on a DDL connection of its own, never one another goroutine
// is using. Only flights call it, so the database is open.
func (e *Engine) ddl(fn func(conn bindings.Connection) error) error {
	e.mu.Lock()
	var conn bindings.Connection
	if n := len(e.ddlConns); n > 0 {
		conn = e.ddlConns[n-1]
		e.ddlConns = e.ddlConns[:n-1]
	}
	e.mu.Unlock()
	if conn.Ptr == nil && bindings.Connect(e.db, &conn) == bindings.StateError {
		return fmt.Errorf("connecting to duckdb: %w", ErrInternal)
	}
	err := fn(conn)
	e.mu.Lock()
	if len(e.ddlConns) < maxDDLConns {
		e.ddlConns = append(e.ddlConns, conn)
		conn = bindings.Connection{}
	}
	e.mu.Unlock()
	if conn.Ptr != nil {
		bindings.Disconnect(&conn)
	}
	return err
}

// ddlExec runs one statement with e.ddl.
func (e *Engine) ddlExec(sql string) error {
	return e.ddl(func(conn bindings.Connection) error { return execSQL(conn, sql) })
}
