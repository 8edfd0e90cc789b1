package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/example"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// mixedSchema has one column of each kind the formatter renders specially.
var mixedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 18, Scale: 3}, Nullable: true},
	{Name: "ratio", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "tstz", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	{Name: "pt", Type: arrow.StructOf(
		arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
	), Nullable: true},
}, nil)

const mixedRows = `[
 {"id": 1, "price": "12345.670", "ratio": 0.5, "name": "plain", "day": "2024-02-29",
  "ts": "2024-02-29T13:14:15.123456", "tstz": "2024-02-29T13:14:15Z", "ok": true,
  "tags": [1, 2, 3], "pt": {"x": 7, "label": "a\"b"}},
 {"id": -20, "price": "-0.001", "ratio": 1e20, "name": "with, comma \"quoted\"\nnewline", "day": "1970-01-01",
  "ts": "1999-12-31T23:59:59", "tstz": "2000-01-01T00:00:00Z", "ok": false,
  "tags": [], "pt": {"x": null, "label": null}},
 {"id": null, "price": null, "ratio": null, "name": null, "day": null,
  "ts": null, "tstz": null, "ok": null, "tags": null, "pt": null},
 {"id": 3, "price": "0.000", "ratio": 2, "name": "", "day": "2024-01-01",
  "ts": "2024-01-01T00:00:00", "tstz": "2024-01-01T00:00:00.5Z", "ok": true,
  "tags": [null, 4], "pt": {"x": 1, "label": "é"}}
]`

func newMixedRecord(t *testing.T, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, mixedSchema, strings.NewReader(mixedRows))
	if err != nil {
		t.Fatalf("building record: %v", err)
	}
	return rec
}

// render runs a writer over the mixed record and returns what it printed.
func render(t *testing.T, format string) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := newMixedRecord(t, mem)
	defer rec.Release()

	// Two batches: the writer must carry on across them.
	return renderRecord(t, rec, format, 2)
}

func TestCSVFormat(t *testing.T) {
	want := `id,price,ratio,name,day,ts,tstz,ok,tags,pt
1,12345.670,0.5,plain,2024-02-29,2024-02-29T13:14:15.123456,2024-02-29T13:14:15Z,true,"[1,2,3]","{""x"":7,""label"":""a\""b""}"
-20,-0.001,1e+20,"with, comma ""quoted""
newline",1970-01-01,1999-12-31T23:59:59,2000-01-01T00:00:00Z,false,[],"{""x"":null,""label"":null}"
,,,,,,,,,
3,0.000,2,"",2024-01-01,2024-01-01T00:00:00,2024-01-01T00:00:00.5Z,true,"[null,4]","{""x"":1,""label"":""é""}"
`
	if got := render(t, "csv"); got != want {
		t.Errorf("csv output:\n%s\nwant:\n%s", got, want)
	}
}

