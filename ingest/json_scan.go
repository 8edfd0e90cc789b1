package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The JSON scanner: a cursor over one row's text (an NDJSON line or one
// element of a top-level array). It validates as it goes, as strictly as
// encoding/json, and never allocates on the good path: numbers are parsed
// from the bytes, strings are returned as sub-slices of the input unless
// they hold an escape or invalid UTF-8, in which case they are decoded into
// a destination buffer. A string value with invalid UTF-8 or a lone UTF-16
// surrogate escape (\udc80) is a bad value unless replaceUTF8 is set, in
// which case each invalid byte and lone surrogate becomes U+FFFD, as
// encoding/json does. Keys, and strings read as other types, are always
// decoded that way.

// jsonMaxDepth bounds the nesting of a row: the row object and, under it,
// no more levels than a column's type may have (MaxNesting). Deeper input
// is refused as it is parsed, so its cost stays linear.
const jsonMaxDepth = MaxNesting + 1

// reasonTooDeep is the syntax error of input nested deeper than that.
var reasonTooDeep = fmt.Sprintf("nested more than %d levels deep (a column keeps at most %d levels of types, %d of lists)",
	jsonMaxDepth, MaxNesting, MaxListDepth)

// jsonDec is the cursor. On failure the parse functions return false and
// leave the reason in err* fields.
type jsonDec struct {
	b     []byte
	i     int
	depth int

	// failure: a syntax error (errCol == nil) at errOff, or a value that
	// does not fit errCol.
	errOff    int
	errMsg    string
	errCol    *jsonCol
	errVal    []byte
	errReason string

	tmp []byte // scratch for decoded keys and strings

	// replaceUTF8: string values keep invalid UTF-8 as U+FFFD instead of
	// failing (Options.InvalidUTF8).
	replaceUTF8 bool

	ignored map[string]int64 // values of keys that are not columns, by path
}

// jsonString flags.
const (
	jsonStrEsc  = 1 // holds a backslash escape
	jsonStrHigh = 2 // holds bytes >= 0x80 that are not valid UTF-8
)

func (d *jsonDec) reset(b []byte) {
	d.b, d.i, d.depth = b, 0, 0
	d.errMsg, d.errCol, d.errVal, d.errReason = "", nil, nil, ""
}

func (d *jsonDec) syntax(off int, msg string) bool {
	if d.errMsg == "" && d.errCol == nil {
		d.errOff, d.errMsg = off, msg
	}
	return false
}

// ws skips JSON whitespace.
func (d *jsonDec) ws() {
	b, i := d.b, d.i
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
			continue
		}
		break
	}
	d.i = i
}

// eof reports a syntax error for a value cut short.
func (d *jsonDec) eof() bool { return d.syntax(len(d.b), "unexpected end of value") }

func (d *jsonDec) unexpected() bool {
	if d.i >= len(d.b) {
		return d.eof()
	}
	return d.syntax(d.i, "unexpected character "+strconv.QuoteRune(rune(d.b[d.i])))
}

// afterItem reads what follows an item of an object or array: a comma
// (more is true; the whitespace after it is skipped too) or close (more is
// false). Anything else, or the end of the input, is a syntax error (ok is
// false).
func (d *jsonDec) afterItem(close byte) (more, ok bool) {
	d.ws()
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case ',':
			d.i++
			d.ws()
			return true, true
		case close:
			d.i++
			return false, true
		}
	}
	return false, d.unexpected()
}

const (
	jsonLo = 0x0101010101010101
	jsonHi = 0x8080808080808080
)

