//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/lakeflight/lakeflight/catalog"
)

// boundView is what the engine last bound for one Iceberg table.
type boundView struct {
	metadataLocation string
	snapshotID       int64
	files            int    // data files in the snapshot
	body             string // the view's SELECT, reused to pin this snapshot
	// held are the snapshot's data and delete files, and release gives
	// back their cached copies (an object-store warehouse; else nil).
	held    []catalog.DataFile
	release func()
}

// boundGrace is how long the cached copies of a table's files stay held
// after its view moved on to another snapshot: persistent views read the
// bound view when they run, so a query running through one may still be
// reading the old files.
const boundGrace = 10 * time.Minute

// letGo releases a replaced bound view's copies after boundGrace.
func (b boundView) letGo() {
	if b.release != nil {
		time.AfterFunc(boundGrace, b.release)
	}
}

// hold takes the cached copies of files (an object-store warehouse) for
// one more holder; release gives them back.
func (e *Engine) hold(ctx context.Context, files []catalog.DataFile) (func(), error) {
	if e.cfg.Files == nil || len(files) == 0 {
		return func() {}, nil
	}
	_, release, err := e.acquire(ctx, files)
	return release, err
}

// acquire hands files (by location, with their sizes) to the Localizer.
func (e *Engine) acquire(ctx context.Context, files []catalog.DataFile) ([]string, func(), error) {
	locs, sizes := make([]string, len(files)), make([]int64, len(files))
	for i, f := range files {
		locs[i], sizes[i] = f.Location, f.SizeBytes
	}
	return e.cfg.Files.Acquire(ctx, locs, sizes)
}

// Refresh re-reads one table's state from the catalog and rebinds its view;
// call it after this server commits to the table. A table that no longer
// exists is unbound.
func (e *Engine) Refresh(ctx context.Context, id catalog.Ident) error {
	if e.source == nil {
		return errNoTables
	}
	e.scheduleUpkeep(id)
	return e.bind(ctx, id, "")
}

// markStale makes the next statement naming id rebind its view, as after
// a commit by another writer.
func (e *Engine) markStale(id catalog.Ident) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.views[id]; ok {
		v.metadataLocation = ""
		e.views[id] = v
	}
}

// unbind drops id's view. Only a bind flight of id calls it, so no bind of
// the same table can recreate the view meanwhile; the view may exist without
// being recorded (created by a flight that then saw its schema dropped).
func (e *Engine) unbind(id catalog.Ident) error {
	e.mu.Lock()
	e.views[id].letGo()
	delete(e.views, id)
	exists := e.schema[id.Namespace]
	e.mu.Unlock()
	if !exists {
		return nil
	}
	err := e.ddlExec("DROP VIEW IF EXISTS " + e.qualified(id))
	e.gen.Add(1) // after the drop: a plan cached meanwhile is stale too
	return err
}

func (e *Engine) ensureSchemaLocked(ns string) error {
	if e.schema[ns] {
		return nil
	}
	q := "CREATE SCHEMA IF NOT EXISTS " + quoteIdent(e.cfg.CatalogName) + "." + quoteIdent(ns)
	if err := execSQL(e.admin, q); err != nil {
		return fmt.Errorf("creating schema %s: %w", ns, err)
	}
	e.schema[ns] = true
	e.gen.Add(1)
	return nil
}

// relistTables binds tables that appeared in the catalog and drops views
// of tables that disappeared (each through a bind flight, which finds the
// table gone). Only listing errors are returned; bind errors are logged.
func (e *Engine) relistTables(ctx context.Context) error {
	ids, err := e.source.ListTables(ctx)
	if err != nil {
		return fmt.Errorf("listing tables: %w", err)
	}
	seen := make(map[catalog.Ident]bool, len(ids))
	var pending []catalog.Ident
	e.mu.Lock()
	for _, id := range ids {
		seen[id] = true
		if _, ok := e.views[id]; !ok {
			pending = append(pending, id)
		}
	}
	for id := range e.views {
		if !seen[id] {
			pending = append(pending, id)
		}
	}
	e.mu.Unlock()
	for _, id := range pending {
		if err := e.bind(ctx, id, ""); err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return err
			}
			e.log.Warn("cannot bind table", "table", id.String(), "err", err)
		}
	}
	return nil
}

