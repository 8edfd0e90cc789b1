package ingest

import (
	"fmt"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Text is checked wherever it sits in a column: a string nested in a list,
// a struct or a map reaches a Parquet file as much as a top-level one does,
// and DuckDB refuses it as much. hasText keeps that free for the columns
// without any.

// hasText reports whether values of type t hold text that must be valid
// UTF-8 (utf8, large_utf8, string_view) at any depth.
func hasText(t arrow.DataType) bool {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return true
	case *arrow.StructType:
		for i := range t.NumFields() { // not Fields(), which copies them
			if hasText(t.Field(i).Type) {
				return true
			}
		}
	case arrow.ListLikeType: // list, large_list, fixed_size_list, map, list views
		return hasText(t.Elem())
	case *arrow.DictionaryType:
		return hasText(t.ValueType)
	}
	return false
}

// stringValues is what the UTF-8 checks need of a utf8 or large_utf8 array.
type stringValues interface {
	arrow.Array
	ValueBytes() []byte // the values' bytes, first to last, back to back
	ValueLen(i int) int
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

// badTextRows returns the rows of a (0 to a.Len()-1) holding text that is
// not valid UTF-8 anywhere inside them, in order (nil when none does). Text
// under a null (a null list's leftover elements, a null struct's fields) is
// never stored, so it does not count.
func badTextRows(a arrow.Array) []int {
	switch a := a.(type) {
	case *array.String:
		return invalidUTF8Rows(a)
	case *array.LargeString:
		return invalidUTF8Rows(a)
	case *array.StringView:
		var bad []int
		for i := range a.Len() {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				bad = append(bad, i)
			}
		}
		return bad
	case *array.Struct:
		var bad []int
		for i := range a.NumField() {
			if f := a.Field(i); hasText(f.DataType()) {
				bad = append(bad, badTextRows(f)...)
			}
		}
		if len(bad) == 0 {
			return nil
		}
		slices.Sort(bad)
		bad = slices.Compact(bad)
		return slices.DeleteFunc(bad, a.IsNull)
	case array.ListLike: // list, large_list, fixed_size_list, map, list views
		return badListRows(a)
	case *array.Dictionary:
		inner := badTextRows(a.Dictionary())
		if len(inner) == 0 {
			return nil
		}
		var bad []int
		for i := range a.Len() {
			if a.IsValid(i) {
				if _, found := slices.BinarySearch(inner, a.GetValueIndex(i)); found {
					bad = append(bad, i)
				}
			}
		}
		return bad
	}
	return nil
}

