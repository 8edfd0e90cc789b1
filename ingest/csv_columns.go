package ingest

import (
	"bytes"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// textKind groups the Arrow types a text field converts to by how it is
// read.
type textKind uint8

const (
	textString textKind = iota // utf8, large_utf8, binary, large_binary
	textBool
	textInt   // int8..int64
	textFloat // float32, float64
	textDecimal
	textDate
	textTimestamp
)

// textColumn is one output column of a text format: its name and type and
// how its fields convert.
type textColumn struct {
	name  string
	typ   arrow.DataType
	kind  textKind
	bits  int // textInt, textFloat
	unit  arrow.TimeUnit
	zoned bool // a timestamp with a time zone: offsets are converted to UTC
	// required: the field is not nullable, so a null makes the row bad.
	required bool
	prec     int32
	scale    int32
	// textBytes is the average text length sampled, to size string data.
	textBytes int
}

func newTextColumn(name string, t arrow.DataType) (textColumn, error) {
	c := textColumn{name: name, typ: t}
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		c.kind = textString
	case arrow.BOOL:
		c.kind = textBool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		c.kind, c.bits = textInt, t.(arrow.FixedWidthDataType).BitWidth()
	case arrow.FLOAT32, arrow.FLOAT64:
		c.kind, c.bits = textFloat, t.(arrow.FixedWidthDataType).BitWidth()
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		c.kind, c.prec, c.scale = textDecimal, d.Precision, d.Scale
	case arrow.DATE32:
		c.kind = textDate
	case arrow.TIMESTAMP:
		ts := t.(*arrow.TimestampType)
		c.kind, c.unit, c.zoned = textTimestamp, ts.Unit, ts.TimeZone != ""
	default:
		return c, fmt.Errorf("%w: column %q: type %s is not supported for text input", ErrOptions, name, t)
	}
	return c, nil
}

// convert reads a non-null text as the column's type; lo and hi hold the
// value's bits (hi only for decimals).
func (c *textColumn) convert(b []byte) (lo, hi uint64, ok bool) {
	switch c.kind {
	case textBool:
		v, ok := convertBool(b)
		if v {
			lo = 1
		}
		return lo, 0, ok
	case textInt:
		v, ok := convertInt(b, c.bits)
		return uint64(v), 0, ok
	case textFloat:
		v, ok := convertFloat(b, c.bits)
		return math.Float64bits(v), 0, ok
	case textDecimal:
		v, ok := convertDecimal(b, c.prec, c.scale)
		return v.LowBits(), uint64(v.HighBits()), ok
	case textDate:
		v, ok := convertDate(b)
		return uint64(int64(v)), 0, ok
	case textTimestamp:
		v, shape, ok := convertTimestamp(b, c.unit)
		return uint64(v), 0, ok && (c.zoned || shape != tsZoned)
	}
	return 0, 0, true
}

// nullSet holds the field texts read as NULL.
type nullSet struct {
	empty  bool
	tokens [][]byte // non-empty tokens
}

func newNullSet(tokens []string) nullSet {
	if tokens == nil {
		return nullSet{empty: true}
	}
	var n nullSet
	for _, t := range tokens {
		if t == "" {
			n.empty = true
		} else {
			n.tokens = append(n.tokens, []byte(t))
		}
	}
	return n
}

func (n *nullSet) is(b []byte) bool {
	if len(b) == 0 {
		return n.empty
	}
	for _, t := range n.tokens {
		if bytes.Equal(t, b) {
			return true
		}
	}
	return false
}

// isNull says whether a field is NULL in column c: a null token, unless it
// was quoted in a string column.
func (n *nullSet) isNull(c *textColumn, text []byte, quoted bool) bool {
	return (c.kind != textString || !quoted) && n.is(text)
}

// columnBuilder appends to one Arrow builder through its concrete type,
// or to a stringColumn.
type columnBuilder struct {
	b    array.Builder
	str  *stringColumn
	bl   *array.BooleanBuilder
	i8   *array.Int8Builder
	i16  *array.Int16Builder
	i32  *array.Int32Builder
	i64  *array.Int64Builder
	f32  *array.Float32Builder
	f64  *array.Float64Builder
	dec  *array.Decimal128Builder
	date *array.Date32Builder
	ts   *array.TimestampBuilder
}

func newColumnBuilder(mem memory.Allocator, t arrow.DataType) columnBuilder {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return columnBuilder{str: newStringColumn(t)}
	}
	cb := columnBuilder{b: array.NewBuilder(mem, t)}
	switch b := cb.b.(type) {
	case *array.BooleanBuilder:
		cb.bl = b
	case *array.Int8Builder:
		cb.i8 = b
	case *array.Int16Builder:
		cb.i16 = b
	case *array.Int32Builder:
		cb.i32 = b
	case *array.Int64Builder:
		cb.i64 = b
	case *array.Float32Builder:
		cb.f32 = b
	case *array.Float64Builder:
		cb.f64 = b
	case *array.Decimal128Builder:
		cb.dec = b
	case *array.Date32Builder:
		cb.date = b
	case *array.TimestampBuilder:
		cb.ts = b
	}
	return cb
}

