package catalog

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Decimals of precision up to 18 are written as INT32 or INT64, as
// Iceberg maps them; wider ones stay FIXED_LEN_BYTE_ARRAY. Values and the
// manifest's bounds come back the same either way.
func TestDecimalsAreStoredAsIntegersWherePrecisionAllows(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "money"}
	types := []*arrow.Decimal128Type{{Precision: 9, Scale: 2}, {Precision: 15, Scale: 2}, {Precision: 25, Scale: 2}}
	fields := make([]arrow.Field, len(types))
	for i, typ := range types {
		fields[i] = arrow.Field{Name: []string{"small", "mid", "wide"}[i], Type: typ, Nullable: true}
	}
	sc := arrow.NewSchema(fields, nil)
	mustCreate(ctx, t, c, id, sc)

	cents := []int64{-12345, 0, 750, 9999999}
	cols := make([]arrow.Array, len(types))
	for i, typ := range types {
		b := array.NewDecimal128Builder(mem, typ)
		for _, v := range cents {
			b.Append(decimal128.FromI64(v))
		}
		b.AppendNull()
		cols[i] = b.NewArray()
		b.Release()
	}
	pf, files := appendOneFile(t, c, id, sc, cols, int64(len(cents)+1))
	for i, want := range []parquet.Type{parquet.Types.Int32, parquet.Types.Int64, parquet.Types.FixedLenByteArray} {
		if got := pf.MetaData().Schema.Column(i).PhysicalType(); got != want {
			t.Errorf("column %s stored as %s, want %s", fields[i].Name, got, want)
		}
	}
	for _, name := range []string{"small", "mid", "wide"} {
		if lo, hi := files[0].LowerBounds[name], files[0].UpperBounds[name]; lo != "-123.45" || hi != "99999.99" {
			t.Errorf("bounds of %s: %s … %s, want -123.45 … 99999.99", name, lo, hi)
		}
	}

	at := scanAll(t, c, id)
	for i := range types {
		col := at.Column(i).Data().Chunk(0).(*array.Decimal128)
		for r, want := range cents {
			if got := col.Value(r); got != decimal128.FromI64(want) {
				t.Errorf("%s row %d: %s, want %d (cents)", fields[i].Name, r, got.ToString(2), want)
			}
		}
		if !col.IsNull(len(cents)) {
			t.Errorf("%s: the null came back as %s", fields[i].Name, col.ValueStr(len(cents)))
		}
	}
}

// Every top-level column is dictionary-encoded while its dictionary stays
// small: a column of unique ids falls back to plain pages (once 128 KiB of
// dictionary fill up), one with a few thousand values (dates, a supplier
// key, a status) keeps its dictionary for every page.
func TestDictionaryWherePays(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "dict"}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "supp", Type: arrow.PrimitiveTypes.Int64},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "status", Type: arrow.BinaryTypes.String},
	}, nil)
	mustCreate(ctx, t, c, id, sc)
	const n = 200_000
	ids, supp := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
	days, status := array.NewDate32Builder(mem), array.NewStringBuilder(mem)
	for i := range n {
		ids.Append(int64(i) * 7919)
		supp.Append(int64(i*7) % 10_000)
		days.Append(arrow.Date32(8000 + (i*31)%2500))
		status.Append([]string{"open", "shipped", "returned"}[i%3])
	}
	cols := []arrow.Array{ids.NewArray(), supp.NewArray(), days.NewArray(), status.NewArray()}
	for _, b := range []array.Builder{ids, supp, days, status} {
		b.Release()
	}
	pf, _ := appendOneFile(t, c, id, sc, cols, n)
	rg := pf.MetaData().RowGroup(0)
	for i, plainPages := range []bool{true, false, false, false} {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		plain := false
		for _, st := range cc.EncodingStats() {
			if strings.HasPrefix(st.PageType.String(), "DATA_PAGE") && st.Encoding == parquet.Encodings.Plain {
				plain = true
			}
		}
		if plain != plainPages || (!plainPages && !cc.HasDictionaryPage()) {
			t.Errorf("column %s: dictionary page %v, plain data pages %v; want plain pages %v",
				sc.Field(i).Name, cc.HasDictionaryPage(), plain, plainPages)
		}
	}
	if at := scanAll(t, c, id); at.NumRows() != n {
		t.Fatalf("rows: %d", at.NumRows())
	}
}

