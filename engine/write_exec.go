//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Running SQL writes on Iceberg tables. Each statement is one atomic
// snapshot. DuckDB does the SQL: the statement runs unchanged except for
// its target, which becomes a TEMP stand-in table holding the rows of the
// table's snapshot (for UPDATE, DELETE and MERGE, with each row's data file
// and position in two extra columns), and a RETURNING clause that hands
// back what changed. lakeflight then writes the new rows as data files and
// the removed rows as position-delete files (merge-on-read; readers apply
// them as an anti-join; or rewrites the touched files, for a table set to
// copy-on-write: write_cow.go) and commits both in one snapshot. The snapshot
// computed from is the one the commit is based on: the table's commit lock
// is held meanwhile, and a commit by another process in between makes the
// statement run again on the new snapshot.

// Stand-in and identity column names.
const (
	standIn   = `temp.main."__lakeflight_target"`
	identFile = "__lakeflight_file"
	identPos  = "__lakeflight_pos"
)

// writeAttempts bounds runs of a statement that keeps losing commit races.
const writeAttempts = 8

// TableWriter is what SQL writes change in the catalog: namespaces, tables
// and their snapshots (through a Txn).
type TableWriter interface {
	Namespaces(ctx context.Context) ([]string, error)
	EnsureNamespace(ctx context.Context, ns string) error
	DropNamespace(ctx context.Context, ns string) error
	CreateTable(ctx context.Context, id catalog.Ident, schema *arrow.Schema, opts ...catalog.CreateOption) error
	DropTable(ctx context.Context, id catalog.Ident) error
	RenameTable(ctx context.Context, from, to catalog.Ident) error
	DropIfEmpty(ctx context.Context, id catalog.Ident) (bool, error)
	FileGroups(ctx context.Context, id catalog.Ident) ([]catalog.FileGroup, *catalog.TableState, error)
	Maintain(ctx context.Context, id catalog.Ident, action string, run func(*catalog.MaintenanceReport) error) (catalog.MaintenanceReport, error)
	Compact(ctx context.Context, id catalog.Ident, base int64, rows array.RecordReader, replaced []string, summary map[string]string, writers int) (int64, error)
	PlanFiltered(ctx context.Context, id catalog.Ident, snap int64, schemaID int, expr iceberg.BooleanExpression) (map[string]bool, error)
	ExpireSnapshots(ctx context.Context, id catalog.Ident, o catalog.ExpireOptions) (catalog.MaintenanceReport, error)
	Begin(ctx context.Context, id catalog.Ident) (*catalog.Txn, error)
	LoadTable(ctx context.Context, id catalog.Ident) (*table.Table, error)
}

// writePlan is a prepared write statement.
type writePlan struct {
	stmt    *sqltext.Write
	id      catalog.Ident
	ids     []catalog.Ident // DROP TABLE a, b: every table, id being the first
	sql     string
	toks    sqltext.Tokens
	alter   *alterAction   // ALTER TABLE's change
	sources []sqltext.Edit // time-travelling sources pointed at pinned views (rewrite.go)
	// staged: this run's MERGE source subquery is in a TEMP table
	// (write_source.go); set on a run's copy of the plan, never the shared one.
	staged bool
	// returned is the schema of the rows the client's RETURNING asks for
	// (nil without one); they follow the engine's own returned columns.
	returned *arrow.Schema
	// partitionBy is CREATE TABLE's PARTITIONED BY terms ("" for none) and
	// partitionCut the edit that takes the clause out of what DuckDB runs.
	partitionBy  string
	partitionCut *sqltext.Edit
}