// str scans the string starting at d.b[d.i] == '"' and returns the bounds
// of its content and jsonStr flags; d.i ends past the closing quote.
func (d *jsonDec) str() (start, end int, flags uint8, ok bool) {
	b := d.b
	i := d.i + 1
	start = i
	high := uint64(0)
	for {
		// 8 bytes at a time while none is special.
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q := x ^ (jsonLo * '"')
			s := x ^ (jsonLo * '\\')
			m := ((q - jsonLo) &^ q) | ((s - jsonLo) &^ s) | ((x - jsonLo*0x20) &^ x)
			m &= jsonHi
			if m == 0 {
				high |= x
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			high |= x & (1<<(8*uint(k)) - 1)
			i += k
			break
		}
		if i >= len(b) {
			return 0, 0, 0, d.syntax(len(b), "unterminated string")
		}
		c := b[i]
		switch {
		case c == '"':
			end = i
			d.i = i + 1
			if high&jsonHi != 0 && flags&jsonStrEsc == 0 && !utf8.Valid(b[start:end]) {
				flags |= jsonStrHigh
			}
			if flags&jsonStrEsc != 0 {
				// decoding checks UTF-8 as it goes
				flags |= jsonStrHigh
			}
			return start, end, flags, true
		case c == '\\':
			flags |= jsonStrEsc
			if i+1 >= len(b) {
				return 0, 0, 0, d.syntax(len(b), "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || jsonHex4(b[i+2:i+6]) < 0 {
					return 0, 0, 0, d.syntax(i, `invalid \u escape in string`)
				}
				i += 6
			default:
				return 0, 0, 0, d.syntax(i, "invalid escape "+strconv.Quote(string(b[i:i+2]))+" in string")
			}
		case c < 0x20:
			return 0, 0, 0, d.syntax(i, "control character "+strconv.QuoteRune(rune(c))+" in string")
		default:
			high |= uint64(c)
			i++
		}
	}
}

func jsonHex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// strAppend scans the string value of column col starting at d.b[d.i] ==
// '"' and appends its decoded content to dst in the same pass, 8 bytes at a
// time between escapes; d.i ends past the closing quote. It checks what str
// checks, in the same order, so errors are the same. Raw bytes >= 0x80 are
// checked once at the end; if they are not valid UTF-8, or an escape was a
// lone surrogate, the value is bad (a mismatch of col) or, with replaceUTF8,
// decoded again by jsonUnquote, which replaces them.
func (d *jsonDec) strAppend(dst []byte, col *jsonCol) ([]byte, bool) {
	b := d.b
	i := d.i + 1
	start, base := i, len(dst)
	high := uint64(0) // raw bytes copied, or-ed together
	lone := false     // an escape was a lone surrogate
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			n := len(dst)
			if cap(dst)-n < 8 {
				dst = slices.Grow(dst, 8)
			}
			// store the whole word; the length says how much of it counts
			binary.LittleEndian.PutUint64(dst[n:n+8], x)
			q := x ^ (jsonLo * '"')
			s := x ^ (jsonLo * '\\')
			m := ((q - jsonLo) &^ q) | ((s - jsonLo) &^ s) | ((x - jsonLo*0x20) &^ x)
			m &= jsonHi
			if m == 0 {
				high |= x
				dst = dst[:n+8]
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			high |= x & (1<<(8*uint(k)) - 1)
			dst = dst[:n+k]
			i += k
			break
		}
		if i >= len(b) {
			return dst, d.syntax(len(b), "unterminated string")
		}
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			if lone || (high&jsonHi != 0 && !utf8.Valid(dst[base:])) {
				if !d.replaceUTF8 {
					return dst, d.mismatch(col, b[start:i], reasonInvalidUTF8)
				}
				dst = jsonUnquote(dst[:base], b[start:i])
			}
			return dst, true
		case c == '\\':
			if i+1 >= len(b) {
				return dst, d.syntax(len(b), "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+6 > len(b) || jsonHex4(b[i+2:i+6]) < 0 {
					return dst, d.syntax(i, `invalid \u escape in string`)
				}
			default:
				return dst, d.syntax(i, "invalid escape "+strconv.Quote(string(b[i:i+2]))+" in string")
			}
			var l bool
			dst, i, l = jsonUnescape(dst, b, i)
			lone = lone || l
		case c < 0x20:
			return dst, d.syntax(i, "control character "+strconv.QuoteRune(rune(c))+" in string")
		default:
			high |= uint64(c)
			dst = append(dst, c)
			i++
		}
	}
}

