package ingest

// Text-to-value converters shared by the text formats: each parses one
// field's bytes without allocating and reports whether the text is valid.
// They are strict (no surrounding spaces, no thousands separators) so that
// inference and conversion agree.

import (
	"math"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// bytesAsString views b as a string without copying; the string must not
// outlive b's contents.
func bytesAsString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// convertBool reads true or false in any letter case.
func convertBool(b []byte) (v, ok bool) {
	switch len(b) {
	case 4:
		return true, b[0]|0x20 == 't' && b[1]|0x20 == 'r' && b[2]|0x20 == 'u' && b[3]|0x20 == 'e'
	case 5:
		return false, b[0]|0x20 == 'f' && b[1]|0x20 == 'a' && b[2]|0x20 == 'l' && b[3]|0x20 == 's' && b[4]|0x20 == 'e'
	}
	return false, false
}

// convertInt reads a base-10 integer with an optional sign that fits in
// bits bits.
func convertInt(b []byte, bits int) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	i := 0
	switch b[0] {
	case '-':
		neg = true
		i = 1
	case '+':
		i = 1
	}
	if i == len(b) {
		return 0, false
	}
	var u uint64
	if len(b)-i <= 18 { // cannot overflow uint64
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 {
				return 0, false
			}
			u = u*10 + uint64(d)
		}
	} else {
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 || u > (math.MaxUint64-9)/10 {
				return 0, false
			}
			u = u*10 + uint64(d)
		}
	}
	limit := uint64(1) << (bits - 1) // |min|; max is limit-1
	if neg {
		if u > limit {
			return 0, false
		}
		return -int64(u-1) - 1, true
	}
	if u >= limit {
		return 0, false
	}
	return int64(u), true
}

// convertFloat reads a decimal floating-point number (digits, optional
// fraction and exponent) or inf, infinity or nan.
func convertFloat(b []byte, bits int) (float64, bool) {
	if bits == 64 {
		if f, ok := fastFloat(b); ok {
			return f, true
		}
	}
	if !floatSyntax(b) {
		return 0, false
	}
	f, err := strconv.ParseFloat(bytesAsString(b), bits)
	return f, err == nil
}

