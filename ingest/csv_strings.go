package ingest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// stringColumn collects the values of a string or binary column in reused
// Go slices and copies them into allocator buffers once per batch:
// appending is then a slice append, several times cheaper than
// array.BinaryBuilder.Append.
type stringColumn struct {
	typ   arrow.DataType
	large bool    // 64-bit offsets
	ends  []int64 // where each value ends in data
	data  []byte
	valid []byte // validity bitmap; nil while the batch has no null
}

// maxStringBatchBytes bounds a batch's string data so that 32-bit offsets
// cannot overflow.
const maxStringBatchBytes = 1 << 30

func newStringColumn(t arrow.DataType) *stringColumn {
	id := t.ID()
	return &stringColumn{typ: t, large: id == arrow.LARGE_STRING || id == arrow.LARGE_BINARY}
}

func (c *stringColumn) reserve(rows, bytes int) {
	if cap(c.ends)-len(c.ends) < rows {
		c.ends = append(make([]int64, 0, len(c.ends)+rows), c.ends...)
	}
	if cap(c.data)-len(c.data) < bytes {
		c.data = append(make([]byte, 0, len(c.data)+bytes), c.data...)
	}
}

func (c *stringColumn) append(v []byte) {
	if c.valid != nil {
		c.setValid(len(c.ends), true)
	}
	c.data = append(c.data, v...)
	c.ends = append(c.ends, int64(len(c.data)))
}

// appendValidUTF8 appends v with its invalid UTF-8 replaced (appendValidUTF8).
func (c *stringColumn) appendValidUTF8(v []byte) {
	if c.valid != nil {
		c.setValid(len(c.ends), true)
	}
	c.data = appendValidUTF8(c.data, v)
	c.ends = append(c.ends, int64(len(c.data)))
}

func (c *stringColumn) appendNull() {
	row := len(c.ends)
	if c.valid == nil {
		c.valid = make([]byte, 0, cap(c.ends)/8+1)
		for r := range row {
			c.setValid(r, true)
		}
	}
	c.setValid(row, false)
	c.ends = append(c.ends, int64(len(c.data)))
}

// setValid sets row's validity bit, growing the bitmap by whole bytes.
func (c *stringColumn) setValid(row int, v bool) {
	for len(c.valid) <= row>>3 {
		c.valid = append(c.valid, 0)
	}
	if v {
		c.valid[row>>3] |= 1 << (row & 7)
	} else {
		c.valid[row>>3] &^= 1 << (row & 7)
	}
}

// truncate drops the values of rows n and later (a row abandoned half-way).
func (c *stringColumn) truncate(n int) {
	if len(c.ends) <= n {
		return
	}
	c.ends = c.ends[:n]
	end := int64(0)
	if n > 0 {
		end = c.ends[n-1]
	}
	c.data = c.data[:end]
}

// full reports a batch whose data approaches what 32-bit offsets allow.
func (c *stringColumn) full() bool { return !c.large && len(c.data) >= maxStringBatchBytes }

// newArray moves the collected values into an array allocated from mem
// and starts over.
func (c *stringColumn) newArray(mem memory.Allocator) arrow.Array {
	n := len(c.ends)
	offsets := memory.NewResizableBuffer(mem)
	if c.large {
		offsets.Resize((n + 1) * 8)
		o := arrow.Int64Traits.CastFromBytes(offsets.Bytes())
		o[0] = 0
		copy(o[1:], c.ends)
	} else {
		offsets.Resize((n + 1) * 4)
		o := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
		o[0] = 0
		for i, e := range c.ends {
			o[i+1] = int32(e)
		}
	}
	data := memory.NewResizableBuffer(mem)
	data.Resize(len(c.data))
	copy(data.Bytes(), c.data)
	var valid *memory.Buffer
	nulls := 0
	if c.valid != nil {
		nulls = n - bitutil.CountSetBits(c.valid, 0, n)
	}
	if nulls > 0 {
		valid = memory.NewResizableBuffer(mem)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		copy(valid.Bytes(), c.valid)
	}
	d := array.NewData(c.typ, n, []*memory.Buffer{valid, offsets, data}, nil, nulls, 0)
	arr := array.MakeFromData(d)
	d.Release()
	offsets.Release()
	data.Release()
	if valid != nil {
		valid.Release()
	}
	c.ends, c.data, c.valid = c.ends[:0], c.data[:0], nil
	return arr
}
