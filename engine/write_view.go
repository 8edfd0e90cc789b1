//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// CREATE [OR REPLACE] VIEW [IF NOT EXISTS] ns.v AS query and DROP VIEW
// [IF EXISTS] ns.v[, …]: persistent views, stored as Iceberg views in the
// catalog (SQL in DuckDB's dialect, the query's result schema) and bound
// for every session (storedviews.go). A name resolves as a table's does
// (write_parse.go, targetOf): ns.v, lakehouse.ns.v, or v in the session's
// current lakehouse schema. The query is checked by preparing it where the
// view will be bound (the view's namespace, no session state), so DuckDB
// refuses an invalid one with its own message and nothing is stored.

// viewStmt is a parsed CREATE VIEW or DROP VIEW (not TEMP).
type viewStmt struct {
	create                           bool
	orReplace, ifNotExists, ifExists bool
	targets                          []sqltext.Name
	columns                          bool // CREATE VIEW v (a, b) AS …
	body                             string
	bodyToks                         sqltext.Tokens
}

func (v *viewStmt) what() string {
	if v.create {
		return "CREATE VIEW"
	}
	return "DROP VIEW"
}

// parseViewStmt recognises a non-TEMP CREATE VIEW or DROP VIEW; nil for
// anything else (DuckDB then says what is wrong with it).
func parseViewStmt(text string, toks sqltext.Tokens) *viewStmt {
	info := sqltext.Classify(toks)
	if info.Temp || info.Object != "view" || info.Kind != sqltext.KindCreate && info.Kind != sqltext.KindDrop {
		return nil
	}
	v := &viewStmt{create: info.Kind == sqltext.KindCreate, orReplace: info.OrReplace}
	i := info.Lead + 1
	for i < len(toks) && !toks[i].Is("view") {
		i++
	}
	i++
	switch {
	case v.create && toks.Words(i, "if", "not", "exists"):
		v.ifNotExists = true
		i += 3
	case !v.create && toks.Words(i, "if", "exists"):
		v.ifExists = true
		i += 2
	}
	for {
		parts, j := toks.Name(i)
		if len(parts) == 0 {
			return nil
		}
		v.targets = append(v.targets, sqltext.Name{Parts: parts, Start: i, End: j})
		i = j
		if v.create || !toks.Sym(i, ",") {
			break
		}
		i++
	}
	if !v.create {
		if toks.Word(i, "cascade") || toks.Word(i, "restrict") {
			i++
		}
		if i < len(toks) && !toks.Sym(i, ";") {
			return nil
		}
		return v
	}
	if toks.Sym(i, "(") {
		v.columns = true
		if i = toks.Close(i); i < 0 {
			return nil
		}
		i++
	}
	if !toks.Word(i, "as") || i+1 >= len(toks) {
		return nil
	}
	end := len(toks)
	for end > i+1 && toks.Sym(end-1, ";") {
		end--
	}
	if end <= i+1 {
		return nil
	}
	v.bodyToks = toks[i+1 : end]
	v.body = text[toks[i+1].Pos:toks[end-1].End]
	return v
}

// viewPlan is a prepared CREATE VIEW or DROP VIEW.
type viewPlan struct {
	stmt *viewStmt
	ids  []catalog.Ident
}

