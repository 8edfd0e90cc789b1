package ingest

import (
	"sort"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// stringValues is what the UTF-8 checks need of a utf8 or large_utf8 array.
type stringValues interface {
	arrow.Array
	ValueBytes() []byte // the values' bytes, first to last, back to back
	ValueLen(i int) int
}

// asStrings returns a as stringValues when it holds text that must be UTF-8.
func asStrings(a arrow.Array) (stringValues, bool) {
	switch s := a.(type) {
	case *array.String:
		return s, true
	case *array.LargeString:
		return s, true
	}
	return nil, false
}

// invalidUTF8Rows returns the rows of a whose value is not valid UTF-8, in
// order (nil when every value is valid). The common case costs one pass
// over the values' bytes: valid as a whole, and every value starting on a
// character boundary, means every value is valid by itself.
func invalidUTF8Rows(a stringValues) []int {
	data := a.ValueBytes()
	if validUTF8(data) && boundariesAtRuneStarts(a, data) {
		return nil
	}
	var bad []int
	off := 0
	for i := range a.Len() {
		n := a.ValueLen(i)
		if a.IsValid(i) && !utf8.Valid(data[off:off+n]) {
			bad = append(bad, i)
		}
		off += n
	}
	return bad
}

// boundariesAtRuneStarts reports whether each value of a starts where a
// character of data starts (or at its end).
func boundariesAtRuneStarts(a stringValues, data []byte) bool {
	off := 0
	for i := range a.Len() {
		if off < len(data) && !utf8.RuneStart(data[off]) {
			return false
		}
		off += a.ValueLen(i)
	}
	return true
}

// replaceInvalidUTF8 returns a copy of a with invalid bytes replaced by
// U+FFFD (appendValidUTF8); nulls stay null.
func replaceInvalidUTF8(mem memory.Allocator, a stringValues) arrow.Array {
	b := array.NewBuilder(mem, a.DataType())
	defer b.Release()
	b.Reserve(a.Len())
	data := a.ValueBytes()
	var buf []byte
	off := 0
	for i := range a.Len() {
		n := a.ValueLen(i)
		if a.IsNull(i) {
			b.AppendNull()
		} else {
			buf = appendValidUTF8(buf[:0], data[off:off+n])
			switch sb := b.(type) {
			case *array.StringBuilder:
				sb.BinaryBuilder.Append(buf)
			case *array.LargeStringBuilder:
				sb.BinaryBuilder.Append(buf)
			}
		}
		off += n
	}
	return b.NewArray()
}

// badString is a value found not to be valid UTF-8: row and column of a batch.
type badString struct{ row, col int }

// fixBatchUTF8 checks the text columns of b. With replace, it returns b
// with invalid values repaired (replaceInvalidUTF8) and no bad values;
// otherwise b itself and the bad values, at most one per row (its first
// column), in row order. The batch returned is retained for the caller.
func fixBatchUTF8(mem memory.Allocator, b arrow.RecordBatch, replace bool) (arrow.RecordBatch, []badString) {
	var bad []badString
	var cols []arrow.Array // b's columns, once one is replaced
	for i, col := range b.Columns() {
		s, ok := asStrings(col)
		if !ok {
			continue
		}
		rows := invalidUTF8Rows(s)
		if len(rows) == 0 {
			continue
		}
		if !replace {
			for _, r := range rows {
				bad = append(bad, badString{row: r, col: i})
			}
			continue
		}
		if cols == nil {
			cols = append([]arrow.Array(nil), b.Columns()...)
		}
		cols[i] = replaceInvalidUTF8(mem, s)
		defer cols[i].Release()
	}
	if cols != nil {
		return array.NewRecordBatch(b.Schema(), cols, b.NumRows()), nil
	}
	b.Retain()
	if len(bad) == 0 {
		return b, nil
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].row < bad[j].row })
	out := bad[:1]
	for _, x := range bad[1:] {
		if x.row != out[len(out)-1].row {
			out = append(out, x)
		}
	}
	return b, out
}

// stringValue returns row r of text column a, for error reports.
func stringValue(a arrow.Array, r int) []byte {
	switch s := a.(type) {
	case *array.String:
		return []byte(s.Value(r))
	case *array.LargeString:
		return []byte(s.Value(r))
	}
	return nil
}
