package ingestdata

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	acsv "github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

const testRows = 3000

// want renders row i as the text every format must give back.
func want(i int64) []string {
	r := RowAt(i)
	return []string{
		strconv.FormatInt(r.ID, 10), strconv.FormatFloat(r.Price, 'f', 2, 64), r.Name, r.Note,
		strconv.FormatBool(r.Active), r.Day.Format(DateLayout), r.TS.Format(TimestampLayout),
		strconv.FormatInt(r.Category, 10), strconv.FormatFloat(r.Ratio, 'f', -1, 64), r.Code,
	}
}

func TestRowsAreDeterministicAndVaried(t *testing.T) {
	if RowAt(12345) != RowAt(12345) {
		t.Fatal("RowAt is not deterministic")
	}
	quotes := 0
	for i := range int64(testRows) {
		if bytes.ContainsRune([]byte(RowAt(i).Note), '"') {
			quotes++
		}
	}
	if quotes < testRows/40 || quotes > testRows/10 {
		t.Errorf("%d of %d notes have embedded quotes; want about 1 in 16", quotes, testRows)
	}
}

func TestCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, testRows); err != nil {
		t.Fatal(err)
	}
	if per := buf.Len() / testRows; per < 90 || per > 120 {
		t.Errorf("%d bytes a row; want about 100", per)
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != testRows+1 {
		t.Fatalf("%d records; want header + %d", len(recs), testRows)
	}
	for i, rec := range recs[1:] {
		if w := want(int64(i)); !slices.Equal(rec, w) {
			t.Fatalf("row %d: got %q, want %q", i, rec, w)
		}
	}
	// The arrow-go baseline of the bench must read the file with Schema().
	r := acsv.NewReader(bytes.NewReader(buf.Bytes()), Schema(), acsv.WithHeader(true), acsv.WithChunk(1000))
	defer r.Release()
	checkReader(t, r)
}

func TestNDJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, testRows); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.UseNumber()
	for i := range int64(testRows) {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		w := want(i)
		for c, name := range Columns {
			if got := jsonText(obj[name]); got != w[c] {
				t.Fatalf("row %d %s: got %q, want %q", i, name, got, w[c])
			}
		}
	}
	r := array.NewJSONReader(bytes.NewReader(buf.Bytes()), Schema(), array.WithChunk(1000))
	defer r.Release()
	checkReader(t, r)
}

func TestParquet(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteParquet(&buf, testRows); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1000}, mem)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for i, f := range rr.Schema().Fields() { // field metadata aside
		if w := Schema().Field(i); f.Name != w.Name || !arrow.TypeEqual(f.Type, w.Type) {
			t.Fatalf("field %d: %s %s; want %s %s", i, f.Name, f.Type, w.Name, w.Type)
		}
	}
	checkReader(t, rr)
}

// checkReader drains r and compares every value with RowAt.
func checkReader(t *testing.T, r array.RecordReader) {
	t.Helper()
	var row int64
	for r.Next() {
		rec := r.RecordBatch()
		for i := range int(rec.NumRows()) {
			w := want(row)
			for c := range rec.NumCols() {
				if got := arrowText(rec.Column(int(c)), i, Columns[c]); got != w[c] {
					t.Fatalf("row %d %s: got %q, want %q", row, Columns[c], got, w[c])
				}
			}
			row++
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if row != testRows {
		t.Fatalf("read %d rows; want %d", row, testRows)
	}
}

func arrowText(a arrow.Array, i int, col string) string {
	switch a := a.(type) {
	case *array.Float64:
		if col == "price" { // written with two decimals; ratio in shortest form
			return strconv.FormatFloat(a.Value(i), 'f', 2, 64)
		}
		return strconv.FormatFloat(a.Value(i), 'f', -1, 64)
	case *array.Date32:
		return a.Value(i).ToTime().Format(DateLayout)
	case *array.Timestamp:
		return a.Value(i).ToTime(arrow.Microsecond).Format(TimestampLayout)
	}
	return a.ValueStr(i)
}

func jsonText(v any) string {
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case string:
		return v
	}
	return "?"
}

// countingWriter counts bytes and throws them away.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func BenchmarkWrite(b *testing.B) {
	const rows = 100_000
	for _, bc := range []struct {
		name  string
		write func(io.Writer, int) error
	}{{"csv", WriteCSV}, {"ndjson", WriteNDJSON}, {"parquet", WriteParquet}} {
		b.Run(bc.name, func(b *testing.B) {
			var w countingWriter
			for b.Loop() {
				if err := bc.write(&w, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(w.n)/float64(b.N)/rows, "bytes/row")
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
