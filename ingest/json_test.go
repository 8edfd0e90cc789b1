package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
)

// jsonResult is everything a parse produced, for comparisons.
type jsonResult struct {
	Schema string
	Rows   []string // one per good row: line, then each column's value as JSON
	Errs   []RowError
	Bytes  int64
	Err    string // fatal error, at construction or from Next
}

// jsonParse runs the parser over data and collects the result; it checks
// that every batch is released and every goroutine stopped.
func jsonParse(t testing.TB, data []byte, o Options, at bool) jsonResult {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o.Allocator = mem
	o = o.withDefaults()
	in := input{r: bytes.NewReader(data), lines: true}
	if at {
		in.at, in.size = bytes.NewReader(data), int64(len(data))
	}
	var res jsonResult
	p, err := newJSONParser(context.Background(), in, &o)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer p.Close()
	res.Schema = p.Schema().String()
	for {
		c, err := p.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.Err = err.Error()
			break
		}
		res.Bytes += c.Bytes
		res.Errs = append(res.Errs, c.Errs...)
		if c.Batch == nil {
			if len(c.Lines) != 0 {
				t.Errorf("lines without a batch")
			}
			continue
		}
		if int64(len(c.Lines)) != c.Batch.NumRows() {
			t.Errorf("%d lines for %d rows", len(c.Lines), c.Batch.NumRows())
		}
		if !c.Batch.Schema().Equal(p.Schema()) {
			t.Errorf("batch schema %s", c.Batch.Schema())
		}
		for i := 0; i < int(c.Batch.NumRows()); i++ {
			var b strings.Builder
			fmt.Fprintf(&b, "%d:", c.Lines[i])
			for j, col := range c.Batch.Columns() {
				v, err := json.Marshal(col.GetOneForMarshal(i))
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, " %s=%s", c.Batch.ColumnName(j), v)
			}
			res.Rows = append(res.Rows, b.String())
		}
		c.Batch.Release()
	}
	if res.Err == "" && res.Bytes != int64(len(data)) {
		t.Errorf("chunks cover %d bytes of %d", res.Bytes, len(data))
	}
	return res
}

func (r jsonResult) String() string {
	var b strings.Builder
	if r.Schema != "" {
		fmt.Fprintf(&b, "%s\n", r.Schema)
	}
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "row %s\n", row)
	}
	for _, e := range r.Errs {
		fmt.Fprintf(&b, "bad %s | column=%q value=%q expected=%q | raw=%q\n", e.Error(), e.Column, e.Value, e.Expected, e.Raw)
	}
	if r.Err != "" {
		fmt.Fprintf(&b, "error: %s\n", r.Err)
	}
	return b.String()
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestJSONGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/json/*.json")
	more, _ := filepath.Glob("testdata/json/*.ndjson")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Source: filepath.Base(f), Workers: 2}
			jsonGoldenOptions(t, strings.TrimSuffix(f, filepath.Ext(f))+".opts", &o)
			got := jsonParse(t, data, o, true).String()
			// the same with tiny pieces and batches
			o.ChunkBytes, o.BatchRows = 64, 2
			if small := jsonParse(t, data, o, false).String(); small != got {
				t.Errorf("tiny pieces give\n%s\nwant\n%s", small, got)
			}
			golden := strings.TrimSuffix(f, filepath.Ext(f)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// jsonGoldenOptions reads a golden input's options: lines of
// "sample N", "decimal", "invalid-utf8 POLICY" or "type COLUMN TYPE".
func jsonGoldenOptions(t *testing.T, path string, o *Options) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]arrow.DataType{
		"int64": arrow.PrimitiveTypes.Int64, "int32": arrow.PrimitiveTypes.Int32,
		"uint8": arrow.PrimitiveTypes.Uint8, "float64": arrow.PrimitiveTypes.Float64,
		"utf8": arrow.BinaryTypes.String, "bool": arrow.FixedWidthTypes.Boolean,
		"date32":       arrow.FixedWidthTypes.Date32,
		"timestamp_ms": &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"},
		"decimal_10_2": &arrow.Decimal128Type{Precision: 10, Scale: 2},
		"struct_x_int": arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}),
		"list_int":     arrow.ListOf(arrow.PrimitiveTypes.Int64),
	}
	var fields []arrow.Field
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		w := strings.Fields(line)
		switch {
		case len(w) == 2 && w[0] == "sample":
			fmt.Sscan(w[1], &o.SampleRows)
		case len(w) == 1 && w[0] == "decimal":
			o.InferDecimal = true
		case len(w) == 2 && w[0] == "invalid-utf8":
			o.InvalidUTF8 = UTF8Policy(w[1])
		case len(w) == 3 && (w[0] == "type" || w[0] == "field") && types[w[2]] != nil:
			if w[0] == "field" {
				fields = append(fields, arrow.Field{Name: w[1], Type: types[w[2]], Nullable: true})
				continue
			}
			if o.ColumnTypes == nil {
				o.ColumnTypes = map[string]arrow.DataType{}
			}
			o.ColumnTypes[w[1]] = types[w[2]]
		default:
			t.Fatalf("%s: bad line %q", path, line)
		}
	}
	if fields != nil {
		o.Schema = arrow.NewSchema(fields, nil)
	}
}