// The layout properties choose the codec and the row groups of the files a
// table gets; a value no writer can honour is refused when it is set.
func TestLayoutProperties(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "lay"}
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	mustCreate(ctx, t, c, id, sc)
	for _, kv := range [][2]string{{PropCompressionCodec, "lz4"}, {PropRowGroupRows, "4096"}} {
		if err := c.SetProperty(ctx, id, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range [][2]string{
		{PropCompressionCodec, "brotli"},
		{PropCompressionLevel, "3"}, // lz4 has no levels
		{PropRowGroupRows, "ten"},
		{PropRowGroupRows, "10"},
	} {
		if err := c.SetProperty(ctx, id, bad[0], bad[1]); !errorsIs(err, ErrInvalidArgument) || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s = %s: %v, want an invalid argument naming the property", bad[0], bad[1], err)
		}
	}

	b := array.NewInt64Builder(mem)
	for i := range 10_000 {
		b.Append(int64(i))
	}
	col := b.NewArray()
	b.Release()
	pf, _ := appendOneFile(t, c, id, sc, []arrow.Array{col}, 10_000)
	if n := pf.NumRowGroups(); n != 3 {
		t.Errorf("%d row groups of 10,000 rows at most 4096 each, want 3", n)
	}
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := cc.Compression(); got != compress.Codecs.Lz4Raw {
		t.Errorf("codec %s, want LZ4_RAW", got)
	}

	// A value set by another tool, which lakeflight's writers cannot honour,
	// fails the write with the property named; nothing is written.
	if err := c.commitMetadata(ctx, id, func(table.Metadata) ([]table.Update, []table.Requirement, error) {
		return []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{PropCompressionCodec: "brotli"})}, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	empty, _ := array.NewRecordReader(sc, nil)
	defer empty.Release()
	if err := txn.AppendParallel(ctx, empty, map[string]string{}, 1); !errorsIs(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "brotli") {
		t.Errorf("a write under an unknown codec: %v", err)
	}
}

// appendOneFile commits cols (released here) as one append by one writer
// and opens the single data file it made; the reader closes with the test.
func appendOneFile(t *testing.T, c *Catalog, id Ident, sc *arrow.Schema, cols []arrow.Array, rows int64) (*file.Reader, []FileInfo) {
	t.Helper()
	ctx := t.Context()
	rec := array.NewRecordBatch(sc, cols, rows)
	for _, col := range cols {
		col.Release()
	}
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.AppendParallel(ctx, rdr, map[string]string{}, 1); err != nil {
		t.Fatal(err)
	}
	snap, err := txn.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Files(ctx, id, snap)
	if err != nil || len(files) != 1 {
		t.Fatalf("files: %v %v", files, err)
	}
	f, err := os.Open(LocalPath(files[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pf.Close() })
	return pf, files
}

// write.target-file-size-bytes ends a data file once it has about that
// many bytes (the row group being written then counts too).
func TestTargetFileSize(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "target")
	if err := c.SetProperty(ctx, id, PropTargetFileSize, "1048576"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProperty(ctx, id, PropRowGroupRows, "2048"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProperty(ctx, id, PropTargetFileSize, "1000"); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "at least 1048576") {
		t.Fatalf("a target under 1 MiB: %v", err)
	}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rdr := richReader(t, mem, 0, 60000)
	defer rdr.Release()
	if err := txn.AppendParallel(ctx, rdr, nil, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	files, err := c.Files(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range files {
		total += f.SizeBytes
		if f.SizeBytes > 2<<20 {
			t.Errorf("a file of %d bytes, over the 1 MiB target by more than a row group", f.SizeBytes)
		}
	}
	if len(files) < 2 || total < 2<<20 {
		t.Fatalf("%d files of %d bytes in all: want several, of about 1 MiB", len(files), total)
	}
}
