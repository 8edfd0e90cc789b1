package catalog

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
)

// richSchema covers the types ingest produces.
var richSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "tstz", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 3}, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "addr", Type: arrow.StructOf(
		arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "zip", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	), Nullable: true},
}, nil)

// richReader builds n rows starting at id from, one record per 100 rows.
func richReader(t *testing.T, mem memory.Allocator, from, n int) array.RecordReader {
	t.Helper()
	bld := array.NewRecordBuilder(mem, richSchema)
	defer bld.Release()
	var recs []arrow.RecordBatch
	flush := func() {
		recs = append(recs, bld.NewRecordBatch())
	}
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		bld.Field(0).(*array.Int64Builder).Append(int64(i))
		bld.Field(1).(*array.Int32Builder).Append(int32(i * 2))
		bld.Field(2).(*array.Float64Builder).Append(float64(i) / 4)
		if i%7 == 0 {
			bld.Field(3).AppendNull()
		} else {
			bld.Field(3).(*array.StringBuilder).Append("row-" + strconv.Itoa(i))
		}
		bld.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
		bld.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(base.AddDate(0, 0, i%30)))
		ts := base.Add(time.Duration(i) * time.Second)
		bld.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		bld.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		bld.Field(8).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i)*1000 + 125))
		lb := bld.Field(9).(*array.ListBuilder)
		lb.Append(true)
		for j := range i % 3 {
			lb.ValueBuilder().(*array.Int64Builder).Append(int64(j))
		}
		sb := bld.Field(10).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.StringBuilder).Append("city-" + strconv.Itoa(i%5))
		sb.FieldBuilder(1).(*array.Int32Builder).Append(int32(10000 + i))
		if (i-from+1)%100 == 0 {
			flush()
		}
	}
	if n%100 != 0 || n == 0 {
		flush()
	}
	rdr, err := array.NewRecordReader(richSchema, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	return rdr
}

func appendRows(t *testing.T, c *Catalog, mem memory.Allocator, id Ident, from, n int, summary map[string]string) int64 {
	t.Helper()
	rdr := richReader(t, mem, from, n)
	defer rdr.Release()
	snap, err := c.Append(t.Context(), id, rdr, summary)
	if err != nil {
		t.Fatalf("append to %s: %v", id, err)
	}
	return snap
}

