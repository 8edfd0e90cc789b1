package catalog

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Partitioned writes: each batch's rows are grouped by partition (runs of
// one partition are sliced, scattered rows gathered with a take), and each
// partition's rows go to a file of their own under data/<partition path>/.
// A partition is always written by the same one of the writer goroutines
// (by a hash of its key), which keeps at most maxOpenPartitions files open:
// past that it finishes the one written least recently, so memory stays
// bounded (each open file buffers a row group) at the cost of more files
// when one write spans many partitions.

// maxOpenPartitions bounds the files one writer goroutine keeps open.
const maxOpenPartitions = 16

// partitioner computes each row's partition under a spec.
type partitioner struct {
	spec   iceberg.PartitionSpec
	schema *iceberg.Schema
	fields []partField
}

// partField is one partition field: where its source column is in the
// batches and how a row's value becomes the partition value.
type partField struct {
	col   int
	get   func(arr arrow.Array, row int) any // nil for NULL, else iceberg-go's Go type for the source type
	apply func(v any) any                    // the transform; nil stays nil
}

// newPartitioner prepares spec for batches of the table's schema sc, whose
// top-level columns come in sc's order (writableAs checked that).
func newPartitioner(spec iceberg.PartitionSpec, sc *iceberg.Schema) (*partitioner, error) {
	p := &partitioner{spec: spec, schema: sc}
	top := map[int]int{}
	for i, f := range sc.Fields() {
		top[f.ID] = i
	}
	for _, f := range spec.Fields() {
		col, ok := top[f.SourceID()]
		if !ok {
			return nil, fmt.Errorf("%w: partition field %s: its source column (id %d) is not a top-level column of the table", ErrNotSupported, f.Name, f.SourceID())
		}
		src := sc.Field(col).Type
		get, err := valueGetter(src)
		if err != nil {
			return nil, fmt.Errorf("partition field %s: %w", f.Name, err)
		}
		apply, err := transformFunc(f.Transform, src)
		if err != nil {
			return nil, fmt.Errorf("partition field %s: %w", f.Name, err)
		}
		p.fields = append(p.fields, partField{col: col, get: get, apply: apply})
	}
	return p, nil
}

// valueGetter reads a row of an Arrow column of Iceberg type t as the Go
// value iceberg-go's transforms and manifests take.
func valueGetter(t iceberg.Type) (func(arrow.Array, int) any, error) {
	switch tt := t.(type) {
	case iceberg.BooleanType:
		return func(a arrow.Array, i int) any { return a.(*array.Boolean).Value(i) }, nil
	case iceberg.Int32Type:
		return func(a arrow.Array, i int) any { return a.(*array.Int32).Value(i) }, nil
	case iceberg.Int64Type:
		return func(a arrow.Array, i int) any { return a.(*array.Int64).Value(i) }, nil
	case iceberg.Float32Type:
		return func(a arrow.Array, i int) any { return a.(*array.Float32).Value(i) }, nil
	case iceberg.Float64Type:
		return func(a arrow.Array, i int) any { return a.(*array.Float64).Value(i) }, nil
	case iceberg.DateType:
		return func(a arrow.Array, i int) any { return iceberg.Date(a.(*array.Date32).Value(i)) }, nil
	case iceberg.TimeType:
		return func(a arrow.Array, i int) any { return iceberg.Time(a.(*array.Time64).Value(i)) }, nil
	case iceberg.TimestampType, iceberg.TimestampTzType:
		return func(a arrow.Array, i int) any { return iceberg.Timestamp(a.(*array.Timestamp).Value(i)) }, nil
	case iceberg.StringType:
		return func(a arrow.Array, i int) any {
			if s, ok := a.(*array.String); ok {
				return s.Value(i)
			}
			return a.(*array.LargeString).Value(i)
		}, nil
	case iceberg.BinaryType:
		return func(a arrow.Array, i int) any {
			if b, ok := a.(*array.Binary); ok {
				return b.Value(i)
			}
			return a.(*array.LargeBinary).Value(i)
		}, nil
	case iceberg.FixedType:
		return func(a arrow.Array, i int) any { return a.(*array.FixedSizeBinary).Value(i) }, nil
	case iceberg.DecimalType:
		scale := tt.Scale()
		return func(a arrow.Array, i int) any {
			return iceberg.Decimal{Val: a.(*array.Decimal128).Value(i), Scale: scale}
		}, nil
	}
	return nil, fmt.Errorf("%w: a %s column cannot be a partition source yet", ErrNotSupported, t)
}

