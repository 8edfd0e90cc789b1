package ingest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
)

// update rewrites golden files: go test -tags duckdb_arrow -run Golden ./ingest/ -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// csvOutcome is everything a CSV parse produced, in a comparable form.
type csvOutcome struct {
	schema *arrow.Schema
	rows   []csvRow // good and bad rows in line order
	bytes  int64
	err    error
}

type csvRow struct {
	line int64
	text string // values, or the error
}

// parseCSVBytes parses data to the end with a checked allocator, and checks
// that nothing leaks.
func parseCSVBytes(t testing.TB, data []byte, o Options, seekable bool) csvOutcome {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o.Allocator = mem
	o.Source = "test.csv"
	o = o.withDefaults()
	in := input{r: bytes.NewReader(data), lines: true}
	if seekable {
		in.at, in.size = bytes.NewReader(data), int64(len(data))
	}
	ctx := context.Background()
	p, err := newCSVParser(ctx, in, &o)
	if err != nil {
		return csvOutcome{err: err}
	}
	defer p.Close()
	out := csvOutcome{schema: p.Schema()}
	for {
		c, err := p.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.err = err
			break
		}
		out.bytes += c.Bytes
		for _, e := range c.Errs {
			out.rows = append(out.rows, csvRow{e.Line, "! " + e.Error() + " | value=" + strconv.Quote(e.Value) + " expected=" + e.Expected + " raw=" + strconv.Quote(e.Raw)})
		}
		if c.Batch != nil {
			if c.Batch.Schema() != nil && !c.Batch.Schema().Equal(out.schema) {
				t.Errorf("batch schema %s differs from parser schema %s", c.Batch.Schema(), out.schema)
			}
			if int64(len(c.Lines)) != c.Batch.NumRows() {
				t.Errorf("chunk has %d lines for %d rows", len(c.Lines), c.Batch.NumRows())
			}
			for r := 0; r < int(c.Batch.NumRows()); r++ {
				out.rows = append(out.rows, csvRow{c.Lines[r], formatRow(c.Batch, r)})
			}
			c.Batch.Release()
		}
	}
	sort.SliceStable(out.rows, func(i, j int) bool { return out.rows[i].line < out.rows[j].line })
	return out
}

func formatRow(b arrow.RecordBatch, r int) string {
	vals := make([]string, b.NumCols())
	for i, col := range b.Columns() {
		switch {
		case col.IsNull(r):
			vals[i] = "null"
		case col.DataType().ID() == arrow.STRING:
			vals[i] = strconv.Quote(col.ValueStr(r))
		default:
			vals[i] = col.ValueStr(r)
		}
	}
	return strings.Join(vals, " | ")
}

func (o csvOutcome) dump() string {
	var b strings.Builder
	if o.schema != nil {
		b.WriteString("schema:")
		for _, f := range o.schema.Fields() {
			fmt.Fprintf(&b, " %s:%s", f.Name, f.Type)
		}
		b.WriteString("\n")
	}
	for _, r := range o.rows {
		fmt.Fprintf(&b, "%d: %s\n", r.line, r.text)
	}
	if o.err != nil {
		fmt.Fprintf(&b, "error: %v\n", o.err)
	}
	return b.String()
}

// goldenOptions are the options of golden files that need some.
var goldenOptions = map[string]Options{
	"nulls.csv":    {CSV: CSVOptions{NullTokens: []string{"NA", ""}}},
	"decimals.csv": {InferDecimal: true},
	"bad_values.csv": {ColumnTypes: map[string]arrow.DataType{
		"id": arrow.PrimitiveTypes.Int64, "price": arrow.PrimitiveTypes.Float64, "when": arrow.FixedWidthTypes.Date32,
	}},
}