// prepareWrite prepares a write on dc (held by the caller). ok is false
// when the statement does not write to an Iceberg table or namespace.
func (s *Session) prepareWrite(ctx context.Context, dc *dconn, sql string, toks sqltext.Tokens, w *sqltext.Write) (res *Statement, ok bool, err error) {
	if s.e.source == nil { // no Iceberg catalog: only temp objects to write to
		return nil, false, nil
	}
	if s.e.writer == nil {
		return nil, true, newError(ErrUnsupported, w.Kind.String()+": this engine's catalog takes no SQL writes")
	}
	if w.Kind == writeCreateSchema || w.Kind == writeDropSchema {
		return s.prepareSchemaWrite(ctx, dc, sql, toks, w)
	}
	ids, ok, err := s.writeTargets(ctx, dc, w)
	if err != nil || !ok {
		return nil, ok, err
	}
	for _, other := range ids {
		if err := s.e.refuseView(ctx, w.Kind.String(), other); err != nil {
			return nil, true, err
		}
	}
	id := ids[0]
	if w.InsertOr {
		return nil, true, newError(ErrUnsupported, "INSERT OR REPLACE / INSERT OR IGNORE need a primary key, which Iceberg tables do not have: use MERGE INTO")
	}
	if err := s.refuseInTransaction(w.Kind.String(), id.String()); err != nil {
		return nil, true, err
	}
	if as := s.AsOf(); as != "" && (w.Kind == writeUpdate || w.Kind == writeDelete || w.Kind == writeMerge) {
		return nil, true, newError(ErrInvalidSQL, fmt.Sprintf("%s changes the current rows of %s, but this session reads as of %q "+
			"(lakeflight_as_of): RESET lakeflight_as_of first; to use old rows in a write, name their snapshot with AT (VERSION => …)", w.Kind, id, as))
	}
	plan := &writePlan{stmt: w, id: id, ids: ids, sql: sql, toks: toks}
	rw, err := s.pinSources(ctx, dc, sql, toks, w.Target().Start)
	if err != nil {
		return nil, true, err
	}
	var pins []*pin
	if rw != nil {
		plan.sources, pins = rw.edits, rw.pins
	}
	defer func() {
		if res == nil { // else the statement holds the pins until it is destroyed
			s.e.releasePins(pins)
		}
	}()
	st := &Statement{s: s, sql: sql, text: sql, toks: toks, home: dc, class: classSession, schema: emptySchema,
		params: emptySchema, streams: map[*stream]struct{}{}, write: plan, pins: pins}
	tbl, err := s.e.writer.LoadTable(ctx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, true, err
	}
	switch w.Kind {
	case writeDrop:
		for _, other := range ids {
			ok, err := s.e.tableExists(ctx, other)
			if err != nil {
				return nil, true, err
			}
			if !ok && !w.IfExists {
				return nil, true, newError(ErrNotFound, "DROP TABLE: table "+other.String()+" does not exist")
			}
		}
		return st, true, nil
	case writeAlter:
		if !exists && !w.IfExists {
			return nil, true, newError(ErrNotFound, "ALTER TABLE: table "+id.String()+" does not exist")
		}
		act, err := parseAlter(dc, sql, toks, w.Target().End)
		if err != nil {
			return nil, true, err
		}
		plan.alter = act
		return st, true, nil
	case writeCreate:
		if exists && !w.IfNotExists && !w.OrReplace {
			return nil, true, newError(ErrAlreadyExists, "CREATE TABLE: table "+id.String()+" already exists")
		}
		terms, cut, err := partitionClause(sql, toks, w.Target().End)
		if err != nil {
			return nil, true, err
		}
		plan.partitionBy, plan.partitionCut = terms, cut
		if exists && w.OrReplace {
			if err := refuseReplacePartitioned(id, tbl, terms); err != nil {
				return nil, true, err
			}
		}
		if err := refuseConstraints(toks, w.Target().End, id); err != nil {
			return nil, true, err
		}
		text, err := plan.createText()
		if err != nil {
			return nil, true, err
		}
		if err := st.describeText(text); err != nil {
			return nil, true, err
		}
		return st, true, nil
	}
	if !exists {
		return nil, true, newError(ErrNotFound, w.Kind.String()+": table "+id.String()+" does not exist")
	}
	// Prepare against an empty stand-in to check the statement and learn
	// its parameters.
	cur := &catalog.TableState{Ident: id, Schema: tbl.Schema()} // the columns are all prepare needs
	if err := plan.fillStandIn(dc, cur, true, s.e.norm()); err != nil {
		return nil, true, err
	}
	defer dropStandIn(dc)
	text, err := plan.dmlText(cur)
	if err != nil {
		return nil, true, err
	}
	if w.Returning < 0 {
		if err := st.describeText(text); err != nil {
			return nil, true, err
		}
		return st, true, nil
	}
	if err := st.describeReturning(text, plan.ownColumns(cur)); err != nil {
		return nil, true, err
	}
	plan.returned = st.schema
	return st, true, nil
}

