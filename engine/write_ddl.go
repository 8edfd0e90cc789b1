//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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

// CREATE TABLE, DROP TABLE and ALTER TABLE on Iceberg tables. Column types
// are DuckDB's: a CREATE runs against a TEMP stand-in first, so DuckDB
// parses the column list (or runs the query of CREATE … AS), and the
// stand-in's columns become the Iceberg schema.

// dropTable drops every table a DROP TABLE names (CASCADE and RESTRICT
// mean the same here: nothing in the lakehouse depends on a table).
func (e *Engine) dropTable(ctx context.Context, p *writePlan) error {
	for _, id := range p.ids {
		err := e.writer.DropTable(ctx, id)
		if errors.Is(err, catalog.ErrNoSuchTable) && p.stmt.IfExists {
			err = nil
		}
		if err != nil {
			return fmt.Errorf("DROP TABLE %s: %w", id, err)
		}
		if err := e.Refresh(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// icebergCasts maps DuckDB types Iceberg cannot store to ones it can.
var icebergCasts = map[string]string{
	"TINYINT": "INTEGER", "SMALLINT": "INTEGER", "UTINYINT": "INTEGER", "USMALLINT": "INTEGER",
	"UINTEGER": "BIGINT", "UBIGINT": "DECIMAL(20, 0)", "HUGEINT": "DECIMAL(38, 0)", "UHUGEINT": "DECIMAL(38, 0)",
	"TIMESTAMP_S": "TIMESTAMP", "TIMESTAMP_MS": "TIMESTAMP", "TIMESTAMP_NS": "TIMESTAMP",
	"JSON": "VARCHAR", "TIME WITH TIME ZONE": "TIME",
}

// createTable runs CREATE TABLE [AS] through the stand-in and commits the
// Iceberg table (and, for AS, its rows as the first snapshot).
func (e *Engine) createTable(ctx context.Context, dc *dconn, p *writePlan, params arrow.RecordBatch) (int64, error) {
	w := p.stmt
	exists, err := e.tableExists(ctx, p.id)
	if err != nil {
		return 0, err
	}
	if exists && w.IfNotExists {
		return 0, nil
	}
	if exists && !w.OrReplace {
		return 0, newError(ErrAlreadyExists, "CREATE TABLE: table "+p.id.String()+" already exists")
	}
	text, err := p.createText()
	if err != nil {
		return 0, err
	}
	ct := &createTimes{}
	lap := stopwatch()
	ps, err := prepareText(dc, text)
	if err != nil {
		return 0, err
	}
	if params != nil && params.NumRows() > 0 {
		if err := bindRow(ps, params, 0); err != nil {
			bindings.DestroyPrepare(&ps)
			return 0, err
		}
	}
	var res bindings.Result
	state := bindings.ExecutePrepared(ps, &res)
	if state == bindings.StateError {
		err = duckErr(bindings.ResultErrorType(&res), bindings.ResultError(&res))
	}
	bindings.DestroyResult(&res)
	bindings.DestroyPrepare(&ps)
	if err != nil {
		return 0, err
	}
	defer dropStandIn(dc)
	types, err := queryStrings(dc.c, "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = 'temp' "+
		"AND table_name = '__lakeflight_target' ORDER BY column_index")
	if err != nil {
		return 0, err
	}
	sel := make([]string, len(types))
	for i, t := range types {
		sel[i] = quoteIdent(t[0])
		if to, ok := icebergCasts[strings.ToUpper(t[1])]; ok {
			sel[i] = "CAST(" + quoteIdent(t[0]) + " AS " + to + ") AS " + quoteIdent(t[0])
		}
	}
	ct.run = lap()
	recs, schema, err := queryRecords(ctx, dc, "SELECT "+strings.Join(sel, ", ")+" FROM "+standIn)
	defer releaseAll(recs)
	if err != nil {
		return 0, err
	}
	ct.collect = lap()
	schema = withRequired(schema, types)
	if exists { // OR REPLACE: same table, new schema and rows, history kept
		tbl, err := e.writer.LoadTable(ctx, p.id)
		if err != nil {
			return 0, err
		}
		if err := refuseReplacePartitioned(p.id, tbl, p.partitionBy); err != nil {
			return 0, err
		}
		n, err := e.replaceTable(ctx, p.id, schema, recs, ct)
		if err != nil {
			return 0, err
		}
		e.logCreated(ctx, "CREATE OR REPLACE TABLE", p.id, n, ct)
		if err := e.Refresh(ctx, p.id); err != nil {
			e.log.Warn("binding a replaced table", "table", p.id.String(), "err", err)
		}
		return n, nil
	}
	opts := []catalog.CreateOption{catalog.PartitionedBy(p.partitionBy)}
	if p.isCTAS() {
		// Its rows commit next; if the process dies first, the next start
		// drops the empty table (catalog.SweepPending).
		opts = append(opts, catalog.Pending())
	}
	if err := e.writer.CreateTable(ctx, p.id, schema, opts...); err != nil {
		if errors.Is(err, catalog.ErrTableAlreadyExists) {
			return 0, newError(ErrAlreadyExists, "CREATE TABLE: table "+p.id.String()+" already exists")
		}
		return 0, err
	}
	ct.create = lap()
	var rows int64
	if p.isCTAS() {
		rows, err = e.appendCreated(ctx, p.id, recs, ct)
		if err != nil {
			if _, derr := e.writer.DropIfEmpty(ctx, p.id); derr != nil {
				e.log.Warn("dropping a table whose CREATE … AS failed", "table", p.id.String(), "err", derr)
			}
			return 0, err
		}
		e.logCreated(ctx, "CREATE TABLE AS", p.id, rows, ct)
	}
	if err := e.Refresh(ctx, p.id); err != nil {
		e.log.Warn("binding a created table", "table", p.id.String(), "err", err)
	}
	return rows, nil
}

// withRequired marks the columns declared NOT NULL (the third field of
// each cols row, duckdb_columns' is_nullable, is "false") as required.
func withRequired(sc *arrow.Schema, cols [][]string) *arrow.Schema {
	fields := sc.Fields()
	changed := false
	for i := range fields {
		if i < len(cols) && len(cols[i]) > 2 && cols[i][2] == "false" && fields[i].Nullable {
			fields[i].Nullable, changed = false, true
		}
	}
	if !changed {
		return sc
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md)
}

// isCTAS reports whether a CREATE TABLE has a query (… AS SELECT), which
// may follow a PARTITIONED BY clause.
func (p *writePlan) isCTAS() bool {
	i := p.stmt.Target().End
	if p.toks.Word(i, "partitioned") {
		i = p.toks.Close(i+2) + 1
	}
	return p.toks.Word(i, "as")
}

// replaceTable commits CREATE OR REPLACE TABLE on an existing table as one
// snapshot, as Iceberg's REPLACE TABLE does: the table keeps its identity,
// history, refs and properties; its schema becomes schema (fresh field ids)
// and its rows become recs.
func (e *Engine) replaceTable(ctx context.Context, id catalog.Ident, schema *arrow.Schema, recs []arrow.RecordBatch, ct *createTimes) (int64, error) {
	isc, err := catalog.IcebergSchema(schema)
	if err != nil {
		return 0, newError(ErrUnsupported, fmt.Sprintf("CREATE OR REPLACE TABLE %s: %v", id, err))
	}
	return e.commitCreated(ctx, id, recs, isc, ct)
}

// appendCreated commits the first snapshot of a table made by CREATE … AS.
func (e *Engine) appendCreated(ctx context.Context, id catalog.Ident, recs []arrow.RecordBatch, ct *createTimes) (int64, error) {
	return e.commitCreated(ctx, id, recs, nil, ct)
}

// createTimes is where a CREATE TABLE … AS spent its time, for its log
// line: DuckDB running the query into the stand-in, reading the rows out
// as Arrow, the catalog creating the table (a new one only), writing the
// data files, committing the snapshot.
type createTimes struct {
	run, collect, create, write, commit time.Duration
	snapshot                            int64
}

// logCreated logs a committed CREATE TABLE … AS the way SQL writes are
// logged ("sql write committed"), with its phases.
func (e *Engine) logCreated(ctx context.Context, stmt string, id catalog.Ident, rows int64, ct *createTimes) {
	e.log.Info("sql write committed", "statement", stmt, "table", id.String(), "tag", queryTagOf(ctx),
		"snapshot", ct.snapshot, "rows", rows, "run", ct.run, "collect", ct.collect, "create", ct.create,
		"write", ct.write, "commit", ct.commit)
}

// commitCreated commits the rows of CREATE … AS as one snapshot: appended
// to the new table, or, with a replacement schema, replacing the existing
// table's schema and every row.
func (e *Engine) commitCreated(ctx context.Context, id catalog.Ident, recs []arrow.RecordBatch, replace *iceberg.Schema, ct *createTimes) (int64, error) {
	stmt := "CREATE TABLE AS"
	lap := stopwatch()
	txn, err := e.writer.Begin(ctx, id)
	if err != nil {
		return 0, err
	}
	defer txn.Abort()
	if replace != nil {
		stmt = "CREATE OR REPLACE TABLE"
		if err := txn.ReplaceSchema(replace); err != nil {
			return 0, newError(ErrInvalidSQL, fmt.Sprintf("%s %s: %v", stmt, id, err))
		}
	}
	target, err := txn.ArrowSchema()
	if err != nil {
		return 0, err
	}
	var rows []arrow.RecordBatch
	defer func() { releaseAll(rows) }()
	var n int64
	for _, rec := range recs {
		b, err := conformRows(ctx, rec, 0, target, nil)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", stmt, id, err)
		}
		if b != nil {
			rows = append(rows, b)
			n += b.NumRows()
		}
	}
	rdr, err := array.NewRecordReader(target, rows)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", stmt, id, err)
	}
	defer rdr.Release()
	summary := map[string]string{"lakeflight.sql.statement": stmt}
	tagSummary(ctx, summary)
	switch {
	case replace == nil:
		err = txn.AppendParallel(ctx, rdr, summary, runtime.GOMAXPROCS(0))
	case len(rows) == 0:
		err = txn.ReplaceAll(ctx, nil, summary, runtime.GOMAXPROCS(0))
	default:
		err = txn.ReplaceAll(ctx, rdr, summary, runtime.GOMAXPROCS(0))
	}
	if err != nil {
		return 0, err
	}
	ct.write = lap()
	if err := txn.ClearPending(); err != nil {
		return 0, err
	}
	snap, err := txn.Commit(ctx)
	if err != nil {
		return 0, err
	}
	ct.commit, ct.snapshot = lap(), snap
	return n, nil
}

// queryRecords runs q on dc (held by the caller) and returns its rows and
// their schema (known even when there are none).
func queryRecords(ctx context.Context, dc *dconn, q string) (recs []arrow.RecordBatch, schema *arrow.Schema, err error) {
	err = withPrepared(dc, q, func(ps bindings.PreparedStatement, opts bindings.ArrowOptions) error {
		if schema, err = resultSchema(ps, opts); err != nil {
			return err
		}
		if recs, err = executeRecords(ctx, ps, opts); err != nil {
			releaseAll(recs)
			recs = nil
			return withCtx(ctx, err)
		}
		return nil
	})
	return recs, schema, err
}

// withPrepared prepares q on dc (held by the caller), runs fn with the
// statement and the connection's Arrow options, and frees both.
func withPrepared(dc *dconn, q string, fn func(bindings.PreparedStatement, bindings.ArrowOptions) error) error {
	ps, err := prepareText(dc, q)
	if err != nil {
		return err
	}
	defer bindings.DestroyPrepare(&ps)
	var opts bindings.ArrowOptions
	bindings.ConnectionGetArrowOptions(dc.c, &opts)
	defer bindings.DestroyArrowOptions(&opts)
	return fn(ps, opts)
}

// textSchema is the Arrow schema of q's result, learnt by preparing it on
// dc (held by the caller); nothing runs.
func textSchema(dc *dconn, q string) (sc *arrow.Schema, err error) {
	err = withPrepared(dc, q, func(ps bindings.PreparedStatement, opts bindings.ArrowOptions) error {
		sc, err = resultSchema(ps, opts)
		return err
	})
	return sc, err
}

// resultSchema is the Arrow schema of a prepared statement's result.
func resultSchema(ps bindings.PreparedStatement, opts bindings.ArrowOptions) (*arrow.Schema, error) {
	names, types := preparedColumns(ps)
	defer destroyTypes(types)
	sc, ed := bindings.NewArrowSchema(opts, types, names)
	if err := errorData(ed); err != nil {
		return nil, err
	}
	return sc, nil
}

// alterAction is one parsed ALTER TABLE change.
type alterAction struct {
	op           string // add, drop, rename, type
	column       string
	newName      string       // rename, rename table
	newNamespace string       // rename table: "" for the table's own
	newCatalog   string       // rename table: "" or the lakehouse catalog's name
	typ          iceberg.Type // add, type
	ifExists     bool         // DROP COLUMN IF EXISTS
	ifNotExists  bool         // ADD COLUMN IF NOT EXISTS
	partitionBy  string       // partition: SET PARTITIONED BY's terms, "" for RESET
	sortBy       string       // sort: SET SORTED BY's columns, "" for RESET
}

// setByClause reads ALTER TABLE's SET <what> BY (…) or RESET <what> BY
// from token i (the SET or RESET) to the end of the statement: the text in
// the parentheses, "" for RESET.
func setByClause(sql string, toks sqltext.Tokens, i int, what, terms, example, none string) (string, error) {
	clause := ""
	if toks.Word(i, "set") {
		end := toks.Close(i + 3)
		if end < 0 {
			return "", newError(ErrInvalidSQL, fmt.Sprintf("ALTER TABLE … SET %s BY takes %s in parentheses, as in %s", what, terms, example))
		}
		if clause = strings.TrimSpace(sql[toks[i+3].End:toks[end].Pos]); clause == "" {
			return "", newError(ErrInvalidSQL, fmt.Sprintf("ALTER TABLE … SET %s BY () names no column; RESET %s BY makes the table %s", what, what, none))
		}
		i = end + 1
	} else {
		i += 3
	}
	if i < len(toks) {
		return "", newError(ErrInvalidSQL, fmt.Sprintf("ALTER TABLE … %s BY: unexpected text after %s", what, terms))
	}
	return clause, nil
}

// parseAlter reads ALTER TABLE t ADD/DROP/RENAME/ALTER COLUMN …; column
// types are DuckDB type names, converted to Iceberg types through Arrow.
func parseAlter(dc *dconn, sql string, toks sqltext.Tokens, i int) (*alterAction, error) {
	word := func(w string) bool {
		if toks.Word(i, w) {
			i++
			return true
		}
		return false
	}
	ident := func() (string, bool) {
		if i < len(toks) && toks[i].Ident() {
			i++
			return toks[i-1].Text, true
		}
		return "", false
	}
	rest := func() string {
		if i >= len(toks) {
			return ""
		}
		return strings.TrimSpace(sql[toks[i].Pos:])
	}
	const usage = "ALTER TABLE supports ADD COLUMN name type, DROP COLUMN name, RENAME COLUMN a TO b, ALTER COLUMN name TYPE type, " +
		"RENAME TO name, SET PARTITIONED BY (…), RESET PARTITIONED BY, SET SORTED BY (…) and RESET SORTED BY"
	a := &alterAction{}
	switch {
	case toks.Words(i, "set", "sorted", "by"), toks.Words(i, "reset", "sorted", "by"):
		a.op = "sort"
		clause, err := setByClause(sql, toks, i, "SORTED", "the columns", "SET SORTED BY (ts DESC, id)", "unsorted")
		a.sortBy = clause
		return a, err
	case toks.Words(i, "set", "partitioned", "by"), toks.Words(i, "reset", "partitioned", "by"):
		a.op = "partition"
		clause, err := setByClause(sql, toks, i, "PARTITIONED", "the partition terms", "SET PARTITIONED BY (day(ts))", "unpartitioned")
		a.partitionBy = clause
		return a, err
	case word("add"):
		a.op = "add"
		word("column")
		if word("if") {
			if !word("not") || !word("exists") {
				return nil, newError(ErrInvalidSQL, usage)
			}
			a.ifNotExists = true
		}
	case word("drop"):
		a.op = "drop"
		word("column")
		if word("if") {
			if !word("exists") {
				return nil, newError(ErrInvalidSQL, usage)
			}
			a.ifExists = true
		}
	case word("rename"):
		a.op = "rename"
		if word("to") {
			return parseRenameTable(toks, i)
		}
		word("column")
	case word("alter"):
		a.op = "type"
		word("column")
	default:
		return nil, newError(ErrUnsupported, usage)
	}
	col, ok := ident()
	if !ok {
		return nil, newError(ErrInvalidSQL, usage)
	}
	a.column = col
	switch a.op {
	case "rename":
		if !word("to") {
			return nil, newError(ErrInvalidSQL, usage)
		}
		if a.newName, ok = ident(); !ok {
			return nil, newError(ErrInvalidSQL, usage)
		}
	case "type":
		if word("set") && !word("data") {
			return nil, newError(ErrUnsupported, "ALTER COLUMN supports only TYPE changes (safe widening)")
		}
		if !word("type") {
			return nil, newError(ErrUnsupported, "ALTER COLUMN supports only TYPE changes (safe widening)")
		}
		fallthrough
	case "add":
		t, err := icebergTypeOf(dc, rest())
		if err != nil {
			return nil, err
		}
		a.typ = t
		i = len(toks)
	}
	if i < len(toks) {
		return nil, newError(ErrInvalidSQL, usage+"; unexpected text after the column")
	}
	return a, nil
}

// parseRenameTable reads the new name of ALTER TABLE t RENAME TO name (or
// namespace.name), starting at toks[i].
func parseRenameTable(toks sqltext.Tokens, i int) (*alterAction, error) {
	const usage = "ALTER TABLE … RENAME TO takes a table name, or namespace.name"
	a := &alterAction{op: "rename table"}
	parts, i := toks.Name(i)
	if i < len(toks) {
		return nil, newError(ErrInvalidSQL, usage+"; unexpected text after it")
	}
	switch len(parts) {
	case 1:
		a.newName = parts[0]
	case 2:
		a.newNamespace, a.newName = parts[0], parts[1]
	case 3:
		a.newCatalog, a.newNamespace, a.newName = parts[0], parts[1], parts[2]
	default:
		return nil, newError(ErrInvalidSQL, usage)
	}
	return a, nil
}

// renameTable commits ALTER TABLE … RENAME TO and rebinds both names.
func (e *Engine) renameTable(ctx context.Context, p *writePlan) error {
	a := p.alter
	if a.newCatalog != "" && !strings.EqualFold(a.newCatalog, e.cfg.CatalogName) {
		return newError(ErrUnsupported, fmt.Sprintf("ALTER TABLE %s RENAME TO %s.%s.%s: a table stays in the %s catalog",
			p.id, a.newCatalog, a.newNamespace, a.newName, e.cfg.CatalogName))
	}
	to := catalog.Ident{Namespace: p.id.Namespace, Name: a.newName}
	if a.newNamespace != "" {
		namespaces, err := e.writer.Namespaces(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(namespaces, func(n string) bool { return strings.EqualFold(n, a.newNamespace) })
		if i < 0 {
			return newError(ErrNotFound, fmt.Sprintf("ALTER TABLE %s RENAME TO %s.%s: namespace %q does not exist (namespaces: %s)",
				p.id, a.newNamespace, a.newName, a.newNamespace, strings.Join(namespaces, ", ")))
		}
		to.Namespace = namespaces[i]
	}
	err := e.writer.RenameTable(ctx, p.id, to)
	switch {
	case errors.Is(err, catalog.ErrNoSuchTable) && p.stmt.IfExists:
		return nil
	case errors.Is(err, catalog.ErrTableAlreadyExists):
		return newError(ErrAlreadyExists, fmt.Sprintf("ALTER TABLE %s RENAME TO %s: table %s already exists", p.id, to, to))
	case errors.Is(err, catalog.ErrNoSuchTable):
		return newError(ErrNotFound, fmt.Sprintf("ALTER TABLE %s RENAME TO %s: table %s does not exist", p.id, to, p.id))
	case err != nil:
		return err
	}
	if err := e.Refresh(ctx, p.id); err != nil {
		return err
	}
	return e.Refresh(ctx, to)
}

// icebergTypeOf converts a DuckDB type name to an Iceberg type.
func icebergTypeOf(dc *dconn, typ string) (iceberg.Type, error) {
	if typ == "" {
		return nil, newError(ErrInvalidSQL, "a column type is missing")
	}
	if to, ok := icebergCasts[strings.ToUpper(typ)]; ok {
		typ = to
	}
	sc, err := textSchema(dc, "SELECT CAST(NULL AS "+typ+") AS c")
	if err != nil {
		return nil, err
	}
	isc, err := catalog.IcebergSchema(sc)
	if err != nil {
		return nil, newError(ErrUnsupported, fmt.Sprintf("type %s cannot be stored in an Iceberg table: %v", typ, err))
	}
	return isc.Field(0).Type, nil
}

// alterTable commits one schema change, or a rename.
func (e *Engine) alterTable(ctx context.Context, p *writePlan) error {
	if p.alter.op == "rename table" {
		return e.renameTable(ctx, p)
	}
	txn, err := e.writer.Begin(ctx, p.id)
	if errors.Is(err, catalog.ErrNoSuchTable) && p.stmt.IfExists {
		return nil
	}
	if err != nil {
		return err
	}
	defer txn.Abort()
	a := p.alter
	if a.op == "partition" || a.op == "sort" {
		set := func() error { return txn.SetPartitioning(a.partitionBy) }
		if a.op == "sort" {
			set = func() error { return txn.SetSortOrder(a.sortBy) }
		}
		if err := set(); err != nil {
			return err
		}
		if _, err := txn.Commit(ctx); err != nil {
			return err
		}
		return e.Refresh(ctx, p.id)
	}
	_, found := txn.Table().Schema().FindFieldByNameCaseInsensitive(a.column)
	switch {
	case a.op == "add" && found && a.ifNotExists, a.op == "drop" && !found && a.ifExists:
		return nil
	case a.op == "add" && found:
		return newError(ErrAlreadyExists, fmt.Sprintf("ALTER TABLE %s: column %s already exists", p.id, a.column))
	case a.op != "add" && !found:
		return newError(ErrNotFound, fmt.Sprintf("ALTER TABLE %s: no column %s", p.id, a.column))
	}
	if f, ok := txn.Table().Schema().FindFieldByNameCaseInsensitive(a.column); ok {
		a.column = f.Name
	}
	if a.op == "drop" && slices.Contains(catalog.PartitionSources(txn.Table()), a.column) {
		return newError(ErrInvalidSQL, fmt.Sprintf("ALTER TABLE %s: column %s is a partition source of the table; "+
			"change the partitioning first (ALTER TABLE … SET PARTITIONED BY or RESET PARTITIONED BY)", p.id, a.column))
	}
	err = txn.EvolveSchema(func(u *table.UpdateSchema) error {
		switch a.op {
		case "add":
			u.AddColumn([]string{a.column}, a.typ, "", false, nil)
		case "drop":
			u.DeleteColumn([]string{a.column})
		case "rename":
			u.RenameColumn([]string{a.column}, a.newName)
		case "type":
			u.UpdateColumn([]string{a.column}, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: a.typ, Valid: true}})
		}
		return nil
	})
	if err != nil {
		return newError(ErrInvalidSQL, fmt.Sprintf("ALTER TABLE %s: %v", p.id, err))
	}
	if _, err := txn.Commit(ctx); err != nil {
		return err
	}
	return e.Refresh(ctx, p.id)
}