// prepareViewStmt prepares a CREATE/DROP VIEW on dc (held by the caller).
// ok is false when it is not for the lakehouse (a view of another DuckDB
// database, which the policy refuses) or the catalog keeps no views.
func (s *Session) prepareViewStmt(ctx context.Context, dc *dconn, sql string, toks sqltext.Tokens, v *viewStmt) (*Statement, bool, error) {
	e := s.e
	if e.source == nil || e.writer == nil || e.viewSrc == nil || e.viewWriter == nil {
		return nil, false, nil
	}
	var ids []catalog.Ident
	for _, t := range v.targets {
		id, ok, err := s.targetOf(ctx, dc, v.what(), t.Parts)
		if err != nil {
			return nil, true, err
		}
		if !ok {
			if len(ids) > 0 {
				return nil, true, newError(ErrUnsupported, "DROP VIEW names lakehouse views and other objects together: drop them in separate statements")
			}
			return nil, false, nil
		}
		if known, ok := e.storedViewNamed(id.Namespace, id.Name); ok {
			id = known
		}
		ids = append(ids, id)
	}
	if err := s.refuseInTransaction(v.what(), ids[0].String()); err != nil {
		return nil, true, err
	}
	plan := &viewPlan{stmt: v, ids: ids}
	for _, id := range ids {
		isView, isTable, err := e.objectKind(ctx, id)
		if err != nil {
			return nil, true, err
		}
		switch {
		case isTable && v.create:
			return nil, true, newError(ErrAlreadyExists, fmt.Sprintf("CREATE VIEW %s: %s is a table; a name is a table or a view, not both", id, id))
		case isTable:
			return nil, true, newError(ErrInvalidSQL, fmt.Sprintf("DROP VIEW %s: %s is a table, not a view: use DROP TABLE", id, id))
		case !isView && !v.create && !v.ifExists:
			return nil, true, newError(ErrNotFound, fmt.Sprintf("DROP VIEW: view %s does not exist", id))
		case isView && v.create && !v.orReplace && !v.ifNotExists:
			return nil, true, newError(ErrAlreadyExists, fmt.Sprintf("CREATE VIEW: view %s already exists (CREATE OR REPLACE VIEW replaces it)", id))
		}
	}
	if v.create {
		if v.columns {
			return nil, true, newError(ErrUnsupported, "CREATE VIEW "+ids[0].String()+" (columns) AS …: a view's column list is not supported; "+
				"name the columns in its query (SELECT a AS x, …)")
		}
		if _, err := e.viewResult(ctx, ids[0], v.body, v.bodyToks); err != nil {
			return nil, true, err
		}
	}
	return &Statement{s: s, sql: sql, text: sql, toks: toks, home: dc, class: classSession, schema: emptySchema,
		params: emptySchema, streams: map[*stream]struct{}{}, view: plan}, true, nil
}

// objectKind says whether id is a view or a table in the catalog.
func (e *Engine) objectKind(ctx context.Context, id catalog.Ident) (isView, isTable bool, err error) {
	_, err = e.viewSrc.ViewMetadataLocation(ctx, id)
	switch {
	case err == nil:
		return true, false, nil
	case !errors.Is(err, catalog.ErrNoSuchView):
		return false, false, err
	}
	isTable, err = e.tableExists(ctx, id)
	return false, isTable, err
}

// refuseView refuses a table statement (kind: DROP TABLE, INSERT, …) whose
// target id is a view.
func (e *Engine) refuseView(ctx context.Context, kind string, id catalog.Ident) error {
	if e.viewSrc == nil {
		return nil
	}
	_, err := e.viewSrc.ViewMetadataLocation(ctx, id)
	switch {
	case errors.Is(err, catalog.ErrNoSuchView):
		return nil
	case err != nil:
		return err
	}
	switch kind {
	case "DROP TABLE":
		return newError(ErrInvalidSQL, fmt.Sprintf("DROP TABLE %s: %s is a view, not a table: use DROP VIEW", id, id))
	case "CREATE TABLE":
		return newError(ErrAlreadyExists, fmt.Sprintf("CREATE TABLE %s: %s is a view; a name is a table or a view, not both", id, id))
	}
	return newError(ErrUnsupported, fmt.Sprintf("%s %s: %s is a view: only Iceberg tables and the session's TEMP tables can be changed", kind, id, id))
}

