package ingest

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeParquetRecord writes one record as a Parquet file.
func writeParquetRecord(t *testing.T, path string, rec arrow.RecordBatch) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// openAll returns a Concat over paths (opened lazily after the first).
func openAll(t *testing.T, mem memory.Allocator, paths ...string) *Concat {
	t.Helper()
	ctx := context.Background()
	first, err := OpenFile(ctx, paths[0], Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	rest := paths[1:]
	return NewConcat(ctx, first, func(ctx context.Context) (*Reader, error) {
		if len(rest) == 0 {
			return nil, io.EOF
		}
		p := rest[0]
		rest = rest[1:]
		return OpenFile(ctx, p, Options{Allocator: mem})
	})
}

func TestConcatReadsInputsInTurn(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	writeParquet(t, a, 100, 30)
	writeParquet(t, b, 50, 50)
	// c has b's columns in the other order.
	c := filepath.Join(dir, "c.parquet")
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil), strings.NewReader(`[{"name": "x", "id": 1000}]`))
	if err != nil {
		t.Fatal(err)
	}
	writeParquetRecord(t, c, rec)
	rec.Release()

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cc := openAll(t, mem, a, b, c)
	defer cc.Release()
	var done []string
	cc.InputDone = func(src string, st Stats) { done = append(done, filepath.Base(src)) }
	var rows int64
	var last int64
	for cc.Next() {
		rb := cc.RecordBatch()
		if !rb.Schema().Equal(cc.Schema()) {
			t.Fatalf("batch schema %v, want %v", rb.Schema(), cc.Schema())
		}
		rows += rb.NumRows()
		ids := rb.Column(0).(*array.Int64)
		last = ids.Value(ids.Len() - 1)
	}
	if err := cc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 151 || last != 1000 {
		t.Fatalf("rows %d, last id %d", rows, last)
	}
	if st := cc.Stats(); st.Rows != 151 || st.Bytes <= 0 || cc.Inputs() != 3 {
		t.Fatalf("stats %+v, inputs %d", st, cc.Inputs())
	}
	if strings.Join(done, ",") != "a.parquet,b.parquet,c.parquet" {
		t.Fatalf("inputs done: %v", done)
	}
}

func TestConcatRefusesADifferentSchema(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	writeParquet(t, a, 10, 10)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil), strings.NewReader(`[{"id": "x", "extra": 1}]`))
	if err != nil {
		t.Fatal(err)
	}
	writeParquetRecord(t, b, rec)
	rec.Release()

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cc := openAll(t, mem, a, b)
	defer cc.Release()
	for cc.Next() {
	}
	err = cc.Err()
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("want ErrSchema, got %v", err)
	}
	for _, want := range []string{a, b, `column "id" is utf8, not int64`, `column "name" is missing`, `column "extra" is extra`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestParseColumnTypes(t *testing.T) {
	got, err := ParseColumnTypes([]string{"a=int64", "b:decimal(12, 2)", "c=timestamptz", "d=Date", "x=y=bool"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "int64", "b": "decimal(12, 2)", "c": "timestamp[us, tz=UTC]", "d": "date32", "x=y": "bool"}
	for k, v := range want {
		if got[k] == nil || got[k].String() != v {
			t.Errorf("%s: %v, want %s", k, got[k], v)
		}
	}
	for _, bad := range []string{"a", "=int64", "a=int128", "a=decimal(40,2)", "a=decimal(5,6)"} {
		if _, err := ParseColumnTypes([]string{bad}); !errors.Is(err, ErrOptions) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := ParseColumnTypes([]string{"a=int64", "a=string"}); err == nil {
		t.Error("a column typed twice was accepted")
	}
}

func TestParseTable(t *testing.T) {
	for in, want := range map[string]string{"events": "bronze.events", "silver.orders": "silver.orders", "\tx\n": "bronze.x"} {
		id, err := ParseTable(in)
		if err != nil || id.String() != want {
			t.Errorf("%q: %v %v, want %s", in, id, err, want)
		}
	}
	for _, bad := range []string{"", ".x", "x.", "a.b.c"} {
		if _, err := ParseTable(bad); !errors.Is(err, ErrOptions) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestBadRowsErrorMessage(t *testing.T) {
	row := RowError{Source: "a.csv", Line: 3, Column: "price", Reason: `cannot parse "abc" as float64`}
	if got := (&BadRowsError{Rows: []RowError{row}, More: true}).Error(); got != `a.csv:3: column "price": cannot parse "abc" as float64` {
		t.Fatalf("one row: %q", got)
	}
	if got := (&BadRowsError{Rows: []RowError{row, row}, More: true}).Error(); !strings.HasPrefix(got, "2 bad rows (stopped there); a.csv:3") {
		t.Fatalf("two rows: %q", got)
	}
}