func TestAppendRichTypes(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	c := newEnv(t).open(t)
	id := Ident{"bronze", "events"}
	mustCreate(ctx, t, c, id, richSchema)

	st0, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Fresh field ids, depth first, with nested fields numbered too.
	for name, want := range map[string]iceberg.Type{
		"id":     iceberg.PrimitiveTypes.Int64,
		"i32":    iceberg.PrimitiveTypes.Int32,
		"d":      iceberg.PrimitiveTypes.Date,
		"ts":     iceberg.PrimitiveTypes.Timestamp,
		"tstz":   iceberg.PrimitiveTypes.TimestampTz,
		"amount": iceberg.DecimalTypeOf(18, 3),
	} {
		f, ok := st0.Schema.FindFieldByName(name)
		if !ok || !f.Type.Equals(want) {
			t.Errorf("field %s = %+v, want type %s", name, f, want)
		}
	}
	if f, _ := st0.Schema.FindFieldByName("id"); !f.Required || f.ID != 1 {
		t.Errorf("id field = %+v, want required with id 1", f)
	}
	if _, ok := st0.Schema.FindFieldByName("addr.zip"); !ok {
		t.Errorf("nested field addr.zip missing: %s", st0.Schema)
	}

	loc0, _ := c.MetadataLocation(ctx, id)
	s1 := appendRows(t, c, mem, id, 0, 250, map[string]string{"lakeflight.source": "a.csv", "lakeflight.idempotency-key": "k1"})
	loc1, err := c.MetadataLocation(ctx, id)
	if err != nil || loc1 == loc0 {
		t.Fatalf("metadata location after commit = %q (%v), was %q", loc1, err, loc0)
	}
	s2 := appendRows(t, c, mem, id, 250, 50, map[string]string{"lakeflight.source": "b.csv"})
	if s1 == 0 || s2 == 0 || s1 == s2 {
		t.Fatalf("snapshot ids %d, %d", s1, s2)
	}

	snaps, err := c.Snapshots(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 || snaps[0].SnapshotID != s1 || snaps[1].SnapshotID != s2 {
		t.Fatalf("snapshots = %+v, want [%d %d]", snaps, s1, s2)
	}
	if snaps[0].ParentID != 0 || snaps[1].ParentID != s1 {
		t.Errorf("parents = %d, %d", snaps[0].ParentID, snaps[1].ParentID)
	}
	if snaps[1].SequenceNumber <= snaps[0].SequenceNumber {
		t.Errorf("sequence numbers %d, %d", snaps[0].SequenceNumber, snaps[1].SequenceNumber)
	}
	for i, s := range snaps {
		if s.Operation != "append" || s.ManifestList == "" || time.Since(s.Timestamp) > time.Minute {
			t.Errorf("snapshot %d = %+v", i, s)
		}
	}
	if got := snaps[0].Summary; got["lakeflight.source"] != "a.csv" || got["lakeflight.idempotency-key"] != "k1" || got["added-records"] != "250" {
		t.Errorf("summary 1 = %v", got)
	}
	if got := snaps[1].Summary; got["lakeflight.source"] != "b.csv" || got["total-records"] != "300" {
		t.Errorf("summary 2 = %v", got)
	}

	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if loc2, _ := c.MetadataLocation(ctx, id); st.SnapshotID != s2 || st.MetadataLocation != loc2 {
		t.Errorf("state at snapshot %d, %s; want %d, %s", st.SnapshotID, st.MetadataLocation, s2, loc2)
	}
	if got := rowCount(st); got != 300 || len(st.DataFiles) != 2 {
		t.Errorf("state: %d rows in %d files, want 300 in 2", got, len(st.DataFiles))
	}
	for _, df := range st.DataFiles {
		checkParquet(t, df, st.Schema)
	}

	// Time travel: the first snapshot holds the first batch only.
	old, err := c.TableStateAt(ctx, id, s1)
	if err != nil || old.SnapshotID != s1 || rowCount(old) != 250 {
		t.Errorf("state at %d = %+v (%v)", s1, old, err)
	}
	if _, err := c.TableStateAt(ctx, id, 42); !errorsIs(err, ErrNoSuchSnapshot) {
		t.Errorf("state at unknown snapshot: %v", err)
	}
	asOf, err := c.SnapshotAsOf(ctx, id, time.Now().Add(time.Second))
	if err != nil || asOf != s2 {
		t.Errorf("snapshot as of now = %d (%v), want %d", asOf, err, s2)
	}
	if _, err := c.SnapshotAsOf(ctx, id, time.Unix(0, 0)); !errorsIs(err, ErrNoSuchSnapshot) {
		t.Errorf("snapshot as of 1970: %v", err)
	}
}

func rowCount(st *TableState) int64 {
	var n int64
	for _, df := range st.DataFiles {
		n += df.RecordCount
	}
	return n
}

// checkParquet opens a data file as DuckDB would (plain local path) and
// checks zstd compression and Iceberg field ids on the top-level columns.
func checkParquet(t *testing.T, df DataFile, sc *iceberg.Schema) {
	t.Helper()
	fi, err := os.Stat(df.Path)
	if err != nil {
		t.Fatalf("data file %q: %v", df.Path, err)
	}
	if fi.Size() != df.SizeBytes {
		t.Errorf("%s: size %d, catalog says %d", df.Path, fi.Size(), df.SizeBytes)
	}
	rdr, err := file.OpenParquetFile(df.Path, false)
	if err != nil {
		t.Fatalf("open parquet %s: %v", df.Path, err)
	}
	defer rdr.Close()
	if rdr.NumRows() != df.RecordCount {
		t.Errorf("%s: %d rows, catalog says %d", df.Path, rdr.NumRows(), df.RecordCount)
	}
	md := rdr.MetaData()
	for rg := range md.NumRowGroups() {
		rgm := md.RowGroup(rg)
		for col := range rgm.NumColumns() {
			cc, err := rgm.ColumnChunk(col)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Lz4Raw {
				t.Errorf("%s: column %d compressed with %s, want lz4 (LZ4_RAW), the default", df.Path, col, cc.Compression())
			}
		}
	}
	root := md.Schema.Root()
	if root.NumFields() != len(sc.Fields()) {
		t.Fatalf("parquet has %d top-level columns, schema %d", root.NumFields(), len(sc.Fields()))
	}
	for i := range root.NumFields() {
		node := root.Field(i)
		f, ok := sc.FindFieldByName(node.Name())
		if !ok || int32(f.ID) != node.FieldID() {
			t.Errorf("parquet column %s has field id %d, iceberg %d", node.Name(), node.FieldID(), f.ID)
		}
	}
	// Nested leaves carry ids too (addr.zip).
	zip, _ := sc.FindFieldByName("addr.zip")
	found := false
	for i := range md.Schema.NumColumns() {
		col := md.Schema.Column(i)
		if col.Path() == "addr.zip" {
			found = true
			if col.SchemaNode().FieldID() != int32(zip.ID) {
				t.Errorf("addr.zip field id %d, want %d", col.SchemaNode().FieldID(), zip.ID)
			}
		}
	}
	if !found {
		t.Errorf("no addr.zip leaf in parquet schema")
	}
}

func TestEmptyAppend(t *testing.T) {
	ctx := t.Context()
	c, id, _ := eventsTable(t, "e")
	rdr, err := array.NewRecordReader(richSchema, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	snap, err := c.Append(ctx, id, rdr, nil)
	if err != nil {
		t.Fatalf("empty append: %v", err)
	}
	st, err := c.TableState(ctx, id)
	if err != nil || st.SnapshotID != snap || len(st.DataFiles) != 0 {
		t.Errorf("after empty append: %+v (%v), snapshot %d", st, err, snap)
	}
}

func TestAppendSchemaMismatch(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "narrow"}
	mustCreate(ctx, t, c, id, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil))
	rdr := richReader(t, mem, 0, 3)
	defer rdr.Release()
	_, err := c.Append(ctx, id, rdr, nil)
	if err == nil {
		t.Fatal("append with a different schema succeeded")
	}
	t.Logf("schema mismatch: %v", err)
	if snaps, _ := c.Snapshots(ctx, id); len(snaps) != 0 {
		t.Errorf("failed append left snapshots: %v", snaps)
	}
}