// floatSyntax reports whether b is [+-](digits[.digits]|.digits)[e[+-]digits]
// or [+-]inf, infinity or nan. strconv alone would also take hex floats and
// underscores.
func floatSyntax(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if rest := b[i:]; len(rest) > 0 && rest[0]|0x20 >= 'a' {
		return len(rest) >= 3 && (eqFold(rest, "inf") || eqFold(rest, "infinity") || eqFold(rest, "nan"))
	}
	digits := 0
	for i < len(b) && b[i]-'0' <= 9 {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i]-'0' <= 9 {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i]-'0' <= 9 {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}

// eqFold compares b to the lower-case ASCII word w ignoring case.
func eqFold(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

// decimalShape reads a plain decimal number [+-]digits[.digits] and returns
// its count of significant integer digits and of fraction digits.
func decimalShape(b []byte) (intDigits, fracDigits int, ok bool) {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	start := i
	lead := true
	for i < len(b) && b[i]-'0' <= 9 {
		if lead && b[i] == '0' {
			i++
			continue
		}
		lead = false
		intDigits++
		i++
	}
	seen := i > start
	if i < len(b) && b[i] == '.' {
		i++
		f := i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		fracDigits = i - f
		seen = seen || fracDigits > 0
	}
	return intDigits, fracDigits, seen && i == len(b)
}

// convertDecimal reads a plain decimal number into a decimal128 of the
// given precision and scale. More fraction digits than scale, or more
// integer digits than precision-scale, fail rather than round.
func convertDecimal(b []byte, prec, scale int32) (decimal128.Num, bool) {
	intDigits, fracDigits, ok := decimalShape(b)
	if !ok || int32(fracDigits) > scale || int32(intDigits) > prec-scale {
		return decimal128.Num{}, false
	}
	neg := b[0] == '-'
	var n decimal128.Num
	var u uint64
	ud := 0 // digits accumulated in u
	flush := func() {
		n = n.Mul(decimal128.FromU64(pow10u64[ud])).Add(decimal128.FromU64(u))
		u, ud = 0, 0
	}
	for _, c := range b {
		if d := c - '0'; d <= 9 {
			u = u*10 + uint64(d)
			ud++
			if ud == 19 {
				flush()
			}
		}
	}
	for pad := scale - int32(fracDigits); pad > 0; pad-- {
		u *= 10
		ud++
		if ud == 19 {
			flush()
		}
	}
	if ud > 0 || n == (decimal128.Num{}) {
		flush()
	}
	if neg {
		n = n.Negate()
	}
	return n, true
}

var pow10u64 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// convertDate reads YYYY-MM-DD as days since 1970-01-01.
func convertDate(b []byte) (int32, bool) {
	if len(b) != 10 {
		return 0, false
	}
	days, ok := civilDate(b)
	return int32(days), ok
}

// civilDate reads the YYYY-MM-DD at the start of b (len(b) >= 10).
func civilDate(b []byte) (int64, bool) {
	if b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y, ok1 := digits4(b[0:4])
	m, ok2 := digits2(b[5:7])
	d, ok3 := digits2(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// digits2 and digits4 read fixed-width unsigned decimal fields, without a
// loop: they are on the path of every date and timestamp.
func digits2(b []byte) (int, bool) {
	_ = b[1]
	d0, d1 := b[0]-'0', b[1]-'0'
	return int(d0)*10 + int(d1), max(d0, d1) <= 9
}

// digits reads a fixed-width unsigned decimal field.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int(d)
	}
	return n, true
}

func digits4(b []byte) (int, bool) {
	_ = b[3]
	d0, d1, d2, d3 := b[0]-'0', b[1]-'0', b[2]-'0', b[3]-'0'
	return int(d0)*1000 + int(d1)*100 + int(d2)*10 + int(d3), max(d0, d1, d2, d3) <= 9
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// timestampShape says what a timestamp text held.
type timestampShape uint8

const (
	tsDateOnly timestampShape = iota // YYYY-MM-DD
	tsNaive                          // date and time, no zone
	tsZoned                          // date and time with Z or an offset
)

var unitsPerSecond = [...]int64{arrow.Second: 1, arrow.Millisecond: 1e3, arrow.Microsecond: 1e6, arrow.Nanosecond: 1e9}

// convertTimestamp reads YYYY-MM-DD[( |T|t)HH:MM:SS[.fraction][Z|±HH[:MM]]]
// as a count of unit since the epoch (UTC when a zone is given; fraction
// digits finer than unit are cut off).
func convertTimestamp(b []byte, unit arrow.TimeUnit) (int64, timestampShape, bool) {
	if len(b) < 10 {
		return 0, 0, false
	}
	days, ok := civilDate(b)
	if !ok {
		return 0, 0, false
	}
	secs := days * 86400
	shape := tsDateOnly
	var frac int64 // in unit
	if len(b) > 10 {
		if len(b) < 19 || (b[10] != ' ' && b[10]|0x20 != 't') || b[13] != ':' || b[16] != ':' {
			return 0, 0, false
		}
		hh, ok1 := digits2(b[11:13])
		mm, ok2 := digits2(b[14:16])
		ss, ok3 := digits2(b[17:19])
		if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
			return 0, 0, false
		}
		secs += int64(hh*3600 + mm*60 + ss)
		shape = tsNaive
		i := 19
		if i < len(b) && b[i] == '.' {
			i++
			start := i
			per := unitsPerSecond[unit]
			var ns int64 // the first nine digits
			for i < len(b) && b[i]-'0' <= 9 {
				if i-start < 9 {
					ns = ns*10 + int64(b[i]-'0')
				}
				i++
			}
			if i == start {
				return 0, 0, false
			}
			frac = ns * int64(pow10u64[max(0, 9-(i-start))])
			frac /= 1e9 / per
		}
		if i < len(b) {
			off, ok := zoneOffset(b[i:])
			if !ok {
				return 0, 0, false
			}
			secs -= off
			shape = tsZoned
		}
	}
	per := unitsPerSecond[unit]
	if secs > math.MaxInt64/per || secs < math.MinInt64/per {
		return 0, 0, false
	}
	v := secs*per + frac
	if (v < 0) != (secs < 0) && secs != 0 {
		return 0, 0, false
	}
	return v, shape, true
}

// zoneOffset reads Z, ±HH, ±HHMM or ±HH:MM as seconds east of UTC.
func zoneOffset(b []byte) (int64, bool) {
	if len(b) == 1 && b[0]|0x20 == 'z' {
		return 0, true
	}
	if len(b) < 3 || (b[0] != '+' && b[0] != '-') {
		return 0, false
	}
	hh, ok := digits(b[1:3])
	if !ok || hh > 23 {
		return 0, false
	}
	mm := 0
	switch rest := b[3:]; len(rest) {
	case 0:
	case 2:
		mm, ok = digits(rest)
	case 3:
		ok = rest[0] == ':'
		if ok {
			mm, ok = digits(rest[1:])
		}
	default:
		ok = false
	}
	if !ok || mm > 59 {
		return 0, false
	}
	off := int64(hh*3600 + mm*60)
	if b[0] == '-' {
		off = -off
	}
	return off, true
}