// ownColumns is how many columns the engine's own RETURNING asks for
// (dmlText): the client's RETURNING columns follow them.
func (p *writePlan) ownColumns(st *catalog.TableState) int {
	n := len(st.Schema.Fields())
	switch p.stmt.Kind {
	case writeUpdate:
		return n + 2 // the row and its identity
	case writeDelete:
		return 2 // the identity
	case writeMerge:
		return 1 + n + 2 // the action, the row, its identity
	}
	return n // INSERT: the row
}

// describeReturning prepares text (nothing runs) to learn its parameters
// and, of its result, the columns after the first own: what the client's
// RETURNING clause gives back. The statement is then a query.
func (st *Statement) describeReturning(text string, own int) error {
	ps, err := prepareText(st.home, text)
	if err != nil {
		return err
	}
	defer bindings.DestroyPrepare(&ps)
	if err := st.describeParams(ps); err != nil {
		return err
	}
	var opts bindings.ArrowOptions
	bindings.ConnectionGetArrowOptions(st.home.c, &opts)
	defer bindings.DestroyArrowOptions(&opts)
	full, err := resultSchema(ps, opts)
	if err != nil {
		return err
	}
	if full.NumFields() <= own {
		return fmt.Errorf("RETURNING gave %d columns, fewer than the %d the engine reads: %w", full.NumFields(), own, ErrInternal)
	}
	st.schema, st.isQuery = arrow.NewSchema(full.Fields()[own:], nil), true
	return nil
}

// writeTargets resolves every target of a write (DROP TABLE names several):
// ok is false when none is an Iceberg table (DuckDB handles the statement);
// a mix of Iceberg tables and other objects is refused.
func (s *Session) writeTargets(ctx context.Context, dc *dconn, w *sqltext.Write) ([]catalog.Ident, bool, error) {
	var ids []catalog.Ident
	others := 0
	for _, t := range w.Targets {
		id, ok, err := s.targetOf(ctx, dc, w.Kind.String(), t.Parts)
		if err != nil {
			return nil, true, err
		}
		if !ok {
			others++
			continue
		}
		ids = append(ids, id)
	}
	switch {
	case len(ids) == 0:
		return nil, false, nil
	case others > 0:
		return nil, true, newError(ErrUnsupported, "DROP TABLE names Iceberg tables and other objects together: drop them in separate statements")
	}
	return ids, true, nil
}

// constraintWords are column constraints Iceberg tables cannot keep; taking
// them would drop them silently after the first statement.
var constraintWords = map[string]string{
	"primary": "PRIMARY KEY", "unique": "UNIQUE", "check": "CHECK", "references": "REFERENCES (a foreign key)",
	"foreign": "FOREIGN KEY", "default": "DEFAULT", "generated": "GENERATED", "collate": "COLLATE",
}

// refuseConstraints refuses CREATE TABLE column lists with constraints
// other than NOT NULL (which Iceberg keeps as a required column).
func refuseConstraints(toks sqltext.Tokens, from int, id catalog.Ident) error {
	if !toks.Sym(from, "(") {
		return nil // CREATE TABLE … AS: no column list
	}
	end := toks.Close(from)
	depth := 0
	for i := from + 1; i < end; i++ {
		switch {
		case toks[i].Sym("("):
			depth++
		case toks[i].Sym(")"):
			depth--
		case depth == 0 && toks[i].Kind == sqltext.Word && constraintWords[toks[i].Text] != "",
			depth == 0 && toks[i].Is("as") && toks.Sym(i+1, "("):
			what := constraintWords[toks[i].Text]
			if what == "" {
				what = "a generated column (AS (…))"
			}
			return newError(ErrUnsupported, fmt.Sprintf("CREATE TABLE %s: %s cannot be kept on an Iceberg table (Iceberg has no "+
				"enforced keys, checks, defaults or collations); declare columns NOT NULL where needed and use MERGE INTO for upserts", id, what))
		}
	}
	return nil
}

// describeText prepares text on the statement's connection to learn its
// parameters (nothing runs), then drops the DuckDB statement.
func (st *Statement) describeText(text string) error {
	ps, err := prepareText(st.home, text)
	if err != nil {
		return err
	}
	defer bindings.DestroyPrepare(&ps)
	return st.describeParams(ps)
}