// jsonUnescape appends the character of the validated escape at s[i] ==
// '\\' (two for a surrogate pair) and returns the index after it; lone
// reports a surrogate without its pair, appended as U+FFFD.
func jsonUnescape(dst, s []byte, i int) (out []byte, next int, lone bool) {
	switch s[i+1] {
	case 'b':
		dst = append(dst, '\b')
	case 'f':
		dst = append(dst, '\f')
	case 'n':
		dst = append(dst, '\n')
	case 'r':
		dst = append(dst, '\r')
	case 't':
		dst = append(dst, '\t')
	case 'u':
		r := jsonHex4(s[i+2:])
		i += 6
		if utf16.IsSurrogate(r) {
			if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if r2 := jsonHex4(s[i+2:]); r2 >= 0 {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						return utf8.AppendRune(dst, dec), i + 6, false
					}
				}
			}
			return utf8.AppendRune(dst, utf8.RuneError), i, true
		}
		return utf8.AppendRune(dst, r), i, false
	default: // " \ /
		dst = append(dst, s[i+1])
	}
	return dst, i + 2, false
}

// jsonUnquote appends the decoded content of an already validated string
// (without quotes) to dst: escapes resolved, invalid UTF-8 and lone
// surrogates replaced with U+FFFD, exactly as encoding/json does.
func jsonUnquote(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' {
			dst, i, _ = jsonUnescape(dst, s, i)
			continue
		}
		j := len(s)
		if k := bytes.IndexByte(s[i:], '\\'); k >= 0 {
			j = i + k
		}
		if utf8.Valid(s[i:j]) {
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		var size int
		dst, size = appendRuneOrFFFD(dst, s[i:])
		i += size
	}
	return dst
}

// strValue scans a string and returns its decoded content: a sub-slice of
// the input when it needs no decoding, else d.tmp (valid until the next
// call).
func (d *jsonDec) strValue() ([]byte, bool) {
	start, end, flags, ok := d.str()
	if !ok {
		return nil, false
	}
	if flags == 0 {
		return d.b[start:end], true
	}
	d.tmp = jsonUnquote(d.tmp[:0], d.b[start:end])
	return d.tmp, true
}

// keyValue is strValue for an object key, which names a column or a
// struct field: what is not text stays visible instead of becoming U+FFFD
// (jsonKeyUnquote), so that the name check refuses the key rather than
// store a name the input does not have.
func (d *jsonDec) keyValue() []byte {
	start, end, flags, ok := d.str()
	if !ok {
		return nil
	}
	if flags == 0 {
		return d.b[start:end]
	}
	d.tmp = jsonKeyUnquote(d.tmp[:0], d.b[start:end])
	return d.tmp
}

// jsonKeyUnquote is jsonUnquote, except that bytes that are not UTF-8 are
// kept as they are and a lone surrogate escape is written as its own
// three-byte encoding (not valid UTF-8 either).
func jsonKeyUnquote(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			dst = append(dst, s[i])
			i++
			continue
		}
		n := len(dst)
		var lone bool
		dst, i, lone = jsonUnescape(dst, s, i)
		if lone { // a \uXXXX escape, 6 bytes back
			r := jsonHex4(s[i-4:])
			dst = append(dst[:n], 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
		}
	}
	return dst
}

// num scans a number at d.i with JSON's grammar; isInt says it has no
// fraction or exponent.
func (d *jsonDec) num() (start, end int, isInt, ok bool) {
	b := d.b
	i := d.i
	start = i
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, 0, false, d.eof()
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
	default:
		return 0, 0, false, d.syntax(i, "invalid number")
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		j := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == j {
			return 0, 0, false, d.syntax(i, "invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == j {
			return 0, 0, false, d.syntax(i, "invalid number")
		}
	}
	d.i = i
	return start, i, isInt, true
}

// jsonNum is a number scanned by numScan: its text is b[start:end]; mant
// holds its digits as an integer (exact while nd <= 19), nd counts them
// and frac counts those after the point; exp says it has an exponent.
type jsonNum struct {
	start, end int
	mant       uint64
	nd, frac   int
	neg, exp   bool
}

// numScan is num that gathers the digits as it checks them, so that most
// numbers convert without a second look at the text.
func (d *jsonDec) numScan(n *jsonNum) bool {
	b := d.b
	i := d.i
	n.start = i
	n.neg = i < len(b) && b[i] == '-'
	if n.neg {
		i++
	}
	if i >= len(b) {
		return d.eof()
	}
	var m uint64
	j := i
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i < len(b) && b[i]-'0' < 10 {
			m = m*10 + uint64(b[i]-'0')
			i++
		}
	default:
		return d.syntax(i, "invalid number")
	}
	n.nd, n.frac, n.exp = i-j, 0, false
	if i < len(b) && b[i] == '.' {
		i++
		j = i
		for i < len(b) && b[i]-'0' < 10 {
			m = m*10 + uint64(b[i]-'0')
			i++
		}
		if i == j {
			return d.syntax(i, "invalid number")
		}
		n.frac = i - j
		n.nd += n.frac
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		n.exp = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j = i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == j {
			return d.syntax(i, "invalid number")
		}
	}
	n.mant, n.end = m, i
	d.i = i
	return true
}

