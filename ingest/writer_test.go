package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

func openCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := catalog.Open(t.Context(), catalog.Config{Driver: "sqlite", URI: filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse")}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.EnsureNamespace(t.Context(), "bronze"); err != nil {
		t.Fatal(err)
	}
	return c
}

// batchOf builds a one-batch reader from columns given as Go slices
// ([]int32, []int64, []float64, []string; nil entries of []*string are NULL)
// or as arrow.Array, which batchOf then owns.
func batchOf(t *testing.T, names []string, cols ...any) array.RecordReader {
	t.Helper()
	mem := memory.DefaultAllocator
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	var n int
	for i, c := range cols {
		switch v := c.(type) {
		case []int32:
			b := array.NewInt32Builder(mem)
			b.AppendValues(v, nil)
			arrs[i], n = b.NewArray(), len(v)
		case []int64:
			b := array.NewInt64Builder(mem)
			b.AppendValues(v, nil)
			arrs[i], n = b.NewArray(), len(v)
		case []float64:
			b := array.NewFloat64Builder(mem)
			b.AppendValues(v, nil)
			arrs[i], n = b.NewArray(), len(v)
		case []string:
			b := array.NewStringBuilder(mem)
			b.AppendValues(v, nil)
			arrs[i], n = b.NewArray(), len(v)
		case arrow.Array:
			arrs[i], n = v, v.Len()
		default:
			t.Fatalf("batchOf: %T", c)
		}
		fields[i] = arrow.Field{Name: names[i], Type: arrs[i].DataType(), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rdr.Release)
	return rdr
}

// scan reads the table's current rows as text lines "col=value ...".
func scan(t *testing.T, c *catalog.Catalog, id catalog.Ident) []string {
	t.Helper()
	tbl, err := c.LoadTable(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1<<20)
	defer tr.Release()
	var out []string
	for tr.Next() {
		b := tr.RecordBatch()
		for r := range int(b.NumRows()) {
			line := ""
			for i, col := range b.Columns() {
				if i > 0 {
					line += " "
				}
				line += b.ColumnName(i) + "=" + col.ValueStr(r)
			}
			out = append(out, line)
		}
	}
	return out
}

func snapshotCount(t *testing.T, c *catalog.Catalog, id catalog.Ident) int {
	t.Helper()
	s, err := c.Snapshots(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(s)
}

func TestWriterModesAndEvolution(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	ctx := t.Context()
	id := catalog.Ident{Namespace: "bronze", Name: "events"}

	_, err := w.Write(ctx, Request{Table: id, Mode: ModeAppend, Records: batchOf(t, []string{"id"}, []int32{1})})
	if !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("append to a missing table: %v", err)
	}

	res, err := w.Write(ctx, Request{Table: id, Mode: ModeCreate, Source: "a.csv",
		Records: batchOf(t, []string{"id", "name"}, []int32{1, 2}, []string{"a", "b"}),
		After:   func() ([]RowError, int64, int64) { return nil, 123, 0 }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Rows != 2 || res.Bytes != 123 || res.SnapshotID == 0 {
		t.Fatalf("create: %+v", res)
	}
	snaps, _ := c.Snapshots(ctx, id)
	sum := snaps[len(snaps)-1].Summary
	if sum[SummaryRows] != "2" || sum[SummarySource] != "a.csv" || sum[SummaryBytes] != "123" {
		t.Fatalf("summary: %v", sum)
	}

	if _, err := w.Write(ctx, Request{Table: id, Mode: ModeCreate, Records: batchOf(t, []string{"id"}, []int32{1})}); !errors.Is(err, catalog.ErrTableAlreadyExists) {
		t.Fatalf("create over an existing table: %v", err)
	}

	// id arrives as int64 (the table widens), score is new, name is missing.
	if _, err := w.Write(ctx, Request{Table: id, Mode: ModeAppend,
		Records: batchOf(t, []string{"score", "id"}, []float64{0.5}, []int64{1 << 40})}); err != nil {
		t.Fatal(err)
	}
	got := scan(t, c, id)
	want := map[string]bool{"id=1 name=a score=(null)": true, "id=2 name=b score=(null)": true, fmt.Sprintf("id=%d name=(null) score=0.5", int64(1)<<40): true}
	if len(got) != 3 {
		t.Fatalf("rows: %v", got)
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("unexpected row %q in %v", g, got)
		}
	}

	// A narrower input is cast up; an incompatible one is refused.
	if _, err := w.Write(ctx, Request{Table: id, Records: batchOf(t, []string{"id"}, []int32{7})}); err != nil {
		t.Fatal(err)
	}
	before := snapshotCount(t, c, id)
	_, err = w.Write(ctx, Request{Table: id, Records: batchOf(t, []string{"name"}, []int64{5})})
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("string column given int64: %v", err)
	}
	if n := snapshotCount(t, c, id); n != before {
		t.Fatalf("a refused ingest committed: %d snapshots, was %d", n, before)
	}

	// Replace: new rows and the input's schema.
	if _, err := w.Write(ctx, Request{Table: id, Mode: ModeReplace, Records: batchOf(t, []string{"name"}, []string{"only"})}); err != nil {
		t.Fatal(err)
	}
	if got := scan(t, c, id); len(got) != 1 || got[0] != "name=only" {
		t.Fatalf("after replace: %v", got)
	}
}

func TestWriterIdempotencyKey(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	id := catalog.Ident{Namespace: "bronze", Name: "k"}
	first, err := w.Write(t.Context(), Request{Table: id, Key: "load-1", Records: batchOf(t, []string{"x"}, []int64{1, 2, 3})})
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.Write(t.Context(), Request{Table: id, Key: "load-1", Mode: ModeCreate, Records: batchOf(t, []string{"x"}, []int64{1, 2, 3})})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.SnapshotID != first.SnapshotID || again.Rows != 3 || again.Timings != nil {
		t.Fatalf("retry: %+v, first %+v", again, first)
	}
	if tm := first.Timings; tm == nil || tm.CommitMS <= 0 ||
		time.Duration((tm.OpenMS+tm.ReceiveMS+tm.FlushMS+tm.CommitMS)*float64(time.Millisecond)) > first.Duration+time.Millisecond {
		t.Fatalf("timings %+v of a %v ingest", first.Timings, first.Duration)
	}
	if n := len(scan(t, c, id)); n != 3 {
		t.Fatalf("rows after retry: %d", n)
	}
}

func TestWriterRejectsAndAbort(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	id := catalog.Ident{Namespace: "bronze", Name: "r"}
	bad := []RowError{{Source: "f.csv", Line: 3, Column: "x", Value: "abc", Expected: "int64", Reason: `cannot parse "abc" as int64`, Raw: "abc,1"}}
	res, err := w.Write(t.Context(), Request{Table: id, Key: "k1", Records: batchOf(t, []string{"x"}, []int64{1}),
		After: func() ([]RowError, int64, int64) { return bad, 10, 0 }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 1 || res.RejectsTable != "bronze.r__rejects" {
		t.Fatalf("result: %+v", res)
	}
	rj := scan(t, c, catalog.Ident{Namespace: "bronze", Name: "r__rejects"})
	if len(rj) != 1 || rj[0][:len("source=f.csv line=3 column_name=x value=abc")] != "source=f.csv line=3 column_name=x value=abc" {
		t.Fatalf("rejects: %v", rj)
	}

	// A stream that fails half way commits nothing, rejects included.
	before := snapshotCount(t, c, id)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = w.Write(ctx, Request{Table: id, Records: batchOf(t, []string{"x"}, []int64{5})})
	if err == nil {
		t.Fatal("cancelled ingest succeeded")
	}
	if n := snapshotCount(t, c, id); n != before {
		t.Fatalf("cancelled ingest committed")
	}

	// A failed ingest that created its table takes the table back.
	fresh := catalog.Ident{Namespace: "bronze", Name: "fresh"}
	failing := &failAfterFirst{RecordReader: batchOf(t, []string{"x"}, []int64{1})}
	if _, err := w.Write(t.Context(), Request{Table: fresh, Records: failing}); err == nil {
		t.Fatal("failing reader: ingest succeeded")
	}
	if _, err := c.LoadTable(t.Context(), fresh); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("table of a failed ingest: %v", err)
	}
}

// A schema change that fails while it is being staged reaches the caller
// as that failure, and stages nothing. A decimal wider than Iceberg's 38
// digits passes the type mapping but not iceberg-go's conversion, which
// runs inside Txn.EvolveSchema's function, after "note" was already added.
func TestWriterSchemaChangeFailure(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	id := catalog.Ident{Namespace: "bronze", Name: "wide"}
	if _, err := w.Write(t.Context(), Request{Table: id, Records: batchOf(t, []string{"id"}, []int32{1})}); err != nil {
		t.Fatal(err)
	}
	before := snapshotCount(t, c, id)

	b := array.NewDecimal128Builder(memory.DefaultAllocator, &arrow.Decimal128Type{Precision: 50, Scale: 2})
	b.Append(decimal128.FromI64(12345))
	big := b.NewArray()
	b.Release()
	_, err := w.Write(t.Context(), Request{Table: id, Mode: ModeAppend,
		Records: batchOf(t, []string{"id", "note", "big"}, []int32{2}, []string{"x"}, big)})
	if !errors.Is(err, ErrSchema) || !errors.Is(err, catalog.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), `column "big"`) || !strings.Contains(err.Error(), "precision 50") {
		t.Fatalf("want the failed conversion of big, got: %v", err)
	}
	if n := snapshotCount(t, c, id); n != before {
		t.Fatalf("a failed schema change committed: %d snapshots, was %d", n, before)
	}
	st, err := c.TableState(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Schema.FindFieldByName("note"); ok {
		t.Fatalf("half of a failed schema change was kept: %s", st.Schema)
	}
}

// failAfterFirst hands out its first batch, then fails.
type failAfterFirst struct {
	array.RecordReader
	done bool
}

func (f *failAfterFirst) Next() bool {
	if f.done {
		return false
	}
	f.done = true
	return f.RecordReader.Next()
}

func (f *failAfterFirst) Err() error {
	if f.done {
		return errors.New("connection reset")
	}
	return nil
}

// An idempotency key is short printable text: a 1 MB key would ride in
// every later metadata file of the table.
func TestWriterRefusesOversizedKeys(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	id := catalog.Ident{Namespace: "bronze", Name: "keys"}
	for _, key := range []string{strings.Repeat("k", MaxKeyBytes+1), "bad\x00key", "\xff"} {
		_, err := w.Write(t.Context(), Request{Table: id, Key: key, Records: batchOf(t, []string{"x"}, []int64{1})})
		if !errors.Is(err, ErrOptions) {
			t.Errorf("key of %d bytes: %v, want an options error", len(key), err)
		}
	}
	if _, err := c.TableState(t.Context(), id); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("refused keys left a table: %v", err)
	}
	if _, err := w.Write(t.Context(), Request{Table: id, Key: strings.Repeat("k", MaxKeyBytes), Records: batchOf(t, []string{"x"}, []int64{1})}); err != nil {
		t.Fatal(err)
	}
}

// PartitionBy partitions a table the ingest creates; an existing table
// must already be partitioned so, else nothing is written.
func TestWriterPartitionBy(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	ctx := t.Context()
	id := catalog.Ident{Namespace: "bronze", Name: "parted"}
	rows := func() array.RecordReader {
		return batchOf(t, []string{"id", "region"}, []int32{1, 2, 3}, []string{"eu", "us", "eu"})
	}
	if _, err := w.Write(ctx, Request{Table: id, Mode: ModeCreateAppend, PartitionBy: "Region", Records: rows()}); err != nil {
		t.Fatal(err)
	}
	files, err := c.Files(ctx, id, 0)
	if err != nil || len(files) != 2 {
		t.Fatalf("files %+v (%v), want one per region", files, err)
	}
	// The same partitioning, or none: appended with the table's own.
	for _, by := range []string{"region", ""} {
		if _, err := w.Write(ctx, Request{Table: id, Mode: ModeAppend, PartitionBy: by, Records: rows()}); err != nil {
			t.Fatalf("append with %q: %v", by, err)
		}
	}
	before := len(scan(t, c, id))
	_, err = w.Write(ctx, Request{Table: id, Mode: ModeAppend, PartitionBy: "bucket(2, id)", Records: rows()})
	if !errors.Is(err, catalog.ErrInvalidArgument) || !strings.Contains(err.Error(), "is partitioned by (region), not (bucket(2, id))") {
		t.Fatalf("another partitioning: %v", err)
	}
	_, err = w.Write(ctx, Request{Table: catalog.Ident{Namespace: "bronze", Name: "bad"}, PartitionBy: "day(region)", Records: rows()})
	if !errors.Is(err, catalog.ErrInvalidArgument) || !strings.Contains(err.Error(), "day cannot be applied to column region") {
		t.Fatalf("a bad partitioning: %v", err)
	}
	if _, err := c.LoadTable(ctx, catalog.Ident{Namespace: "bronze", Name: "bad"}); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("the refused ingest left a table: %v", err)
	}
	if after := len(scan(t, c, id)); after != before || before != 9 {
		t.Fatalf("rows %d before the refused ingest, %d after; want 9", before, after)
	}
}