func TestConcurrentAppends(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "busy")

	const writers, rows = 6, 40
	var wg sync.WaitGroup
	ids := make([]int64, writers)
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			rdr := richReader(t, mem, w*1000, rows+w)
			defer rdr.Release()
			ids[w], errs[w] = c.Append(ctx, id, rdr, map[string]string{"writer": strconv.Itoa(w)})
		})
	}
	wg.Wait()
	want := int64(0)
	for w := range writers {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v", w, errs[w])
		}
		want += int64(rows + w)
	}
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := rowCount(st); got != want || len(st.DataFiles) != writers {
		t.Errorf("%d rows in %d files, want %d in %d", got, len(st.DataFiles), want, writers)
	}
	snaps, _ := c.Snapshots(ctx, id)
	if len(snaps) != writers {
		t.Errorf("%d snapshots, want %d", len(snaps), writers)
	}
}

// TestTwoWriters runs two *Catalog on one SQLite file, as two processes
// would: each sees the other's commits, and racing commits all land through
// the compare-and-swap retry.
func TestTwoWriters(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := newEnv(t)
	a, b := env.open(t), env.open(t)
	id := Ident{"bronze", "shared"}
	mustCreate(ctx, t, a, id, richSchema)

	if tables, err := b.ListTables(ctx); err != nil || len(tables) != 1 || tables[0] != id {
		t.Fatalf("b sees tables %v (%v)", tables, err)
	}
	before, err := b.MetadataLocation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	snapA := appendRows(t, a, mem, id, 0, 10, nil)
	after, err := b.MetadataLocation(ctx, id)
	if err != nil || after == before {
		t.Fatalf("b did not notice a's commit: %q -> %q (%v)", before, after, err)
	}
	st, err := b.TableState(ctx, id)
	if err != nil || st.SnapshotID != snapA || st.MetadataLocation != after {
		t.Fatalf("b state = %+v (%v), want snapshot %d", st, err, snapA)
	}

	const per = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range 2 * per {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			rdr := richReader(t, mem, 100*(i+1), 20)
			defer rdr.Release()
			if _, err := c.Append(ctx, id, rdr, map[string]string{"i": strconv.Itoa(i)}); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("append %d: %w", i, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	for name, c := range map[string]*Catalog{"a": a, "b": b} {
		st, err := c.TableState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := rowCount(st); got != 10+2*per*20 {
			t.Errorf("%s sees %d rows, want %d", name, got, 10+2*per*20)
		}
		snaps, _ := c.Snapshots(ctx, id)
		if len(snaps) != 1+2*per {
			t.Errorf("%s sees %d snapshots, want %d", name, len(snaps), 1+2*per)
		}
	}
}
