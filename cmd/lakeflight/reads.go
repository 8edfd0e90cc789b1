package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icetable "github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/web"
)

// tableReader serves the sidecar's REST reads: the catalog resolves as_of
// and gives the schema, the engine runs one SELECT per read on a session
// of its own, with quoted identifiers, the snapshot pinned by
// AT (VERSION => id) and every filter value bound as a parameter.
type tableReader struct {
	cat *catalog.Catalog
	eng *engine.Engine
	mem memory.Allocator
}

var _ web.Reader = (*tableReader)(nil)

// Schema loads the table and resolves asOf to one of its snapshots, whose
// schema it describes (the current schema without asOf, as a query reads
// it). An unknown snapshot, tag or branch, or a time before the first
// snapshot, wraps catalog.ErrNoSuchSnapshot: never the current data.
func (r *tableReader) Schema(ctx context.Context, id catalog.Ident, asOf web.AsOf) (web.TableSchema, error) {
	var refSnap int64
	if asOf.Ref != "" {
		snap, err := r.cat.ResolveRef(ctx, id, asOf.Ref)
		if err != nil {
			return web.TableSchema{}, err
		}
		refSnap = snap
	}
	tbl, err := r.cat.LoadTable(ctx, id)
	if err != nil {
		return web.TableSchema{}, err
	}
	out := web.TableSchema{Table: id}
	if cur := tbl.CurrentSnapshot(); cur != nil {
		out.CurrentSnapshotID = cur.SnapshotID
	}
	schema := tbl.Schema()
	var snap *icetable.Snapshot
	switch {
	case asOf.IsZero():
		out.SnapshotID = out.CurrentSnapshotID
	case asOf.Ref != "":
		if snap = tbl.SnapshotByID(refSnap); snap == nil {
			return web.TableSchema{}, fmt.Errorf("tag or branch %q of %s names snapshot %d, which the table no longer has: %w",
				asOf.Ref, id, refSnap, catalog.ErrNoSuchSnapshot)
		}
	case !asOf.Time.IsZero():
		if snap = tbl.SnapshotAsOf(asOf.Time.UnixMilli(), true); snap == nil {
			return web.TableSchema{}, fmt.Errorf("table %s has no snapshot at or before %s: %w", id, asOf.Text, catalog.ErrNoSuchSnapshot)
		}
	default:
		if snap = tbl.SnapshotByID(asOf.Snapshot); snap == nil {
			return web.TableSchema{}, fmt.Errorf("table %s has no snapshot %d (see /v1/tables/%s/%s/snapshots): %w",
				id, asOf.Snapshot, id.Namespace, id.Name, catalog.ErrNoSuchSnapshot)
		}
	}
	if snap != nil {
		out.SnapshotID = snap.SnapshotID
		if snap.SchemaID != nil {
			if sc, ok := tbl.Schemas()[*snap.SchemaID]; ok {
				schema = sc
			}
		}
	}
	out.Columns, err = columnsOf(schema)
	return out, err
}

func columnsOf(schema *iceberg.Schema) ([]web.Column, error) {
	cols := make([]web.Column, 0, schema.NumFields())
	for _, f := range schema.Fields() {
		at, err := icetable.TypeToArrowType(f.Type, false, false)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		cols = append(cols, web.Column{ID: f.ID, Name: f.Name, Type: f.Type.String(), Arrow: at, Nullable: !f.Required})
	}
	return cols, nil
}

// sqlOps are the SQL of the comparisons; in and the null tests are
// written out in rowsSQL.
var sqlOps = map[web.FilterOp]string{
	web.OpEq: "=", web.OpNe: "<>", web.OpLt: "<", web.OpLe: "<=", web.OpGt: ">", web.OpGe: ">=",
}

