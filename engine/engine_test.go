//go:build duckdb_arrow

package engine

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
	bindings "github.com/duckdb/duckdb-go-bindings"
	"go.uber.org/goleak"

	"github.com/lakeflight/lakeflight/internal/hmstest"
	"github.com/lakeflight/lakeflight/internal/pgtest"
	"github.com/lakeflight/lakeflight/internal/resttest"
)

func TestMain(m *testing.M) {
	code := withS3(func() int {
		switch {
		case resttest.Wanted():
			return resttest.Run(m, func(srv *resttest.Server) { testREST = srv })
		case hmstest.Wanted():
			return hmstest.Run(m, func(srv *hmstest.Server) { testHive = srv })
		}
		return pgtest.Run(m, func(srv *pgtest.Server) { testPG = srv })
	})
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak: leaked goroutines after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testPG is the PostgreSQL server the Iceberg tests' catalogs live on when
// LAKEFLIGHT_TEST_CATALOG=postgres; nil for SQLite.
var testPG *pgtest.Server

// testREST is Apache Iceberg's REST catalog server the Iceberg tests'
// catalogs are when LAKEFLIGHT_TEST_CATALOG=rest; nil otherwise.
var testREST *resttest.Server

// testHive is the Hive Metastore the Iceberg tests' catalogs are when
// LAKEFLIGHT_TEST_CATALOG=hive; nil otherwise.
var testHive *hmstest.Server

// openTest opens an engine over a fresh warehouse (no catalog unless given).
func openTest(t testing.TB, tables TableSource) (*Engine, string) {
	t.Helper()
	wh := filepath.Join(t.TempDir(), "warehouse")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := Open(context.Background(), Config{Warehouse: wh, Threads: 2}, tables, log)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e, wh
}

func newSession(t testing.TB, e *Engine) *Session {
	t.Helper()
	s, err := e.NewSession(context.Background())
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// queryAll runs sql and returns the result as rendered rows, checking that
// every batch matches the prepared schema and that no Arrow memory leaks.
func queryAll(t testing.TB, s *Session, sql string, params arrow.RecordBatch) (*arrow.Schema, [][]string, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := s.Prepare(context.Background(), sql)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	rdr, err := st.Query(context.Background(), params, mem)
	if err != nil {
		return st.Schema(), nil, err
	}
	defer rdr.Release()
	if !rdr.Schema().Equal(st.Schema()) {
		t.Fatalf("reader schema %v != statement schema %v", rdr.Schema(), st.Schema())
	}
	var rows [][]string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if !rec.Schema().Equal(st.Schema()) {
			t.Fatalf("batch schema %v != statement schema %v", rec.Schema(), st.Schema())
		}
		rows = appendStrings(rows, rec)
	}
	return st.Schema(), rows, rdr.Err()
}

func mustQuery(t testing.TB, s *Session, sql string) [][]string {
	t.Helper()
	_, rows, err := queryAll(t, s, sql, nil)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

func mustExec(t testing.TB, s *Session, sql string) {
	t.Helper()
	if _, err := s.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestQueryTypes(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	cases := []struct {
		name string
		sql  string
		typ  string // arrow type of the single column
		want []string
	}{
		{"int", "SELECT 42::INTEGER", "int32", []string{"42"}},
		{"bigint", "SELECT -9007199254740993::BIGINT", "int64", []string{"-9007199254740993"}},
		{"smallint", "SELECT 7::SMALLINT", "int16", []string{"7"}},
		{"ubigint", "SELECT 18446744073709551615::UBIGINT", "uint64", []string{"18446744073709551615"}},
		{"hugeint", "SELECT 170141183460469231731687303715884105727::HUGEINT", "decimal(38, 0)", []string{"170141183460469231731687303715884105727"}},
		{"decimal", "SELECT 12345.678::DECIMAL(10,3)", "decimal(10, 3)", []string{"12345.678"}},
		{"decimal38", "SELECT -1.5::DECIMAL(38,10)", "decimal(38, 10)", []string{"-1.5000000000"}},
		{"double", "SELECT 1.25::DOUBLE", "float64", []string{"1.25"}},
		{"float", "SELECT 0.5::FLOAT", "float32", []string{"0.5"}},
		{"varchar", "SELECT 'héllo wörld, a string longer than twelve bytes'", "utf8", []string{"héllo wörld, a string longer than twelve bytes"}},
		{"bool", "SELECT true", "bool", []string{"true"}},
		{"date", "SELECT DATE '2026-11-01'", "date32", []string{"2026-11-01"}},
		{"timestamp", "SELECT TIMESTAMP '2026-11-01 10:00:00.123456'", "timestamp[us]", []string{"2026-11-01T10:00:00.123456"}},
		{"timestamptz", "SELECT TIMESTAMPTZ '2026-11-01 10:00:00+02'", "timestamp[us, tz=Etc/UTC]", []string{"2026-11-01T08:00:00Z"}},
		{"list", "SELECT [1, 2, NULL]::INTEGER[]", "list<l: int32, nullable>", []string{"[1,2,null]"}},
		{"struct", "SELECT {'a': 1, 'b': 'x'}", "struct<a: int32 nullable, b: utf8 nullable>", []string{`{"a":1,"b":"x"}`}},
		{"null", "SELECT NULL::INTEGER", "int32", []string{""}},
		{"uuid", "SELECT '4ae71336-e44b-39bf-b9d2-752e234818a5'::UUID", "", nil},
		{"blob", "SELECT '\\xAA\\xBB'::BLOB", "binary", nil},
		{"interval", "SELECT INTERVAL 1 DAY", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			schema, rows, err := queryAll(t, s, tc.sql, nil)
			if err != nil {
				t.Fatal(err)
			}
			if schema.NumFields() != 1 || len(rows) != 1 {
				t.Fatalf("schema %v rows %v", schema, rows)
			}
			if tc.typ != "" && schema.Field(0).Type.String() != tc.typ {
				t.Errorf("type %s, want %s", schema.Field(0).Type, tc.typ)
			}
			if tc.want != nil && fmt.Sprint(rows[0]) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", rows[0], tc.want)
			}
		})
	}
}

func TestQueryManyTypesAtOnce(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	rows := mustQuery(t, s, `SELECT i, i::DOUBLE / 2 AS d, 'v' || i AS s, i % 2 = 0 AS b,
		DATE '2026-01-01' + i::INTEGER AS dt, CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS n
		FROM range(5000) t(i) ORDER BY i`)
	if len(rows) != 5000 {
		t.Fatalf("rows %d", len(rows))
	}
	if got := fmt.Sprint(rows[4999]); got != "[4999 2499.5 v4999 false 2039-09-09 4999]" {
		t.Errorf("last row %s", got)
	}
	if rows[3][5] != "" {
		t.Errorf("null expected, got %q", rows[3][5])
	}
}

func TestErrors(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	cases := []struct {
		sql  string
		kind error
		msg  string
	}{
		{"SELEC 1", ErrInvalidSQL, "Parser Error: syntax error"},
		{"SELECT nosuchcol FROM range(1)", ErrInvalidSQL, "Binder Error"},
		{"SELECT * FROM nosuch", ErrNotFound, "Table with name nosuch does not exist"},
		{"SELECT * FROM bronze.nosuch", ErrNotFound, "nosuch"},
		{"SELECT nosuchfn(1)", ErrNotFound, "nosuchfn"},
		{"SELECT 'a'::INT", ErrInvalidSQL, "Conversion Error"},
		{"SELECT 1; SELECT 2", ErrInvalidSQL, ""},
	}
	for _, tc := range cases {
		_, _, err := queryAll(t, s, tc.sql, nil)
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: err %v, want %v", tc.sql, err, tc.kind)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: message %q lacks %q", tc.sql, err, tc.msg)
		}
	}
	// Runtime errors while streaming.
	_, _, err := queryAll(t, s, "SELECT CASE WHEN i = 100000 THEN error('boom') ELSE i END FROM range(200000) t(i)", nil)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("runtime error: %v", err)
	}
}

