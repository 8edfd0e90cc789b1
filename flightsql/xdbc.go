//go:build duckdb_arrow

package flightsql

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
)

// GetXdbcTypeInfo: the DuckDB types a client can use, with ODBC/JDBC
// (XDBC) type codes. Numbers follow the XDBC conventions: data_type is the
// concise type, sql_data_type/datetime_subcode the verbose one for
// date/time/interval types.

type xdbcType struct {
	name           string
	dataType       pb.XdbcDataType
	columnSize     int32 // 0: not applicable
	prefix, suffix string
	createParams   []string
	caseSensitive  bool
	searchable     pb.Searchable
	unsigned       *bool // nil: not numeric
	fixedPrecScale bool
	minScale       *int32
	maxScale       *int32
	sqlDataType    pb.XdbcDataType
	subcode        *int32
	radix          int32 // 0: not numeric
}

func ptr[T any](v T) *T { return &v }

var xdbcTypes = func() []xdbcType {
	signed, unsigned := ptr(false), ptr(true)
	zero := ptr(int32(0))
	num := func(name string, dt pb.XdbcDataType, size int32, u *bool) xdbcType {
		return xdbcType{name: name, dataType: dt, columnSize: size, searchable: pb.Searchable_SEARCHABLE_BASIC,
			unsigned: u, minScale: zero, maxScale: zero, sqlDataType: dt, radix: 10}
	}
	dt := func(name string, typ pb.XdbcDataType, size int32, prefix string, sub pb.XdbcDatetimeSubcode, maxScale int32) xdbcType {
		return xdbcType{name: name, dataType: typ, columnSize: size, prefix: prefix, suffix: "'",
			searchable: pb.Searchable_SEARCHABLE_BASIC, minScale: zero, maxScale: ptr(maxScale),
			sqlDataType: pb.XdbcDataType_XDBC_DATETIME, subcode: ptr(int32(sub))}
	}
	types := []xdbcType{
		{name: "BOOLEAN", dataType: pb.XdbcDataType_XDBC_BIT, columnSize: 1, searchable: pb.Searchable_SEARCHABLE_BASIC, sqlDataType: pb.XdbcDataType_XDBC_BIT},
		num("TINYINT", pb.XdbcDataType_XDBC_TINYINT, 3, signed),
		num("UTINYINT", pb.XdbcDataType_XDBC_TINYINT, 3, unsigned),
		num("SMALLINT", pb.XdbcDataType_XDBC_SMALLINT, 5, signed),
		num("USMALLINT", pb.XdbcDataType_XDBC_SMALLINT, 5, unsigned),
		num("INTEGER", pb.XdbcDataType_XDBC_INTEGER, 10, signed),
		num("UINTEGER", pb.XdbcDataType_XDBC_INTEGER, 10, unsigned),
		num("BIGINT", pb.XdbcDataType_XDBC_BIGINT, 19, signed),
		num("UBIGINT", pb.XdbcDataType_XDBC_BIGINT, 20, unsigned),
		{name: "HUGEINT", dataType: pb.XdbcDataType_XDBC_DECIMAL, columnSize: 38, searchable: pb.Searchable_SEARCHABLE_BASIC,
			unsigned: signed, fixedPrecScale: true, minScale: zero, maxScale: zero, sqlDataType: pb.XdbcDataType_XDBC_DECIMAL, radix: 10},
		{name: "DECIMAL", dataType: pb.XdbcDataType_XDBC_DECIMAL, columnSize: 38, createParams: []string{"precision", "scale"},
			searchable: pb.Searchable_SEARCHABLE_BASIC, unsigned: signed, fixedPrecScale: true, minScale: zero, maxScale: ptr(int32(38)),
			sqlDataType: pb.XdbcDataType_XDBC_DECIMAL, radix: 10},
		{name: "FLOAT", dataType: pb.XdbcDataType_XDBC_REAL, columnSize: 24, searchable: pb.Searchable_SEARCHABLE_BASIC,
			unsigned: signed, sqlDataType: pb.XdbcDataType_XDBC_REAL, radix: 2},
		{name: "DOUBLE", dataType: pb.XdbcDataType_XDBC_DOUBLE, columnSize: 53, searchable: pb.Searchable_SEARCHABLE_BASIC,
			unsigned: signed, sqlDataType: pb.XdbcDataType_XDBC_DOUBLE, radix: 2},
		{name: "VARCHAR", dataType: pb.XdbcDataType_XDBC_VARCHAR, prefix: "'", suffix: "'", caseSensitive: true,
			searchable: pb.Searchable_SEARCHABLE_FULL, sqlDataType: pb.XdbcDataType_XDBC_VARCHAR},
		{name: "UUID", dataType: pb.XdbcDataType_XDBC_CHAR, columnSize: 36, prefix: "'", suffix: "'::UUID",
			searchable: pb.Searchable_SEARCHABLE_BASIC, sqlDataType: pb.XdbcDataType_XDBC_CHAR},
		{name: "BLOB", dataType: pb.XdbcDataType_XDBC_VARBINARY, prefix: "'", suffix: "'::BLOB",
			searchable: pb.Searchable_SEARCHABLE_BASIC, sqlDataType: pb.XdbcDataType_XDBC_VARBINARY},
		dt("DATE", pb.XdbcDataType_XDBC_DATE, 10, "DATE '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_DATE, 0),
		dt("TIME", pb.XdbcDataType_XDBC_TIME, 15, "TIME '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_TIME, 6),
		dt("TIMESTAMP", pb.XdbcDataType_XDBC_TIMESTAMP, 26, "TIMESTAMP '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_TIMESTAMP, 6),
		dt("TIMESTAMP WITH TIME ZONE", pb.XdbcDataType_XDBC_TIMESTAMP, 32, "TIMESTAMPTZ '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_TIMESTAMP_WITH_TIMEZONE, 6),
		{name: "INTERVAL", dataType: pb.XdbcDataType_XDBC_INTERVAL, prefix: "INTERVAL '", suffix: "'",
			searchable: pb.Searchable_SEARCHABLE_BASIC, sqlDataType: pb.XdbcDataType_XDBC_INTERVAL,
			subcode: ptr(int32(pb.XdbcDatetimeSubcode_XDBC_SUBCODE_INTERVAL_DAY_TO_SECOND))},
	}
	// XDBC orders by data type, then by how closely the type matches it.
	slices.SortStableFunc(types, func(a, b xdbcType) int { return int(a.dataType) - int(b.dataType) })
	return types
}()

// GetFlightInfoXdbcTypeInfo answers with a ticket that is the command itself.
func (s *Server) GetFlightInfoXdbcTypeInfo(_ context.Context, _ afsql.GetXdbcTypeInfo, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.XdbcTypeInfo, desc.Cmd, noExpiry), nil
}

// DoGetXdbcTypeInfo streams the type table, or the rows of one data type.
func (s *Server) DoGetXdbcTypeInfo(ctx context.Context, cmd afsql.GetXdbcTypeInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema_ref.XdbcTypeInfo)
	defer b.Release()
	str := func(i int, v string, ok bool) {
		if !ok {
			b.Field(i).AppendNull()
			return
		}
		b.Field(i).(*array.StringBuilder).Append(v)
	}
	i32 := func(i int, v *int32) {
		if v == nil {
			b.Field(i).AppendNull()
			return
		}
		b.Field(i).(*array.Int32Builder).Append(*v)
	}
	boolean := func(i int, v *bool) {
		if v == nil {
			b.Field(i).AppendNull()
			return
		}
		b.Field(i).(*array.BooleanBuilder).Append(*v)
	}
	nonZero := func(v int32) *int32 {
		if v == 0 {
			return nil
		}
		return &v
	}
	want := cmd.GetDataType()
	for _, t := range xdbcTypes {
		if want != nil && int32(t.dataType) != *want {
			continue
		}
		str(0, t.name, true)
		i32(1, ptr(int32(t.dataType)))
		i32(2, nonZero(t.columnSize))
		str(3, t.prefix, t.prefix != "")
		str(4, t.suffix, t.suffix != "")
		if lb := b.Field(5).(*array.ListBuilder); t.createParams == nil {
			lb.AppendNull()
		} else {
			lb.Append(true)
			for _, p := range t.createParams {
				lb.ValueBuilder().(*array.StringBuilder).Append(p)
			}
		}
		i32(6, ptr(int32(pb.Nullable_NULLABILITY_NULLABLE)))
		boolean(7, ptr(t.caseSensitive))
		i32(8, ptr(int32(t.searchable)))
		boolean(9, t.unsigned)
		boolean(10, ptr(t.fixedPrecScale))
		boolean(11, ptr(false))
		str(12, t.name, true)
		i32(13, t.minScale)
		i32(14, t.maxScale)
		i32(15, ptr(int32(t.sqlDataType)))
		i32(16, t.subcode)
		i32(17, nonZero(t.radix))
		b.Field(18).AppendNull()
	}
	rec := b.NewRecordBatch()
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: trackBatch(ctx, rec)}
	close(ch)
	return schema_ref.XdbcTypeInfo, ch, nil
}