// prepareOnMain runs prep on the session's main connection (a statement
// that changes tables needs it: its stand-in lives there) and registers the
// statement prep returns. ok is false when prep declined the statement.
func (s *Session) prepareOnMain(prep func(dc *dconn) (*Statement, bool, error)) (*Statement, bool, error) {
	if !s.take(s.main) {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, true, ErrClosed
		}
		return nil, true, newError(ErrBusy, "the session is streaming a result: read it to the end or close it before changing tables")
	}
	dc := s.main
	st, ok, err := prep(dc)
	s.releaseConn(dc)
	if err != nil || !ok {
		return nil, ok, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		st.destroy()
		return nil, true, ErrClosed
	}
	s.dirty = true
	s.stmts[st] = struct{}{}
	return st, true, nil
}

// describeParams sets the statement's parameter schema from ps.
func (st *Statement) describeParams(ps bindings.PreparedStatement) error {
	st.ps = ps
	if st.opts.Ptr == nil {
		bindings.ConnectionGetArrowOptions(st.home.c, &st.opts) // freed with the statement
	}
	err := st.describe()
	st.ps = bindings.PreparedStatement{}
	st.schema, st.isQuery, st.schemaOpen = emptySchema, false, false
	return err
}

func (e *Engine) tableExists(ctx context.Context, id catalog.Ident) (bool, error) {
	_, err := e.source.MetadataLocation(ctx, id)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return false, nil
	}
	return err == nil, err
}

// prepareText prepares text on dc.
func prepareText(dc *dconn, text string) (bindings.PreparedStatement, error) {
	var ps bindings.PreparedStatement
	if bindings.Prepare(dc.c, text, &ps) == bindings.StateError {
		msg := bindings.PrepareError(ps)
		bindings.DestroyPrepare(&ps)
		return ps, duckErr(bindings.ErrorTypeInvalid, msg)
	}
	return ps, nil
}

func dropStandIn(dc *dconn) { _ = execSQL(dc.c, "DROP TABLE IF EXISTS "+standIn) }

// fillStandIn (re)creates the stand-in from snapshot st: empty for INSERT
// (or when empty is set), else every row with its identity.
func (p *writePlan) fillStandIn(dc *dconn, st *catalog.TableState, empty bool, norm string) error {
	body, err := viewSQLWith(st, p.stmt.Kind != writeInsert, norm)
	if err != nil {
		return fmt.Errorf("%s %s: %w", p.stmt.Kind, p.id, err)
	}
	q := "CREATE OR REPLACE TEMP TABLE \"__lakeflight_target\" AS " + body
	if alias, where, with, ok := p.prefilter(); ok {
		// In row identity order: filled straight from a selective parallel
		// scan, the stand-in made a MERGE of 18K rows take 1 s instead of
		// 50 ms (2M-row table).
		q = "CREATE OR REPLACE TEMP TABLE \"__lakeflight_target\" AS " + with + "SELECT * FROM (" + body + ") AS " +
			quoteIdent(alias) + " WHERE " + where + " ORDER BY " + p.keyOrder(alias) + identFile + ", " + identPos // see write_prefilter.go
	}
	if empty || p.stmt.Kind == writeInsert {
		q = "CREATE OR REPLACE TEMP TABLE \"__lakeflight_target\" AS SELECT * FROM (" + body + ") LIMIT 0"
	}
	return execSQL(dc.c, q)
}

// dmlText is the client's statement aimed at the stand-in, with RETURNING.
func (p *writePlan) dmlText(st *catalog.TableState) (string, error) {
	toks, sql, w := p.toks, p.sql, p.stmt
	repl := standIn
	if w.Kind != writeInsert && w.Alias == "" {
		repl += " AS " + quoteIdent(w.Target().Parts[len(w.Target().Parts)-1])
	}
	edits := []sqltext.Edit{{Start: toks[w.Target().Start].Pos, End: toks[w.Target().End-1].End, Text: repl}}
	edits = append(edits, p.sourceEdits()...)
	if w.Kind == writeMerge {
		cols := make([]string, len(st.Schema.Fields()))
		for i, f := range st.Schema.Fields() {
			cols[i] = quoteIdent(f.Name)
		}
		edits = append(edits, mergeActionEdits(toks, cols)...)
	}
	own := map[writeKind]string{writeInsert: "*", writeUpdate: "*", writeDelete: identFile + ", " + identPos,
		writeMerge: "merge_action, *"}[w.Kind]
	if w.Returning >= 0 {
		// The client's RETURNING list follows the engine's own columns; its
		// stars leave out the stand-in's identity columns.
		ret, err := returningEdits(toks, w.Returning, own, w.Kind != writeInsert)
		if err != nil {
			return "", err
		}
		edits = append(edits, ret...)
	}
	text, err := sqltext.Apply(sql, edits)
	if err != nil {
		return "", fmt.Errorf("%s %s: aiming the statement at its stand-in: %w: %w", w.Kind, p.id, ErrInternal, err)
	}
	if w.Returning < 0 {
		text += "\nRETURNING " + own
	}
	return text, nil
}

