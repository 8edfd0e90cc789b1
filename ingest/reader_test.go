package ingest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"
)

// writeParquet writes n rows (id int64, name utf8) to path with the given
// row-group size.
func writeParquet(t *testing.T, path string, n, rowGroup int) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 3 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append("n" + string(rune('a'+i%26)))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f,
		parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(int64(rowGroup))),
		pqarrow.DefaultWriterProps())
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

// drain reads every batch and returns the row count and the ids seen.
func drain(t *testing.T, r *Reader) (int64, []int64) {
	t.Helper()
	var rows int64
	var ids []int64
	for r.Next() {
		b := r.RecordBatch()
		rows += b.NumRows()
		if col, ok := b.Column(0).(*array.Int64); ok {
			ids = append(ids, col.Int64Values()...)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("reading: %v", err)
	}
	return rows, ids
}

func TestParquetPassthrough(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.parquet")
	writeParquet(t, path, 10000, 3000)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw, _ := zstd.NewWriter(&zbuf)
	_, _ = zw.Write(raw)
	_ = zw.Close()

	cases := []struct {
		name string
		open func(Options) (*Reader, error)
	}{
		{"file", func(o Options) (*Reader, error) { return OpenFile(context.Background(), path, o) }},
		{"stream, detected by magic", func(o Options) (*Reader, error) { return Open(context.Background(), bytes.NewReader(raw), o) }},
		{"zstd stream", func(o Options) (*Reader, error) {
			o.Source = "t.parquet.zst"
			return Open(context.Background(), bytes.NewReader(zbuf.Bytes()), o)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r, err := tc.open(Options{Allocator: mem, BatchRows: 1024})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			rows, ids := drain(t, r)
			if rows != 10000 {
				t.Fatalf("rows = %d, want 10000", rows)
			}
			for i, id := range ids {
				if id != int64(i) {
					t.Fatalf("row %d has id %d", i, id)
				}
			}
			if st := r.Stats(); st.Rows != 10000 || st.Bytes <= 0 {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}

func TestMetadataColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.parquet")
	writeParquet(t, path, 100, 40)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r, err := OpenFile(context.Background(), path, Options{Allocator: mem, Metadata: true, IngestedAt: at, Source: "m.parquet", BatchRows: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if got := r.Schema().NumFields(); got != 5 {
		t.Fatalf("schema has %d fields: %v", got, r.Schema())
	}
	line := int64(0)
	for r.Next() {
		b := r.RecordBatch()
		ts := b.Column(2).(*array.Timestamp)
		src := b.Column(3).(*array.String)
		ln := b.Column(4).(*array.Int64)
		for i := range int(b.NumRows()) {
			line++
			if ts.Value(i) != arrow.Timestamp(at.UnixMicro()) || src.Value(i) != "m.parquet" || ln.Value(i) != line {
				t.Fatalf("row %d: %v %q %d", line, ts.Value(i), src.Value(i), ln.Value(i))
			}
		}
	}
	if r.Err() != nil || line != 100 {
		t.Fatalf("err=%v rows=%d", r.Err(), line)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, bytes.NewReader(nil), Options{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty input: %v", err)
	}
	if _, err := Open(ctx, bytes.NewReader([]byte("PAR1garbage")), Options{Source: "x.parquet"}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("broken parquet: %v", err)
	}
	if _, err := Open(ctx, bytes.NewReader([]byte("a,b\n")), Options{Format: "xml"}); !errors.Is(err, ErrFormat) {
		t.Fatalf("bad format: %v", err)
	}
	if _, err := Open(ctx, bytes.NewReader([]byte("a,b\n")), Options{Policy: "lenient"}); !errors.Is(err, ErrOptions) {
		t.Fatalf("bad policy: %v", err)
	}
	if _, err := OpenFile(ctx, "/nonexistent/x.csv", Options{}); err == nil {
		t.Fatal("missing file opened")
	}
}

func TestSplitExt(t *testing.T) {
	for name, want := range map[string]Format{
		"a.csv": FormatCSV, "a.CSV.gz": FormatCSV, "a.tsv.zst": FormatCSV, "a.ndjson": FormatJSON,
		"a.jsonl.gz": FormatJSON, "a.json": FormatJSON, "a.parquet": FormatParquet, "a.txt": FormatAuto,
	} {
		if f, _, _ := splitExt(name); f != want {
			t.Errorf("%s: %q, want %q", name, f, want)
		}
	}
	if _, c, tsv := splitExt("x.tsv.gz"); c != compressGzip || !tsv {
		t.Errorf("x.tsv.gz: %v %v", c, tsv)
	}
}

// A Parquet file's bytes are counted once, whether it is read by random
// access (a file) or through a stream (spooled first).
func TestParquetBytesCountedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "once.parquet")
	writeParquet(t, path, 5000, 1000)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	count := func(r *Reader, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		for r.Next() {
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return r.Stats().Bytes
	}
	if got := count(OpenFile(t.Context(), path, Options{})); got != info.Size() {
		t.Errorf("file: %d bytes counted, the file has %d", got, info.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(Open(t.Context(), bytes.NewReader(data), Options{Source: "once.parquet"})); got != info.Size() {
		t.Errorf("stream: %d bytes counted, the file has %d", got, info.Size())
	}
}
