//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Noticing commits made by other writers. Before a statement is prepared,
// the engine finds the Iceberg tables it may reference (every dotted name
// in its text that matches a bound table: an over-approximation that only
// costs an extra metadata-location check) and rebinds those whose metadata
// location moved since they were bound. Names that match nothing make the
// prepare fail with a catalog error, after which the catalog is listed once
// more (tables created since Open) and the prepare retried.

// referencedTables returns the bound tables whose names appear in toks.
func (e *Engine) referencedTables(toks sqltext.Tokens) []catalog.Ident {
	names := toks.DottedNames()
	for _, t := range toks {
		if t.Kind == sqltext.String && len(t.Text) < 256 { // query_table('ns.t') and the metadata functions name tables in strings
			names = append(names, strings.Split(t.Text, "."))
		}
	}
	if len(names) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.views) == 0 {
		return nil
	}
	seen := map[catalog.Ident]bool{}
	var out []catalog.Ident
	for id := range e.views {
		for _, parts := range names {
			if nameMentions(parts, id) && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// nameMentions reports whether a dotted name could refer to table id: one
// of its parts is the table's name. Aliases, columns and other schemas make
// this an over-approximation, which costs only a metadata-location check.
func nameMentions(parts []string, id catalog.Ident) bool {
	for _, p := range parts {
		if strings.EqualFold(p, id.Name) {
			return true
		}
	}
	return false
}

// syncTables rebinds the referenced tables whose metadata location changed.
// Catalog errors are logged, not returned: the last bound snapshot is still
// a consistent answer.
func (e *Engine) syncTables(ctx context.Context, toks sqltext.Tokens) error {
	if e.source == nil {
		return nil
	}
	toks, err := e.syncViews(ctx, toks) // and the tables read through views
	if err != nil {
		return err
	}
	for _, id := range e.referencedTables(toks) {
		if err := e.syncTable(ctx, id); err != nil {
			switch {
			case errors.Is(err, ErrClosed):
				return err
			case ctx.Err() != nil:
				return canceled(ctx)
			}
			e.log.Warn("checking table for commits", "table", id.String(), "err", err)
		}
	}
	return nil
}

// syncTable binds id as the catalog has it now: a new metadata location is
// bound, a table gone from the catalog has its view dropped.
func (e *Engine) syncTable(ctx context.Context, id catalog.Ident) error {
	loc, err := e.source.MetadataLocation(ctx, id)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		loc = "" // the bind drops its view
	} else if err != nil {
		return err
	}
	return e.bind(ctx, id, loc)
}

// Notice binds the table as it is now in the catalog: an in-process writer
// (ingest) calls it after a commit, so a table it created is known before
// any query asks for it. Failures are logged; the next statement that
// names the table tries again.
func (e *Engine) Notice(ctx context.Context, id catalog.Ident) {
	if e.source == nil {
		return
	}
	if err := e.syncTable(ctx, id); err != nil && !errors.Is(err, ErrClosed) {
		e.log.Warn("binding a committed table", "table", id.String(), "err", err)
	}
	e.scheduleUpkeep(id)
}

// relist binds tables and views created in the catalog since they were
// last listed. It reports whether the set of bound tables or views changed.
func (e *Engine) relist(ctx context.Context) bool {
	if e.source == nil {
		return false
	}
	e.mu.Lock()
	closed, before := e.closed, len(e.views)
	e.mu.Unlock()
	if closed {
		return false
	}
	gen, viewGen := e.stats.rebinds.Load(), e.gen.Load()
	if err := e.relistTables(ctx); err != nil {
		e.log.Warn("relisting tables", "err", err)
		return false
	}
	if err := e.relistViews(ctx); err != nil {
		e.log.Warn("relisting views", "err", err)
	}
	e.mu.Lock()
	after := len(e.views)
	e.mu.Unlock()
	return after != before || e.stats.rebinds.Load() != gen || e.gen.Load() != viewGen
}
