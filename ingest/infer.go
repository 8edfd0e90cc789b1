package ingest

// Type inference for text fields: every sampled value narrows the set of
// types its column could have; the column takes the first type left, in
// the order bool, int64, decimal128 (when asked), float64, date32,
// timestamp[us], timestamp[us, tz=UTC], and utf8 when none is.

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// typeSet holds candidate types as bits.
type typeSet uint8

const (
	canBool typeSet = 1 << iota
	canInt
	canDecimal
	canFloat
	canDate
	canTimestamp   // no zone
	canTimestampTZ // with a zone; zoneless values read as UTC
)

const maxDecimalPrecision = 38

// inferredTimestamp and inferredTimestampTZ are the timestamp types
// inference chooses.
var (
	inferredTimestamp   = &arrow.TimestampType{Unit: arrow.Microsecond}
	inferredTimestampTZ = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// typesOf returns the types the text b could be read as, with its decimal
// digit counts.
func typesOf(b []byte) (set typeSet, intDigits, fracDigits int) {
	if len(b) == 0 {
		return 0, 0, 0
	}
	if _, ok := convertBool(b); ok {
		return canBool, 0, 0
	}
	c := b[0]
	if c == '-' || c == '+' || c == '.' || c-'0' <= 9 || c|0x20 == 'i' || c|0x20 == 'n' {
		if leadingZero(b) {
			return 0, 0, 0 // 007, 01234: identifiers, kept as text
		}
		if _, ok := convertInt(b, 64); ok {
			set |= canInt
		}
		if floatSyntax(b) {
			set |= canFloat
			if i, f, ok := decimalShape(b); ok {
				set |= canDecimal
				intDigits, fracDigits = i, f
			}
		}
		if set != 0 {
			return set, intDigits, fracDigits
		}
	}
	if len(b) >= 10 && b[4] == '-' {
		if _, shape, ok := convertTimestamp(b, arrow.Microsecond); ok {
			switch shape {
			case tsDateOnly:
				return canDate | canTimestamp | canTimestampTZ, 0, 0
			case tsNaive:
				return canTimestamp | canTimestampTZ, 0, 0
			default:
				return canTimestampTZ, 0, 0
			}
		}
	}
	return 0, 0, 0
}

// leadingZero reports a number written with a superfluous leading zero.
func leadingZero(b []byte) bool {
	if b[0] == '-' || b[0] == '+' {
		b = b[1:]
	}
	return len(b) > 1 && b[0] == '0' && b[1]-'0' <= 9
}

// columnGuess accumulates what the sampled values of one column allow.
type columnGuess struct {
	set        typeSet
	seen       bool // a non-null value was sampled
	intDigits  int
	fracDigits int
	values     int // non-null values sampled
	textBytes  int // their total length
}

func newColumnGuess() columnGuess { return columnGuess{set: ^typeSet(0)} }

// add narrows the guess by one non-null value.
func (g *columnGuess) add(b []byte) {
	g.values++
	g.textBytes += len(b)
	if g.set == 0 {
		g.seen = true
		return
	}
	set, i, f := typesOf(b)
	g.set &= set
	g.seen = true
	g.intDigits = max(g.intDigits, i)
	g.fracDigits = max(g.fracDigits, f)
	if g.intDigits+g.fracDigits > maxDecimalPrecision {
		g.set &^= canDecimal
	}
}

// dataType is the guess's column type.
func (g *columnGuess) dataType(inferDecimal bool) arrow.DataType {
	if !g.seen {
		return arrow.BinaryTypes.String
	}
	switch s := g.set; {
	case s&canBool != 0:
		return arrow.FixedWidthTypes.Boolean
	case s&canInt != 0:
		return arrow.PrimitiveTypes.Int64
	case inferDecimal && s&canDecimal != 0:
		return &arrow.Decimal128Type{Precision: int32(max(1, g.intDigits+g.fracDigits)), Scale: int32(g.fracDigits)}
	case s&canFloat != 0:
		return arrow.PrimitiveTypes.Float64
	case s&canDate != 0:
		return arrow.FixedWidthTypes.Date32
	case s&canTimestamp != 0:
		return inferredTimestamp
	case s&canTimestampTZ != 0:
		return inferredTimestampTZ
	}
	return arrow.BinaryTypes.String
}

// fits reports whether the text b could be a value of the inferred type t.
func fits(b []byte, t arrow.DataType) bool {
	if t.ID() == arrow.STRING {
		return true
	}
	g := newColumnGuess()
	g.add(b)
	var want typeSet
	switch t.ID() {
	case arrow.BOOL:
		want = canBool
	case arrow.INT64:
		want = canInt
	case arrow.DECIMAL128:
		want = canDecimal
	case arrow.FLOAT64:
		want = canFloat
	case arrow.DATE32:
		want = canDate
	case arrow.TIMESTAMP:
		want = canTimestamp | canTimestampTZ
	default:
		return true
	}
	return g.set&want != 0
}