// transformFunc is tr applied to one Go value of source type src.
func transformFunc(tr iceberg.Transform, src iceberg.Type) (func(any) any, error) {
	optional := func(f func(any) iceberg.Optional[int32], wrap func(int32) any) func(any) any {
		return func(v any) any {
			if r := f(v); r.Valid {
				return wrap(r.Val)
			}
			return nil
		}
	}
	asInt := func(v int32) any { return v }
	switch t := tr.(type) {
	case iceberg.IdentityTransform:
		return func(v any) any { return v }, nil
	case iceberg.BucketTransform:
		return optional(t.Transformer(src), asInt), nil
	case iceberg.TruncateTransform:
		return t.Transformer(src)
	case iceberg.DayTransform: // its values are dates
		f, err := t.Transformer(src)
		if err != nil {
			return nil, err
		}
		return optional(f, func(v int32) any { return iceberg.Date(v) }), nil
	case iceberg.TimeTransform: // year, month, hour: whole numbers since 1970
		f, err := t.Transformer(src)
		if err != nil {
			return nil, err
		}
		return optional(f, asInt), nil
	}
	return nil, fmt.Errorf("%w: the %s transform cannot be written yet", ErrNotSupported, tr)
}

// partRow is one partition's values in spec order (iceberg.StructLike,
// for PartitionToPath).
type partRow []any

func (r partRow) Size() int        { return len(r) }
func (r partRow) Get(i int) any    { return r[i] }
func (r partRow) Set(i int, v any) { r[i] = v }

// values are r's values by partition field id (nil for NULL).
func (p *partitioner) values(r partRow) map[int]any {
	m := make(map[int]any, len(r))
	for i, f := range p.spec.Fields() {
		m[f.FieldID] = r[i] // nil for NULL: the manifest needs every field
	}
	return m
}

// partGroup is the rows of one batch in one partition.
type partGroup struct {
	key  string
	row  partRow
	runs [][2]int64 // [start, end) row ranges, in order
}

// split groups b's rows by partition, in order of first appearance.
func (p *partitioner) split(b arrow.RecordBatch) []*partGroup {
	var (
		groups []*partGroup
		byKey  = map[string]*partGroup{}
		key    []byte
		row    = make(partRow, len(p.fields))
		cur    *partGroup
	)
	n := int(b.NumRows())
	for i := range n {
		key = key[:0]
		for j, f := range p.fields {
			col := b.Column(f.col)
			var v any
			if !col.IsNull(i) {
				v = f.apply(f.get(col, i))
			}
			row[j] = v
			key = appendKey(key, v)
		}
		g, ok := byKey[string(key)]
		if !ok {
			g = &partGroup{key: string(key), row: append(partRow(nil), row...)}
			byKey[g.key] = g
			groups = append(groups, g)
		}
		if g == cur {
			g.runs[len(g.runs)-1][1]++
			continue
		}
		g.runs = append(g.runs, [2]int64{int64(i), int64(i + 1)})
		cur = g
	}
	return groups
}

// appendKey appends an encoding of v that tells apart every value a
// partition field can hold (NULL included).
func appendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 0)
	case bool:
		if x {
			return append(b, 1, 1)
		}
		return append(b, 1, 0)
	case int32:
		return binary.LittleEndian.AppendUint32(append(b, 2), uint32(x))
	case int64:
		return binary.LittleEndian.AppendUint64(append(b, 3), uint64(x))
	case float32:
		return binary.LittleEndian.AppendUint32(append(b, 4), math.Float32bits(x))
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, 5), math.Float64bits(x))
	case iceberg.Date:
		return binary.LittleEndian.AppendUint32(append(b, 6), uint32(x))
	case iceberg.Time:
		return binary.LittleEndian.AppendUint64(append(b, 7), uint64(x))
	case iceberg.Timestamp:
		return binary.LittleEndian.AppendUint64(append(b, 8), uint64(x))
	case string:
		return append(binary.LittleEndian.AppendUint32(append(b, 9), uint32(len(x))), x...)
	case []byte:
		return append(binary.LittleEndian.AppendUint32(append(b, 10), uint32(len(x))), x...)
	case iceberg.Decimal:
		b = binary.LittleEndian.AppendUint64(append(b, 11), x.Val.LowBits())
		return binary.LittleEndian.AppendUint64(b, uint64(x.Val.HighBits()))
	}
	return append(b, fmt.Sprintf("\xff%T:%v\x00", v, v)...)
}

// rows cuts g's rows out of b: a slice for one run, a take for several.
// The caller releases the result.
func (g *partGroup) rows(ctx context.Context, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(g.runs) == 1 {
		return b.NewSlice(g.runs[0][0], g.runs[0][1]), nil
	}
	idx := array.NewInt64Builder(memory.DefaultAllocator)
	defer idx.Release()
	for _, r := range g.runs {
		for i := r[0]; i < r[1]; i++ {
			idx.Append(i)
		}
	}
	ids := idx.NewInt64Array()
	defer ids.Release()
	out, err := compute.Take(ctx, *compute.DefaultTakeOptions(), compute.NewDatumWithoutOwning(b), compute.NewDatumWithoutOwning(ids))
	if err != nil {
		return nil, err
	}
	rec := out.(*compute.RecordDatum).Value
	rec.Retain()
	out.Release()
	return rec, nil
}

