package ingest

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeflight/lakeflight/catalog"
)

// textShape builds a column of one nested (or non-plain) text type whose
// row i holds vals[i] somewhere inside; a nil entry is a null row.
type textShape struct {
	name  string
	build func(mem memory.Allocator, vals []*string) arrow.Array
}

func str(s string) *string { return &s }

// appendAt appends v (or a null) to a string-like builder.
func appendAt(b array.Builder, v string) {
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v)
	case *array.LargeStringBuilder:
		b.Append(v)
	case *array.StringViewBuilder:
		b.Append(v)
	case *array.BinaryDictionaryBuilder:
		if err := b.AppendString(v); err != nil {
			panic(err)
		}
	default:
		panic(fmt.Sprintf("appendAt: %T", b))
	}
}

// textShapes are the places text can hide in a column.
var textShapes = []textShape{
	{"large_string", func(mem memory.Allocator, vals []*string) arrow.Array {
		return buildFlat(array.NewBuilder(mem, arrow.BinaryTypes.LargeString), vals)
	}},
	{"string_view", func(mem memory.Allocator, vals []*string) arrow.Array {
		return buildFlat(array.NewBuilder(mem, arrow.BinaryTypes.StringView), vals)
	}},
	{"dictionary", func(mem memory.Allocator, vals []*string) arrow.Array {
		return buildFlat(array.NewBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}), vals)
	}},
	{"list", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewListBuilder(mem, arrow.BinaryTypes.String)
		defer b.Release()
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			b.ValueBuilder().(*array.StringBuilder).Append("first")
			b.ValueBuilder().(*array.StringBuilder).Append(*v)
		}
		return b.NewArray()
	}},
	{"large_list", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewLargeListBuilder(mem, arrow.BinaryTypes.String)
		defer b.Release()
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			b.ValueBuilder().(*array.StringBuilder).Append(*v)
		}
		return b.NewArray()
	}},
	{"struct", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewStructBuilder(mem, arrow.StructOf(
			arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}))
		defer b.Release()
		for i, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			b.FieldBuilder(0).(*array.Int64Builder).Append(int64(i))
			b.FieldBuilder(1).(*array.StringBuilder).Append(*v)
		}
		return b.NewArray()
	}},
	{"map key", func(mem memory.Allocator, vals []*string) arrow.Array {
		return buildMap(mem, vals, true)
	}},
	{"map value", func(mem memory.Allocator, vals []*string) arrow.Array {
		return buildMap(mem, vals, false)
	}},
	{"list of struct", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewListBuilder(mem, arrow.StructOf(arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}))
		defer b.Release()
		sb := b.ValueBuilder().(*array.StructBuilder)
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			sb.Append(true)
			sb.FieldBuilder(0).(*array.StringBuilder).Append("ok")
			sb.Append(true)
			sb.FieldBuilder(0).(*array.StringBuilder).Append(*v)
		}
		return b.NewArray()
	}},
	{"struct of list", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewStructBuilder(mem, arrow.StructOf(arrow.Field{Name: "l", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}))
		defer b.Release()
		lb := b.FieldBuilder(0).(*array.ListBuilder)
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			lb.Append(true)
			lb.ValueBuilder().(*array.StringBuilder).Append(*v)
		}
		return b.NewArray()
	}},
}

func buildFlat(b array.Builder, vals []*string) arrow.Array {
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		appendAt(b, *v)
	}
	return b.NewArray()
}

// buildMap makes map<string, string> rows {v: "x"} (key) or {"k": v}.
func buildMap(mem memory.Allocator, vals []*string, key bool) arrow.Array {
	b := array.NewMapBuilder(mem, arrow.BinaryTypes.String, arrow.BinaryTypes.String, false)
	defer b.Release()
	kb, ib := b.KeyBuilder().(*array.StringBuilder), b.ItemBuilder().(*array.StringBuilder)
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		b.Append(true)
		if key {
			kb.Append(*v)
			ib.Append("x")
		} else {
			kb.Append("k")
			ib.Append(*v)
		}
	}
	return b.NewArray()
}

