package ingest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// TypeNames lists the type names ParseType reads, for help texts.
const TypeNames = "bool, int32, int64, float32, float64, string, date, timestamp, timestamptz, decimal(p,s)"

// ParseType reads a column type as users write it (`--column-type
// price=decimal(12,2)`): bool, int32, int64, float32, float64, string,
// date, timestamp (no time zone), timestamptz (UTC) or decimal(p,s), and a
// few SQL spellings of those (integer, bigint, double, varchar, …).
func ParseType(s string) (arrow.DataType, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	switch t {
	case "bool", "boolean":
		return arrow.FixedWidthTypes.Boolean, nil
	case "int32", "int", "integer":
		return arrow.PrimitiveTypes.Int32, nil
	case "int64", "bigint", "long":
		return arrow.PrimitiveTypes.Int64, nil
	case "float32", "float", "real":
		return arrow.PrimitiveTypes.Float32, nil
	case "float64", "double":
		return arrow.PrimitiveTypes.Float64, nil
	case "string", "utf8", "text", "varchar":
		return arrow.BinaryTypes.String, nil
	case "date", "date32":
		return arrow.FixedWidthTypes.Date32, nil
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	case "timestamptz":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	}
	if args, ok := strings.CutPrefix(t, "decimal("); ok && strings.HasSuffix(args, ")") {
		ps := strings.Split(strings.TrimSuffix(args, ")"), ",")
		if len(ps) == 2 {
			p, perr := strconv.Atoi(ps[0])
			sc, serr := strconv.Atoi(ps[1])
			if perr == nil && serr == nil && p >= 1 && p <= 38 && sc >= 0 && sc <= p {
				return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(sc)}, nil
			}
		}
		return nil, fmt.Errorf("%w: type %q: want decimal(p,s) with 1 <= p <= 38 and 0 <= s <= p", ErrOptions, s)
	}
	return nil, fmt.Errorf("%w: unknown column type %q (want one of %s)", ErrOptions, s, TypeNames)
}

// ParseColumnTypes reads column type overrides written `name=type` or
// `name:type` (the type is after the last '=' or ':', so a column name may
// contain either).
func ParseColumnTypes(specs []string) (map[string]arrow.DataType, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := make(map[string]arrow.DataType, len(specs))
	for _, spec := range specs {
		i := strings.LastIndexAny(spec, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("%w: column type %q: want name=type", ErrOptions, spec)
		}
		name := spec[:i]
		dt, err := ParseType(spec[i+1:])
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", name, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: column %q is given a type twice", ErrOptions, name)
		}
		out[name] = dt
	}
	return out, nil
}

// ColumnTypesOf maps each column of sc to its type, the metadata columns
// aside: ColumnTypes that make a later input of one ingest parse like the
// first.
func ColumnTypesOf(sc *arrow.Schema) map[string]arrow.DataType {
	meta := map[string]bool{}
	for _, m := range MetadataFields() {
		meta[m.Name] = true
	}
	types := make(map[string]arrow.DataType, sc.NumFields())
	for _, f := range sc.Fields() {
		if !meta[f.Name] {
			types[f.Name] = f.Type
		}
	}
	return types
}
