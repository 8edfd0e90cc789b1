package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// fakeReader answers every read with rows ids 0..n-1 (ignoring filters) and
// keeps the request it got.
type fakeReader struct {
	// mu: a handler cut off mid-stream may still run while the next
	// request's starts (TestRowsErrorMidStream).
	mu   sync.Mutex
	mem  memory.Allocator
	n    int
	fail error // returned by the reader after the first batch
	got  RowsRequest
	vals [][]string // each filter's values, as Rows saw them (the handler releases them after)
	asOf AsOf
}

func (f *fakeReader) Schema(_ context.Context, id catalog.Ident, asOf AsOf) (TableSchema, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asOf = asOf
	return TableSchema{Table: id, SnapshotID: 7, CurrentSnapshotID: 9, Columns: []Column{
		{ID: 1, Name: "id", Type: "long", Arrow: arrow.PrimitiveTypes.Int64},
		{ID: 2, Name: "at", Type: "timestamptz", Arrow: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{ID: 3, Name: "tags", Type: "list<string>", Arrow: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}}, nil
}

func (f *fakeReader) Rows(_ context.Context, req RowsRequest) (array.RecordReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got, f.vals = req, nil
	for _, flt := range req.Filters {
		var vs []string
		for i := 0; flt.Values != nil && i < flt.Values.Len(); i++ {
			vs = append(vs, flt.Values.DataType().String()+" "+flt.Values.ValueStr(i))
		}
		f.vals = append(f.vals, vs)
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var recs []arrow.RecordBatch
	for start := 0; start < f.n; start += 3 { // batches of 3
		b := array.NewInt64Builder(f.mem)
		for i := start; i < min(start+3, f.n); i++ {
			b.Append(int64(i))
		}
		col := b.NewArray()
		b.Release()
		recs = append(recs, array.NewRecordBatch(sc, []arrow.Array{col}, int64(col.Len())))
		col.Release()
	}
	rdr, err := array.NewRecordReader(sc, recs)
	for _, r := range recs {
		r.Release()
	}
	if f.fail != nil {
		return &failingReader{RecordReader: rdr, err: f.fail}, err
	}
	return rdr, err
}

// failingReader fails after its first batch.
type failingReader struct {
	array.RecordReader
	err  error
	seen int
}

func (r *failingReader) Next() bool { r.seen++; return r.seen == 1 && r.RecordReader.Next() }
func (r *failingReader) Err() error {
	if r.seen > 1 {
		return r.err
	}
	return nil
}

func readServer(t *testing.T, n int) (*Server, *fakeReader) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	f := &fakeReader{mem: mem, n: n}
	s := New(Options{Reader: f, Allocator: mem, MaxReadRows: 1000})
	s.SetReady(true)
	return s, f
}

// TestRowsRequestAndLimit: the reader gets checked names, typed filter
// values and one row more than the limit; the answer says the limit cut.
func TestRowsRequestAndLimit(t *testing.T) {
	s, f := readServer(t, 10)
	code, body, _ := get(t, s.Handler(), "/v1/tables/bronze/ev/rows?limit=4&columns=at,id&order_by=at:desc,id"+
		"&where=id:in:1|2&where=at:ge:2026-11-01T10:00:00Z&where=tags:not_null&as_of=v1")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var r struct {
		SnapshotID *int64  `json:"snapshot_id"`
		Rows       [][]any `json:"rows"`
		Truncated  bool    `json:"truncated"`
		RowCount   int     `json:"row_count"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(r.Rows) != 4 || !r.Truncated || r.RowCount != 4 || r.SnapshotID == nil || *r.SnapshotID != 7 || f.asOf.Ref != "v1" {
		t.Fatalf("answer %+v, as_of %+v", r, f.asOf)
	}
	g := f.got
	if g.Limit != 5 || g.Snapshot != 7 || strings.Join(g.Columns, ",") != "at,id" || len(g.OrderBy) != 2 || !g.OrderBy[0].Desc || g.OrderBy[1].Desc {
		t.Fatalf("request %+v", g)
	}
	if len(g.Filters) != 3 || g.Filters[0].Op != OpIn || g.Filters[2].Op != OpNotNull || g.Filters[2].Values != nil {
		t.Fatalf("filters %+v", g.Filters)
	}
	if got := fmt.Sprint(f.vals); got != "[[int64 1 int64 2] [timestamp[us, tz=UTC] 2026-11-01T10:00:00Z] []]" {
		t.Fatalf("filter values %s", got)
	}
	// Without as_of, current data: no snapshot pinned or reported.
	if code, body, _ := get(t, s.Handler(), "/v1/tables/bronze/ev/rows"); code != http.StatusOK || f.got.Snapshot != 0 || !strings.Contains(body, `"snapshot_id":null`) {
		t.Fatalf("current: %d %s %+v", code, body, f.got)
	}
}

// TestRowsFilterValues: a value that is not of its column's type is a 400
// naming the where parameter; nested columns take only the null tests.
func TestRowsFilterValues(t *testing.T) {
	s, _ := readServer(t, 1)
	for q, want := range map[string]string{
		"where=at:eq:2026-11-01T10:00:00": `where[0] "at:eq:2026-11-01T10:00:00": "2026-11-01T10:00:00" is not a timestamptz value for column "at"`,
		"where=at:eq:123":                 "want a date or time",
		"where=id:eq:1&where=id:eq:x":     `where[1] "id:eq:x"`,
		"where=id:in:1||2":                `"" is not a long value`,
		"where=tags:eq:a":                 `column "tags" is a list<string>; only is_null and not_null test it`,
		"where=id:eq":                     "eq needs a value",
		"where=id":                        "want column:op:value",
		"columns=id,id":                   `column "id" is named twice`,
		"columns=":                        "columns is empty",
		"limit=1001":                      "from 0 to 1000",
		"as_of=2026-11-01 10:00:00":       "RFC 3339",
		"where=" + strings.Repeat("x", 3): "want column:op:value",
	} {
		code, body, _ := get(t, s.Handler(), "/v1/tables/bronze/ev/rows?"+strings.ReplaceAll(q, " ", "%20"))
		var p problem
		_ = json.Unmarshal([]byte(body), &p)
		if code != http.StatusBadRequest || !strings.Contains(p.Detail, want) {
			t.Errorf("?%s: %d %s, want 400 with %s", q, code, body, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for accept, want := range map[string]string{
		"":                                       mimeJSON,
		"*/*":                                    mimeJSON,
		"text/csv":                               mimeCSV,
		"text/*":                                 mimeCSV,
		"application/vnd.apache.arrow.stream":    mimeArrow,
		"text/csv;q=0.5, application/json":       mimeJSON,
		"application/json;q=0.1, text/csv;q=0.9": mimeCSV,
		"text/html, */*;q=0.1":                   mimeJSON,
		"text/html":                              "",
		"text/csv;q=0":                           "",
	} {
		got, err := negotiate(accept)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Accept %q: %q %v, want %q", accept, got, err, want)
		}
	}
}

// TestRowsErrorMidStream: an error after the status went out cuts the
// connection, so the client cannot take a partial body for a whole one
// (the fake fails after its first batch, 3 rows).
func TestRowsErrorMidStream(t *testing.T) {
	s, f := readServer(t, 9)
	f.fail = errors.New("disk on fire")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, accept := range []string{mimeJSON, mimeCSV, mimeArrow} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/tables/bronze/ev/rows", nil)
		req.Header.Set("Accept", accept)
		// The headers may still sit in the server's buffer: the request
		// fails then, else reading the body does.
		resp, err := srv.Client().Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Errorf("%s: the client read a whole answer", accept)
		}
	}
}

// TestReadsByQualifiedName: /query/{ns.table} and /schema/{ns.table} read
// the same table as the /v1/tables routes; a name without a namespace is a
// 400 that says what is wanted.
func TestReadsByQualifiedName(t *testing.T) {
	s, f := readServer(t, 5)
	code, body, _ := get(t, s.Handler(), "/query/gold.fct_orders?limit=2&columns=id")
	if code != http.StatusOK || f.got.Table != (catalog.Ident{Namespace: "gold", Name: "fct_orders"}) || f.got.Limit != 3 {
		t.Fatalf("GET /query: %d %s, request %+v", code, body, f.got)
	}
	code, body, _ = get(t, s.Handler(), "/schema/bronze.odd%2Ename?as_of=v1")
	if code != http.StatusOK || !strings.Contains(body, `"table":"bronze.odd.name"`) || f.asOf.Ref != "v1" {
		t.Fatalf("GET /schema: %d %s", code, body)
	}
	for _, path := range []string{"/query/fct_orders", "/schema/.x", "/query/gold."} {
		code, body, _ := get(t, s.Handler(), path)
		if code != http.StatusBadRequest || !strings.Contains(body, "want namespace.table") {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
}

// TestDecimalsKeepTheirScale: JSON and CSV write a decimal(10,2) 7.5 as
// 7.50 and 1000 as 1000.00, as the column's type says.
func TestDecimalsKeepTheirScale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	b := array.NewDecimal128Builder(mem, typ)
	defer b.Release()
	b.Append(decimal128.FromI64(750))
	b.Append(decimal128.FromI64(-5))
	b.AppendNull()
	b.Append(decimal128.FromI64(100000))
	col := b.NewArray()
	defer col.Release()
	var got []string
	for r := range col.Len() {
		v, err := appendJSONValue(nil, col, r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(v))
	}
	if want := []string{`"7.50"`, `"-0.05"`, `null`, `"1000.00"`}; !slices.Equal(got, want) {
		t.Errorf("JSON %q, want %q", got, want)
	}
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "amount", Type: typ, Nullable: true}}, nil), []arrow.Array{col}, int64(col.Len()))
	defer rec.Release()
	var out strings.Builder
	w := &csvRows{w: csv.NewWriter(&out)}
	if err := w.begin(rec.Schema()); err != nil {
		t.Fatal(err)
	}
	if err := w.write(rec); err != nil {
		t.Fatal(err)
	}
	if want := "amount\n7.50\n-0.05\n\n1000.00\n"; out.String() != want {
		t.Errorf("CSV %q, want %q", out.String(), want)
	}
}
