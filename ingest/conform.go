package ingest

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// conformReader reshapes incoming batches to a table's Arrow schema: columns
// matched by name and put in table order, types cast where the table's is
// wider or the incoming one has no Iceberg twin, and table columns the input
// lacks filled with NULL. It counts the rows it hands out.
type conformReader struct {
	refs   atomic.Int64
	ctx    context.Context
	src    array.RecordReader
	schema *arrow.Schema
	cols   []conformCol
	mem    memory.Allocator
	cur    arrow.RecordBatch
	err    error
	rows   atomic.Int64
	// atEnd runs once when the source ends cleanly, before Next reports
	// the end; an error it returns becomes the stream's error.
	atEnd func() error
	done  bool // the source has ended
	// replaceUTF8 repairs text that is not valid UTF-8 instead of failing;
	// batches counts the batches read, to say where a bad value was.
	replaceUTF8 bool
	batches     int64
}

type conformCol struct {
	src  int  // index in the input, -1: fill with NULL
	cast bool // input type differs from the table's
}

var _ array.RecordReader = (*conformReader)(nil)

// newConformReader plans the mapping from src's schema to target. Every
// input column must exist in target (the caller has evolved the table).
func newConformReader(ctx context.Context, src array.RecordReader, target *arrow.Schema, mem memory.Allocator) (*conformReader, error) {
	in := src.Schema()
	r := &conformReader{ctx: compute.WithAllocator(ctx, mem), src: src, schema: target, mem: mem}
	r.refs.Store(1)
	for _, f := range in.Fields() {
		if !target.HasField(f.Name) {
			return nil, fmt.Errorf("%w: input column %q is not in the table", ErrSchema, f.Name)
		}
	}
	for _, tf := range target.Fields() {
		idx := in.FieldIndices(tf.Name)
		if len(idx) == 0 {
			r.cols = append(r.cols, conformCol{src: -1})
			continue
		}
		r.cols = append(r.cols, conformCol{src: idx[0], cast: !arrow.TypeEqual(in.Field(idx[0]).Type, tf.Type)})
	}
	return r, nil
}

func (r *conformReader) Schema() *arrow.Schema { return r.schema }

func (r *conformReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done || r.err != nil {
		return false
	}
	if !r.src.Next() {
		r.done = true
		if r.err = r.src.Err(); r.err == nil && r.atEnd != nil {
			r.err = r.atEnd()
		}
		return false
	}
	b := r.src.RecordBatch()
	n := b.NumRows()
	cols := make([]arrow.Array, len(r.cols))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range r.cols {
		tf := r.schema.Field(i)
		switch {
		case c.src < 0:
			cols[i] = array.MakeArrayOfNull(r.mem, tf.Type, int(n))
		case c.cast:
			opts := compute.SafeCastOptions(tf.Type)
			opts.AllowTimeTruncate = true // nanosecond timestamps keep microseconds, as Iceberg v2 stores
			out, err := compute.CastArray(r.ctx, b.Column(c.src), opts)
			if err != nil {
				r.err = fmt.Errorf("%w: column %q: converting %s to %s: %w", ErrSchema, tf.Name, b.Column(c.src).DataType(), tf.Type, err)
				return false
			}
			cols[i] = out
		default:
			cols[i] = b.Column(c.src)
			cols[i].Retain()
		}
		if hiddenListValues(cols[i]) {
			out, err := compactLists(r.ctx, cols[i])
			if err != nil {
				r.err = fmt.Errorf("%w: column %q: %w", ErrSchema, tf.Name, err)
				return false
			}
			cols[i].Release()
			cols[i] = out
		}
	}
	cur := array.NewRecordBatch(r.schema, cols, n)
	r.batches++
	// The last line of defence for every door (a parser, a Parquet file,
	// a Flight client's batches): no invalid UTF-8 reaches a data file.
	fixed, bad := fixBatchUTF8(r.mem, cur, r.replaceUTF8)
	cur.Release()
	if len(bad) > 0 {
		fixed.Release()
		x := bad[0]
		r.err = fmt.Errorf("%w: batch %d, row %d, column %q: %s (%d bad rows in the batch)",
			ErrMalformed, r.batches, x.row+1, r.schema.Field(x.col).Name, reasonInvalidUTF8, len(bad))
		return false
	}
	r.cur = fixed
	r.rows.Add(n)
	return true
}

func (r *conformReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch.
//
// Deprecated: use RecordBatch.
func (r *conformReader) Record() arrow.RecordBatch { return r.cur }
func (r *conformReader) Err() error                { return r.err }
func (r *conformReader) Retain()                   { r.refs.Add(1) }

// Release drops the current batch; the source stays with its owner.
func (r *conformReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

// hiddenListValues reports whether a list or map in a (at any depth) has a
// null slot that still spans values. Arrow allows it and clients send it
// (pyarrow's ListArray.from_arrays with a mask), but the Parquet writer
// refuses such lists.
func hiddenListValues(a arrow.Array) bool {
	switch a := a.(type) {
	case *array.FixedSizeList: // every slot spans its size; the writer takes that
		return hiddenListValues(a.ListValues())
	case array.ListLike:
		if a.NullN() > 0 {
			for i := 0; i < a.Len(); i++ {
				if start, end := a.ValueOffsets(i); a.IsNull(i) && end > start {
					return true
				}
			}
		}
		return hiddenListValues(a.ListValues())
	case *array.Struct:
		for f := 0; f < a.NumField(); f++ {
			if hiddenListValues(a.Field(f)) {
				return true
			}
		}
	}
	return false
}

// compactLists rebuilds a with every null list slot empty: taking every
// row copies only the values of valid slots, at every depth.
func compactLists(ctx context.Context, a arrow.Array) (arrow.Array, error) {
	b := array.NewInt64Builder(compute.GetAllocator(ctx))
	defer b.Release()
	b.Reserve(a.Len())
	for i := 0; i < a.Len(); i++ {
		b.UnsafeAppend(int64(i))
	}
	idx := b.NewArray()
	defer idx.Release()
	return compute.TakeArray(ctx, a, idx)
}