func TestParameters(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	st, err := s.Prepare(context.Background(),
		"SELECT $1::BIGINT AS i, $2::DOUBLE AS f, $3::VARCHAR AS s, $4::BOOLEAN AS b, $5::DATE AS d, $6::TIMESTAMP AS ts, $7::DECIMAL(10,2) AS dec, $8::TIMESTAMPTZ AS tz")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := st.ParameterSchema().NumFields(); n != 8 {
		t.Fatalf("parameter schema %v", st.ParameterSchema())
	}
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "1", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "2", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "3", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "4", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "5", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "6", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true},
		{Name: "7", Type: dec, Nullable: true},
		{Name: "8", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	ts := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 0}, []bool{true, true, false})
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{1.5, -2.25, 0}, []bool{true, true, false})
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"a", "a longer string value here", ""}, []bool{true, true, false})
	b.Field(3).(*array.BooleanBuilder).AppendValues([]bool{true, false, false}, []bool{true, true, false})
	b.Field(4).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(ts), 0, 0}, []bool{true, true, false})
	b.Field(5).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts.UnixMilli()), 0, 0}, []bool{true, true, false})
	b.Field(6).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(12345), decimal128.FromI64(-1), decimal128.FromI64(0)}, []bool{true, true, false})
	b.Field(7).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts.UnixMicro()), 0, 0}, []bool{true, true, false})
	params := b.NewRecordBatch()
	defer params.Release()

	rdr, err := st.Query(context.Background(), params, mem)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for rdr.Next() {
		rows = appendStrings(rows, rdr.RecordBatch())
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	rdr.Release()
	want := [][]string{
		{"1", "1.5", "a", "true", "2026-11-01", "2026-11-01T10:00:00", "123.45", "2026-11-01T10:00:00Z"},
		{"2", "-2.25", "a longer string value here", "false", "1970-01-01", "1970-01-01T00:00:00", "-0.01", "1970-01-01T00:00:00Z"},
		{"", "", "", "", "", "", "", ""},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("got  %q\nwant %q", rows, want)
	}

	// Exec with parameters: one execution per row.
	mustExec(t, s, "CREATE TEMP TABLE p (i BIGINT, s VARCHAR)")
	ins, err := s.Prepare(context.Background(), "INSERT INTO p VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	if ins.IsQuery() || ins.Schema().NumFields() != 0 {
		t.Errorf("insert is not a query: %v", ins.Schema())
	}
	pb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil))
	defer pb.Release()
	pb.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	pb.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "y", "z"}, nil)
	prec := pb.NewRecordBatch()
	defer prec.Release()
	n, err := ins.Exec(context.Background(), prec)
	if err != nil || n != 3 {
		t.Fatalf("exec: n=%d err=%v", n, err)
	}
	if got := fmt.Sprint(mustQuery(t, s, "SELECT count(*), string_agg(s, '' ORDER BY i) FROM p")); got != "[[3 xyz]]" {
		t.Errorf("inserted %s", got)
	}
	// Wrong parameter count.
	if _, err := ins.Exec(context.Background(), nil); !errors.Is(err, ErrInvalidSQL) {
		t.Errorf("missing params: %v", err)
	}
}