func TestJSONFormat(t *testing.T) {
	want := `{"id":1,"price":12345.670,"ratio":0.5,"name":"plain","day":"2024-02-29","ts":"2024-02-29T13:14:15.123456","tstz":"2024-02-29T13:14:15Z","ok":true,"tags":[1,2,3],"pt":{"x":7,"label":"a\"b"}}
{"id":-20,"price":-0.001,"ratio":1e+20,"name":"with, comma \"quoted\"\nnewline","day":"1970-01-01","ts":"1999-12-31T23:59:59","tstz":"2000-01-01T00:00:00Z","ok":false,"tags":[],"pt":{"x":null,"label":null}}
{"id":null,"price":null,"ratio":null,"name":null,"day":null,"ts":null,"tstz":null,"ok":null,"tags":null,"pt":null}
{"id":3,"price":0.000,"ratio":2,"name":"","day":"2024-01-01","ts":"2024-01-01T00:00:00","tstz":"2024-01-01T00:00:00.5Z","ok":true,"tags":[null,4],"pt":{"x":1,"label":"é"}}
`
	if got := render(t, "json"); got != want {
		t.Errorf("json output:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableFormat(t *testing.T) {
	got := render(t, "table")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("want header, rule, 4 rows and footer, got %d lines:\n%s", len(lines), got)
	}
	if lines[6] != "(4 rows)" {
		t.Errorf("footer = %q", lines[6])
	}
	// Every line but the footer has its column separators at the same places.
	bars := func(s string) []int {
		var at []int
		for i, r := range []rune(s) {
			if r == '|' || r == '+' {
				at = append(at, i)
			}
		}
		return at
	}
	want := bars(lines[1])
	if len(want) != 9 {
		t.Fatalf("rule %q has %d column joints, want 9", lines[1], len(want))
	}
	for _, l := range lines[:6] {
		// Cells holding JSON-ish text contain no '|' or '+', except the
		// escaped-string row which we check by prefix below.
		if got := bars(l); len(got) == 9 && !equalInts(got, want) {
			t.Errorf("misaligned line %q: joints %v, want %v", l, got, want)
		}
	}
	for _, s := range []string{
		" 12345.670 ", "2024-02-29T13:14:15.123456", "2024-02-29T13:14:15Z",
		`with, comma "quoted"\nnewline`, "[1,2,3]", `{"x":7,"label":"a\"b"}`, " NULL ",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("table lacks %q:\n%s", s, got)
		}
	}
	// Numbers are right-aligned: the NULL id sits flush against the bar.
	if !strings.HasPrefix(lines[4], " NULL |") {
		t.Errorf("null id row = %q", lines[4])
	}
	if !strings.HasPrefix(lines[3], "  -20 |") {
		t.Errorf("row 2 = %q, want right-aligned id", lines[3])
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTableFormatOneRowAndNoColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int32}}, nil)
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(`[{"n": 42}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var out bytes.Buffer
	w := newResultWriter("table", &out)
	_ = w.Begin(schema)
	_ = w.Write(rec)
	_ = w.End()
	if want := " n\n----\n 42\n(1 row)\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}

	out.Reset()
	w = newResultWriter("table", &out)
	_ = w.Begin(arrow.NewSchema(nil, nil))
	_ = w.End()
	if out.String() != "OK\n" {
		t.Errorf("zero-column result printed %q", out.String())
	}
}

func TestNestedAndOtherTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "mi", Type: arrow.MapOf(arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.String), Nullable: true},
		{Name: "ll", Type: arrow.ListOf(arrow.ListOf(arrow.BinaryTypes.String)), Nullable: true},
		{Name: "d256", Type: &arrow.Decimal256Type{Precision: 40, Scale: 2}, Nullable: true},
		{Name: "t", Type: arrow.FixedWidthTypes.Time64us, Nullable: true},
		{Name: "ts_ny", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(`[
	 {"m": [{"key": "a", "value": 1}, {"key": "b", "value": null}],
	  "mi": [{"key": 5, "value": "five"}],
	  "ll": [["x"], [], null],
	  "d256": "123456789012345678901234567890123456.78",
	  "t": "13:14:15.5",
	  "ts_ny": "2024-07-01T12:00:00Z",
	  "f": 0.1,
	  "b": "AAH/"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()

	want := []string{
		`{"a":1,"b":null}`,
		`[{"key":5,"value":"five"}]`,
		`[["x"],[],null]`,
		"123456789012345678901234567890123456.78",
		"13:14:15.5",
		"2024-07-01T08:00:00-04:00",
		"0.1",
		`\x00\x01\xFF`,
	}
	for col, w := range want {
		if got := cellText(rec.Column(col), 0); got != w {
			t.Errorf("column %s: got %q, want %q", schema.Field(col).Name, got, w)
		}
	}
}

func TestDictionaryValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	_ = b.AppendString("red")
	_ = b.AppendString("blue")
	b.AppendNull()
	_ = b.AppendString("red")
	arr := b.NewArray()
	defer arr.Release()
	var got []string
	for i := 0; i < arr.Len(); i++ {
		got = append(got, cellText(arr, i))
	}
	if strings.Join(got, ",") != "red,blue,NULL,red" {
		t.Errorf("dictionary cells = %v", got)
	}
}

func TestFloatText(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1.5, "1.5"}, {1e6, "1000000"}, {-2.25, "-2.25"},
		{1e-7, "1e-07"}, {1.5e300, "1.5e+300"},
	} {
		if got, _ := formatFloat(tc.in, 64); got != tc.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseQueryArgs(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	opts, err := parseQueryArgs([]string{"SELECT", "1"}, io.Discard, getenv)
	if err != nil || opts.server != defaultQueryServer || opts.sql != "SELECT 1" || opts.format != "" {
		t.Errorf("defaults: %+v, %v", opts, err)
	}
	env["LAKEFLIGHT_SERVER"] = "db:1"
	opts, _ = parseQueryArgs([]string{"SELECT 1"}, io.Discard, getenv)
	if opts.server != "db:1" {
		t.Errorf("env server = %q", opts.server)
	}
	opts, _ = parseQueryArgs([]string{"--server", "grpc://h:2", "--format", "json", "SELECT 1"}, io.Discard, getenv)
	if opts.server != "h:2" || opts.format != "json" {
		t.Errorf("flags: %+v", opts)
	}
	if _, err := parseQueryArgs([]string{"--format", "xml", "SELECT 1"}, io.Discard, getenv); err == nil {
		t.Error("bad format accepted")
	}
	if _, err := parseQueryArgs(nil, io.Discard, getenv); err == nil {
		t.Error("missing SQL accepted")
	}
	var help bytes.Buffer
	if _, err := parseQueryArgs([]string{"-h"}, &help, getenv); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), "--format") {
		t.Errorf("help: %v %q", err, help.String())
	}
}

