package main

// Per-column cell appenders for `lakeflight query --format csv|json`. A result
// arrives as batches of tens of thousands of rows, so the writers choose one
// appender per column per batch (one type switch) and call it for each cell.
// The common types append their text straight into the output buffer, with
// no string in between; every other type goes through cellText or
// appendJSONValue, which define the output, and the fast paths are tested to
// print the same bytes as those.

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// cellAppender appends the text of row i of one column to b.
type cellAppender func(b []byte, i int) []byte

// textFormat is the output a cellAppender writes for.
type textFormat uint8

const (
	csvText  textFormat = iota // RFC 4180 fields, NULL empty
	jsonText                   // JSON values, NULL as null
)

// newCellAppender returns the appender for arr, which stays valid as long as
// arr does. shared says whether goroutines may call it at once: the general
// path may not, since arrow-go builds some child arrays (a dictionary's
// values) on first use without a lock.
func newCellAppender(arr arrow.Array, f textFormat) (cell cellAppender, shared bool) {
	fast := fastCellAppender(arr, f)
	if fast == nil {
		return generalCellAppender(arr, f), false
	}
	if arr.NullN() == 0 {
		return fast, true
	}
	null := "null"
	if f == csvText {
		null = ""
	}
	return func(b []byte, i int) []byte {
		if arr.IsNull(i) {
			return append(b, null...)
		}
		return fast(b, i)
	}, true
}

// generalCellAppender handles every type through the reference formatting.
func generalCellAppender(arr arrow.Array, f textFormat) cellAppender {
	if f == jsonText {
		return func(b []byte, i int) []byte { return appendJSONValue(b, arr, i) }
	}
	return func(b []byte, i int) []byte {
		if arr.IsNull(i) {
			return b
		}
		return appendCSVField(b, cellText(arr, i), true)
	}
}

// fastCellAppender returns an appender for the non-null cells of the types
// with a direct path, or nil. Apart from strings, the text of these types
// never holds a character CSV must quote or JSON must escape, so CSV takes it
// as it is and JSON only adds the quotes of the string kinds.
func fastCellAppender(arr arrow.Array, f textFormat) cellAppender {
	quote := f == jsonText
	switch a := arr.(type) {
	case *array.Int8:
		return intCells(a.Int8Values())
	case *array.Int16:
		return intCells(a.Int16Values())
	case *array.Int32:
		return intCells(a.Int32Values())
	case *array.Int64:
		return intCells(a.Int64Values())
	case *array.Uint8:
		return uintCells(a.Uint8Values())
	case *array.Uint16:
		return uintCells(a.Uint16Values())
	case *array.Uint32:
		return uintCells(a.Uint32Values())
	case *array.Uint64:
		return uintCells(a.Uint64Values())
	case *array.Float32:
		vals := a.Float32Values()
		return func(b []byte, i int) []byte { return appendFloatText(b, float64(vals[i]), 32, quote) }
	case *array.Float64:
		vals := a.Float64Values()
		return func(b []byte, i int) []byte { return appendFloatText(b, vals[i], 64, quote) }
	case *array.Boolean:
		return func(b []byte, i int) []byte { return strconv.AppendBool(b, a.Value(i)) }
	case *array.String:
		return stringCells(a.Value, f)
	case *array.LargeString:
		return stringCells(a.Value, f)
	case *array.StringView:
		return stringCells(a.Value, f)
	case *array.Date32:
		vals := a.Date32Values()
		return quoted(quote, func(b []byte, i int) []byte { return appendDate32(b, vals[i]) })
	case *array.Date64:
		vals := a.Date64Values()
		return quoted(quote, func(b []byte, i int) []byte { return vals[i].ToTime().AppendFormat(b, time.DateOnly) })
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		vals := a.Time32Values()
		return quoted(quote, func(b []byte, i int) []byte { return vals[i].ToTime(unit).AppendFormat(b, timeOfDayLayout) })
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		vals := a.Time64Values()
		return quoted(quote, func(b []byte, i int) []byte { return vals[i].ToTime(unit).AppendFormat(b, timeOfDayLayout) })
	case *array.Timestamp:
		return quoted(quote, timestampCells(a))
	case *array.Decimal128:
		return decimal128Cells(a)
	}
	return nil
}

func intCells[T int8 | int16 | int32 | int64](vals []T) cellAppender {
	return func(b []byte, i int) []byte {
		v := int64(vals[i])
		if v < 0 {
			return appendDecimal(append(b, '-'), -uint64(v))
		}
		return appendDecimal(b, uint64(v))
	}
}

func uintCells[T uint8 | uint16 | uint32 | uint64](vals []T) cellAppender {
	return func(b []byte, i int) []byte { return appendDecimal(b, uint64(vals[i])) }
}

// digitPairs holds "00" to "99", for writing two digits at a time.
const digitPairs = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendDecimal appends u in decimal, as strconv.AppendUint does, but writes
// the digits in place instead of copying them from a scratch array, which
// is most of the cost for the short numbers of a typical column.
func appendDecimal(b []byte, u uint64) []byte {
	n := 1
	for p := uint64(10); n < 20 && u >= p; p *= 10 {
		n++
	}
	at := len(b)
	b = slices.Grow(b, n)[:at+n]
	i := at + n
	for u >= 100 {
		q := u / 100
		r := (u - q*100) * 2
		i -= 2
		b[i], b[i+1] = digitPairs[r], digitPairs[r+1]
		u = q
	}
	if u >= 10 {
		b[i-2], b[i-1] = digitPairs[2*u], digitPairs[2*u+1]
	} else {
		b[i-1] = byte('0' + u)
	}
	return b
}