// TestCSVGolden parses every file under testdata/csv and compares a dump
// of the result with the file's .golden twin. Each file is also parsed in
// tiny pieces on several workers, which must give the same result.
func TestCSVGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/csv/*.[ct]sv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			o := goldenOptions[name]
			o.Workers, o.ChunkBytes = 1, 1<<20
			got := parseCSVBytes(t, data, o, true).dump()
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + filepath.Ext(file) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("dump differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			for _, chunk := range []int{1, 7, 64} {
				o.Workers, o.ChunkBytes = 3, chunk
				if small := parseCSVBytes(t, data, o, false).dump(); small != got {
					t.Errorf("ChunkBytes=%d Workers=3 differs:\n%s\nwant:\n%s", chunk, small, got)
				}
			}
		})
	}
}

func TestCSVWide(t *testing.T) {
	const cols, rows = 300, 50
	var b bytes.Buffer
	for c := range cols {
		if c > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", c)
	}
	b.WriteByte('\n')
	for r := range rows {
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			if c%2 == 0 {
				fmt.Fprintf(&b, "%d", r*c)
			} else {
				fmt.Fprintf(&b, "\"v,%d\"", r)
			}
		}
		b.WriteByte('\n')
	}
	out := parseCSVBytes(t, b.Bytes(), Options{ChunkBytes: 4096, Workers: 2}, false)
	if out.err != nil {
		t.Fatal(out.err)
	}
	if n := len(out.schema.Fields()); n != cols {
		t.Fatalf("got %d columns, want %d", n, cols)
	}
	if ty := out.schema.Field(2).Type; ty.ID() != arrow.INT64 {
		t.Errorf("c2 is %s, want int64", ty)
	}
	if len(out.rows) != rows {
		t.Fatalf("got %d rows, want %d", len(out.rows), rows)
	}
	if got := strings.Split(out.rows[7].text, " | "); got[4] != "28" || got[5] != `"v,7"` {
		t.Errorf("row 7 reads %v", got[:6])
	}
}

func TestCSVEmptyWithSchema(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	out := parseCSVBytes(t, nil, Options{Schema: schema}, false)
	if out.err != nil || len(out.rows) != 0 || !out.schema.Equal(schema) {
		t.Fatalf("got %s", out.dump())
	}
}

func TestCSVEmptyIsMalformed(t *testing.T) {
	out := parseCSVBytes(t, []byte("\n\n"), Options{}, false)
	if !errors.Is(out.err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", out.err)
	}
}

func TestCSVUnterminatedIsFatal(t *testing.T) {
	out := parseCSVBytes(t, []byte("a,b\n1,2\n3,\"x\n4,5\n"), Options{Workers: 2, ChunkBytes: 5}, false)
	if !errors.Is(out.err, ErrMalformed) || !strings.Contains(out.err.Error(), "test.csv:3") {
		t.Fatalf("got %v, want ErrMalformed at test.csv:3", out.err)
	}
	if len(out.rows) != 1 {
		t.Errorf("got %d rows before the error, want 1", len(out.rows))
	}
}

func TestCSVSchemaOverride(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "small", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 5, Scale: 2}, Nullable: false},
		{Name: "s", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	}, nil)
	data := "small,f,t,d,s\n" +
		"1,1.5,2024-01-01T00:00:00.1239+01:00,1.5,x\n" +
		"300,1,2024-01-01,1,y\n" + // int8 overflow
		"-128,2,2024-01-01 00:00:00,123.456,z\n" + // too many fraction digits
		"127,3,2024-01-01 00:00:00,,w\n" + // null in a non-nullable column
		"0,4,2024-01-01,-999.99\n" // ragged
	out := parseCSVBytes(t, []byte(data), Options{Schema: schema}, false)
	want := `schema: small:int8 f:float32 t:timestamp[ms, tz=UTC] d:decimal(5, 2) s:large_utf8
2: 1 | 1.5 | 2023-12-31T23:00:00.123Z | 1.5 | x
3: ! test.csv:3: column "small": cannot parse "300" as int8 | value="300" expected=int8 raw="300,1,2024-01-01,1,y"
4: ! test.csv:4: column "d": cannot parse "123.456" as decimal(5, 2) | value="123.456" expected=decimal(5, 2) raw="-128,2,2024-01-01 00:00:00,123.456,z"
5: ! test.csv:5: column "d": null in a non-nullable column | value="" expected=decimal(5, 2) raw="127,3,2024-01-01 00:00:00,,w"
6: ! test.csv:6: expected 5 fields, found 4 | value="" expected= raw="0,4,2024-01-01,-999.99"
`
	if got := out.dump(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCSVUnknownColumnType(t *testing.T) {
	out := parseCSVBytes(t, []byte("a\n1\n"), Options{ColumnTypes: map[string]arrow.DataType{"b": arrow.PrimitiveTypes.Int64}}, false)
	if !errors.Is(out.err, ErrOptions) {
		t.Fatalf("got %v, want ErrOptions", out.err)
	}
}

// TestCSVSpreadSample checks that inference sees rows far from the start
// of a seekable file: floats appear only in its last sixth.
func TestCSVSpreadSample(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("n\n")
	for i := range 100000 {
		fmt.Fprintf(&b, "%d\n", i)
	}
	for i := range 20000 {
		fmt.Fprintf(&b, "%d.5\n", i)
	}
	o := Options{SampleRows: 2000}
	if out := parseCSVBytes(t, b.Bytes(), o, true); out.err != nil || out.schema.Field(0).Type.ID() != arrow.FLOAT64 {
		t.Errorf("seekable: got %v, %v; want float64", out.schema, out.err)
	}
	if out := parseCSVBytes(t, b.Bytes(), o, false); out.err != nil || out.schema.Field(0).Type.ID() != arrow.INT64 {
		t.Errorf("stream: got %v, %v; want int64 (the floats are past the sample)", out.schema, out.err)
	}
}

// TestCSVCloseEarly closes the parser with pieces in flight: nothing may
// leak, neither goroutines nor Arrow memory.
func TestCSVCloseEarly(t *testing.T) {
	defer goleak.VerifyNone(t)
	data := genCSV(20000, 1)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := Options{Allocator: mem, ChunkBytes: 4096, Workers: 3, BatchRows: 100}.withDefaults()
	ctx := context.Background()
	p, err := newCSVParser(ctx, input{r: bytes.NewReader(data)}, &o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Batch.Release()
	p.Close()
	p.Close()
	if _, err := p.Next(ctx); err == nil {
		t.Error("Next after Close succeeded")
	}
}

func TestCSVCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	data := genCSV(20000, 2)
	o := Options{ChunkBytes: 4096, Workers: 2}.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := newCSVParser(ctx, input{r: bytes.NewReader(data)}, &o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Batch.Release()
	cancel()
	for {
		c, err := p.Next(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			break
		}
		if c.Batch != nil {
			c.Batch.Release()
		}
	}
}

func TestColumnNames(t *testing.T) {
	got := columnNames([]string{"a", "a", "", "b", "a", "a_2"})
	want := []string{"a", "a_2", "column3", "b", "a_3", "a_2_2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
