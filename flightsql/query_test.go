//go:build duckdb_arrow

package flightsql

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// queryCases is the shared query table: SQL, the Arrow types of the result
// columns and the rows, each cell rendered with arrow's ValueStr.
var queryCases = []struct {
	name  string
	sql   string
	types []string
	rows  [][]string
}{
	{"integers", `SELECT 1::TINYINT AS t, -2::SMALLINT AS s, 3::INTEGER AS i, 9007199254740993::BIGINT AS b`,
		[]string{"int8", "int16", "int32", "int64"}, [][]string{{"1", "-2", "3", "9007199254740993"}}},
	{"decimals", `SELECT 12.34::DECIMAL(10,2) AS d, -123456789012345678.123::DECIMAL(38,3) AS big`,
		[]string{"decimal(10, 2)", "decimal(38, 3)"}, [][]string{{"12.34", "-123456789012345678.123"}}},
	{"doubles", `SELECT 1.5::DOUBLE AS d, 0.25::FLOAT AS f`,
		[]string{"float64", "float32"}, [][]string{{"1.5", "0.25"}}},
	{"strings", `SELECT 'héllo' AS s UNION ALL SELECT '' UNION ALL SELECT NULL ORDER BY s NULLS LAST`,
		[]string{"utf8"}, [][]string{{""}, {"héllo"}, {"(null)"}}},
	{"dates", `SELECT DATE '2024-02-29' AS d`,
		[]string{"date32"}, [][]string{{"2024-02-29"}}},
	{"timestamp without tz", `SELECT TIMESTAMP '2024-01-02 03:04:05.123456' AS ts`,
		[]string{"timestamp[us]"}, [][]string{{"2024-01-02T03:04:05.123456"}}},
	{"timestamp with tz", `SELECT TIMESTAMPTZ '2024-01-02 03:04:05+00' AS ts`,
		[]string{"timestamp[us, tz=Etc/UTC]"}, [][]string{{"2024-01-02T03:04:05Z"}}},
	{"booleans", `SELECT * FROM (VALUES (1, true), (2, false), (3, NULL)) v(k, b) ORDER BY k`,
		[]string{"int32", "bool"}, [][]string{{"1", "true"}, {"2", "false"}, {"3", "(null)"}}},
	{"lists", `SELECT [1, 2, NULL]::INTEGER[] AS l, []::INTEGER[] AS e`,
		[]string{"list<l: int32, nullable>", "list<l: int32, nullable>"}, [][]string{{"[1,2,null]", "[]"}}},
	{"structs", `SELECT {'a': 1, 'b': 'x'} AS s`,
		[]string{"struct<a: int32 nullable, b: utf8 nullable>"}, [][]string{{`{"a":1,"b":"x"}`}}},
	{"nulls", `SELECT NULL::INTEGER AS i, NULL::VARCHAR AS s, NULL::DATE AS d`,
		[]string{"int32", "utf8", "date32"}, [][]string{{"(null)", "(null)", "(null)"}}},
	{"iceberg table", `SELECT id, name, amount FROM bronze.events ORDER BY id`,
		[]string{"int64", "utf8", "float64"}, [][]string{{"1", "alpha", "1.5"}, {"2", "beta", "2.25"}, {"3", "(null)", "(null)"}}},
	{"iceberg table qualified", `SELECT count(*) AS n, sum(amount) AS total FROM lakehouse.bronze.events`,
		[]string{"int64", "float64"}, [][]string{{"3", "3.75"}}},
	{"empty result", `SELECT 1 AS x WHERE false`,
		[]string{"int32"}, nil},
}

func TestQueries(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	for _, c := range queryCases {
		t.Run(c.name, func(t *testing.T) {
			res := query(t, cl, c.sql)
			var types []string
			for _, f := range res.schema.Fields() {
				types = append(types, f.Type.String())
			}
			if !slices.Equal(types, c.types) {
				t.Errorf("types = %q, want %q", types, c.types)
			}
			if !slices.EqualFunc(res.rows, c.rows, slices.Equal[[]string]) {
				t.Errorf("rows = %q, want %q", res.rows, c.rows)
			}
		})
	}
}

// The FlightInfo schema is the real result schema, known before DoGet.
func TestFlightInfoSchema(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	sr, err := cl.GetExecuteSchema(ctx, `SELECT 1::INTEGER AS a, 'x' AS b`)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cl.Execute(ctx, `SELECT 1::INTEGER AS a, 'x' AS b`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	if f := res.schema.Fields(); len(f) != 2 || f[0].Name != "a" || f[0].Type.ID() != arrow.INT32 || f[1].Name != "b" || f[1].Type.ID() != arrow.STRING {
		t.Errorf("FlightInfo schema = %s", res.schema)
	}
	if tn, _ := res.schema.Field(0).Metadata.GetValue("ARROW:FLIGHT:SQL:TYPE_NAME"); tn != "INTEGER" {
		t.Errorf("column a TYPE_NAME = %q, want INTEGER", tn)
	}
	if string(sr.Schema) != string(info.Schema) {
		t.Errorf("GetSchemaStatement and FlightInfo schemas differ")
	}
	if len(info.Endpoint) != 1 || len(info.Endpoint[0].Ticket.Ticket) == 0 {
		t.Fatalf("endpoints = %v", info.Endpoint)
	}
}

// A big result streams in several batches and arrives whole.
func TestLargeResult(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, false)
	res := query(t, cl, `SELECT i, i::VARCHAR AS s FROM range(300000) t(i)`)
	if len(res.rows) != 300000 {
		t.Fatalf("rows = %d", len(res.rows))
	}
	if res.rows[299999][0] != strconv.Itoa(299999) {
		t.Errorf("last row = %q", res.rows[299999])
	}
}

// Updates through CommandStatementUpdate, and DDL/DML sent down the query
// path (ADBC does that) run once and answer an empty result.
func TestStatementUpdate(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	if _, err := cl.ExecuteUpdate(ctx, `CREATE TEMP TABLE t (i INTEGER, s VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	n, err := cl.ExecuteUpdate(ctx, `INSERT INTO t VALUES (1, 'a'), (2, 'b')`)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("affected = %d, want 2", n)
	}
	res := query(t, cl, `INSERT INTO t VALUES (3, 'c')`)
	if len(res.rows) != 0 {
		t.Errorf("insert through query path returned rows %q", res.rows)
	}
	res = query(t, cl, `SELECT count(*) FROM t`)
	if res.rows[0][0] != "3" {
		t.Errorf("count = %q, want 3", res.rows[0][0])
	}
}

// Result columns carry Flight SQL column metadata (JDBC's ResultSetMetaData
// reads precision and scale from it) and the stream's schema is the
// FlightInfo's, metadata included.
func TestResultColumnMetadata(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	info, err := cl.Execute(ctx, `SELECT 12.5::DECIMAL(10,2) AS dec, 'x' AS s`)
	if err != nil {
		t.Fatal(err)
	}
	announced, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	md := announced.Field(0).Metadata
	for key, want := range map[string]string{
		"ARROW:FLIGHT:SQL:TYPE_NAME": "DECIMAL", "ARROW:FLIGHT:SQL:PRECISION": "10", "ARROW:FLIGHT:SQL:SCALE": "2",
	} {
		if got, _ := md.GetValue(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	if !rdr.Schema().Equal(announced) {
		t.Errorf("stream schema %s differs from FlightInfo schema %s", rdr.Schema(), announced)
	}
	for rdr.Next() {
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
}