// shapeBatch is a reader of one batch: id 1..3 and column c of the shape,
// its rows holding "ok", val and NULL.
func shapeBatch(t *testing.T, sh textShape, val string) array.RecordReader {
	t.Helper()
	ids := array.NewInt64Builder(memory.DefaultAllocator)
	ids.AppendValues([]int64{1, 2, 3}, nil)
	id := ids.NewArray()
	ids.Release()
	return batchOf(t, []string{"id", "c"}, id, sh.build(memory.DefaultAllocator, []*string{str("ok"), str(val), nil}))
}

// duckText reads a table's data files with DuckDB (which refuses invalid
// UTF-8 anywhere in a Parquet string) and returns each row's columns cast
// to text, joined by "|", in order.
func duckText(t *testing.T, c *catalog.Catalog, id catalog.Ident) []string {
	t.Helper()
	tbl, err := c.LoadTable(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimPrefix(tbl.Location(), "file://")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet('"+
		filepath.Join(dir, "data", "**", "*.parquet")+"') ORDER BY ALL")
	if err != nil {
		t.Fatalf("DuckDB reading %s: %v", id, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("DuckDB reading %s: %v", id, err)
	}
	return out
}

// TestWriterNestedInvalidUTF8: text inside lists, structs, maps (and in
// large, view and dictionary strings) is checked by the Writer, the door
// every ingest goes through: refused by default with the batch, row and
// column, nothing created; repaired with UTF8Replace into a table DuckDB
// reads.
func TestWriterNestedInvalidUTF8(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	for i, sh := range textShapes {
		t.Run(sh.name, func(t *testing.T) {
			id := catalog.Ident{Namespace: "bronze", Name: fmt.Sprintf("shape%d", i)}
			_, err := w.Write(t.Context(), Request{Table: id, Records: shapeBatch(t, sh, "b\xffad")})
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `batch 1, row 2, column "c": invalid UTF-8`) {
				t.Fatalf("strict: %v", err)
			}
			if _, err := c.LoadTable(t.Context(), id); !errors.Is(err, catalog.ErrNoSuchTable) {
				t.Fatalf("a refused ingest left a table: %v", err)
			}

			res, err := w.Write(t.Context(), Request{Table: id, InvalidUTF8: UTF8Replace, Records: shapeBatch(t, sh, "b\xffad")})
			if err != nil || res.Rows != 3 {
				t.Fatalf("replace: %v %+v", err, res)
			}
			got := duckText(t, c, id)
			if len(got) != 3 || !strings.Contains(got[0], "ok") || !strings.Contains(got[1], "b\uFFFDad") || strings.Contains(got[0], "\uFFFD") {
				t.Fatalf("replace rows: %q", got)
			}
			// The same shape with valid text only is untouched by either policy.
			res, err = w.Write(t.Context(), Request{Table: id, Records: shapeBatch(t, sh, "café")})
			if err != nil || res.Rows != 3 {
				t.Fatalf("valid text: %v %+v", err, res)
			}
			if got := duckText(t, c, id); len(got) != 6 || !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "café") }) {
				t.Fatalf("rows after a valid append: %q", got)
			}
		})
	}
}

// listWithGarbage is a list<string> of 4 rows whose values are ["ok"],
// NULL (its slot still covering "\xff", which is never stored), ["fine"]
// and ["b\xfead"].
func listWithGarbage(t *testing.T, mem memory.Allocator) *array.List {
	t.Helper()
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendValues([]string{"ok", "\xff", "fine", "b\xfead"}, nil)
	vals := sb.NewArray()
	defer vals.Release()
	offs := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 1, 2, 3, 4}))
	valid := memory.NewBufferBytes([]byte{0b1101})
	d := array.NewData(arrow.ListOf(arrow.BinaryTypes.String), 4, []*memory.Buffer{valid, offs}, []arrow.ArrayData{vals.Data()}, 1, 0)
	defer d.Release()
	return array.NewListData(d)
}

// structWithGarbage is struct<s: string> over the same values, row 1 NULL.
func structWithGarbage(t *testing.T, mem memory.Allocator) *array.Struct {
	t.Helper()
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendValues([]string{"ok", "\xff", "fine", "b\xfead"}, nil)
	vals := sb.NewArray()
	defer vals.Release()
	valid := memory.NewBufferBytes([]byte{0b1101})
	d := array.NewData(arrow.StructOf(arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}), 4,
		[]*memory.Buffer{valid}, []arrow.ArrayData{vals.Data()}, 1, 0)
	defer d.Release()
	return array.NewStructData(d)
}

