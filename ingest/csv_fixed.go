package ingest

import (
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fixedColumn fills a fixed-width column of one batch straight in
// allocator buffers, slot by slot: row r's value is written at r, so a row
// abandoned half-way leaves nothing behind once the next row overwrites
// it. The validity bitmap is only allocated when the batch's first null
// appears.
type fixedColumn struct {
	typ   arrow.DataType
	mem   memory.Allocator
	store storeKind
	data  *memory.Buffer // values; nil before the batch's first row
	valid *memory.Buffer // nil while the batch has no null
	bits  []byte         // valid's bytes

	// Views of data, one per width.
	u64 []uint64
	u32 []uint32
	u16 []uint16
	u8  []uint8
}

// storeKind is how a converted value is laid out.
type storeKind uint8

const (
	store64  storeKind = iota // int64, float64, timestamp
	store32                   // int32, date32
	storeF32                  // float32 (converted from float64 bits)
	store16
	store8
	storeBool // one bit per value
	store128  // decimal128: low word, then high word
)

func newFixedColumn(mem memory.Allocator, t arrow.DataType) fixedColumn {
	c := fixedColumn{typ: t, mem: mem}
	switch t.ID() {
	case arrow.INT32, arrow.DATE32:
		c.store = store32
	case arrow.FLOAT32:
		c.store = storeF32
	case arrow.INT16:
		c.store = store16
	case arrow.INT8:
		c.store = store8
	case arrow.BOOL:
		c.store = storeBool
	case arrow.DECIMAL128:
		c.store = store128
	}
	return c
}

// bytesFor is the size of the value buffer for n rows.
func (c *fixedColumn) bytesFor(n int) int {
	switch c.store {
	case store32, storeF32:
		return 4 * n
	case store16:
		return 2 * n
	case store8:
		return n
	case storeBool:
		return int(bitutil.BytesForBits(int64(n)))
	case store128:
		return 16 * n
	}
	return 8 * n
}

// reserve makes room for rows values, keeping those written.
func (c *fixedColumn) reserve(rows int) {
	if c.data == nil {
		c.data = memory.NewResizableBuffer(c.mem)
	}
	c.data.Reserve(c.bytesFor(rows))
	b := c.data.Buf()
	c.u8 = b
	c.u16 = unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
	c.u32 = unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
	c.u64 = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
	if c.valid != nil {
		c.valid.Reserve(int(bitutil.BytesForBits(int64(rows))))
		c.bits = c.valid.Buf()
	}
}

// set writes row r's converted value (see textColumn.convert) and marks
// it valid.
func (c *fixedColumn) set(r int, lo, hi uint64) {
	c.put(r, lo, hi)
	c.setValid(r)
}

// set64 and set32 are set for columns known to store 64 or 32 bits.
func (c *fixedColumn) set64(r int, v uint64) {
	c.u64[r] = v
	c.setValid(r)
}

func (c *fixedColumn) set32(r int, v uint32) {
	c.u32[r] = v
	c.setValid(r)
}

// put writes row r's value bits.
func (c *fixedColumn) put(r int, lo, hi uint64) {
	switch c.store {
	case store64:
		c.u64[r] = lo
	case store32:
		c.u32[r] = uint32(lo)
	case storeF32:
		c.u32[r] = math.Float32bits(float32(math.Float64frombits(lo)))
	case store16:
		c.u16[r] = uint16(lo)
	case store8:
		c.u8[r] = uint8(lo)
	case storeBool:
		if lo != 0 {
			bitutil.SetBit(c.u8, r)
		} else {
			bitutil.ClearBit(c.u8, r)
		}
	case store128:
		c.u64[2*r], c.u64[2*r+1] = lo, hi
	}
}

// setValid marks row r valid; a no-op while the batch has no null.
func (c *fixedColumn) setValid(r int) {
	if c.bits != nil {
		bitutil.SetBit(c.bits, r)
	}
}

// setNull marks row r null, allocating the bitmap (rows before r valid)
// on the batch's first null. capRows is the rows reserved.
func (c *fixedColumn) setNull(r, capRows int) {
	if c.bits == nil {
		c.valid = memory.NewResizableBuffer(c.mem)
		c.valid.Reserve(int(bitutil.BytesForBits(int64(capRows))))
		c.bits = c.valid.Buf()
		bitutil.SetBitsTo(c.bits, 0, int64(r), true)
	}
	bitutil.ClearBit(c.bits, r)
	c.put(r, 0, 0) // null slots hold zero
}

// newArray hands the first n rows over as an array and starts a new batch.
func (c *fixedColumn) newArray(n int) arrow.Array {
	size := c.bytesFor(n)
	if size < c.data.Cap()/2 {
		c.data.Resize(size) // give most of a short batch's room back
	} else {
		c.data.ResizeNoShrink(size)
	}
	nulls := 0
	if c.valid != nil {
		c.valid.ResizeNoShrink(int(bitutil.BytesForBits(int64(n))))
		nulls = n - bitutil.CountSetBits(c.bits, 0, n)
	}
	d := array.NewData(c.typ, n, []*memory.Buffer{c.valid, c.data}, nil, nulls, 0)
	arr := array.MakeFromData(d)
	d.Release()
	c.release()
	return arr
}

// release drops the batch's buffers.
func (c *fixedColumn) release() {
	if c.data != nil {
		c.data.Release()
	}
	if c.valid != nil {
		c.valid.Release()
	}
	c.data, c.valid, c.bits = nil, nil, nil
	c.u64, c.u32, c.u16, c.u8 = nil, nil, nil, nil
}