// badListRows is badTextRows of a list-like array: the rows with a bad
// element among theirs. Only the elements the rows use are checked (a
// slice of a long list array does not pay for all of it).
func badListRows(a array.ListLike) []int {
	if a.Len() == 0 || !hasText(a.ListValues().DataType()) {
		return nil
	}
	elems, base := a.ListValues(), int64(0)
	switch a.(type) {
	case *array.ListView, *array.LargeListView: // elements in any order: all of them
	default: // offsets only grow
		var end int64
		base, _ = a.ValueOffsets(0)
		_, end = a.ValueOffsets(a.Len() - 1)
		elems = array.NewSlice(elems, base, end)
		defer elems.Release()
	}
	inner := badTextRows(elems)
	if len(inner) == 0 {
		return nil
	}
	var bad []int
	for i := range a.Len() {
		if a.IsNull(i) {
			continue
		}
		start, end := a.ValueOffsets(i)
		k := sort.SearchInts(inner, int(start-base))
		if k < len(inner) && inner[k] < int(end-base) {
			bad = append(bad, i)
		}
	}
	return bad
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

// replaceText returns a with every text value inside it repaired
// (appendValidUTF8): the same length, nulls and structure, holding the same
// values where they were valid. A nested array keeps its own buffers and
// gets repaired children; a is returned, retained, when it holds no text.
func replaceText(mem memory.Allocator, a arrow.Array) arrow.Array {
	switch a := a.(type) {
	case *array.String:
		return replaceInvalidUTF8(mem, a)
	case *array.LargeString:
		return replaceInvalidUTF8(mem, a)
	case *array.StringView:
		b := array.NewStringViewBuilder(mem)
		defer b.Release()
		b.Reserve(a.Len())
		var buf []byte
		for i := range a.Len() {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			buf = appendValidUTF8(buf[:0], []byte(a.Value(i)))
			b.BinaryViewBuilder.Append(buf)
		}
		return b.NewArray()
	case *array.Struct, array.ListLike:
		// The children as stored (not sliced to a's offset and length,
		// which the new array keeps), each repaired as a whole.
		d := a.Data()
		kids := make([]arrow.ArrayData, len(d.Children()))
		for i, cd := range d.Children() {
			kid := array.MakeFromData(cd)
			fixed := replaceText(mem, kid)
			kid.Release()
			kids[i] = fixed.Data()
			defer fixed.Release()
		}
		nd := array.NewData(d.DataType(), d.Len(), d.Buffers(), kids, d.NullN(), d.Offset())
		defer nd.Release()
		return array.MakeFromData(nd)
	case *array.Dictionary:
		dict := replaceText(mem, a.Dictionary())
		defer dict.Release()
		d := a.Data()
		nd := array.NewDataWithDictionary(d.DataType(), d.Len(), d.Buffers(), d.NullN(), d.Offset(), dict.Data().(*array.Data))
		defer nd.Release()
		return array.MakeFromData(nd)
	}
	a.Retain()
	return a
}

// badString is a value found not to be valid UTF-8: row and column of a batch.
type badString struct{ row, col int }

// fixBatchUTF8 checks the text of b's columns, nested text included. With
// replace, it returns b with invalid values repaired (replaceText) and no
// bad values; otherwise b itself and the bad values, at most one per row
// (its first column), in row order. The batch returned is retained for the
// caller.
func fixBatchUTF8(mem memory.Allocator, b arrow.RecordBatch, replace bool) (arrow.RecordBatch, []badString) {
	var bad []badString
	var cols []arrow.Array // b's columns, once one is replaced
	for i, col := range b.Columns() {
		if !hasText(col.DataType()) {
			continue
		}
		rows := badTextRows(col)
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
		cols[i] = replaceText(mem, col)
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

// badText returns the first text value inside row r of a that is not valid
// UTF-8 (nil when there is none), for error reports.
func badText(a arrow.Array, r int) []byte {
	if a.IsNull(r) {
		return nil
	}
	var v string
	switch a := a.(type) {
	case *array.String:
		v = a.Value(r)
	case *array.LargeString:
		v = a.Value(r)
	case *array.StringView:
		v = a.Value(r)
	case *array.Struct:
		for i := range a.NumField() {
			if b := badText(a.Field(i), r); b != nil {
				return b
			}
		}
		return nil
	case array.ListLike:
		start, end := a.ValueOffsets(r)
		for j := start; j < end; j++ {
			if b := badText(a.ListValues(), int(j)); b != nil {
				return b
			}
		}
		return nil
	case *array.Dictionary:
		return badText(a.Dictionary(), a.GetValueIndex(r))
	default:
		return nil
	}
	if utf8.ValidString(v) {
		return nil
	}
	return []byte(v)
}

// checkNames refuses a schema with a column or nested field name that is
// not valid UTF-8: Iceberg's metadata is JSON text, where such a name would
// turn into another one (U+FFFD for each bad byte) than the data files
// carry. The error names the column by its position as well, since its
// name shows only as escaped bytes.
func checkNames(sc *arrow.Schema) error {
	for i, f := range sc.Fields() {
		if !utf8.ValidString(f.Name) {
			return fmt.Errorf("%w: column %d: the name %q is not valid UTF-8; column names must be UTF-8 text",
				ErrMalformed, i+1, f.Name)
		}
		if bad, ok := badFieldName(f.Type); !ok {
			return fmt.Errorf("%w: column %d (%q): the name %q of a field inside it is not valid UTF-8; field names must be UTF-8 text",
				ErrMalformed, i+1, f.Name, bad)
		}
	}
	return nil
}

// badFieldName finds a struct field name inside t that is not valid UTF-8
// (list elements and map entries are renamed when the table is made).
func badFieldName(t arrow.DataType) (string, bool) {
	switch t := t.(type) {
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if !utf8.ValidString(f.Name) {
				return f.Name, false
			}
			if bad, ok := badFieldName(f.Type); !ok {
				return bad, false
			}
		}
	case arrow.ListLikeType:
		return badFieldName(t.Elem())
	case *arrow.DictionaryType:
		return badFieldName(t.ValueType)
	}
	return "", true
}
