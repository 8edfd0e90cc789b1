package ingest

import (
	"bytes"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
)

// textKind groups the Arrow types a text field converts to by how it is
// read.
type textKind uint8

const (
	textString textKind = iota // utf8, large_utf8, binary, large_binary
	textBool
	textInt   // int8..int64
	textFloat // float32, float64
	textDecimal
	textDate
	textTimestamp
)

// textColumn is one output column of a text format: its name and type and
// how its fields convert.
type textColumn struct {
	name string
	typ  arrow.DataType
	kind textKind
	// utf8: a text column (utf8, large_utf8) whose values must be valid
	// UTF-8; binary columns take any bytes.
	utf8  bool
	bits  int // textInt, textFloat
	unit  arrow.TimeUnit
	zoned bool // a timestamp with a time zone: offsets are converted to UTC
	// required: the field is not nullable, so a null makes the row bad.
	required bool
	prec     int32
	scale    int32
	// textBytes is the average text length sampled, to size string data.
	textBytes int
}

func newTextColumn(name string, t arrow.DataType) (textColumn, error) {
	c := textColumn{name: name, typ: t}
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		c.kind, c.utf8 = textString, true
	case arrow.BINARY, arrow.LARGE_BINARY:
		c.kind = textString
	case arrow.BOOL:
		c.kind = textBool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		c.kind, c.bits = textInt, t.(arrow.FixedWidthDataType).BitWidth()
	case arrow.FLOAT32, arrow.FLOAT64:
		c.kind, c.bits = textFloat, t.(arrow.FixedWidthDataType).BitWidth()
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		c.kind, c.prec, c.scale = textDecimal, d.Precision, d.Scale
	case arrow.DATE32:
		c.kind = textDate
	case arrow.TIMESTAMP:
		ts := t.(*arrow.TimestampType)
		c.kind, c.unit, c.zoned = textTimestamp, ts.Unit, ts.TimeZone != ""
	default:
		return c, fmt.Errorf("%w: column %q: type %s is not supported for text input", ErrOptions, name, t)
	}
	return c, nil
}

// convert reads a non-null text as the column's type; lo and hi hold the
// value's bits (hi only for decimals).
func (c *textColumn) convert(b []byte) (lo, hi uint64, ok bool) {
	switch c.kind {
	case textBool:
		v, ok := convertBool(b)
		if v {
			lo = 1
		}
		return lo, 0, ok
	case textInt:
		v, ok := convertInt(b, c.bits)
		return uint64(v), 0, ok
	case textFloat:
		v, ok := convertFloat(b, c.bits)
		return math.Float64bits(v), 0, ok
	case textDecimal:
		v, ok := convertDecimal(b, c.prec, c.scale)
		return v.LowBits(), uint64(v.HighBits()), ok
	case textDate:
		v, ok := convertDate(b)
		return uint64(int64(v)), 0, ok
	case textTimestamp:
		v, shape, ok := convertTimestamp(b, c.unit)
		return uint64(v), 0, ok && (c.zoned || shape != tsZoned)
	}
	return 0, 0, true
}

// nullSet holds the field texts read as NULL.
type nullSet struct {
	empty  bool
	tokens [][]byte // non-empty tokens
}

func newNullSet(tokens []string) nullSet {
	if tokens == nil {
		return nullSet{empty: true}
	}
	var n nullSet
	for _, t := range tokens {
		if t == "" {
			n.empty = true
		} else {
			n.tokens = append(n.tokens, []byte(t))
		}
	}
	return n
}

func (n *nullSet) is(b []byte) bool {
	if len(b) == 0 {
		return n.empty
	}
	for _, t := range n.tokens {
		if bytes.Equal(t, b) {
			return true
		}
	}
	return false
}

// isNull says whether a field is NULL in column c: a null token, unless it
// was quoted in a string column.
func (n *nullSet) isNull(c *textColumn, text []byte, quoted bool) bool {
	return (c.kind != textString || !quoted) && n.is(text)
}
