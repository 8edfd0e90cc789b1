package ingest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Turning a worker's column accumulators into Arrow arrays: each buffer is
// allocated from the ingest allocator at its final size and filled with
// one copy.

// jsonBuffer allocates an n-byte buffer from mem.
func jsonBuffer(mem memory.Allocator, n int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(n)
	return b
}

// jsonBitmap packs one byte per slot (0 or 1) into a bitmap buffer.
func jsonBitmap(mem memory.Allocator, v []byte) *memory.Buffer {
	buf := jsonBuffer(mem, (len(v)+7)/8)
	out := buf.Bytes()
	clear(out)
	i := 0
	for ; i+8 <= len(v); i += 8 {
		out[i/8] = v[i] | v[i+1]<<1 | v[i+2]<<2 | v[i+3]<<3 | v[i+4]<<4 | v[i+5]<<5 | v[i+6]<<6 | v[i+7]<<7
	}
	for ; i < len(v); i++ {
		out[i/8] |= v[i] << (i % 8)
	}
	return buf
}

func jsonNulls(v []byte) int {
	n := 0
	for _, x := range v {
		n += int(x)
	}
	return len(v) - n
}

// data builds the column's Arrow data. The caller releases it.
func (c *jsonCol) arrayData(mem memory.Allocator) arrow.ArrayData {
	n := len(c.valid)
	nulls := jsonNulls(c.valid)
	var validity *memory.Buffer
	if nulls > 0 {
		validity = jsonBitmap(mem, c.valid)
	}
	var bufs []*memory.Buffer
	var kids []arrow.ArrayData
	switch c.kind {
	case jsonKBool:
		vals := make([]byte, n)
		for i, v := range c.i64 {
			vals[i] = byte(v)
		}
		bufs = []*memory.Buffer{validity, jsonBitmap(mem, vals)}
	case jsonKInt, jsonKUint64, jsonKDate, jsonKTime:
		width := c.dt.(arrow.FixedWidthDataType).Bytes()
		buf := jsonBuffer(mem, n*width)
		switch width {
		case 8:
			copy(arrow.Int64Traits.CastFromBytes(buf.Bytes()), c.i64)
		case 4:
			out := arrow.Int32Traits.CastFromBytes(buf.Bytes())
			for i, v := range c.i64 {
				out[i] = int32(v)
			}
		case 2:
			out := arrow.Int16Traits.CastFromBytes(buf.Bytes())
			for i, v := range c.i64 {
				out[i] = int16(v)
			}
		case 1:
			out := buf.Bytes()
			for i, v := range c.i64 {
				out[i] = byte(v)
			}
		}
		bufs = []*memory.Buffer{validity, buf}
	case jsonKFloat:
		if c.isFloat {
			buf := jsonBuffer(mem, n*4)
			out := arrow.Float32Traits.CastFromBytes(buf.Bytes())
			for i, v := range c.f64 {
				out[i] = float32(v)
			}
			bufs = []*memory.Buffer{validity, buf}
		} else {
			buf := jsonBuffer(mem, n*8)
			copy(arrow.Float64Traits.CastFromBytes(buf.Bytes()), c.f64)
			bufs = []*memory.Buffer{validity, buf}
		}
	case jsonKDec:
		buf := jsonBuffer(mem, n*16)
		copy(arrow.Decimal128Traits.CastFromBytes(buf.Bytes()), c.dec)
		bufs = []*memory.Buffer{validity, buf}
	case jsonKStr:
		var offs *memory.Buffer
		if c.dt.ID() == arrow.LARGE_STRING {
			offs = jsonBuffer(mem, (n+1)*8)
			out := arrow.Int64Traits.CastFromBytes(offs.Bytes())
			for i, v := range c.offs {
				out[i] = int64(v)
			}
		} else {
			offs = jsonBuffer(mem, (n+1)*4)
			copy(arrow.Int32Traits.CastFromBytes(offs.Bytes()), c.offs)
		}
		data := jsonBuffer(mem, len(c.data))
		copy(data.Bytes(), c.data)
		bufs = []*memory.Buffer{validity, offs, data}
	case jsonKList:
		offs := jsonBuffer(mem, (n+1)*4)
		copy(arrow.Int32Traits.CastFromBytes(offs.Bytes()), c.offs)
		bufs = []*memory.Buffer{validity, offs}
		kids = []arrow.ArrayData{c.elem.arrayData(mem)}
	case jsonKStruct:
		bufs = []*memory.Buffer{validity}
		for _, k := range c.kids {
			kids = append(kids, k.arrayData(mem))
		}
	}
	d := array.NewData(c.dt, n, bufs, kids, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	for _, k := range kids {
		k.Release()
	}
	return d
}

// batch turns the root's columns into a record batch (nil when it has no
// rows) and resets them.
func (c *jsonCol) batch(schema *arrow.Schema, mem memory.Allocator) arrow.RecordBatch {
	n := len(c.valid)
	if n == 0 {
		c.reset()
		return nil
	}
	cols := make([]arrow.Array, len(c.kids))
	for i, k := range c.kids {
		d := k.arrayData(mem)
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecordBatch(schema, cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	c.reset()
	return rec
}