func (e *Engine) qualified(id catalog.Ident) string {
	return quoteIdent(e.cfg.CatalogName) + "." + quoteIdent(id.Namespace) + "." + quoteIdent(id.Name)
}

// viewSQL is the SELECT a table's view runs: read_parquet over the
// snapshot's data files with columns mapped by Iceberg field id, or a typed
// empty relation when the snapshot has no files.
func viewSQL(st *catalog.TableState, norm string) (string, error) {
	return viewSQLWith(st, false, norm)
}

// The guard. While a session has lakeflight_as_of set, every statement it
// runs must read pinned snapshot views, never the current ones. Should the
// rewrite miss a reference (a construct it cannot see into), the current
// view itself refuses: its file list is a constant DuckDB folds when it
// binds the view, and that constant is error(…) while the connection's
// lakeflight_as_of variable is set. The pinned views have no guard.

// asOfGuard is the guard expression's error message for table id: a SQL
// expression (it quotes the session's lakeflight_as_of).
func asOfGuard(id catalog.Ident) string {
	return "concat(" + quoteString("time travel: lakeflight could not pin this reference to "+id.String()+
		" to the snapshot that lakeflight_as_of names (") + ", getvariable('" + AsOfSetting + "'), " +
		quoteString("), so it would read current data; the statement is refused. Name the snapshot on that "+
			"reference with AT (VERSION => …), or RESET "+AsOfSetting+" to read current data") + ")"
}

// guarded wraps a constant SQL expression in the guard.
func guarded(expr, msg string) string {
	if msg == "" {
		return expr
	}
	return "CASE WHEN getvariable('" + AsOfSetting + "') IS NULL THEN " + expr + " ELSE error(" + msg + ") END"
}

// viewSQLWith is viewSQL, with each row's identity when identity is set
// (see buildViewSQL).
func viewSQLWith(st *catalog.TableState, identity bool, norm string) (string, error) {
	b, err := buildViewSQL(st, identity, norm)
	return b.plain(), err
}

// localNorm is the SQL that turns a delete file's file_path (the data
// file's location, file:///…, percent-encoded) into the local path DuckDB
// read the data file by, for a local warehouse. An object-store warehouse's
// comes from its Localizer (the path of the cached copy).
const localNorm = "CASE WHEN starts_with(file_path, 'file://') THEN url_decode(substr(file_path, 8)) " +
	"WHEN starts_with(file_path, 'file:') THEN substr(file_path, 6) ELSE file_path END"

// norm is the engine's delete-join expression (localNorm, or the cache's).
func (e *Engine) norm() string {
	if e.cfg.Files != nil {
		return e.cfg.Files.PathSQL("file_path")
	}
	return localNorm
}

// localize makes st's data and delete files readable by DuckDB: for an
// object-store warehouse, a copy of st whose Paths are cached copies, held
// until release is called; for a local one, st itself (release does
// nothing).
func (e *Engine) localize(ctx context.Context, st *catalog.TableState) (*catalog.TableState, func(), error) {
	if e.cfg.Files == nil || st == nil || len(st.DataFiles)+len(st.DeleteFiles) == 0 {
		return st, func() {}, nil
	}
	paths, release, err := e.acquire(ctx, append(slices.Clone(st.DataFiles), st.DeleteFiles...))
	if err != nil {
		return nil, func() {}, fmt.Errorf("reading %s from the object store: %w", st.Ident, err)
	}
	cp := *st
	cp.DataFiles, cp.DeleteFiles = slices.Clone(st.DataFiles), slices.Clone(st.DeleteFiles)
	for i := range cp.DataFiles {
		cp.DataFiles[i].Path = paths[i]
	}
	for i := range cp.DeleteFiles {
		cp.DeleteFiles[i].Path = paths[len(cp.DataFiles)+i]
	}
	return &cp, release, nil
}

// viewBody is a view's SELECT with its data file list apart (head, files,
// tail), so that the plain body (pins) and the guarded one (the lakehouse
// view) come from one build.
type viewBody struct{ head, files, tail string }

func (b viewBody) plain() string { return b.head + b.files + b.tail }

// guarded is the body with the as-of guard (msg, asOfGuard) on its files.
// A table without columns has no file list to guard (DuckDB cannot bind a
// view of no columns anyway).
func (b viewBody) guarded(msg string) string {
	if b.files == "" {
		return b.plain()
	}
	return b.head + guarded(b.files, msg) + b.tail
}

