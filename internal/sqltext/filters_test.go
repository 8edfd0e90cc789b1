package sqltext

import (
	"os"
	"reflect"
	"testing"
)

// testdata/filters_capi.json (DuckDB 1.5.6 through its C API, as the
// engine runs it) and filters_python.json (DuckDB 1.5.5's Python build,
// which writes constants and casts differently) are json_serialize_sql of
//
//	SELECT count(*) FROM lakehouse.silver.ev e WHERE e.ts >= TIMESTAMP '2026-03-02'
//	  AND region IN ('eu','us') AND id BETWEEN 3 AND 10 AND name IS NULL AND 5 < x
//	  AND y <> 2 AND d = DATE '2026-01-01' AND (z = 1 OR z = 2) AND other.w = 1
//	  AND CAST(q AS VARCHAR) = 'a' AND n = CAST('7' AS DECIMAL(10, 2))
//	  AND id IN (SELECT k FROM silver.keys WHERE k >= 100)
//	UNION ALL SELECT 1 FROM silver.a JOIN silver.b ON true WHERE a.v = 1
func TestSerializedFilters(t *testing.T) {
	for _, file := range []string{"testdata/filters_capi.json", "testdata/filters_python.json"} {
		t.Run(file, func(t *testing.T) { checkSerializedFilters(t, file) })
	}
}

func checkSerializedFilters(t *testing.T, file string) {
	js, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ParseSerialized(string(js))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]Filter{}
	for _, r := range tree.Refs {
		got[r.Name] = r.Filters
	}
	want := map[string][]Filter{
		// <>, another table's column, a cast column, a parameterised
		// cast and the IN subquery are left out.
		"ev": {
			{Column: "ts", Op: ">=", Values: []Literal{{Kind: "STRING", Text: "2026-03-02", Cast: "TIMESTAMP"}}},
			{Column: "region", Op: "in", Values: []Literal{{Kind: "STRING", Text: "eu"}, {Kind: "STRING", Text: "us"}}},
			{Column: "id", Op: "between", Values: []Literal{{Kind: "INTEGER", Text: "3"}, {Kind: "INTEGER", Text: "10"}}},
			{Column: "name", Op: "is null"},
			{Column: "x", Op: ">", Values: []Literal{{Kind: "INTEGER", Text: "5"}}},
			{Column: "d", Op: "=", Values: []Literal{{Kind: "STRING", Text: "2026-01-01", Cast: "DATE"}}},
			{Op: "or", Any: [][]Filter{
				{{Column: "z", Op: "=", Values: []Literal{{Kind: "INTEGER", Text: "1"}}}},
				{{Column: "z", Op: "=", Values: []Literal{{Kind: "INTEGER", Text: "2"}}}},
			}},
		},
		"keys": {{Column: "k", Op: ">=", Values: []Literal{{Kind: "INTEGER", Text: "100"}}}},
		"a":    nil, // a join: no filters for either side
		"b":    nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("filters:\n got %+v\nwant %+v", got, want)
	}
}