// returningEdits put the engine's own columns first in a client's RETURNING
// list (at toks[ret]) and, when the stand-in has identity columns, keep
// them out of the client's stars.
func returningEdits(toks sqltext.Tokens, ret int, own string, identity bool) ([]sqltext.Edit, error) {
	edits := []sqltext.Edit{{Start: toks[ret].End, End: toks[ret].End, Text: " " + own + ","}}
	if !identity {
		return edits, nil
	}
	hidden := identFile + ", " + identPos
	depth := 0
	for i := ret + 1; i < len(toks); i++ {
		switch {
		case toks[i].Sym("("):
			depth++
		case toks[i].Sym(")"):
			depth--
		case depth == 0 && toks[i].Sym("*") && (i == ret+1 || toks.Sym(i-1, ",") || toks.Sym(i-1, ".")):
			switch {
			case toks.Word(i+1, "exclude") && toks.Sym(i+2, "("):
				edits = append(edits, sqltext.Edit{Start: toks[i+2].End, End: toks[i+2].End, Text: hidden + ", "})
			case toks.Word(i+1, "exclude"):
				return nil, newError(ErrInvalidSQL, "RETURNING * EXCLUDE: write the excluded columns in parentheses, EXCLUDE (a, b)")
			default:
				edits = append(edits, sqltext.Edit{Start: toks[i].End, End: toks[i].End, Text: " EXCLUDE (" + hidden + ")"})
			}
		}
	}
	return edits, nil
}

// mergeActionEdits makes MERGE's positional shorthands work on a stand-in
// with identity columns: INSERT * and a bare INSERT become INSERT BY NAME,
// INSERT VALUES (…) names the table's columns, UPDATE SET * and a bare
// UPDATE become UPDATE BY NAME. Only the THEN of a WHEN [NOT] MATCHED
// clause starts an action (a CASE … THEN inside one does not).
func mergeActionEdits(toks sqltext.Tokens, cols []string) []sqltext.Edit {
	var out []sqltext.Edit
	when := -1 // the last top-level WHEN
	depth := 0
	for i := 0; i+1 < len(toks); i++ {
		switch {
		case toks[i].Sym("("):
			depth++
		case toks[i].Sym(")"):
			depth--
		case depth == 0 && toks[i].Is("when"):
			when = i
		}
		if depth != 0 || !toks[i].Is("then") || when < 0 || !toks.Word(when+1, "matched") && !toks.Words(when+1, "not", "matched") {
			continue
		}
		when = -1
		act := toks[i+1]
		bare := i+2 >= len(toks) || toks.Word(i+2, "when") || toks.Word(i+2, "returning")
		switch {
		case act.Is("insert") && toks.Sym(i+2, "*"):
			out = append(out, sqltext.Edit{Start: toks[i+2].Pos, End: toks[i+2].End, Text: "BY NAME"})
		case act.Is("insert") && toks.Word(i+2, "values"):
			out = append(out, sqltext.Edit{Start: toks[i+2].Pos, End: toks[i+2].Pos, Text: "(" + strings.Join(cols, ", ") + ") "})
		case act.Is("insert") && bare:
			out = append(out, sqltext.Edit{Start: act.End, End: act.End, Text: " BY NAME"})
		case act.Is("update") && toks.Word(i+2, "set") && toks.Sym(i+3, "*"):
			out = append(out, sqltext.Edit{Start: toks[i+2].Pos, End: toks[i+3].End, Text: "BY NAME"})
		case act.Is("update") && bare:
			out = append(out, sqltext.Edit{Start: act.End, End: act.End, Text: " BY NAME"})
		}
	}
	return out
}

// createText is CREATE TABLE … aimed at a TEMP stand-in.
func (p *writePlan) createText() (string, error) {
	head := sqltext.Edit{Start: 0, End: p.toks[p.stmt.Target().End-1].End, Text: "CREATE OR REPLACE TEMP TABLE \"__lakeflight_target\""}
	edits := append([]sqltext.Edit{head}, p.sources...)
	if p.partitionCut != nil {
		edits = append(edits, *p.partitionCut)
	}
	return sqltext.Apply(p.sql, edits)
}

