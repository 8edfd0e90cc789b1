package ingest

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeflight/lakeflight/catalog"
)

// icebergType maps an incoming Arrow type to the nearest type an Iceberg v2
// table stores: narrow integers widen to int32, uint32 to int64, every
// timestamp becomes microseconds (Iceberg v2 has no other unit), large and
// view strings become plain strings, dictionaries their values. Nested
// types are mapped field by field. Types with no Iceberg counterpart are an
// error naming the column.
func icebergType(name string, dt arrow.DataType) (arrow.DataType, error) {
	switch t := dt.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Uint8Type, *arrow.Uint16Type:
		return arrow.PrimitiveTypes.Int32, nil
	case *arrow.Uint32Type, *arrow.Uint64Type:
		return arrow.PrimitiveTypes.Int64, nil
	case *arrow.Float16Type:
		return arrow.PrimitiveTypes.Float32, nil
	case *arrow.LargeStringType, *arrow.StringViewType, *arrow.NullType:
		return arrow.BinaryTypes.String, nil
	case *arrow.LargeBinaryType, *arrow.BinaryViewType:
		return arrow.BinaryTypes.Binary, nil
	case *arrow.Date64Type:
		return arrow.FixedWidthTypes.Date32, nil
	case *arrow.Time32Type:
		return arrow.FixedWidthTypes.Time64us, nil
	case *arrow.Time64Type:
		return arrow.FixedWidthTypes.Time64us, nil
	case *arrow.TimestampType:
		tz := ""
		if t.TimeZone != "" {
			tz = "UTC"
		}
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: tz}, nil
	case *arrow.DictionaryType:
		return icebergType(name, t.ValueType)
	case *arrow.LargeListType:
		elem, err := icebergType(name+".element", t.Elem())
		if err != nil {
			return nil, err
		}
		return arrow.ListOfField(arrow.Field{Name: "element", Type: elem, Nullable: true}), nil
	case *arrow.ListType:
		elem, err := icebergType(name+".element", t.Elem())
		if err != nil {
			return nil, err
		}
		return arrow.ListOfField(arrow.Field{Name: "element", Type: elem, Nullable: true}), nil
	case *arrow.StructType:
		fields := make([]arrow.Field, t.NumFields())
		for i, f := range t.Fields() {
			ft, err := icebergType(name+"."+f.Name, f.Type)
			if err != nil {
				return nil, err
			}
			fields[i] = arrow.Field{Name: f.Name, Type: ft, Nullable: true}
		}
		return arrow.StructOf(fields...), nil
	case *arrow.MapType:
		k, err := icebergType(name+".key", t.KeyType())
		if err != nil {
			return nil, err
		}
		v, err := icebergType(name+".value", t.ItemType())
		if err != nil {
			return nil, err
		}
		return arrow.MapOf(k, v), nil
	case *arrow.BooleanType, *arrow.Int32Type, *arrow.Int64Type, *arrow.Float32Type, *arrow.Float64Type,
		*arrow.StringType, *arrow.BinaryType, *arrow.Date32Type, *arrow.Decimal128Type, *arrow.FixedSizeBinaryType:
		return dt, nil
	case *arrow.Decimal32Type, *arrow.Decimal64Type:
		p, s := t.(arrow.DecimalType).GetPrecision(), t.(arrow.DecimalType).GetScale()
		return &arrow.Decimal128Type{Precision: p, Scale: s}, nil
	}
	return nil, fmt.Errorf("%w: column %q has type %s, which an Iceberg table cannot store", ErrSchema, name, dt)
}

// icebergSchema maps every field with icebergType; all fields become
// nullable (bronze tables never refuse a row for a missing value).
func icebergSchema(sc *arrow.Schema) (*arrow.Schema, error) {
	if n := sc.NumFields(); n > catalog.MaxColumns {
		return nil, fmt.Errorf("%w: the input has %d columns; a table has at most %d", ErrMalformed, n, catalog.MaxColumns)
	}
	if err := checkNames(sc); err != nil {
		return nil, err
	}
	if err := checkNesting(sc); err != nil {
		return nil, err
	}
	fields := make([]arrow.Field, sc.NumFields())
	seen := make(map[string]bool, len(fields))
	for i, f := range sc.Fields() {
		if f.Name == "" {
			return nil, fmt.Errorf("%w: column %d has no name", ErrSchema, i+1)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: column %q appears twice", ErrSchema, f.Name)
		}
		seen[f.Name] = true
		t, err := icebergType(f.Name, f.Type)
		if err != nil {
			return nil, err
		}
		fields[i] = arrow.Field{Name: f.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// Nesting limits: the catalog's, kept at every door.
const (
	MaxListDepth = catalog.MaxListDepth
	MaxNesting   = catalog.MaxNesting
)

// checkNesting refuses a schema with a column nested deeper than the
// limits.
func checkNesting(sc *arrow.Schema) error {
	for _, f := range sc.Fields() {
		lists, depth := nesting(f.Type)
		if p := catalog.NestingProblem(f.Name, lists, depth); p != "" {
			return fmt.Errorf("%w: %s", ErrMalformed, p)
		}
	}
	return nil
}

// nesting is the deepest run of lists in t and the depth of t.
func nesting(t arrow.DataType) (lists, depth int) { return catalog.Nesting(t) }