var jsonPow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// float converts a scanned number: exactly when it has at most 15 digits
// and no exponent (the mantissa and 10^frac are exact doubles, so one
// correctly rounded division gives the correctly rounded result — the fast
// path of strconv), else with strconv.ParseFloat.
func (n *jsonNum) float(b []byte) (float64, error) {
	if n.exp || n.nd > 15 {
		return strconv.ParseFloat(jsonBytesString(b[n.start:n.end]), 64)
	}
	f := float64(n.mant) / jsonPow10[n.frac]
	if n.neg {
		f = -f
	}
	return f, nil
}

// int converts a scanned integer (no point, no exponent); false when it
// does not fit an int64.
func (n *jsonNum) int(b []byte) (int64, bool) {
	if n.nd <= 18 {
		v := int64(n.mant)
		if n.neg {
			v = -v
		}
		return v, true
	}
	return jsonParseInt(b[n.start:n.end])
}

// jsonParseInt parses a validated JSON integer (-?digits).
func jsonParseInt(b []byte) (int64, bool) {
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) <= 18 {
		var v int64
		for _, c := range b {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		return v, true
	}
	var u uint64
	for _, c := range b {
		if u > (1<<64-1)/10 {
			return 0, false
		}
		u2 := u*10 + uint64(c-'0')
		if u2 < u*10 {
			return 0, false
		}
		u = u2
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// jsonBytesString views b as a string without copying; the result must not
// outlive b (the strconv functions used with it copy what they keep).
func jsonBytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// lit checks the literal word at d.i.
func (d *jsonDec) lit(word string) bool {
	if len(d.b)-d.i >= len(word) && string(d.b[d.i:d.i+len(word)]) == word {
		d.i += len(word)
		return true
	}
	for k := 0; k < len(word); k++ {
		if d.i+k >= len(d.b) {
			return d.eof()
		}
		if d.b[d.i+k] != word[k] {
			return d.syntax(d.i+k, "invalid literal (expected "+word+")")
		}
	}
	return false
}

// skip validates and skips one value at d.i (whitespace before it already
// skipped).
func (d *jsonDec) skip() bool {
	if d.i >= len(d.b) {
		return d.eof()
	}
	switch c := d.b[d.i]; c {
	case '"':
		_, _, _, ok := d.str()
		return ok
	case '{':
		if d.depth++; d.depth > jsonMaxDepth {
			return d.syntax(d.i, reasonTooDeep)
		}
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			d.depth--
			return true
		}
		for {
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return d.unexpected()
			}
			if _, _, _, ok := d.str(); !ok {
				return false
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return d.unexpected()
			}
			d.i++
			d.ws()
			if !d.skip() {
				return false
			}
			more, ok := d.afterItem('}')
			if !ok {
				return false
			}
			if more {
				continue
			}
			d.depth--
			return true
		}
	case '[':
		if d.depth++; d.depth > jsonMaxDepth {
			return d.syntax(d.i, reasonTooDeep)
		}
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			d.depth--
			return true
		}
		for {
			if !d.skip() {
				return false
			}
			more, ok := d.afterItem(']')
			if !ok {
				return false
			}
			if more {
				continue
			}
			d.depth--
			return true
		}
	case 't':
		return d.lit("true")
	case 'f':
		return d.lit("false")
	case 'n':
		return d.lit("null")
	default:
		if c == '-' || c-'0' < 10 {
			_, _, _, ok := d.num()
			return ok
		}
		return d.unexpected()
	}
}

// validate reports whether b holds exactly one JSON value (with optional
// surrounding whitespace), and records the syntax error if not.
func (d *jsonDec) validate(b []byte) bool {
	d.reset(b)
	d.ws()
	if !d.skip() {
		return false
	}
	d.ws()
	if d.i != len(d.b) {
		return d.syntax(d.i, "unexpected data after the value")
	}
	return true
}