// partitionClause finds CREATE TABLE's PARTITIONED BY (…), which follows
// the column list or, in CREATE TABLE … AS without one, the table name
// (from is the token after the name). It returns the clause's terms and
// the edit that cuts the clause out of the text DuckDB runs; "" and nil
// when there is none.
func partitionClause(sql string, toks sqltext.Tokens, from int) (string, *sqltext.Edit, error) {
	i := from
	if toks.Sym(i, "(") {
		i = toks.Close(i) + 1
	}
	if !toks.Word(i, "partitioned") {
		j, as := toks.TopLevel(from, "partitioned"), toks.TopLevel(from, "as")
		if j >= 0 && (as < 0 || j < as) {
			return "", nil, newError(ErrInvalidSQL, "CREATE TABLE: PARTITIONED BY (…) goes right after the column list, or after the table name in CREATE TABLE … AS")
		}
		return "", nil, nil
	}
	end := toks.Close(i + 2)
	if !toks.Word(i+1, "by") || end < 0 {
		return "", nil, newError(ErrInvalidSQL, "CREATE TABLE: PARTITIONED needs BY (…) with the partition terms, as in PARTITIONED BY (day(ts), bucket(16, id))")
	}
	terms := strings.TrimSpace(sql[toks[i+2].End:toks[end].Pos])
	if terms == "" {
		return "", nil, newError(ErrInvalidSQL, "CREATE TABLE: PARTITIONED BY () names no column")
	}
	return terms, &sqltext.Edit{Start: toks[i].Pos, End: toks[end].End, Text: " "}, nil
}

// refuseReplacePartitioned refuses CREATE OR REPLACE TABLE on an existing
// table when partitions are involved: the new schema's field ids differ
// from the old spec's sources, and moving a table to a new spec is not
// written yet.
func refuseReplacePartitioned(id catalog.Ident, tbl *table.Table, terms string) error {
	switch {
	case terms != "":
		return newError(ErrUnsupported, "CREATE OR REPLACE TABLE "+id.String()+" … PARTITIONED BY: replacing an existing table with a partitioned one is not supported yet; DROP TABLE it first")
	case tbl != nil && !tbl.Spec().IsUnpartitioned():
		return newError(ErrUnsupported, "CREATE OR REPLACE TABLE "+id.String()+": the table is partitioned ("+tbl.Spec().String()+"), and replacing a partitioned table is not supported yet; DROP TABLE it first")
	}
	return nil
}

// execWrite runs a prepared write; it returns the rows it changed.
func (st *Statement) execWrite(ctx context.Context, params arrow.RecordBatch) (int64, error) {
	n, returned, err := st.execWriteRows(ctx, params)
	releaseAll(returned)
	return n, err
}

// execWriteRows runs a prepared write; it returns the rows it changed and,
// when the statement has a RETURNING clause, the rows it returns (the
// caller releases them), once the snapshot is committed.
func (st *Statement) execWriteRows(ctx context.Context, params arrow.RecordBatch) (int64, []arrow.RecordBatch, error) {
	if !st.s.take(st.home) {
		return 0, nil, newError(ErrBusy, "the session is streaming a result: read it to the end or close it before writing")
	}
	defer st.s.releaseConn(st.home)
	if st.tag != "" {
		ctx = context.WithValue(ctx, queryTagKey{}, st.tag)
	}
	p, dc, e := st.write, st.home, st.s.e
	if err := st.s.refuseInTransaction(p.stmt.Kind.String(), p.id.String()); err != nil {
		return 0, nil, err
	}
	switch p.stmt.Kind {
	case writeCreateSchema:
		return 0, nil, e.createSchema(ctx, p)
	case writeDropSchema:
		return 0, nil, e.dropSchema(ctx, p)
	case writeDrop:
		return 0, nil, e.dropTable(ctx, p)
	case writeAlter:
		return 0, nil, e.alterTable(ctx, p)
	case writeCreate:
		n, err := e.createTable(ctx, dc, p, params)
		return n, nil, err
	}
	ws := WriteStats{Statement: p.stmt.Kind.String(), Table: p.id.String()}
	defer func() {
		st.s.mu.Lock()
		st.s.lastWrite = ws
		st.s.mu.Unlock()
	}()
	for attempt := 1; ; attempt++ {
		ws.Attempts = attempt
		n, returned, err := e.runDML(ctx, dc, p, params, &ws)
		if !errors.Is(err, catalog.ErrConflict) || attempt >= writeAttempts {
			return n, returned, err
		}
		// Another process committed first. Back off a random while (so
		// racing writers spread out), then run the statement again on the
		// new snapshot.
		e.log.Info("write lost a commit race; running it again on the new snapshot", "table", p.id.String(), "attempt", attempt)
		wait := time.Duration(attempt) * (20*time.Millisecond + rand.N(80*time.Millisecond))
		select {
		case <-ctx.Done():
			return 0, nil, canceled(ctx)
		case <-time.After(wait):
		}
	}
}