// ViewSQL is the SELECT the engine binds for a table at the snapshot st
// describes (exported for benchmarks that time DuckDB's side of binding).
func ViewSQL(st *catalog.TableState) (string, error) { return viewSQL(st, localNorm) }

// buildViewSQL is viewSQL, with each row's identity when identity is set:
// two more columns, the data file's index in st.DataFiles (__lakeflight_file)
// and the row's position in it (__lakeflight_pos). An index, not the path:
// a stand-in of 10M rows holds 40 MB of it rather than a gigabyte of paths.
func buildViewSQL(st *catalog.TableState, identity bool, norm string) (viewBody, error) {
	if st.Schema == nil {
		return viewBody{}, fmt.Errorf("table %s has no schema: %w", st.Ident, ErrInternal)
	}
	fields := st.Schema.Fields()
	cols := make([]string, len(fields))
	types := make([]string, len(fields))
	for i, f := range fields {
		t, err := duckType(f.Type)
		if err != nil {
			return viewBody{}, fmt.Errorf("column %s: %w", f.Name, err)
		}
		types[i] = t
		cols[i] = quoteIdent(f.Name)
	}
	if len(st.DataFiles) == 0 {
		sel := make([]string, len(fields))
		for i := range fields {
			sel[i] = "CAST(NULL AS " + types[i] + ") AS " + cols[i]
		}
		if identity {
			sel = append(sel, "CAST(NULL AS INTEGER) AS __lakeflight_file", "CAST(NULL AS BIGINT) AS __lakeflight_pos")
		}
		if len(sel) == 0 {
			return viewBody{head: "SELECT WHERE false"}, nil
		}
		return viewBody{head: "SELECT " + strings.Join(sel, ", ") + " FROM range(", files: "0", tail: ") WHERE false"}, nil
	}
	files := make([]string, len(st.DataFiles))
	for i, f := range st.DataFiles {
		p := strings.TrimPrefix(f.Path, "file://")
		if !filepath.IsAbs(p) {
			return viewBody{}, fmt.Errorf("data file %q is not a local absolute path: %w", f.Path, ErrUnsupported)
		}
		files[i] = p
	}
	var m strings.Builder
	for i, f := range fields {
		if i > 0 {
			m.WriteString(", ")
		}
		m.WriteString(strconv.Itoa(f.ID))
		m.WriteString(": {name: ")
		m.WriteString(quoteString(f.Name))
		m.WriteString(", type: ")
		m.WriteString(quoteString(types[i]))
		m.WriteString(", default_value: NULL}")
	}
	list := fileList(files)
	if len(st.DeleteFiles) == 0 && !identity && byName(st) {
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = "CAST(" + c + " AS " + types[i] + ") AS " + c
		}
		return viewBody{head: "SELECT " + strings.Join(sel, ", ") + " FROM read_parquet(", files: list, tail: ")"}, nil
	}
	if len(st.DeleteFiles) == 0 && !identity {
		return viewBody{head: "SELECT " + strings.Join(cols, ", ") + " FROM read_parquet(", files: list,
			tail: ", schema = map{" + m.String() + "})"}, nil
	}
	// Position deletes (format v2): drop the rows whose (file, position)
	// a delete file lists. Delete files name data files by location
	// (file:///…, percent-encoded); the data files are read by local path.
	dels := make([]string, len(st.DeleteFiles))
	for i, f := range st.DeleteFiles {
		dels[i] = strings.TrimPrefix(f.Path, "file://")
	}
	dcols := make([]string, len(cols))
	for i, c := range cols {
		dcols[i] = "d." + c
	}
	if identity {
		dcols = append(dcols, "CAST(d.file_index AS INTEGER) AS __lakeflight_file", "d.file_row_number AS __lakeflight_pos")
	}
	b := viewBody{head: "SELECT " + strings.Join(dcols, ", ") + " FROM read_parquet(", files: list,
		tail: ", schema = map{" + m.String() + "}, filename = '__lakeflight_path', file_row_number = true) AS d"}
	if len(dels) > 0 {
		b.tail += " ANTI JOIN (SELECT " + norm + " AS f, pos FROM read_parquet(" + fileList(dels) + ")) AS x" +
			" ON d.__lakeflight_path = x.f AND d.file_row_number = x.pos"
	}
	return b, nil
}