// partFile is a data file written for one partition.
type partFile struct {
	path   string
	values map[int]any // partition field id -> value (nil for NULL)
}

// partItem is a partition's rows on their way to a writer goroutine.
type partItem struct {
	g *partGroup
	b arrow.RecordBatch
}

// writePartitioned drains rdr into Parquet files, one partition to a file,
// written by n goroutines; it returns the files written (also on error, for
// clean-up).
func writePartitioned(ctx context.Context, rdr array.RecordReader, p *partitioner, withIDs *arrow.Schema, props *parquet.WriterProperties,
	wfs icebergio.WriteFileIO, locs table.LocationProvider, n int,
) ([]partFile, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu    sync.Mutex
		files []partFile
		wg    sync.WaitGroup
		seed  = maphash.MakeSeed()
	)
	prefix := uuid.NewString()
	in := make([]chan partItem, n)
	for w := range n {
		in[w] = make(chan partItem, 4)
		wg.Go(func() {
			open := map[string]*openPart{}
			var tick int
			closeOne := func(key string) {
				if err := open[key].fw.close(); err != nil {
					cancel(err)
				}
				delete(open, key)
			}
			for it := range in[w] {
				if ctx.Err() == nil {
					op, ok := open[it.g.key]
					if !ok {
						if len(open) >= maxOpenPartitions {
							closeOne(oldest(open))
						}
						op = newOpenPart(p, it.g.row, withIDs, props, wfs, locs, prefix, w, func(pf partFile) {
							mu.Lock()
							files = append(files, pf)
							mu.Unlock()
						})
						open[it.g.key] = op
					}
					tick++
					op.used = tick
					if err := op.fw.write(it.b); err != nil {
						cancel(err)
					}
				}
				it.b.Release()
			}
			for key := range open {
				closeOne(key)
			}
		})
	}
	for ctx.Err() == nil && rdr.Next() {
		rec := rdr.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		b := array.NewRecordBatch(withIDs, rec.Columns(), rec.NumRows())
		for _, g := range p.split(b) {
			part, err := g.rows(ctx, b)
			if err != nil {
				cancel(err)
				break
			}
			select {
			case in[maphash.String(seed, g.key)%uint64(n)] <- partItem{g: g, b: part}:
			case <-ctx.Done():
				part.Release()
			}
		}
		b.Release()
	}
	for _, ch := range in {
		close(ch)
	}
	wg.Wait()
	if err := rdr.Err(); err != nil {
		return files, err
	}
	return files, context.Cause(ctx)
}

// openPart is a partition's file being written.
type openPart struct {
	fw   *fileWriter
	used int // when it last got rows, for closing the oldest
}

func newOpenPart(p *partitioner, row partRow, withIDs *arrow.Schema, props *parquet.WriterProperties, wfs icebergio.WriteFileIO,
	locs table.LocationProvider, prefix string, w int, opened func(partFile),
) *openPart {
	dir := p.spec.PartitionToPath(row, p.schema)
	values := p.values(row)
	return &openPart{fw: &fileWriter{wfs: wfs, schema: withIDs, props: props,
		name: func(seq int) string {
			return locs.NewDataLocation(fmt.Sprintf("%s/%s-%d-%s-%05d.parquet", dir, prefix, w, uuid.NewString()[:8], seq))
		},
		opened: func(path string) { opened(partFile{path: path, values: values}) },
	}}
}

// oldest is the key of the open partition written least recently.
func oldest(open map[string]*openPart) string {
	var key string
	least := math.MaxInt
	for k, op := range open {
		if op.used < least {
			key, least = k, op.used
		}
	}
	return key
}

// partitionedDataFile describes a partition's data file: its statistics
// as iceberg-go reads them from the footer, with the partition values
// lakeflight computed (iceberg-go can infer them only for transforms that
// keep order, and not at all for bucket).
func partitionedDataFile(df iceberg.DataFile, spec iceberg.PartitionSpec, values map[int]any) (iceberg.DataFile, error) {
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, df.FilePath(), iceberg.ParquetFile, values, nil, nil,
		df.Count(), df.FileSizeBytes())
	if err != nil {
		return nil, err
	}
	b.ColumnSizes(df.ColumnSizes()).ValueCounts(df.ValueCounts()).NullValueCounts(df.NullValueCounts()).
		NaNValueCounts(df.NaNValueCounts()).LowerBoundValues(df.LowerBoundValues()).UpperBoundValues(df.UpperBoundValues()).
		SplitOffsets(df.SplitOffsets())
	return b.Build(), nil
}
