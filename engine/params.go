//go:build duckdb_arrow

package engine

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// bindRow binds row r of params (column i → parameter i+1) to ps.
func bindRow(ps bindings.PreparedStatement, params arrow.RecordBatch, r int) error {
	for i := 0; i < int(params.NumCols()); i++ {
		idx := bindings.IdxT(i + 1)
		if err := bindValue(ps, idx, params.Column(i), r); err != nil {
			return newError(ErrInvalidSQL, fmt.Sprintf("binding parameter %d (%s): %v",
				i+1, params.Schema().Field(i).Name, err))
		}
	}
	return nil
}

func bindValue(ps bindings.PreparedStatement, idx bindings.IdxT, col arrow.Array, r int) error {
	if col.IsNull(r) {
		return state(bindings.BindNull(ps, idx))
	}
	switch a := col.(type) {
	case *array.Boolean:
		return state(bindings.BindBoolean(ps, idx, a.Value(r)))
	case *array.Int8:
		return state(bindings.BindInt8(ps, idx, a.Value(r)))
	case *array.Int16:
		return state(bindings.BindInt16(ps, idx, a.Value(r)))
	case *array.Int32:
		return state(bindings.BindInt32(ps, idx, a.Value(r)))
	case *array.Int64:
		return state(bindings.BindInt64(ps, idx, a.Value(r)))
	case *array.Uint8:
		return state(bindings.BindUInt8(ps, idx, a.Value(r)))
	case *array.Uint16:
		return state(bindings.BindUInt16(ps, idx, a.Value(r)))
	case *array.Uint32:
		return state(bindings.BindUInt32(ps, idx, a.Value(r)))
	case *array.Uint64:
		return state(bindings.BindUInt64(ps, idx, a.Value(r)))
	case *array.Float32:
		return state(bindings.BindFloat(ps, idx, a.Value(r)))
	case *array.Float64:
		return state(bindings.BindDouble(ps, idx, a.Value(r)))
	case *array.String:
		return state(bindings.BindVarchar(ps, idx, a.Value(r)))
	case *array.LargeString:
		return state(bindings.BindVarchar(ps, idx, a.Value(r)))
	case *array.StringView:
		return state(bindings.BindVarchar(ps, idx, a.Value(r)))
	case *array.Binary:
		return state(bindings.BindBlob(ps, idx, a.Value(r)))
	case *array.LargeBinary:
		return state(bindings.BindBlob(ps, idx, a.Value(r)))
	case *array.Date32:
		return state(bindings.BindDate(ps, idx, bindings.NewDate(int32(a.Value(r)))))
	case *array.Date64:
		return state(bindings.BindDate(ps, idx, bindings.NewDate(int32(int64(a.Value(r))/86_400_000))))
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		us := int64(a.Value(r))
		if unit == arrow.Nanosecond {
			us /= 1000
		}
		return state(bindings.BindTime(ps, idx, bindings.NewTime(us)))
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		us := int64(a.Value(r)) * 1000
		if unit == arrow.Second {
			us *= 1000
		}
		return state(bindings.BindTime(ps, idx, bindings.NewTime(us)))
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		us := toMicros(int64(a.Value(r)), tt.Unit)
		if tt.TimeZone != "" {
			return state(bindings.BindTimestampTZ(ps, idx, bindings.NewTimestamp(us)))
		}
		return state(bindings.BindTimestamp(ps, idx, bindings.NewTimestamp(us)))
	case *array.Duration:
		d := time.Duration(toMicros(int64(a.Value(r)), a.DataType().(*arrow.DurationType).Unit)) * time.Microsecond
		return state(bindings.BindInterval(ps, idx, bindings.NewInterval(0, 0, d.Microseconds())))
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		v := a.Value(r)
		hi := bindings.NewHugeInt(v.LowBits(), v.HighBits())
		if dt.Precision > 38 {
			return fmt.Errorf("decimal precision %d > 38", dt.Precision)
		}
		return state(bindings.BindDecimal(ps, idx, bindings.NewDecimal(uint8(dt.Precision), uint8(dt.Scale), hi)))
	case *array.Null:
		return state(bindings.BindNull(ps, idx))
	}
	return fmt.Errorf("arrow type %s is not supported as a parameter", col.DataType())
}

func toMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return v / 1000
	}
	return v
}

func state(s bindings.State) error {
	if s == bindings.StateError {
		return fmt.Errorf("duckdb refused the value")
	}
	return nil
}