// byName reports whether a table's files may be read matching columns by
// name: they were all written with the schema read (a table that never
// changed schema, or whose files all came after the last change, as a
// rebuilt dbt table's do) and its columns are all of
// primitive types (not UUID, which Parquet writers mark differently). Read
// so, DuckDB opens a file's footer when it binds the view and knows the
// table's size; given the schema (read_parquet's schema = map{…}, the
// field-id mapping every other table needs) it estimates 0 rows for a
// one-file table, and its join orders went wrong: TPC-H q5 ran 4× slower.
func byName(st *catalog.TableState) bool {
	if !st.FilesMatchSchema {
		return false
	}
	for _, f := range st.Schema.Fields() {
		if _, ok := f.Type.(iceberg.PrimitiveType); !ok {
			return false
		}
		if _, ok := f.Type.(iceberg.UUIDType); ok {
			return false
		}
	}
	return true
}

// fileList is the SQL expression of the list of files paths, as
// read_parquet takes it. A list literal costs DuckDB about 3.5 µs a file to
// lex, parse and fold (3.6 ms for 1,000 files), paid by every CREATE VIEW
// and every first bind of a view; so a long list is one string, split when
// DuckDB folds the expression, with the files' common directory written
// once. The order of the files is kept (file_index counts in it).
func fileList(paths []string) string {
	const sep = "\x1f" // chr(31): no path lakeflight writes holds it
	if len(paths) < 16 || slices.ContainsFunc(paths, func(p string) bool { return strings.Contains(p, sep) }) {
		q := make([]string, len(paths))
		for i, p := range paths {
			q[i] = quoteString(p)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	dir := paths[0][:strings.LastIndexByte(paths[0], '/')+1]
	for _, p := range paths[1:] {
		for !strings.HasPrefix(p, dir) {
			dir = dir[:strings.LastIndexByte(dir[:len(dir)-1], '/')+1]
		}
	}
	var b strings.Builder
	for i, p := range paths {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p[len(dir):])
	}
	joined := quoteString(b.String())
	if dir != "" {
		joined = quoteString(dir) + " || replace(" + joined + ", chr(31), chr(31) || " + quoteString(dir) + ")"
	}
	return "string_split(" + joined + ", chr(31))"
}

// duckType renders an Iceberg type as a DuckDB type.
func duckType(t iceberg.Type) (string, error) {
	switch t := t.(type) {
	case iceberg.BooleanType:
		return "BOOLEAN", nil
	case iceberg.Int32Type:
		return "INTEGER", nil
	case iceberg.Int64Type:
		return "BIGINT", nil
	case iceberg.Float32Type:
		return "FLOAT", nil
	case iceberg.Float64Type:
		return "DOUBLE", nil
	case iceberg.DecimalType:
		return fmt.Sprintf("DECIMAL(%d, %d)", t.Precision(), t.Scale()), nil
	case iceberg.DateType:
		return "DATE", nil
	case iceberg.TimeType:
		return "TIME", nil
	case iceberg.TimestampType:
		return "TIMESTAMP", nil
	case iceberg.TimestampTzType:
		return "TIMESTAMP WITH TIME ZONE", nil
	case iceberg.TimestampNsType:
		return "TIMESTAMP_NS", nil
	case iceberg.TimestampTzNsType:
		// DuckDB has no nanosecond TIMESTAMPTZ: microseconds, zone kept.
		return "TIMESTAMP WITH TIME ZONE", nil
	case iceberg.StringType:
		return "VARCHAR", nil
	case iceberg.UUIDType:
		return "UUID", nil
	case iceberg.BinaryType, iceberg.FixedType:
		return "BLOB", nil
	case *iceberg.StructType:
		parts := make([]string, len(t.FieldList))
		for i, f := range t.FieldList {
			ft, err := duckType(f.Type)
			if err != nil {
				return "", err
			}
			parts[i] = quoteIdent(f.Name) + " " + ft
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	case *iceberg.ListType:
		et, err := duckType(t.Element)
		if err != nil {
			return "", err
		}
		return et + "[]", nil
	case *iceberg.MapType:
		kt, err := duckType(t.KeyType)
		if err != nil {
			return "", err
		}
		vt, err := duckType(t.ValueType)
		if err != nil {
			return "", err
		}
		return "MAP(" + kt + ", " + vt + ")", nil
	}
	return "", fmt.Errorf("iceberg type %s: %w", t, ErrUnsupported)
}
