//go:build duckdb_arrow

package engine

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// Thin helpers over the DuckDB C API (through duckdb-go-bindings) for the
// engine's own small statements: setup, view binding, catalog checks. Client
// statements go through Statement and the streaming reader instead.

// execSQL runs sql (one or more statements) on conn and discards the result.
func execSQL(conn bindings.Connection, sql string) error {
	var res bindings.Result
	state := bindings.Query(conn, sql, &res)
	defer bindings.DestroyResult(&res)
	if state == bindings.StateError {
		return duckErr(bindings.ResultErrorType(&res), bindings.ResultError(&res))
	}
	return nil
}

// queryStrings runs a small query on conn and returns every value rendered
// as text ("" for NULL). Only for the engine's own bookkeeping queries.
func queryStrings(conn bindings.Connection, sql string) ([][]string, error) {
	var res bindings.Result
	state := bindings.Query(conn, sql, &res)
	defer bindings.DestroyResult(&res)
	if state == bindings.StateError {
		return nil, duckErr(bindings.ResultErrorType(&res), bindings.ResultError(&res))
	}
	opts := bindings.ResultGetArrowOptions(&res)
	defer bindings.DestroyArrowOptions(&opts)
	recs, err := resultRecords(&res, opts)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, rec := range recs {
		rows = appendStrings(rows, rec)
		rec.Release()
	}
	return rows, nil
}

// resultRecords reads a whole materialised result as Arrow batches (one
// per DuckDB chunk); the caller releases them.
func resultRecords(res *bindings.Result, opts bindings.ArrowOptions) ([]arrow.RecordBatch, error) {
	n := bindings.ColumnCount(res)
	types := make([]bindings.LogicalType, n)
	names := make([]string, n)
	for i := range n {
		types[i] = bindings.ColumnLogicalType(res, i)
		names[i] = bindings.ColumnName(res, i)
	}
	defer destroyTypes(types)
	schema, ed := bindings.NewArrowSchema(opts, types, names)
	if err := errorData(ed); err != nil {
		return nil, err
	}
	var out []arrow.RecordBatch
	for {
		chunk := bindings.FetchChunk(*res)
		if chunk.Ptr == nil {
			break
		}
		rec, ed := bindings.DataChunkToArrowArray(opts, schema, chunk)
		bindings.DestroyDataChunk(&chunk)
		if err := errorData(ed); err != nil {
			releaseAll(out)
			return nil, err
		}
		out = append(out, rec)
	}
	if msg := bindings.ResultError(res); msg != "" {
		releaseAll(out)
		return nil, duckErr(bindings.ResultErrorType(res), msg)
	}
	return out, nil
}

func appendStrings(rows [][]string, rec arrow.RecordBatch) [][]string {
	for r := 0; r < int(rec.NumRows()); r++ {
		row := make([]string, rec.NumCols())
		for c := range row {
			col := rec.Column(c)
			row[c] = renderValue(col, r)
		}
		rows = append(rows, row)
	}
	return rows
}

// renderValue renders one value as text ("" for NULL); decimals exactly.
func renderValue(col arrow.Array, r int) string {
	if col.IsNull(r) {
		return ""
	}
	if d, ok := col.(*array.Decimal128); ok {
		return d.Value(r).ToString(d.DataType().(*arrow.Decimal128Type).Scale)
	}
	return strings.Clone(col.ValueStr(r))
}

func destroyTypes(types []bindings.LogicalType) {
	for i := range types {
		bindings.DestroyLogicalType(&types[i])
	}
}

// quoteIdent quotes a SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteString quotes a SQL string literal.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