func stringCells(value func(int) string, f textFormat) cellAppender {
	if f == jsonText {
		return func(b []byte, i int) []byte { return appendJSONString(b, value(i)) }
	}
	return func(b []byte, i int) []byte { return appendCSVField(b, value(i), true) }
}

// quoted wraps the text of cell in JSON quotes when quote is set.
func quoted(quote bool, cell cellAppender) cellAppender {
	if !quote {
		return cell
	}
	return func(b []byte, i int) []byte {
		b = append(b, '"')
		b = cell(b, i)
		return append(b, '"')
	}
}

// appendFloatText appends what formatFloat returns; quote puts NaN and the
// infinities, which JSON has no number for, in quotes.
func appendFloatText(b []byte, f float64, bits int, quote bool) []byte {
	// Below 2^53 (2^24 for a float32) every integer is exact and at most
	// one unit from its neighbours, so the shortest digits that round-trip
	// a whole number are its own: print it as an integer. Zero, for -0, is
	// left to strconv.
	exact := float64(1 << 53)
	if bits == 32 {
		exact = 1 << 24
	}
	if f != 0 && f > -exact && f < exact && f == math.Trunc(f) {
		if f < 0 {
			return appendDecimal(append(b, '-'), uint64(-f))
		}
		return appendDecimal(b, uint64(f))
	}
	var special string
	switch {
	case math.IsNaN(f):
		special = "NaN"
	case math.IsInf(f, 1):
		special = "Infinity"
	case math.IsInf(f, -1):
		special = "-Infinity"
	default:
		if abs := math.Abs(f); abs == 0 || (abs >= 1e-5 && abs < 1e16) {
			return strconv.AppendFloat(b, f, 'f', -1, bits)
		}
		return strconv.AppendFloat(b, f, 'g', -1, bits)
	}
	if quote {
		return append(append(append(b, '"'), special...), '"')
	}
	return append(b, special...)
}

// appendDate32 appends the date as YYYY-MM-DD, the civil date of a day count
// computed directly (days from civil, inverted: Howard Hinnant's
// "chrono-Compatible Low-Level Date Algorithms"), in unsigned 32-bit
// arithmetic for 0000-03-01 to 9999-12-31. Other dates take the time
// package's layout, which Date32.ToTime defines.
func appendDate32(b []byte, d arrow.Date32) []byte {
	const marchFirst0 = -719468 // 0000-03-01 as days from 1970-01-01
	const lastDay = 2932896     // 9999-12-31
	if d < marchFirst0 || d > lastDay {
		return d.ToTime().AppendFormat(b, time.DateOnly)
	}
	z := uint32(int32(d) - marchFirst0)
	era := z / 146097
	doe := z - era*146097                                  // day of the 400-year era
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of the era
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the year from March 1
	mp := (5*doy + 2) / 153                                // month from March = 0
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	year := yoe + era*400
	if mp >= 10 {
		month = mp - 9
		year++
	}
	hi, lo := year/100*2, year%100*2
	return append(b,
		digitPairs[hi], digitPairs[hi+1], digitPairs[lo], digitPairs[lo+1], '-',
		digitPairs[month*2], digitPairs[month*2+1], '-',
		digitPairs[day*2], digitPairs[day*2+1])
}

// timeOfDayLayout is how TIME values print: fractions without trailing zeros.
const timeOfDayLayout = "15:04:05.999999999"

// timestampCells appends what formatTimestamp returns, resolving the column's
// time zone once instead of per cell.
func timestampCells(a *array.Timestamp) cellAppender {
	dt := a.DataType().(*arrow.TimestampType)
	vals := a.TimestampValues()
	unit := dt.Unit
	if dt.TimeZone == "" {
		return func(b []byte, i int) []byte {
			return vals[i].ToTime(unit).AppendFormat(b, "2006-01-02T15:04:05.999999999")
		}
	}
	toTime, err := dt.GetToTimeFunc()
	if err != nil {
		return func(b []byte, i int) []byte { return vals[i].ToTime(unit).AppendFormat(b, time.RFC3339Nano) }
	}
	return func(b []byte, i int) []byte { return toTime(vals[i]).AppendFormat(b, time.RFC3339Nano) }
}

// decimal128Cells appends what Num.ToString returns. Values that fit an
// int64 (every DECIMAL up to 18 digits) are printed here; larger ones and
// scales ToString refuses go to ToString.
func decimal128Cells(a *array.Decimal128) cellAppender {
	scale := a.DataType().(*arrow.Decimal128Type).Scale
	return func(b []byte, i int) []byte {
		v := a.Value(i)
		hi, lo := v.HighBits(), v.LowBits()
		small := (hi == 0 && lo < 1<<63) || (hi == -1 && lo >= 1<<63)
		if !small || scale < -decimal128.MaxScale || scale > decimal128.MaxScale {
			return append(b, v.ToString(scale)...)
		}
		return appendScaledInt(b, int64(lo), scale)
	}
}

// appendScaledInt appends n × 10^-scale with exactly max(scale, 0) decimals,
// as decimal128's ToString does.
func appendScaledInt(b []byte, n int64, scale int32) []byte {
	mag := uint64(n)
	if n < 0 {
		b = append(b, '-')
		mag = -mag
	}
	if scale <= 0 {
		b = strconv.AppendUint(b, mag, 10)
		if mag != 0 {
			for range -scale {
				b = append(b, '0')
			}
		}
		return b
	}
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], mag, 10)
	places := int(scale)
	if len(d) <= places {
		b = append(b, '0', '.')
		for range places - len(d) {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	at := len(d) - places
	b = append(b, d[:at]...)
	b = append(b, '.')
	return append(b, d[at:]...)
}
