package ingest

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Names of the opt-in ingestion metadata columns.
const (
	ColIngestedAt = "_ingested_at"
	ColSourceFile = "_source_file"
	ColSourceLine = "_source_line"
)

// MetadataFields are the opt-in ingestion metadata columns, in the order
// they are appended.
func MetadataFields() []arrow.Field {
	return []arrow.Field{
		{Name: ColIngestedAt, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: ColSourceFile, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColSourceLine, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}
}

// metaColumns appends _ingested_at, _source_file and _source_line to
// batches. The first two are constant per input: one array of BatchRows
// values is built once and sliced.
type metaColumns struct {
	schema *arrow.Schema
	opts   *Options
	at     arrow.Array
	src    arrow.Array
}

func newMetaColumns(base *arrow.Schema, opts *Options) (*metaColumns, error) {
	fields := append([]arrow.Field(nil), base.Fields()...)
	for _, f := range MetadataFields() {
		if base.HasField(f.Name) {
			return nil, fmt.Errorf("%w: the input already has a column %q; ingest it without metadata columns", ErrOptions, f.Name)
		}
		fields = append(fields, f)
	}
	m := &metaColumns{schema: arrow.NewSchema(fields, nil), opts: opts}
	m.at, m.src = m.constants(opts.BatchRows)
	return m, nil
}

func (m *metaColumns) constants(n int) (arrow.Array, arrow.Array) {
	tb := array.NewTimestampBuilder(m.opts.Allocator, MetadataFields()[0].Type.(*arrow.TimestampType))
	defer tb.Release()
	sb := array.NewStringBuilder(m.opts.Allocator)
	defer sb.Release()
	ts := arrow.Timestamp(m.opts.IngestedAt.UTC().UnixMicro())
	tb.Reserve(n)
	sb.Reserve(n)
	sb.ReserveData(n * len(m.opts.Source))
	for range n {
		tb.UnsafeAppend(ts)
		sb.Append(m.opts.Source)
	}
	return tb.NewArray(), sb.NewArray()
}

// add returns b with the metadata columns appended, releasing b. lines
// holds each row's source line; without it rows are numbered from
// rowsBefore+1 (Parquet: the row's position in the file).
func (m *metaColumns) add(b arrow.RecordBatch, lines []int64, rowsBefore int64) (arrow.RecordBatch, error) {
	defer b.Release()
	n := int(b.NumRows())
	at, src := m.at, m.src
	if n > at.Len() {
		at, src = m.constants(n)
		defer at.Release()
		defer src.Release()
	}
	atS := array.NewSlice(at, 0, int64(n))
	defer atS.Release()
	srcS := array.NewSlice(src, 0, int64(n))
	defer srcS.Release()

	lb := array.NewInt64Builder(m.opts.Allocator)
	defer lb.Release()
	lb.Reserve(n)
	switch {
	case len(lines) == n:
		for _, l := range lines {
			lb.UnsafeAppend(l)
		}
	case lines == nil:
		for i := range n {
			lb.UnsafeAppend(rowsBefore + int64(i) + 1)
		}
	default:
		return nil, fmt.Errorf("ingest: parser gave %d line numbers for %d rows", len(lines), n)
	}
	ln := lb.NewArray()
	defer ln.Release()

	cols := append(append([]arrow.Array(nil), b.Columns()...), atS, srcS, ln)
	return array.NewRecordBatch(m.schema, cols, int64(n)), nil
}

func (m *metaColumns) release() {
	if m.at != nil {
		m.at.Release()
		m.src.Release()
		m.at, m.src = nil, nil
	}
}
