//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Persistent views: the catalog's Iceberg views (CREATE VIEW ns.v, see
// write_view.go). Each is a DuckDB view in the lakehouse catalog, beside
// the tables' views, whose body is the view's stored SQL; DuckDB binds a
// view's body in the view's own catalog and schema, so an unqualified name
// in it means a table of the view's namespace, as the Iceberg view's
// default namespace says. They are bound at Open, and, like tables, bound
// anew when a statement names one whose metadata location moved (replaced
// or dropped by another process) and relisted when a statement names
// something unknown (created by another process).
//
// A view reads its tables' current snapshots. Time travel cannot reach
// through it (a snapshot of each table it reads would be needed, and a view
// over a view…): a statement that reads one with lakeflight_as_of set or an
// AT clause is refused (rewrite.go); should one slip past, the tables' own
// views refuse to bind while lakeflight_as_of is set (the as-of guard,
// views.go), so nothing reads current data unseen.

// ViewSource reads the catalog's views: all binding needs.
type ViewSource interface {
	ListViews(ctx context.Context) ([]catalog.Ident, error)
	LoadView(ctx context.Context, id catalog.Ident) (*catalog.View, error)
	ViewMetadataLocation(ctx context.Context, id catalog.Ident) (string, error)
}

// ViewWriter stores and drops views (write_view.go).
type ViewWriter interface {
	CreateView(ctx context.Context, id catalog.Ident, schema *arrow.Schema, sql string) error
	CreateOrReplaceView(ctx context.Context, id catalog.Ident, schema *arrow.Schema, sql string) error
	DropView(ctx context.Context, id catalog.Ident) error
}

// storedView is what the engine last bound for one persistent view.
type storedView struct {
	metadataLocation string
	toks             sqltext.Tokens // of its SQL: the tables it reads are checked for commits
	// broken: its SQL did not bind (a table it reads is gone); the DuckDB
	// view raises that error when read, and binding is tried again.
	broken bool
}

// maxViewDepth bounds how deep syncViews follows views over views.
const maxViewDepth = 8

// relistViews binds the views that appeared in the catalog and drops those
// that disappeared. A view over another binds after it: views that fail
// are tried again while others succeed, and what still fails is bound
// broken. Only listing errors are returned.
func (e *Engine) relistViews(ctx context.Context) error {
	if e.viewSrc == nil {
		return nil
	}
	ids, err := e.viewSrc.ListViews(ctx)
	if err != nil {
		return fmt.Errorf("listing views: %w", err)
	}
	seen := make(map[catalog.Ident]bool, len(ids))
	var pending []catalog.Ident
	e.mu.Lock()
	for _, id := range ids {
		seen[id] = true
		if v, ok := e.stored[id]; !ok || v.broken {
			pending = append(pending, id)
		}
	}
	for id := range e.stored {
		if !seen[id] {
			pending = append(pending, id)
		}
	}
	e.mu.Unlock()
	for len(pending) > 0 {
		var failed []catalog.Ident
		for _, id := range pending {
			if err := e.bindView(ctx, id, false); err != nil {
				if errors.Is(err, ErrClosed) || ctx.Err() != nil {
					return err
				}
				failed = append(failed, id)
			}
		}
		if len(failed) == len(pending) {
			for _, id := range failed {
				if err := e.bindView(ctx, id, true); err != nil {
					e.log.Warn("cannot bind view", "view", id.String(), "err", err)
				}
			}
			return nil
		}
		pending = failed
	}
	return nil
}