// runDML computes and commits one INSERT/UPDATE/DELETE/MERGE.
func (e *Engine) runDML(ctx context.Context, dc *dconn, p *writePlan, params arrow.RecordBatch, ws *WriteStats) (int64, []arrow.RecordBatch, error) {
	lap := stopwatch()
	txn, err := e.writer.Begin(ctx, p.id)
	if err != nil {
		return 0, nil, err
	}
	defer txn.Abort()
	// INSERT needs only the columns; the others compute from the rows.
	base := &catalog.TableState{Ident: p.id, Schema: txn.Table().Schema()}
	if p.stmt.Kind != writeInsert {
		if base, err = txn.State(ctx); err != nil {
			return 0, nil, err
		}
		// An object-store warehouse's files are read from local copies,
		// held until the statement is done with them.
		var release func()
		if base, release, err = e.localize(ctx, base); err != nil {
			return 0, nil, err
		}
		defer release()
	}
	ws.Plan += lap()
	if run := *p; run.stageSource(dc) {
		p = &run
		defer dropStagedSource(dc)
		ws.Source += lap()
	}
	if err := p.fillStandIn(dc, base, false, e.norm()); err != nil {
		return 0, nil, err
	}
	defer dropStandIn(dc)
	if rows, err := queryStrings(dc.c, "SELECT count(*) FROM "+standIn); err == nil && len(rows) == 1 {
		ws.StandInRows, _ = strconv.ParseInt(rows[0][0], 10, 64)
	}
	ws.StandIn += lap()
	text, err := p.dmlText(base)
	if err != nil {
		return 0, nil, err
	}
	ps, err := prepareText(dc, text)
	if err != nil {
		return 0, nil, err
	}
	defer bindings.DestroyPrepare(&ps)
	var opts bindings.ArrowOptions
	bindings.ConnectionGetArrowOptions(dc.c, &opts)
	defer bindings.DestroyArrowOptions(&opts)
	rows := 1
	if params != nil {
		rows = int(params.NumRows())
	}
	ir := e.interrupter(dc.c)
	stop := context.AfterFunc(ctx, ir.interrupt)
	defer stop()
	var out []arrow.RecordBatch
	defer func() { releaseAll(out) }()
	for r := 0; r < rows; r++ {
		if params != nil {
			if err := bindRow(ps, params, r); err != nil {
				return 0, nil, err
			}
		}
		ir.arm()
		recs, err := executeRecords(ctx, ps, opts)
		ir.disarm()
		out = append(out, recs...)
		if err != nil {
			return 0, nil, withCtx(ctx, err)
		}
	}
	ws.Run += lap()
	target, err := txn.ArrowSchema()
	if err != nil {
		return 0, nil, err
	}
	ch, err := collectChanges(ctx, p, base, target, out)
	if err != nil {
		return 0, nil, err
	}
	defer ch.release()
	ws.Collect += lap()
	var replaced []string // copy-on-write: the data files rewritten
	if len(ch.deletes) > 0 && copyOnWrite(txn.Table().Properties(), p.stmt.Kind) {
		surv, locs, err := survivors(ctx, dc, base, ch, target, e.norm())
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: rewriting touched files: %w", p.stmt.Kind, p.id, err)
		}
		ws.RewrittenRows = 0
		for _, b := range surv {
			ws.RewrittenRows += b.NumRows()
		}
		ch.rows, replaced = append(surv, ch.rows...), locs
		ws.CopyOnWrite = true
		ws.Rewrite += lap()
	}
	rdr, err := array.NewRecordReader(target, ch.rows)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", p.stmt.Kind, p.id, err)
	}
	defer rdr.Release()
	summary := map[string]string{"lakeflight.sql.statement": p.stmt.Kind.String()}
	tagSummary(ctx, summary)
	var reader array.RecordReader // nil: nothing to add
	if len(ch.rows) > 0 {
		reader = rdr
	}
	if replaced != nil {
		err = txn.Replace(ctx, reader, replaced, summary, runtime.GOMAXPROCS(0))
	} else {
		err = txn.Delta(ctx, reader, ch.deletes, summary, runtime.GOMAXPROCS(0))
	}
	if err != nil {
		return 0, nil, err
	}
	ws.Write += lap()
	snap, err := txn.Commit(ctx)
	ws.Commit += lap()
	if err != nil {
		return 0, nil, err
	}
	// The view is rebound when a statement next names the table (the
	// metadata location moved), not now: a run of writes plans nothing.
	e.markStale(p.id)
	e.scheduleUpkeep(p.id)
	ws.Snapshot, ws.Rows = snap, ch.affected
	e.log.Info("sql write committed", "statement", p.stmt.Kind.String(), "table", p.id.String(),
		"tag", queryTagOf(ctx), "snapshot", snap, "rows", ch.affected, "attempt", ws.Attempts, "plan", ws.Plan, "source", ws.Source, "stand_in", ws.StandIn,
		"stand_in_rows", ws.StandInRows, "run", ws.Run, "collect", ws.Collect, "copy_on_write", ws.CopyOnWrite,
		"rewrite", ws.Rewrite, "rewritten_rows", ws.RewrittenRows, "write", ws.Write, "commit", ws.Commit)
	return ch.affected, returnedRows(p, out), nil
}

