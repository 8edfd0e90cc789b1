package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
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

// maxOpenPartitions bounds the files one writer goroutine keeps open
// (each buffers up to a row group): a write spread over more partitions
// than the writers keep open closes and reopens files, and makes more of
// them (rows interleaved over 100 days, two writers of 16, made thousands
// of small files; of 64, one file a day).
const maxOpenPartitions = 64

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

// ownedRow copies r with its strings and byte slices, which alias the
// batch's buffers: the values outlive the batch (they end up in the
// manifest after every batch was released).
func ownedRow(r partRow) partRow {
	out := make(partRow, len(r))
	for i, v := range r {
		switch v := v.(type) {
		case string:
			out[i] = strings.Clone(v)
		case []byte:
			out[i] = bytes.Clone(v)
		default:
			out[i] = v
		}
	}
	return out
}

// partGroup is the rows of one batch in one partition.
type partGroup struct {
	key  string
	row  partRow
	runs [][2]int64 // [start, end) row ranges, in order
}

// split groups b's rows by partition, in order of first appearance.
func (p *partitioner) split(b arrow.RecordBatch) []*partGroup {
	if keys, ok := p.fastKeys(b); ok {
		return p.splitByInts(b, keys)
	}
	return p.splitGeneral(b)
}

// splitGeneral is split for any spec: each row's partition values, boxed.
func (p *partitioner) splitGeneral(b arrow.RecordBatch) []*partGroup {
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
			g = &partGroup{key: string(key), row: ownedRow(row)}
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

// nullKey stands for a NULL partition value among fastKeys' keys (no
// day, hour or integer reaches it).
const nullKey = math.MinInt64

// fastKeys computes, without boxing each row, a key per row that equals
// another row's exactly when their partitions do: for a spec of one field
// that is an integer or date column itself, or the day or hour of a
// timestamp (the usual partitionings). ok is false for any other spec,
// which takes the general path.
func (p *partitioner) fastKeys(b arrow.RecordBatch) ([]int64, bool) {
	if len(p.fields) != 1 {
		return nil, false
	}
	tr := p.spec.Field(0).Transform
	col := b.Column(p.fields[0].col)
	n := col.Len()
	keys := make([]int64, n)
	const usDay, usHour = 86_400_000_000, 3_600_000_000
	floorDiv := func(v, d int64) int64 {
		q := v / d
		if v%d != 0 && v < 0 {
			q--
		}
		return q
	}
	switch a := col.(type) {
	case *array.Timestamp:
		var div int64
		switch tr.(type) {
		case iceberg.DayTransform:
			div = usDay
		case iceberg.HourTransform:
			div = usHour
		default:
			return nil, false
		}
		if a.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond {
			return nil, false
		}
		for i, v := range a.TimestampValues() {
			keys[i] = floorDiv(int64(v), div)
		}
	case *array.Date32:
		switch tr.(type) {
		case iceberg.IdentityTransform, iceberg.DayTransform:
		default:
			return nil, false
		}
		for i, v := range a.Date32Values() {
			keys[i] = int64(v)
		}
	case *array.Int64:
		if _, ok := tr.(iceberg.IdentityTransform); !ok {
			return nil, false
		}
		for i, v := range a.Int64Values() {
			if v == nullKey {
				return nil, false // the one value the NULL key stands for
			}
			keys[i] = v
		}
	case *array.Int32:
		if _, ok := tr.(iceberg.IdentityTransform); !ok {
			return nil, false
		}
		for i, v := range a.Int32Values() {
			keys[i] = int64(v)
		}
	default:
		return nil, false
	}
	if col.NullN() > 0 {
		for i := range n {
			if col.IsNull(i) {
				keys[i] = nullKey
			}
		}
	}
	return keys, true
}

// splitByInts is split with fastKeys' keys; each partition's value comes
// from its first row through the general path, so both paths name a
// partition the same.
func (p *partitioner) splitByInts(b arrow.RecordBatch, keys []int64) []*partGroup {
	var (
		groups []*partGroup
		byKey  = map[int64]*partGroup{}
		cur    *partGroup
		f      = p.fields[0]
		col    = b.Column(f.col)
	)
	for i, k := range keys {
		if cur != nil && k == keys[i-1] {
			cur.runs[len(cur.runs)-1][1]++
			continue
		}
		g, ok := byKey[k]
		if !ok {
			var v any
			if !col.IsNull(i) {
				v = f.apply(f.get(col, i))
			}
			g = &partGroup{key: string(appendKey(nil, v)), row: partRow{v}}
			byKey[k] = g
			groups = append(groups, g)
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

// partitionChunkRows is how many input rows are split at once.
const partitionChunkRows = 64 << 10

// concatBatches is one batch of batches' rows (the one batch itself,
// retained, when there is only one).
func concatBatches(sc *arrow.Schema, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(batches) == 1 {
		batches[0].Retain()
		return batches[0], nil
	}
	cols := make([]arrow.Array, sc.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var rows int64
	for _, b := range batches {
		rows += b.NumRows()
	}
	parts := make([]arrow.Array, len(batches))
	for i := range cols {
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	return array.NewRecordBatch(sc, cols, rows), nil
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
// clean-up). When rdr gives sorted runs (runs is rdr), every file ends with
// each run.
func writePartitioned(ctx context.Context, rdr array.RecordReader, runs *sortedRuns, p *partitioner, withIDs *arrow.Schema, l layout,
	wfs icebergio.WriteFileIO, locs table.LocationProvider, n int,
) ([]partFile, error) {
	props := l.writerProps(withIDs)
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
				if it.g == nil { // a sorted run ended
					for key := range open {
						closeOne(key)
					}
					continue
				}
				if ctx.Err() == nil {
					op, ok := open[it.g.key]
					if !ok {
						if len(open) >= maxOpenPartitions {
							closeOne(oldest(open))
						}
						op = newOpenPart(p, it.g.row, withIDs, props, l.targetBytes, wfs, locs, prefix, w, func(pf partFile) {
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
	// Small batches are gathered into chunks of about partitionChunkRows
	// first: a batch of a few thousand rows spread over a hundred
	// partitions would go out as a hundred takes of a few rows each.
	var pending []arrow.RecordBatch
	var pendingRows int64
	dispatch := func() {
		if len(pending) == 0 {
			return
		}
		b, err := concatBatches(withIDs, pending)
		for _, r := range pending {
			r.Release()
		}
		pending, pendingRows = pending[:0], 0
		if err != nil {
			cancel(err)
			return
		}
		defer b.Release()
		for _, g := range p.split(b) {
			part, err := g.rows(ctx, b)
			if err != nil {
				cancel(err)
				return
			}
			select {
			case in[maphash.String(seed, g.key)%uint64(n)] <- partItem{g: g, b: part}:
			case <-ctx.Done():
				part.Release()
				return
			}
		}
	}
	for ctx.Err() == nil && rdr.Next() {
		rec := rdr.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		pending = append(pending, array.NewRecordBatch(withIDs, rec.Columns(), rec.NumRows()))
		if pendingRows += rec.NumRows(); pendingRows >= partitionChunkRows {
			dispatch()
		}
		if runs != nil && runs.runEnded() {
			dispatch()
			for _, ch := range in {
				select {
				case ch <- partItem{}:
				case <-ctx.Done():
				}
			}
		}
	}
	if ctx.Err() == nil {
		dispatch()
	}
	for _, r := range pending {
		r.Release()
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

func newOpenPart(p *partitioner, row partRow, withIDs *arrow.Schema, props *parquet.WriterProperties, target int64, wfs icebergio.WriteFileIO,
	locs table.LocationProvider, prefix string, w int, opened func(partFile),
) *openPart {
	dir := p.spec.PartitionToPath(row, p.schema)
	values := p.values(row)
	return &openPart{fw: &fileWriter{wfs: wfs, schema: withIDs, props: props, target: target,
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
	if id := df.SortOrderID(); id != nil {
		b.SortOrderID(*id)
	}
	return b.Build(), nil
}