// TestBadTextRowsSlicesAndNulls: rows are counted within a slice (an
// offset into the parent and its elements), and text under a null does not
// make its row bad.
func TestBadTextRowsSlicesAndNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	l := listWithGarbage(t, mem)
	defer l.Release()
	s := structWithGarbage(t, mem)
	defer s.Release()
	for _, a := range []arrow.Array{l, s} {
		t.Run(a.DataType().String(), func(t *testing.T) {
			for _, c := range []struct {
				from, to int
				want     []int
			}{{0, 4, []int{3}}, {0, 2, nil}, {1, 4, []int{2}}, {3, 4, []int{0}}, {2, 3, nil}} {
				sl := array.NewSlice(a, int64(c.from), int64(c.to))
				got := badTextRows(sl)
				sl.Release()
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("rows %d..%d: bad %v, want %v", c.from, c.to, got, c.want)
				}
			}
			if got := badText(a, 3); string(got) != "b\xfead" {
				t.Errorf("badText(row 3) = %q", got)
			}
			if got := badText(a, 1); got != nil {
				t.Errorf("badText(null row 1) = %q", got)
			}
		})
	}
}

// TestReplaceTextSliced: repairing a slice keeps its rows, nulls and
// offsets; only the invalid bytes change, and nothing leaks.
func TestReplaceTextSliced(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	for i, sh := range textShapes {
		t.Run(sh.name, func(t *testing.T) {
			vals := []*string{str("a"), str("x\xffy"), nil, str("é\xc3"), str("z")}
			full := sh.build(mem, vals)
			defer full.Release()
			wantFull := sh.build(mem, []*string{str("a"), str("x\uFFFDy"), nil, str("é\uFFFD"), str("z")})
			defer wantFull.Release()
			from, to := int64(i%2+1), int64(5) // a slice with an offset into its parent
			sl := array.NewSlice(full, from, to)
			defer sl.Release()
			want := array.NewSlice(wantFull, from, to)
			defer want.Release()

			if bad := badTextRows(sl); fmt.Sprint(bad) != fmt.Sprint(map[int64][]int{1: {0, 2}, 2: {1}}[from]) {
				t.Fatalf("bad rows of the slice %d..%d: %v", from, to, bad)
			}
			got := replaceText(mem, sl)
			defer got.Release()
			if !array.Equal(got, want) {
				t.Fatalf("repaired\n%v\nwant\n%v", got, want)
			}
			if bad := badTextRows(got); bad != nil {
				t.Fatalf("still bad after repair: %v", bad)
			}
			if got.NullN() != want.NullN() || got.Len() != want.Len() {
				t.Fatalf("nulls %d/%d, len %d/%d", got.NullN(), want.NullN(), got.Len(), want.Len())
			}
		})
	}
}

// TestFixBatchUTF8WithoutTextIsFree: columns with no text anywhere in
// their type (numbers, binary even with any bytes, lists and structs of
// those) are not looked at: the batch comes back as it is, allocating
// nothing.
func TestFixBatchUTF8WithoutTextIsFree(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	n := array.NewInt64Builder(mem)
	n.AppendValues([]int64{1, 2}, nil)
	bin := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	bin.AppendValues([][]byte{[]byte("\xff"), []byte("\xfe")}, nil)
	lb := array.NewListBuilder(mem, arrow.BinaryTypes.Binary)
	lb.Append(true)
	lb.ValueBuilder().(*array.BinaryBuilder).Append([]byte("\xff"))
	lb.Append(false)
	sb := array.NewStructBuilder(mem, arrow.StructOf(arrow.Field{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true}))
	sb.Append(true)
	sb.FieldBuilder(0).(*array.BinaryBuilder).Append([]byte("\xc3"))
	sb.Append(true)
	sb.FieldBuilder(0).(*array.BinaryBuilder).Append([]byte("ok"))
	cols := []arrow.Array{n.NewArray(), bin.NewArray(), lb.NewArray(), sb.NewArray()}
	for _, b := range []array.Builder{n, bin, lb, sb} {
		b.Release()
	}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: fmt.Sprint("c", i), Type: c.DataType(), Nullable: true}
		if hasText(c.DataType()) {
			t.Fatalf("hasText(%s)", c.DataType())
		}
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 2)
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	for _, replace := range []bool{false, true} {
		allocs := testing.AllocsPerRun(100, func() {
			out, bad := fixBatchUTF8(mem, rec, replace)
			if out != rec || bad != nil {
				t.Fatalf("replace=%v: got another batch or bad rows %v", replace, bad)
			}
			out.Release()
		})
		if allocs != 0 {
			t.Errorf("replace=%v: %v allocations for a batch without text", replace, allocs)
		}
	}
}