func TestDescribeQueryError(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{
			status.Error(codes.InvalidArgument, "Parser Error: syntax error at or near \"SELCT\"\n\nLINE 1: SELCT 1\n        ^"),
			`query failed: InvalidArgument: Parser Error: syntax error at or near "SELCT"`,
		},
		{
			status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:31337: connect: connection refused"`),
			"cannot reach lakeflight at 127.0.0.1:31337: connection refused",
		},
		{errors.New("boom\nmore"), "query failed: boom"},
	} {
		if got := describeQueryError(ctx, tc.err, "127.0.0.1:31337").Error(); got != tc.want {
			t.Errorf("got %q\nwant %q", got, tc.want)
		}
	}
}

// TestRunQueryUnreachable exercises the real client against a closed port.
func TestRunQueryUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err = runQuery(ctx, []string{"--server", addr, "--connect-timeout", "2s", "SELECT 1"}, &stdout, &stderr)
	if err == nil {
		t.Fatal("query against a closed port succeeded")
	}
	want := "cannot reach lakeflight at " + addr + ": connection refused"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q", stdout.String())
	}
}

// startExampleServer serves arrow-go's SQLite Flight SQL example in-process:
// a real Flight SQL server for the client path, without DuckDB.
func startExampleServer(t *testing.T) string {
	t.Helper()
	db, err := example.CreateDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	srv, err := example.NewSQLiteFlightSQLServer(db)
	if err != nil {
		t.Fatal(err)
	}
	fs := flight.NewServerWithMiddleware(nil)
	fs.RegisterFlightService(afsql.NewFlightServer(srv))
	if err := fs.Init("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go func() { _ = fs.Serve() }()
	t.Cleanup(fs.Shutdown)
	return fs.Addr().String()
}

func TestRunQueryAgainstAFlightSQLServer(t *testing.T) {
	addr := startExampleServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var stdout, stderr bytes.Buffer
	err := runQuery(ctx, []string{"--server", addr, "--format", "csv", "SELECT id, keyName, value FROM intTable ORDER BY id"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	want := "id,keyName,value\n1,one,1\n2,zero,0\n3,negative one,-1\n4,,\n"
	if stdout.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", stdout.String(), want)
	}

	stdout.Reset()
	err = runQuery(ctx, []string{"--server", addr, "--format", "table", "SELECT id FROM intTable WHERE id < 3"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if want := " id\n----\n  1\n  2\n(2 rows)\n"; stdout.String() != want {
		t.Errorf("table:\n%q\nwant:\n%q", stdout.String(), want)
	}

	stdout.Reset()
	err = runQuery(ctx, []string{"--server", addr, "SELEC 1"}, &stdout, &stderr)
	if err == nil || !strings.HasPrefix(err.Error(), "query failed: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("bad SQL: error %v", err)
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("bad SQL printed %q / %q", stdout.String(), stderr.String())
	}
}
