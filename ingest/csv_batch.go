package ingest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchBuilder collects rows of text fields into record batches. Row r's
// values are written at slot r of every column and the row only counts
// once all of them converted, so a bad value leaves no trace in the batch.
type batchBuilder struct {
	mem     memory.Allocator
	schema  *arrow.Schema
	cols    []textColumn
	nulls   *nullSet
	fixed   []fixedColumn   // per column; unused for string columns
	str     []*stringColumn // per column; nil for fixed-width columns
	rows    int             // rows in the batch being built
	capRows int             // rows reserved in every column
	hint    int             // rows to reserve at a time
	// replaceUTF8 stores invalid UTF-8 in text columns with U+FFFD instead
	// of making the row bad.
	replaceUTF8 bool
	// textValid: the input being read is valid UTF-8 as a whole, so no
	// field needs a check of its own (csv_split.go).
	textValid bool
}

func newBatchBuilder(mem memory.Allocator, schema *arrow.Schema, cols []textColumn, nulls *nullSet) *batchBuilder {
	bb := &batchBuilder{
		mem: mem, schema: schema, cols: cols, nulls: nulls,
		fixed: make([]fixedColumn, len(cols)), str: make([]*stringColumn, len(cols)),
		hint: 1024,
	}
	for i := range cols {
		if cols[i].kind == textString {
			bb.str[i] = newStringColumn(cols[i].typ)
		} else {
			bb.fixed[i] = newFixedColumn(mem, cols[i].typ)
		}
	}
	return bb
}

// reserveRow makes sure slot bb.rows exists in every column.
func (bb *batchBuilder) reserveRow() {
	if bb.rows < bb.capRows {
		return
	}
	n := max(bb.hint, bb.capRows/2)
	for i := range bb.cols {
		if str := bb.str[i]; str != nil {
			str.reserve(n, n*bb.cols[i].textBytes)
		} else {
			bb.fixed[i].reserve(bb.capRows + n)
		}
	}
	bb.capRows += n
}

// add appends the row of len(cols) fields s just scanned. When a field
// does not convert (or is null in a required column) it appends nothing
// and returns that field's column; otherwise -1.
func (bb *batchBuilder) add(s *recordScanner) int {
	bb.reserveRow()
	r := bb.rows
	for i := range bb.cols {
		c := &bb.cols[i]
		text := s.text(i)
		if bb.nulls.isNull(c, text, s.fields[i].quoted) {
			if c.required {
				bb.abandon()
				return i
			}
			bb.setNull(i, r)
			continue
		}
		if str := bb.str[i]; str != nil {
			if c.utf8 && !bb.textValid && !validUTF8(text) {
				if !bb.replaceUTF8 {
					bb.abandon()
					return i
				}
				str.appendValidUTF8(text)
				continue
			}
			str.append(text)
			continue
		}
		lo, hi, ok := c.convert(text)
		if !ok {
			bb.abandon()
			return i
		}
		bb.fixed[i].set(r, lo, hi)
	}
	bb.rows++
	return -1
}

func (bb *batchBuilder) setNull(i, r int) {
	if str := bb.str[i]; str != nil {
		str.appendNull()
	} else {
		bb.fixed[i].setNull(r, bb.capRows)
	}
}

// abandon forgets what the row being added wrote so far.
func (bb *batchBuilder) abandon() {
	for _, str := range bb.str {
		if str != nil {
			str.truncate(bb.rows)
		}
	}
}

// flush returns the rows added since the last flush as a record batch, or
// nil when there are none.
func (bb *batchBuilder) flush() arrow.RecordBatch {
	if bb.rows == 0 {
		return nil
	}
	arrs := make([]arrow.Array, len(bb.cols))
	for i := range bb.cols {
		if str := bb.str[i]; str != nil {
			arrs[i] = str.newArray(bb.mem)
		} else {
			arrs[i] = bb.fixed[i].newArray(bb.rows)
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
	for _, str := range bb.str {
		if str != nil && str.full() {
			return true
		}
	}
	return false
}

// release frees the buffers of a batch not flushed.
func (bb *batchBuilder) release() {
	for i := range bb.fixed {
		bb.fixed[i].release()
	}
	bb.rows, bb.capRows = 0, 0
	bb.abandon()
}
