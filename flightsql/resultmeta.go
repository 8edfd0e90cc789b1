//go:build duckdb_arrow

package flightsql

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// describeResult adds Flight SQL column metadata (type name, precision,
// scale, case sensitivity) to a query's result schema. JDBC builds
// ResultSetMetaData from these keys: without them a DECIMAL(10,2) column
// reports precision 0. The same described schema goes into FlightInfo, the
// prepared statement's dataset schema and the DoGet stream, so clients that
// compare them (ADBC does) see one schema.
func describeResult(sc *arrow.Schema) *arrow.Schema {
	if sc == nil || sc.NumFields() == 0 {
		return sc
	}
	fields := make([]arrow.Field, sc.NumFields())
	for i, f := range sc.Fields() {
		b := afsql.NewColumnMetadataBuilder().TypeName(sqlTypeName(f.Type)).
			IsCaseSensitive(isText(f.Type)).IsSearchable(true).IsReadOnly(true).IsAutoIncrement(false)
		if dec, ok := f.Type.(arrow.DecimalType); ok {
			b.Precision(dec.GetPrecision()).Scale(dec.GetScale())
		}
		f.Metadata = b.Metadata()
		fields[i] = f
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md)
}

// sqlTypeName names an Arrow result type the way DuckDB would.
func sqlTypeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.BOOL:
		return "BOOLEAN"
	case arrow.INT8:
		return "TINYINT"
	case arrow.INT16:
		return "SMALLINT"
	case arrow.INT32:
		return "INTEGER"
	case arrow.INT64:
		return "BIGINT"
	case arrow.UINT8:
		return "UTINYINT"
	case arrow.UINT16:
		return "USMALLINT"
	case arrow.UINT32:
		return "UINTEGER"
	case arrow.UINT64:
		return "UBIGINT"
	case arrow.FLOAT32:
		return "FLOAT"
	case arrow.FLOAT64:
		return "DOUBLE"
	case arrow.DECIMAL128, arrow.DECIMAL256:
		return "DECIMAL"
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return "VARCHAR"
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return "BLOB"
	case arrow.DATE32, arrow.DATE64:
		return "DATE"
	case arrow.TIME32, arrow.TIME64:
		return "TIME"
	case arrow.TIMESTAMP:
		if t.(*arrow.TimestampType).TimeZone != "" {
			return "TIMESTAMP WITH TIME ZONE"
		}
		return "TIMESTAMP"
	case arrow.INTERVAL_MONTH_DAY_NANO, arrow.INTERVAL_DAY_TIME, arrow.INTERVAL_MONTHS, arrow.DURATION:
		return "INTERVAL"
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW:
		return "LIST"
	case arrow.STRUCT:
		return "STRUCT"
	case arrow.MAP:
		return "MAP"
	case arrow.NULL:
		return "NULL"
	}
	return t.String()
}

// relabel gives a batch the described schema, sharing its columns, and
// releases the original.
func relabel(sc *arrow.Schema, rec arrow.RecordBatch) arrow.RecordBatch {
	out := array.NewRecordBatch(sc, rec.Columns(), rec.NumRows())
	rec.Release()
	return out
}