// batchBuilder collects rows of text fields into record batches. A row is
// converted whole before any of it is appended, so a bad value leaves no
// trace in the batch.
type batchBuilder struct {
	mem     memory.Allocator
	schema  *arrow.Schema
	cols    []textColumn
	nulls   *nullSet
	out     []columnBuilder
	rows    int // rows in the batch being built
	capRows int // rows reserved in every builder
	hint    int // rows to reserve at a time

	lo, hi []uint64 // the row being converted
	null   []bool
}

func newBatchBuilder(mem memory.Allocator, schema *arrow.Schema, cols []textColumn, nulls *nullSet) *batchBuilder {
	bb := &batchBuilder{
		mem: mem, schema: schema, cols: cols, nulls: nulls,
		out: make([]columnBuilder, len(cols)),
		lo:  make([]uint64, len(cols)), hi: make([]uint64, len(cols)), null: make([]bool, len(cols)),
		hint: 1024,
	}
	for i := range cols {
		bb.out[i] = newColumnBuilder(mem, cols[i].typ)
	}
	return bb
}

// add appends the row of len(cols) fields s just scanned. When a field does not convert (or
// is null in a required column) it appends nothing and returns that
// field's column; otherwise -1.
func (bb *batchBuilder) add(s *recordScanner) int {
	for i := range bb.cols {
		c := &bb.cols[i]
		text := s.text(i)
		if bb.nulls.isNull(c, text, s.fields[i].quoted) {
			if c.required {
				return i
			}
			bb.null[i] = true
			continue
		}
		bb.null[i] = false
		if c.kind == textString {
			continue
		}
		lo, hi, ok := c.convert(text)
		if !ok {
			return i
		}
		bb.lo[i], bb.hi[i] = lo, hi
	}
	if bb.rows == bb.capRows {
		n := max(bb.hint, bb.capRows/2)
		for i := range bb.out {
			if str := bb.out[i].str; str != nil {
				str.reserve(n, n*bb.cols[i].textBytes)
			} else {
				bb.out[i].b.Reserve(n)
			}
		}
		bb.capRows += n
	}
	for i := range bb.out {
		o := &bb.out[i]
		if bb.null[i] {
			if o.str != nil {
				o.str.appendNull()
			} else {
				o.b.UnsafeAppendBoolToBitmap(false)
			}
			continue
		}
		v := bb.lo[i]
		switch {
		case o.str != nil:
			o.str.append(s.text(i))
		case o.i64 != nil:
			o.i64.UnsafeAppend(int64(v))
		case o.f64 != nil:
			o.f64.UnsafeAppend(math.Float64frombits(v))
		case o.ts != nil:
			o.ts.UnsafeAppend(arrow.Timestamp(int64(v)))
		case o.date != nil:
			o.date.UnsafeAppend(arrow.Date32(int32(int64(v))))
		case o.bl != nil:
			o.bl.UnsafeAppend(v != 0)
		case o.dec != nil:
			o.dec.UnsafeAppend(decimal128.New(int64(bb.hi[i]), v))
		case o.i32 != nil:
			o.i32.UnsafeAppend(int32(int64(v)))
		case o.i16 != nil:
			o.i16.UnsafeAppend(int16(int64(v)))
		case o.i8 != nil:
			o.i8.UnsafeAppend(int8(int64(v)))
		case o.f32 != nil:
			o.f32.UnsafeAppend(float32(math.Float64frombits(v)))
		}
	}
	bb.rows++
	return -1
}

// flush returns the rows added since the last flush as a record batch, or
// nil when there are none.
func (bb *batchBuilder) flush() arrow.RecordBatch {
	if bb.rows == 0 {
		return nil
	}
	arrs := make([]arrow.Array, len(bb.out))
	for i := range bb.out {
		if str := bb.out[i].str; str != nil {
			arrs[i] = str.newArray(bb.mem)
		} else {
			arrs[i] = bb.out[i].b.NewArray()
		}
	}
	rec := array.NewRecordBatch(bb.schema, arrs, int64(bb.rows))
	for _, a := range arrs {
		a.Release()
	}
	bb.rows, bb.capRows = 0, 0
	return rec
}

// full reports a batch that must be flushed before it grows further.
func (bb *batchBuilder) full() bool {
	for i := range bb.out {
		if str := bb.out[i].str; str != nil && str.full() {
			return true
		}
	}
	return false
}

// release frees the builders.
func (bb *batchBuilder) release() {
	for i := range bb.out {
		if bb.out[i].b != nil {
			bb.out[i].b.Release()
		}
	}
}