// viewResult checks a view's query and returns its result schema: the
// query is prepared (nothing runs) on a connection of its own whose
// current schema is the view's namespace, as when the view is bound.
func (e *Engine) viewResult(ctx context.Context, id catalog.Ident, body string, toks sqltext.Tokens) (*arrow.Schema, error) {
	what := "CREATE VIEW " + id.String()
	for i, t := range toks {
		if t.Kind != sqltext.Word || !toks.Sym(i+1, "(") {
			continue
		}
		if t.Text == "at" {
			return nil, newError(ErrUnsupported, what+": a view cannot keep an Iceberg snapshot (AT clause): "+
				"create a table from the query, or tag the snapshot and time-travel to the tag in each query")
		}
		if metaFunctions[t.Text] != nil {
			return nil, newError(ErrUnsupported, what+": a view cannot read "+t.Text+"(…): lakeflight answers the metadata functions per statement")
		}
	}
	if ctx.Err() != nil {
		return nil, canceled(ctx)
	}
	conn, err := e.connect()
	if err != nil {
		return nil, err
	}
	dc := &dconn{c: conn}
	defer e.disconnect(&dc.c)
	if err := execSQL(dc.c, "USE "+quoteIdent(e.cfg.CatalogName)+"."+quoteIdent(id.Namespace)); err != nil {
		return nil, err
	}
	var sc *arrow.Schema
	err = withPrepared(dc, body, func(ps bindings.PreparedStatement, opts bindings.ArrowOptions) error {
		if t := bindings.PreparedStatementType(ps); t != bindings.StatementTypeSelect {
			return newError(ErrInvalidSQL, what+": a view's body must be a query")
		}
		if bindings.NParams(ps) > 0 {
			return newError(ErrInvalidSQL, what+": a view's query cannot have parameters")
		}
		if err := e.checkResultColumns(int(bindings.PreparedStatementColumnCount(ps))); err != nil {
			return err
		}
		var err error
		sc, err = resultSchema(ps, opts)
		return err
	})
	if err != nil {
		return nil, prepareError(err, toks)
	}
	if _, err := catalog.IcebergSchema(sc); err != nil {
		return nil, newError(ErrUnsupported, fmt.Sprintf("%s: its result cannot be described as an Iceberg schema (%v): "+
			"CAST such columns to a type Iceberg has", what, err))
	}
	return sc, nil
}

// execView runs a prepared CREATE/DROP VIEW.
func (st *Statement) execView(ctx context.Context) error {
	p, e := st.view, st.s.e
	v := p.stmt
	if err := st.s.refuseInTransaction(v.what(), p.ids[0].String()); err != nil {
		return err
	}
	if !v.create {
		for _, id := range p.ids {
			err := e.viewWriter.DropView(ctx, id)
			switch {
			case errors.Is(err, catalog.ErrNoSuchView) && v.ifExists:
			case errors.Is(err, catalog.ErrNoSuchView):
				return newError(ErrNotFound, fmt.Sprintf("DROP VIEW: view %s does not exist", id))
			case err != nil:
				return fmt.Errorf("DROP VIEW %s: %w", id, err)
			}
			if err := e.bindView(ctx, id, true); err != nil {
				return err
			}
		}
		return nil
	}
	id := p.ids[0]
	// The schema now: the tables it reads may have changed since prepare.
	sc, err := e.viewResult(ctx, id, v.body, v.bodyToks)
	if err != nil {
		return err
	}
	if v.orReplace {
		err = e.viewWriter.CreateOrReplaceView(ctx, id, sc, v.body)
	} else {
		err = e.viewWriter.CreateView(ctx, id, sc, v.body)
	}
	switch {
	case errors.Is(err, catalog.ErrViewAlreadyExists) && v.ifNotExists:
		return nil
	case errors.Is(err, catalog.ErrViewAlreadyExists):
		return newError(ErrAlreadyExists, fmt.Sprintf("CREATE VIEW: view %s already exists (CREATE OR REPLACE VIEW replaces it)", id))
	case errors.Is(err, catalog.ErrTableAlreadyExists):
		return newError(ErrAlreadyExists, fmt.Sprintf("CREATE VIEW %s: %s is a table; a name is a table or a view, not both", id, id))
	case err != nil:
		return fmt.Errorf("CREATE VIEW %s: %w", id, err)
	}
	return e.bindView(ctx, id, true)
}

// isStoredView reports whether ns.name is a persistent view (listing.go).
func (e *Engine) isStoredView(ns, name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.stored[catalog.Ident{Namespace: ns, Name: name}]
	return ok
}

// viewTimeTravelError refuses to read view id as of a snapshot (an AT
// clause on it when at is set, else the session's lakeflight_as_of).
func viewTimeTravelError(id catalog.Ident, at bool) error {
	how := "this session reads as of a snapshot (lakeflight_as_of)"
	if at {
		how = "the reference has an AT clause"
	}
	return newError(ErrUnsupported, fmt.Sprintf("time travel: view %s reads the current snapshots of its tables, and %s; "+
		"a view cannot be read as of a snapshot (it would read current data). RESET %s to read the view, "+
		"or query its tables with AT (VERSION => …)", id, how, AsOfSetting))
}
