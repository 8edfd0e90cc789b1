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

// resultColumns lists the names and types of a result's columns; the
// caller destroys the types.
func resultColumns(res *bindings.Result) ([]string, []bindings.LogicalType) {
	n := bindings.ColumnCount(res)
	names, types := make([]string, n), make([]bindings.LogicalType, n)
	for i := range n {
		names[i], types[i] = bindings.ColumnName(res, i), bindings.ColumnLogicalType(res, i)
	}
	return names, types
}

// preparedColumns lists the names and types of a prepared statement's
// result columns; the caller destroys the types.
func preparedColumns(ps bindings.PreparedStatement) ([]string, []bindings.LogicalType) {
	n := bindings.PreparedStatementColumnCount(ps)
	names, types := make([]string, n), make([]bindings.LogicalType, n)
	for i := range n {
		names[i], types[i] = bindings.PreparedStatementColumnName(ps, i), bindings.PreparedStatementColumnLogicalType(ps, i)
	}
	return names, types
}

// resultArrowSchema is the Arrow schema of a result's columns.
func resultArrowSchema(res *bindings.Result, opts bindings.ArrowOptions) (*arrow.Schema, error) {
	names, types := resultColumns(res)
	defer destroyTypes(types)
	schema, ed := bindings.NewArrowSchema(opts, types, names)
	return schema, errorData(ed)
}

// resultRecords reads a whole materialised result as Arrow batches (one
// per DuckDB chunk); the caller releases them.
func resultRecords(res *bindings.Result, opts bindings.ArrowOptions) ([]arrow.RecordBatch, error) {
	schema, err := resultArrowSchema(res, opts)
	if err != nil {
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