// bindView brings id's DuckDB view up to date with the catalog: it binds
// the view's current SQL, or drops the DuckDB view of a view that no longer
// exists. When the SQL does not bind, the error is returned, unless broken
// is set: then the DuckDB view is one that raises it when read (with the
// stored columns, so listings still describe it).
func (e *Engine) bindView(ctx context.Context, id catalog.Ident, broken bool) error {
	e.viewMu.Lock()
	defer e.viewMu.Unlock()
	v, err := e.viewSrc.LoadView(ctx, id)
	if errors.Is(err, catalog.ErrNoSuchView) {
		return e.unbindView(id)
	}
	if err != nil {
		return fmt.Errorf("binding view %s: %w", id, err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	err = e.ensureSchemaLocked(id.Namespace)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	sv := storedView{metadataLocation: v.MetadataLocation, toks: sqltext.Tokenize(v.SQL)}
	err = e.ddlExec("CREATE OR REPLACE VIEW " + e.qualified(id) + " AS " + v.SQL)
	if err != nil {
		if !broken {
			return fmt.Errorf("binding view %s: %w", id, err)
		}
		sv.broken = true
		if err := e.ddlExec("CREATE OR REPLACE VIEW " + e.qualified(id) + " AS " + brokenViewSQL(v, err)); err != nil {
			return fmt.Errorf("binding view %s: %w", id, err)
		}
		e.log.Warn("view does not bind; reading it raises the error", "view", id.String(), "err", err)
	}
	e.mu.Lock()
	e.stored[id] = sv
	e.mu.Unlock()
	e.gen.Add(1)
	return nil
}

// brokenViewSQL is the body of a view whose SQL does not bind: its stored
// columns, and an error raised whenever it is read.
func brokenViewSQL(v *catalog.View, cause error) string {
	msg := quoteString(fmt.Sprintf("view %s cannot be read: its query no longer binds (%v); "+
		"CREATE OR REPLACE VIEW it, or restore what it reads", v.Ident, cause))
	var cols []string
	if v.Schema != nil {
		for _, f := range v.Schema.Fields() {
			t, err := duckType(f.Type)
			if err != nil {
				cols = nil
				break
			}
			cols = append(cols, "CAST(NULL AS "+t+") AS "+quoteIdent(f.Name))
		}
	}
	if len(cols) == 0 {
		cols = []string{"NULL AS error"}
	}
	return "SELECT " + strings.Join(cols, ", ") + " WHERE error(" + msg + ") IS NULL"
}

// unbindView drops id's DuckDB view, unless a table has the name now (its
// view is the table's). The caller holds viewMu.
func (e *Engine) unbindView(id catalog.Ident) error {
	e.mu.Lock()
	_, had := e.stored[id]
	delete(e.stored, id)
	_, table := e.views[id]
	exists := e.schema[id.Namespace]
	e.mu.Unlock()
	if !had || table || !exists {
		return nil
	}
	err := e.ddlExec("DROP VIEW IF EXISTS " + e.qualified(id))
	e.gen.Add(1)
	return err
}

// storedViewNamed finds the persistent view ns.name, matching
// case-insensitively as DuckDB does.
func (e *Engine) storedViewNamed(ns, name string) (catalog.Ident, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := catalog.Ident{Namespace: ns, Name: name}
	if _, ok := e.stored[id]; ok {
		return id, true
	}
	for v := range e.stored {
		if strings.EqualFold(v.Namespace, ns) && strings.EqualFold(v.Name, name) {
			return v, true
		}
	}
	return catalog.Ident{}, false
}

// mentionedViews are the persistent views whose names appear in toks (an
// over-approximation, as referencedTables is), with their bound state.
func (e *Engine) mentionedViews(toks sqltext.Tokens) map[catalog.Ident]storedView {
	names := toks.DottedNames()
	if len(names) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out map[catalog.Ident]storedView
	for id, v := range e.stored {
		for _, parts := range names {
			if nameMentions(parts, id) {
				if out == nil {
					out = map[catalog.Ident]storedView{}
				}
				out[id] = v
				break
			}
		}
	}
	return out
}

// syncViews rebinds the persistent views toks names whose metadata location
// moved (or that were broken), and returns toks with the SQL of every view
// it names (and of the views those name), so that syncTables also checks
// the tables a statement reads through a view. Catalog errors are logged:
// the view last bound is still an answer.
func (e *Engine) syncViews(ctx context.Context, toks sqltext.Tokens) (sqltext.Tokens, error) {
	if e.viewSrc == nil {
		return toks, nil
	}
	seen := map[catalog.Ident]bool{}
	out, next := toks, toks
	for depth := 0; depth < maxViewDepth && len(next) > 0; depth++ {
		var more sqltext.Tokens
		for id, v := range e.mentionedViews(next) {
			if seen[id] {
				continue
			}
			seen[id] = true
			loc, err := e.viewSrc.ViewMetadataLocation(ctx, id)
			switch {
			case err != nil && !errors.Is(err, catalog.ErrNoSuchView):
				if ctx.Err() != nil {
					return nil, canceled(ctx)
				}
				e.log.Warn("checking view for changes", "view", id.String(), "err", err)
			case err != nil || loc != v.metadataLocation || v.broken:
				if err := e.bindView(ctx, id, true); err != nil {
					if errors.Is(err, ErrClosed) {
						return nil, err
					}
					if ctx.Err() != nil {
						return nil, canceled(ctx)
					}
					e.log.Warn("rebinding view", "view", id.String(), "err", err)
				}
				e.mu.Lock()
				v = e.stored[id]
				e.mu.Unlock()
			}
			more = append(more, v.toks...)
		}
		if len(more) > 0 {
			out = append(out[:len(out):len(out)], more...)
		}
		next = more
	}
	return out, nil
}