// returnedRows cuts the client's RETURNING columns out of the rows the
// statement returned (nil without a RETURNING clause); the caller releases
// them.
func returnedRows(p *writePlan, out []arrow.RecordBatch) []arrow.RecordBatch {
	if p.returned == nil {
		return nil
	}
	var rows []arrow.RecordBatch
	for _, rec := range out {
		own := int(rec.NumCols()) - p.returned.NumFields()
		rows = append(rows, array.NewRecordBatch(p.returned, rec.Columns()[own:], rec.NumRows()))
	}
	return rows
}

// WriteStats describes a session's last INSERT, UPDATE, DELETE or MERGE on
// an Iceberg table: where its time went (summed over its runs, when it lost
// commit races) and what it committed.
type WriteStats struct {
	Statement string        // INSERT, UPDATE, DELETE or MERGE
	Table     string        // namespace.table
	Attempts  int           // runs (more than one after lost commit races)
	Plan      time.Duration // lock the table and plan its snapshot
	Source    time.Duration // run a MERGE's USING subquery into a TEMP table (write_source.go)
	StandIn   time.Duration // copy the snapshot into the TEMP stand-in
	// StandInRows: the rows copied (an UPDATE or DELETE whose WHERE stands
	// on its own copies only the rows it selects).
	StandInRows int64
	Run         time.Duration // DuckDB runs the statement on the stand-in
	Collect     time.Duration // sort the returned rows into new rows and deletes
	// CopyOnWrite: the table's write mode for this statement is
	// copy-on-write, so the touched data files were rewritten (Rewrite:
	// reading their RewrittenRows surviving rows back) instead of getting
	// position-delete files.
	CopyOnWrite   bool
	Rewrite       time.Duration
	RewrittenRows int64
	Write         time.Duration // write the data and position-delete files
	Commit        time.Duration // commit the snapshot
	Snapshot      int64         // the snapshot committed (0 if none)
	Rows          int64         // rows affected
}

// LastWrite reports the session's last SQL write to an Iceberg table.
func (s *Session) LastWrite() WriteStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastWrite
}

// stopwatch returns a function that reports the time since it was last
// called (or since stopwatch).
func stopwatch() func() time.Duration {
	last := time.Now()
	return func() time.Duration {
		now := time.Now()
		d := now.Sub(last)
		last = now
		return d
	}
}

// executeRecords runs ps once and returns its result as Arrow batches.
func executeRecords(ctx context.Context, ps bindings.PreparedStatement, opts bindings.ArrowOptions) ([]arrow.RecordBatch, error) {
	if ctx.Err() != nil {
		return nil, canceled(ctx)
	}
	var res bindings.Result
	if bindings.ExecutePrepared(ps, &res) == bindings.StateError {
		err := duckErr(bindings.ResultErrorType(&res), bindings.ResultError(&res))
		bindings.DestroyResult(&res)
		return nil, err
	}
	defer bindings.DestroyResult(&res)
	return resultRecords(&res, opts)
}