// An untyped parameter leaves the result type open at prepare time; the
// first execution's bound value decides it.
func TestUntypedParameterResult(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()

	st, err := s.Prepare(ctx, "SELECT ? + 1 AS answer")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !st.SchemaOpen() || st.Schema().Field(0).Type.ID() != arrow.NULL {
		t.Fatalf("want an open schema with a Null column, got open=%v %v", st.SchemaOpen(), st.Schema())
	}
	if got := st.ParameterSchema().Field(0).Type.ID(); got != arrow.NULL {
		t.Fatalf("untyped parameter announced as %v", got)
	}
	pschema := arrow.NewSchema([]arrow.Field{{Name: "1", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for _, tc := range []struct{ in, want int64 }{{41, 42}, {1, 2}} {
		b := array.NewRecordBuilder(mem, pschema)
		b.Field(0).(*array.Int64Builder).Append(tc.in)
		params := b.NewRecordBatch()
		b.Release()
		rdr, err := st.Query(ctx, params, mem)
		params.Release()
		if err != nil {
			t.Fatal(err)
		}
		if typ := rdr.Schema().Field(0).Type.ID(); typ == arrow.NULL {
			t.Fatalf("reader schema still open: %v", rdr.Schema())
		}
		var got []int64
		for rdr.Next() {
			rec := rdr.RecordBatch()
			if !rec.Schema().Equal(rdr.Schema()) {
				t.Fatalf("batch schema %v differs from reader schema %v", rec.Schema(), rdr.Schema())
			}
			col := rec.Column(0)
			for i := range col.Len() {
				switch c := col.(type) {
				case *array.Int64:
					got = append(got, c.Value(i))
				case *array.Int32:
					got = append(got, int64(c.Value(i)))
				default:
					t.Fatalf("unexpected column type %T", col)
				}
			}
		}
		if err := rdr.Err(); err != nil {
			t.Fatal(err)
		}
		rdr.Release()
		if len(got) != 1 || got[0] != tc.want {
			t.Fatalf("SELECT %d + 1 = %v", tc.in, got)
		}
	}
}

// Errors DuckDB reports in its JSON form reach clients as one plain line
// that keeps the error type used for classification.
func TestJSONErrorMessageIsPlain(t *testing.T) {
	err := duckErr(bindings.ErrorTypeInvalid, `{"exception_type":"Not implemented","exception_message":"Unsupported Arrow type UNKNOWN"}`)
	if err.Error() != "Not implemented Error: Unsupported Arrow type UNKNOWN" {
		t.Fatalf("message %q", err.Error())
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("kind %v, want ErrUnsupported", err.Kind)
	}
	if plain := duckErr(bindings.ErrorTypeInvalid, "Parser Error: syntax error"); plain.Error() != "Parser Error: syntax error" || !errors.Is(plain, ErrInvalidSQL) {
		t.Fatalf("plain message changed: %v", plain)
	}
}