// nestedParquet writes id and column c of the shape, rows "ok", val, NULL.
func nestedParquet(t *testing.T, sh textShape, val string) []byte {
	t.Helper()
	rdr := shapeBatch(t, sh, val)
	rdr.Next()
	rec := rdr.RecordBatch()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParquetNestedInvalidUTF8: a Parquet file's nested text is checked by
// the parser under every bad-row policy: strict names file, row and column;
// skip drops the row and says why; rejects keeps the bad value (escaped in
// the rejects table); replace repairs it.
func TestParquetNestedInvalidUTF8(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	for i, sh := range textShapes {
		if sh.name == "string_view" {
			continue // pqarrow reads it back as utf8: the plain case
		}
		t.Run(sh.name, func(t *testing.T) {
			data := nestedParquet(t, sh, "b\xffad")
			open := func(o Options) *Reader {
				t.Helper()
				o.Source = "nested.parquet"
				rd, err := Open(t.Context(), bytes.NewReader(data), o)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(rd.Release)
				return rd
			}

			rd := open(Options{})
			for rd.Next() {
			}
			if err := rd.Err(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `nested.parquet:2: column "c": invalid UTF-8`) {
				t.Fatalf("strict: %v", err)
			}

			rd = open(Options{Policy: PolicySkip})
			var ids []string
			for rd.Next() {
				b := rd.RecordBatch()
				for r := range int(b.NumRows()) {
					ids = append(ids, b.Column(0).ValueStr(r))
				}
			}
			if st := rd.Stats(); rd.Err() != nil || strings.Join(ids, ",") != "1,3" || st.Skipped != 1 ||
				!strings.Contains(st.SkipSummary(), `1 × column "c": invalid UTF-8`) {
				t.Fatalf("skip: %v ids %v %s", rd.Err(), ids, st.SkipSummary())
			}

			id := catalog.Ident{Namespace: "bronze", Name: fmt.Sprintf("pq%d", i)}
			rd = open(Options{Policy: PolicyRejects})
			res, err := w.Write(t.Context(), Request{Table: id, Records: rd, After: func() ([]RowError, int64, int64) {
				return rd.TakeRejects(), rd.Stats().Bytes, 0
			}})
			if err != nil || res.Rows != 2 || res.Rejected != 1 {
				t.Fatalf("rejects: %v %+v", err, res)
			}
			rj := duckText(t, c, catalog.Ident{Namespace: "bronze", Name: id.Name + RejectsSuffix})
			if len(rj) != 1 || !strings.HasPrefix(rj[0], `nested.parquet|2|c|b\xffad|`) || !strings.Contains(rj[0], reasonInvalidUTF8) {
				t.Fatalf("rejects table: %q", rj)
			}

			rd = open(Options{InvalidUTF8: UTF8Replace})
			if _, err := w.Write(t.Context(), Request{Table: id, Records: rd}); err != nil {
				t.Fatalf("replace: %v", err)
			}
			if got := duckText(t, c, id); len(got) != 5 || !strings.Contains(got[2], "b\uFFFDad") || !strings.HasPrefix(got[2], "2|") {
				t.Fatalf("rows after replace: %q", got)
			}
		})
	}
}

// TestWriterKeepsTextUnderNulls: bytes under a null struct are not
// values; they are neither refused nor stored, and the table reads. (A list
// whose null slot covers elements cannot be written by pqarrow at all,
// invalid text or not; badTextRows ignores those elements too.)
func TestWriterKeepsTextUnderNulls(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	id := catalog.Ident{Namespace: "bronze", Name: "garbage"}
	s := structWithGarbage(t, memory.DefaultAllocator)
	// Row 3 holds real invalid text; only rows 0..2 are offered.
	ss := array.NewSlice(s, 0, 3)
	s.Release()
	res, err := w.Write(t.Context(), Request{Table: id, Records: batchOf(t, []string{"s"}, ss)})
	if err != nil || res.Rows != 3 {
		t.Fatalf("%v %+v", err, res)
	}
	got := duckText(t, c, id)
	if strings.Join(got, "\n") != "{'s': fine}\n{'s': ok}\n" {
		t.Fatalf("rows %q", got)
	}
}

// jsonNested is one NDJSON input per place a string can sit: line 1 valid,
// line 2 with the bad string %s inside column "v".
// The parser names the string's path inside the column.
var jsonNested = []struct{ name, line1, line2, path string }{
	{"struct", `{"id":1,"v":{"k":"ok","n":1}}`, `{"id":2,"v":{"k":"b%sad","n":2}}`, "v.k"},
	{"struct in struct", `{"id":1,"v":{"a":{"k":"ok"}}}`, `{"id":2,"v":{"a":{"k":"b%sad"}}}`, "v.a.k"},
	{"list of struct", `{"id":1,"v":[{"k":"ok"}]}`, `{"id":2,"v":[{"k":"ok"},{"k":"b%sad"}]}`, "v[].k"},
	{"list of list", `{"id":1,"v":[["ok"]]}`, `{"id":2,"v":[["x"],["b%sad"]]}`, "v[][]"},
	{"struct of list", `{"id":1,"v":{"l":["ok"]}}`, `{"id":2,"v":{"l":["b%sad"]}}`, "v.l[]"},
	// Values of mixed kinds are stored as their JSON text: a raw invalid
	// byte is bad there too, but an escape is plain text.
	{"raw JSON text", `{"id":1,"v":"ok"}`, `{"id":2,"v":{"k":"b%sad"}}`, "v"},
}

// TestJSONNestedInvalidUTF8: in NDJSON, a raw invalid byte or a lone
// surrogate escape inside any nesting is a bad row (strict, skip, rejects)
// or U+FFFD with replace, and the table then reads.
func TestJSONNestedInvalidUTF8(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	n := 0
	for _, tc := range jsonNested {
		for _, bad := range []string{"\xff", `\udc80`} {
			n++
			t.Run(fmt.Sprintf("%s %q", tc.name, bad), func(t *testing.T) {
				data := []byte(tc.line1 + "\n" + fmt.Sprintf(tc.line2, bad) + "\n")
				if !utf8.Valid(data) && bad != "\xff" {
					t.Fatal("the escape case must be valid UTF-8 text")
				}
				open := func(o Options) *Reader {
					t.Helper()
					o.Format, o.Source = FormatJSON, "n.ndjson"
					rd, err := Open(t.Context(), bytes.NewReader(data), o)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(rd.Release)
					return rd
				}
				id := catalog.Ident{Namespace: "bronze", Name: fmt.Sprintf("json%d", n)}
				if tc.path == "v" && bad != "\xff" {
					rd := open(Options{})
					if _, err := w.Write(t.Context(), Request{Table: id, Records: rd}); err != nil {
						t.Fatalf("valid text refused: %v", err)
					}
					if got := duckText(t, c, id); len(got) != 2 || got[1] != `2|{"k":"b\udc80ad"}` {
						t.Fatalf("rows %q", got)
					}
					return
				}
				rd := open(Options{})
				for rd.Next() {
				}
				if err := rd.Err(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `n.ndjson:2: column "`+tc.path+`": invalid UTF-8`) {
					t.Fatalf("strict: %v", err)
				}
				rd = open(Options{Policy: PolicySkip})
				rows := int64(0)
				for rd.Next() {
					rows += rd.RecordBatch().NumRows()
				}
				if st := rd.Stats(); rd.Err() != nil || rows != 1 || st.Skipped != 1 || !strings.Contains(st.SkipSummary(), `column "`+tc.path+`": invalid UTF-8`) {
					t.Fatalf("skip: %v rows=%d %s", rd.Err(), rows, st.SkipSummary())
				}
				rd = open(Options{Policy: PolicyRejects})
				res, err := w.Write(t.Context(), Request{Table: id, Records: rd, After: func() ([]RowError, int64, int64) {
					return rd.TakeRejects(), 0, 0
				}})
				if err != nil || res.Rows != 1 || res.Rejected != 1 {
					t.Fatalf("rejects: %v %+v", err, res)
				}
				rj := strings.Join(duckText(t, c, catalog.Ident{Namespace: "bronze", Name: id.Name + RejectsSuffix}), "\n")
				wantRaw := fmt.Sprintf(tc.line2, bad)
				if bad == "\xff" {
					wantRaw = fmt.Sprintf(tc.line2, `\xff`)
				}
				if !strings.Contains(rj, wantRaw) || !strings.Contains(rj, reasonInvalidUTF8) {
					t.Fatalf("rejects table lacks %q:\n%s", wantRaw, rj)
				}
				rd = open(Options{InvalidUTF8: UTF8Replace})
				if _, err := w.Write(t.Context(), Request{Table: id, Records: rd, InvalidUTF8: UTF8Replace}); err != nil {
					t.Fatalf("replace: %v", err)
				}
				got := duckText(t, c, id) // the rejects run's good row, then these two
				if len(got) != 3 || !strings.HasPrefix(got[2], "2|") || !strings.Contains(got[2], "b\uFFFDad") {
					t.Fatalf("rows after replace: %q", got)
				}
			})
		}
	}
}

// TestInvalidUTF8Names: a column or field name that is not valid UTF-8 is
// refused wherever the schema is formed (CSV header, JSON key, Parquet or
// Arrow field), naming the column by position; nothing is created, under
// any policy (a name is not a row). Valid non-ASCII names pass unchanged.
func TestInvalidUTF8Names(t *testing.T) {
	pq := func(fields ...arrow.Field) []byte {
		sc := arrow.NewSchema(fields, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer b.Release()
		for _, f := range b.Fields() {
			f.AppendNull()
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		var buf bytes.Buffer
		w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	i64 := arrow.PrimitiveTypes.Int64
	cases := []struct {
		name, source string
		data         []byte
		want         string
	}{
		{"csv header", "h.csv", []byte("a,b\xff,c\n1,2,3\n"), `h.csv: malformed input: column 2: the name "b\xff" is not valid UTF-8`},
		{"tsv header", "h.tsv", []byte("\xfea\tb\n1\t2\n"), `h.tsv: malformed input: column 1: the name "\xfea" is not valid UTF-8`},
		{"ndjson key", "k.ndjson", []byte("{\"a\":1,\"b\xff\":2}\n"), `column 2: the name "b\xff" is not valid UTF-8`},
		{"ndjson key, lone surrogate escape", "k.ndjson", []byte(`{"a":1,"b\udc80":2}` + "\n"), `column 2: the name "b\xed\xb2\x80" is not valid UTF-8`},
		{"ndjson key in a later sampled row", "k.ndjson", []byte("{\"a\":1}\n{\"a\":2,\"c\":3,\"\xc3\":4}\n"), `column 3: the name "\xc3"`},
		{"ndjson nested key", "k.ndjson", []byte("{\"a\":1,\"s\":{\"\xff\":1}}\n"), `column 2 ("s"): the name "\xff" of a field inside it is not valid UTF-8`},
		{"ndjson key in a list of objects", "k.ndjson", []byte("{\"l\":[{\"k\xfe\":1}]}\n"), `column 1 ("l"): the name "k\xfe" of a field`},
		{"parquet field", "f.parquet", pq(arrow.Field{Name: "ok", Type: i64, Nullable: true}, arrow.Field{Name: "x\xffy", Type: i64, Nullable: true}),
			`f.parquet: malformed input: column 2: the name "x\xffy" is not valid UTF-8`},
		{"parquet struct field", "f.parquet", pq(arrow.Field{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "\xe9t\xe9", Type: i64, Nullable: true}), Nullable: true}),
			`column 1 ("s"): the name "\xe9t\xe9" of a field inside it`},
	}
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, o := range []Options{{}, {Policy: PolicySkip}, {Policy: PolicyRejects, InvalidUTF8: UTF8Replace}} {
				o.Source = tc.source
				rd, err := Open(t.Context(), bytes.NewReader(tc.data), o)
				if err == nil {
					rd.Release()
				}
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s/%s: %v, want %q", o.Policy, o.InvalidUTF8, err, tc.want)
				}
				if !utf8.ValidString(err.Error()) {
					t.Fatalf("the message is not valid UTF-8 itself: %q", err)
				}
			}
		})
	}

	// Arrow batches (a Flight client's) meet the same check in the Writer.
	for _, tc := range []struct {
		name   string
		fields []arrow.Field
		want   string
	}{
		{"arrow column", []arrow.Field{{Name: "id", Type: i64}, {Name: "n\xffme", Type: i64}}, `column 2: the name "n\xffme" is not valid UTF-8`},
		{"arrow struct field", []arrow.Field{{Name: "s", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "\xc0", Type: i64}))}},
			`column 1 ("s"): the name "\xc0" of a field inside it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := catalog.Ident{Namespace: "bronze", Name: "names"}
			sc := arrow.NewSchema(tc.fields, nil)
			b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
			for _, f := range b.Fields() {
				f.AppendNull()
			}
			rec := b.NewRecordBatch()
			b.Release()
			rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Release()
			for _, pol := range []UTF8Policy{UTF8Error, UTF8Replace} {
				_, err = w.Write(t.Context(), Request{Table: id, Records: rdr, InvalidUTF8: pol})
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "ingesting into bronze.names") || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: %v, want %q", pol, err, tc.want)
				}
			}
			if _, err := c.LoadTable(t.Context(), id); !errors.Is(err, catalog.ErrNoSuchTable) {
				t.Fatalf("a refused ingest left a table: %v", err)
			}
		})
	}

	// Names that are valid text, however far from ASCII, pass as they are.
	for _, tc := range []struct{ source, data string }{
		{"ok.csv", "prix €,名前\n1,2\n"},
		{"ok.ndjson", `{"prix €":1,"caf\u00e9":2,"s":{"名前":3}}` + "\n"},
	} {
		rd, err := Open(t.Context(), strings.NewReader(tc.data), Options{Source: tc.source})
		if err != nil {
			t.Fatalf("%s: %v", tc.source, err)
		}
		id := catalog.Ident{Namespace: "bronze", Name: strings.ReplaceAll(tc.source, ".", "_")}
		_, err = w.Write(t.Context(), Request{Table: id, Records: rd})
		rd.Release()
		if err != nil {
			t.Fatalf("%s: %v", tc.source, err)
		}
		tbl, err := c.LoadTable(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range tbl.Schema().Fields() {
			names = append(names, f.Name)
		}
		want := map[string]string{"ok.csv": "prix €,名前", "ok.ndjson": "prix €,café,s"}[tc.source]
		if strings.Join(names, ",") != want {
			t.Fatalf("%s: columns %q, want %q", tc.source, names, want)
		}
	}
}

// TestRowErrorJSONKeepsBytes: a bad row travels as JSON (a client's rejects
// to the server, an HTTP answer's errors) with its invalid bytes escaped as
// \xNN, as the rejects table stores them, not turned into U+FFFD; valid
// text travels unchanged.
func TestRowErrorJSONKeepsBytes(t *testing.T) {
	bad := RowError{Source: "f\xfe.csv", Line: 2, Column: "b", Value: "b\xffad", Reason: reasonInvalidUTF8, Raw: "2,b\xffad"}
	good := RowError{Source: "é.csv", Line: 3, Column: "prix", Value: "12€", Expected: "float64", Reason: `cannot parse "12€" as float64`, Raw: "3,12€"}
	js, err := json.Marshal([]RowError{bad, good})
	if err != nil {
		t.Fatal(err)
	}
	var back []RowError
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	want := bad
	want.Source, want.Value, want.Raw = `f\xfe.csv`, `b\xffad`, `2,b\xffad`
	if len(back) != 2 || back[0] != want || back[1] != good {
		t.Fatalf("round trip:\n%+v\nwant\n%+v\n%+v", back, want, good)
	}
	if p, err := json.Marshal(&bad); err != nil || !bytes.Contains(p, []byte(`"value":"b\\xffad"`)) {
		t.Fatalf("through a pointer: %s %v", p, err)
	}
}