// rowsSQL is the SELECT of req and its parameters, one column per "?",
// in order. Names are quoted identifiers; the only literals are integers.
func rowsSQL(req web.RowsRequest) (string, []arrow.Array, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range req.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c))
	}
	b.WriteString(" FROM " + quoteIdent(req.Table.Namespace) + "." + quoteIdent(req.Table.Name))
	if req.Snapshot != 0 {
		b.WriteString(" AT (VERSION => " + strconv.FormatInt(req.Snapshot, 10) + ")")
	}
	var params []arrow.Array
	for i, f := range req.Filters {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(quoteIdent(f.Column))
		switch f.Op {
		case web.OpIsNull:
			b.WriteString(" IS NULL")
			continue
		case web.OpNotNull:
			b.WriteString(" IS NOT NULL")
			continue
		}
		if f.Values == nil || f.Values.Len() == 0 || f.Op != web.OpIn && f.Values.Len() != 1 {
			return "", nil, fmt.Errorf("filter %s %s: %d values", f.Column, f.Op, lenOf(f.Values))
		}
		if f.Op == web.OpIn {
			b.WriteString(" IN (" + strings.Repeat("?, ", f.Values.Len()-1) + "?)")
		} else if op, ok := sqlOps[f.Op]; ok {
			b.WriteString(" " + op + " ?")
		} else {
			return "", nil, fmt.Errorf("filter %s: unknown operator %q", f.Column, f.Op)
		}
		for v := range f.Values.Len() {
			params = append(params, array.NewSlice(f.Values, int64(v), int64(v+1)))
		}
	}
	for i, o := range req.OrderBy {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(o.Column))
		if o.Desc {
			b.WriteString(" DESC")
		}
	}
	b.WriteString(" LIMIT " + strconv.FormatInt(max(req.Limit, 0), 10))
	return b.String(), params, nil
}

func lenOf(a arrow.Array) int {
	if a == nil {
		return 0
	}
	return a.Len()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Rows runs req on a new engine session; the reader it returns closes the
// statement and the session when released.
func (r *tableReader) Rows(ctx context.Context, req web.RowsRequest) (array.RecordReader, error) {
	sql, cols, err := rowsSQL(req)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	if err != nil {
		return nil, err
	}
	var params arrow.RecordBatch
	if len(cols) > 0 {
		fields := make([]arrow.Field, len(cols))
		for i, c := range cols {
			fields[i] = arrow.Field{Name: strconv.Itoa(i + 1), Type: c.DataType(), Nullable: true}
		}
		params = array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 1)
		defer params.Release()
	}
	sess, err := r.eng.NewSession(ctx)
	if err != nil {
		return nil, err
	}
	st, err := sess.Prepare(ctx, sql)
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	rdr, err := st.Query(ctx, params, r.mem)
	if err != nil {
		_ = st.Close()
		_ = sess.Close()
		return nil, err
	}
	return &sessionReader{RecordReader: rdr, closers: []func() error{st.Close, sess.Close}, refs: 1}, nil
}

// sessionReader is a statement's reader that closes the statement and its
// session once the last reference is released.
type sessionReader struct {
	array.RecordReader
	closers []func() error
	refs    int64
	once    sync.Once
}

func (s *sessionReader) Retain() { atomic.AddInt64(&s.refs, 1) }

func (s *sessionReader) Release() {
	if atomic.AddInt64(&s.refs, -1) != 0 {
		return
	}
	s.once.Do(func() {
		s.RecordReader.Release()
		for _, c := range s.closers {
			_ = c()
		}
	})
}

// lateReads is the sidecar's Reader: 503 "starting" until the engine is
// open.
type lateReads struct {
	r *atomic.Pointer[tableReader]
}

var _ web.Reader = lateReads{}

func (l lateReads) Schema(ctx context.Context, id catalog.Ident, asOf web.AsOf) (web.TableSchema, error) {
	r := l.r.Load()
	if r == nil {
		return web.TableSchema{}, web.ErrStarting
	}
	return r.Schema(ctx, id, asOf)
}

func (l lateReads) Rows(ctx context.Context, req web.RowsRequest) (array.RecordReader, error) {
	r := l.r.Load()
	if r == nil {
		return nil, web.ErrStarting
	}
	return r.Rows(ctx, req)
}

var _ web.Compactor = lateReads{}

// Compact is the engine's compaction, once the engine is open.
func (l lateReads) Compact(ctx context.Context, id catalog.Ident, targetBytes int64, minFiles int) (catalog.MaintenanceReport, error) {
	r := l.r.Load()
	if r == nil {
		return catalog.MaintenanceReport{}, web.ErrStarting
	}
	return r.eng.Compact(ctx, id, engine.CompactOptions{TargetBytes: targetBytes, MinFiles: minFiles})
}
