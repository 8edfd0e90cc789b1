package ingest

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// jsonCol accumulates one column of a batch (top-level or nested) while a
// worker parses a piece. It keeps plain Go slices that can be cut back to
// any row — a bad row half-way through, or a duplicate key, is undone by
// truncating — and turns them into Arrow arrays backed by the ingest
// allocator when the batch is full (json_build.go). Arrow builders cannot
// be truncated, which is why the parser does not append to them directly.
type jsonCol struct {
	kind jsonKind
	dt   arrow.DataType
	path string // dotted path, for errors

	valid []byte // 1 per slot that is not NULL
	i64   []int64
	f64   []float64
	dec   []decimal128.Num
	offs  []int32 // strings and lists: len(valid)+1 offsets
	data  []byte  // string bytes

	lo, hi  int64          // integer range of narrow integer types
	unit    arrow.TimeUnit // of a timestamp column
	prec    int32          // decimal128
	scale   int32
	isFloat bool // float32 narrows

	// struct
	names []string
	keys  []jsonKey // how each name is matched raw
	index map[string]int
	kids  []*jsonCol
	// list
	elem *jsonCol
}

type jsonKind uint8

const (
	jsonKBool jsonKind = iota
	jsonKInt
	jsonKUint64
	jsonKFloat
	jsonKStr
	jsonKDate
	jsonKTime
	jsonKDec
	jsonKStruct
	jsonKList
)

// newJSONCol makes the accumulator for a column of type dt.
func newJSONCol(dt arrow.DataType, path string) (*jsonCol, error) {
	c := &jsonCol{dt: dt, path: path}
	switch t := dt.(type) {
	case *arrow.BooleanType:
		c.kind = jsonKBool
	case *arrow.Int8Type:
		c.kind, c.lo, c.hi = jsonKInt, math.MinInt8, math.MaxInt8
	case *arrow.Int16Type:
		c.kind, c.lo, c.hi = jsonKInt, math.MinInt16, math.MaxInt16
	case *arrow.Int32Type:
		c.kind, c.lo, c.hi = jsonKInt, math.MinInt32, math.MaxInt32
	case *arrow.Int64Type:
		c.kind, c.lo, c.hi = jsonKInt, math.MinInt64, math.MaxInt64
	case *arrow.Uint8Type:
		c.kind, c.lo, c.hi = jsonKInt, 0, math.MaxUint8
	case *arrow.Uint16Type:
		c.kind, c.lo, c.hi = jsonKInt, 0, math.MaxUint16
	case *arrow.Uint32Type:
		c.kind, c.lo, c.hi = jsonKInt, 0, math.MaxUint32
	case *arrow.Uint64Type:
		c.kind = jsonKUint64
	case *arrow.Float32Type:
		c.kind, c.isFloat = jsonKFloat, true
	case *arrow.Float64Type:
		c.kind = jsonKFloat
	case *arrow.StringType, *arrow.LargeStringType:
		c.kind = jsonKStr
	case *arrow.Date32Type:
		c.kind = jsonKDate
	case *arrow.TimestampType:
		c.kind = jsonKTime
		c.unit = t.Unit
	case *arrow.Decimal128Type:
		c.kind, c.prec, c.scale = jsonKDec, t.Precision, t.Scale
		if t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
			return nil, fmt.Errorf("%w: column %q: unsupported %s", ErrOptions, path, dt)
		}
	case *arrow.StructType:
		c.kind = jsonKStruct
		c.index = make(map[string]int, len(t.Fields()))
		for i, f := range t.Fields() {
			kid, err := newJSONCol(f.Type, jsonJoinPath(path, f.Name))
			if err != nil {
				return nil, err
			}
			if _, dup := c.index[f.Name]; dup {
				return nil, fmt.Errorf("%w: column %q: duplicate field %q", ErrOptions, path, f.Name)
			}
			c.index[f.Name] = i
			c.names = append(c.names, f.Name)
			c.keys = append(c.keys, newJSONKey(f.Name))
			c.kids = append(c.kids, kid)
		}
	case *arrow.ListType:
		c.kind = jsonKList
		elem, err := newJSONCol(t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		c.elem = elem
	default:
		return nil, fmt.Errorf("%w: column %q: JSON input cannot fill type %s", ErrOptions, path, dt)
	}
	c.reset()
	return c, nil
}

// jsonKey matches a field name written plainly in the text, with its
// closing quote: names of up to 7 bytes with one masked 8-byte compare.
type jsonKey struct {
	name       string
	plain      bool // the name appears in JSON text as its own bytes
	short      bool // plain, and word and mask hold it
	n          int  // len(name) + 1
	word, mask uint64
}

func newJSONKey(name string) jsonKey {
	k := jsonKey{name: name, plain: jsonPlainName(name), n: len(name) + 1}
	if k.plain && k.n <= 8 {
		var w [8]byte
		copy(w[:], name+`"`)
		k.short = true
		k.word = binary.LittleEndian.Uint64(w[:])
		k.mask = ^uint64(0) >> (64 - 8*uint(k.n))
	}
	return k
}

// matchLong reports whether the key at b[i] == '"' is the name (plainly
// written) and if so returns the index past its closing quote. The object
// loop tries word and mask first, inline; this is for longer names, and
// near the end of the text.
//
//go:noinline
func (k *jsonKey) matchLong(b []byte, i int) (int, bool) {
	if e := i + k.n; k.plain && e < len(b) && b[e] == '"' && string(b[i+1:e]) == k.name {
		return e + 1, true
	}
	return i, false
}

// jsonPlainName: name appears in JSON text as its own bytes.
func jsonPlainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' || c < 0x20 {
			return false
		}
	}
	return utf8.ValidString(name)
}

func jsonJoinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// reset empties the column, keeping its memory.
func (c *jsonCol) reset() {
	c.valid = c.valid[:0]
	c.i64, c.f64, c.dec, c.data = c.i64[:0], c.f64[:0], c.dec[:0], c.data[:0]
	if c.kind == jsonKStr || c.kind == jsonKList {
		c.offs = append(c.offs[:0], 0)
	}
	for _, k := range c.kids {
		k.reset()
	}
	if c.elem != nil {
		c.elem.reset()
	}
}

// truncate cuts the column back to n slots (n <= its length), undoing the
// slots and nested values appended after.
func (c *jsonCol) truncate(n int) {
	switch c.kind {
	case jsonKStruct:
		for _, k := range c.kids {
			k.truncate(n)
		}
	case jsonKList:
		if len(c.offs) > n+1 {
			c.offs = c.offs[:n+1]
		}
		c.elem.truncate(int(c.offs[n]))
	}
	if len(c.valid) <= n {
		return
	}
	c.valid = c.valid[:n]
	switch c.kind {
	case jsonKInt, jsonKUint64, jsonKDate, jsonKTime, jsonKBool:
		c.i64 = c.i64[:n]
	case jsonKFloat:
		c.f64 = c.f64[:n]
	case jsonKDec:
		c.dec = c.dec[:n]
	case jsonKStr:
		c.offs = c.offs[:n+1]
		c.data = c.data[:c.offs[n]]
	}
}

func (c *jsonCol) appendNull() {
	c.valid = append(c.valid, 0)
	switch c.kind {
	case jsonKInt, jsonKUint64, jsonKDate, jsonKTime, jsonKBool:
		c.i64 = append(c.i64, 0)
	case jsonKFloat:
		c.f64 = append(c.f64, 0)
	case jsonKDec:
		c.dec = append(c.dec, decimal128.Num{})
	case jsonKStr:
		c.offs = append(c.offs, int32(len(c.data)))
	case jsonKList:
		c.offs = append(c.offs, c.offs[len(c.offs)-1])
	case jsonKStruct:
		for _, k := range c.kids {
			k.appendNull()
		}
	}
}

func (c *jsonCol) appendInt(v int64) {
	c.valid = append(c.valid, 1)
	c.i64 = append(c.i64, v)
}

// mismatch records that the value d.b[start:d.i] does not fit c.
func (d *jsonDec) mismatch(c *jsonCol, val []byte, reason string) bool {
	if d.errMsg == "" && d.errCol == nil {
		d.errCol, d.errVal, d.errReason = c, val, reason
	}
	return false
}

func jsonCannot(val []byte, dt arrow.DataType) string {
	return "cannot parse " + strconv.Quote(string(jsonClip(val, 256))) + " as " + dt.String()
}

// jsonClip cuts b to at most n bytes without splitting a UTF-8 sequence.
func jsonClip(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

// rawValue skips the value at d.i and returns its text.
func (d *jsonDec) rawValue() ([]byte, bool) {
	start := d.i
	if !d.skip() {
		return nil, false
	}
	return d.b[start:d.i], true
}

// wrongKind reports a value of the wrong JSON kind for c (after checking
// its syntax, so that a syntax error wins).
func (d *jsonDec) wrongKind(c *jsonCol) bool {
	raw, ok := d.rawValue()
	if !ok {
		return false
	}
	if len(raw) > 0 && raw[0] == '"' {
		// show the string's content, as for a string that does not parse
		d2 := jsonDec{b: raw}
		if s, ok := d2.strValue(); ok {
			raw = s
		}
	}
	switch c.kind {
	case jsonKStruct:
		return d.mismatch(c, raw, "expected a JSON object for "+c.dt.String()+", got "+jsonKindName(raw))
	case jsonKList:
		return d.mismatch(c, raw, "expected a JSON array for "+c.dt.String()+", got "+jsonKindName(raw))
	}
	return d.mismatch(c, raw, jsonCannot(raw, c.dt))
}

func jsonKindName(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "a string"
}

// value parses the value at d.i (whitespace skipped) into c.
func (c *jsonCol) value(d *jsonDec) bool {
	b := d.b
	if d.i >= len(b) {
		return d.eof()
	}
	ch := b[d.i]
	if ch == 'n' {
		if !d.lit("null") {
			return false
		}
		c.appendNull()
		return true
	}
	switch c.kind {
	case jsonKStr:
		if ch == '"' {
			n := len(c.data)
			data, ok := d.strAppend(c.data, c)
			if !ok {
				// drop what was decoded: the slot was not appended, so
				// truncating the row would not cut these bytes
				c.data = data[:n]
				return false
			}
			c.data = data
			c.valid = append(c.valid, 1)
			c.offs = append(c.offs, int32(len(c.data)))
			return true
		}
		raw, ok := d.rawValue()
		if !ok {
			return false
		}
		if !d.replaceUTF8 && !validUTF8(raw) {
			return d.mismatch(c, raw, reasonInvalidUTF8)
		}
		c.valid = append(c.valid, 1)
		c.data = appendValidUTF8(c.data, raw)
		c.offs = append(c.offs, int32(len(c.data)))
		return true

	case jsonKInt:
		if ch == '-' || ch-'0' < 10 {
			var n jsonNum
			if !d.numScan(&n) {
				return false
			}
			isInt := n.frac == 0 && !n.exp
			v, fits := int64(0), false
			if isInt {
				v, fits = n.int(b)
			}
			if !fits || v < c.lo || v > c.hi {
				start, end := n.start, n.end
				if isInt {
					return d.mismatch(c, b[start:end], jsonCannot(b[start:end], c.dt)+" (out of range)")
				}
				return d.mismatch(c, b[start:end], jsonCannot(b[start:end], c.dt))
			}
			c.appendInt(v)
			return true
		}
		if ch == '"' {
			s, ok := d.strValue()
			if !ok {
				return false
			}
			v, err := strconv.ParseInt(jsonBytesString(s), 10, 64)
			if err != nil || v < c.lo || v > c.hi {
				return d.mismatch(c, s, jsonCannot(s, c.dt))
			}
			c.appendInt(v)
			return true
		}

	case jsonKFloat:
		if ch == '-' || ch-'0' < 10 {
			var n jsonNum
			if !d.numScan(&n) {
				return false
			}
			f, err := n.float(b)
			if err != nil {
				raw := b[n.start:n.end]
				return d.mismatch(c, raw, jsonCannot(raw, c.dt)+" (out of range)")
			}
			c.valid = append(c.valid, 1)
			c.f64 = append(c.f64, f)
			return true
		}
		if ch == '"' {
			s, ok := d.strValue()
			if !ok {
				return false
			}
			f, err := strconv.ParseFloat(jsonBytesString(s), 64)
			if err != nil {
				return d.mismatch(c, s, jsonCannot(s, c.dt))
			}
			c.valid = append(c.valid, 1)
			c.f64 = append(c.f64, f)
			return true
		}

	case jsonKBool:
		if ch == 't' || ch == 'f' {
			word := "false"
			if ch == 't' {
				word = "true"
			}
			if !d.lit(word) {
				return false
			}
			var v int64
			if ch == 't' {
				v = 1
			}
			c.appendInt(v)
			return true
		}

	case jsonKDate, jsonKTime:
		if ch == '"' {
			s, ok := d.strValue()
			if !ok {
				return false
			}
			if c.kind == jsonKDate {
				days, ok := convertDate(s)
				if !ok {
					return d.mismatch(c, s, jsonCannot(s, c.dt))
				}
				c.appendInt(int64(days))
				return true
			}
			v, _, ok := convertTimestamp(s, c.unit)
			if !ok {
				if jsonTimeKind(s) != jsonTimeNone { // valid text, too far out for the unit
					return d.mismatch(c, s, jsonCannot(s, c.dt)+" (out of range)")
				}
				return d.mismatch(c, s, jsonCannot(s, c.dt))
			}
			c.appendInt(v)
			return true
		}

	case jsonKUint64:
		if ch-'0' < 10 {
			start, end, isInt, ok := d.num()
			if !ok {
				return false
			}
			v, err := strconv.ParseUint(jsonBytesString(b[start:end]), 10, 64)
			if !isInt || err != nil {
				return d.mismatch(c, b[start:end], jsonCannot(b[start:end], c.dt))
			}
			c.appendInt(int64(v))
			return true
		}
		if ch == '"' {
			s, ok := d.strValue()
			if !ok {
				return false
			}
			v, err := strconv.ParseUint(jsonBytesString(s), 10, 64)
			if err != nil {
				return d.mismatch(c, s, jsonCannot(s, c.dt))
			}
			c.appendInt(int64(v))
			return true
		}

	case jsonKDec:
		var s []byte
		switch {
		case ch == '-' || ch-'0' < 10:
			start, end, _, ok := d.num()
			if !ok {
				return false
			}
			s = b[start:end]
		case ch == '"':
			var ok bool
			if s, ok = d.strValue(); !ok {
				return false
			}
		default:
			return d.wrongKind(c)
		}
		v, ok := jsonParseDecimal(s, c.prec, c.scale)
		if !ok {
			return d.mismatch(c, s, jsonCannot(s, c.dt))
		}
		c.valid = append(c.valid, 1)
		c.dec = append(c.dec, v)
		return true

	case jsonKStruct:
		if ch == '{' {
			return c.object(d)
		}

	case jsonKList:
		if ch == '[' {
			return c.list(d)
		}
	}
	return d.wrongKind(c)
}

// object parses the object at d.i into the struct column c (one slot).
func (c *jsonCol) object(d *jsonDec) bool {
	if d.depth++; d.depth > jsonMaxDepth {
		return d.syntax(d.i, reasonTooDeep)
	}
	n := len(c.valid)
	b := d.b
	d.i++
	d.ws()
	if d.i < len(b) && b[d.i] == '}' {
		d.i++
	} else {
		hint := 0
		for {
			if d.i >= len(b) || b[d.i] != '"' {
				return d.unexpected()
			}
			k := -1
			// the usual case: the key expected next, written plainly
			if hint < len(c.keys) {
				key := &c.keys[hint]
				if key.short && d.i+9 <= len(b) && binary.LittleEndian.Uint64(b[d.i+1:])&key.mask == key.word {
					k, d.i = hint, d.i+1+key.n
				} else if j, ok := key.matchLong(b, d.i); ok {
					k, d.i = hint, j
				}
			}
			if k < 0 {
				start, end, flags, ok := d.str()
				if !ok {
					return false
				}
				key := b[start:end]
				if flags != 0 {
					d.tmp = jsonUnquote(d.tmp[:0], key)
					key = d.tmp
				}
				if i, ok := c.index[string(key)]; ok {
					k = i
				} else {
					d.ignoredKey(c, key)
				}
			}
			var kid *jsonCol
			if k >= 0 {
				kid = c.kids[k]
				hint = k + 1
			}
			if d.i < len(b) && b[d.i] == ':' {
				d.i++
			} else {
				d.ws()
				if d.i >= len(b) || b[d.i] != ':' {
					return d.unexpected()
				}
				d.i++
			}
			if d.i < len(b) && b[d.i] != ' ' && b[d.i] != '\t' && b[d.i] != '\r' && b[d.i] != '\n' {
				// no whitespace: skip the call
			} else {
				d.ws()
			}
			if kid == nil {
				if !d.skip() {
					return false
				}
			} else {
				if len(kid.valid) > n {
					kid.truncate(n) // duplicate key: the last one wins
				}
				if !kid.value(d) {
					return false
				}
			}
			if d.i < len(b) && b[d.i] == ',' {
				d.i++
				if d.i < len(b) && b[d.i] == '"' {
					continue
				}
				d.ws()
				continue
			}
			more, ok := d.afterItem('}')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	d.depth--
	for _, kid := range c.kids {
		if len(kid.valid) == n {
			kid.appendNull()
		}
	}
	c.valid = append(c.valid, 1)
	return true
}

// list parses the array at d.i into the list column c (one slot).
func (c *jsonCol) list(d *jsonDec) bool {
	if d.depth++; d.depth > jsonMaxDepth {
		return d.syntax(d.i, reasonTooDeep)
	}
	b := d.b
	d.i++
	d.ws()
	if d.i < len(b) && b[d.i] == ']' {
		d.i++
	} else {
		for {
			if !c.elem.value(d) {
				return false
			}
			more, ok := d.afterItem(']')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	d.depth--
	c.valid = append(c.valid, 1)
	c.offs = append(c.offs, int32(len(c.elem.valid)))
	return true
}

// jsonParseDecimal parses a plain decimal number ([-+]digits[.digits],
// optionally with an exponent for numbers) into a decimal128 with the given
// precision and scale; extra fraction digits must be zeros.
func jsonParseDecimal(s []byte, prec, scale int32) (decimal128.Num, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var digits [80]byte
	nd := 0
	intDigits := 0
	seenDot := false
	any := false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && !seenDot {
			seenDot = true
			continue
		}
		if c-'0' > 9 {
			break
		}
		any = true
		if nd == 0 && c == '0' && !seenDot {
			continue // leading zero
		}
		if nd >= len(digits) {
			return decimal128.Num{}, false
		}
		digits[nd] = c
		nd++
		if !seenDot {
			intDigits++
		}
	}
	if !any {
		return decimal128.Num{}, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		esign := 1
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			if s[i] == '-' {
				esign = -1
			}
			i++
		}
		j := i
		for i < len(s) && s[i]-'0' < 10 && exp < 1000 {
			exp = exp*10 + int(s[i]-'0')
			i++
		}
		if i == j {
			return decimal128.Num{}, false
		}
		exp *= esign
	}
	if i != len(s) {
		return decimal128.Num{}, false
	}
	// value = 0.digits... * 10^(intDigits+exp); we need digits scaled by
	// 10^scale: keep intDigits+exp+scale leading digits, the rest must be 0.
	keep := intDigits + exp + int(scale)
	if keep < 0 {
		keep = 0
	}
	for k := keep; k < nd; k++ {
		if digits[k] != '0' {
			return decimal128.Num{}, false
		}
	}
	if keep > int(prec) {
		// the digits in front of the precision must all be zero
		for k := 0; k < keep-int(prec) && k < nd; k++ {
			if digits[k] != '0' {
				return decimal128.Num{}, false
			}
		}
	}
	var v decimal128.Num
	ten := decimal128.FromU64(10)
	for k := 0; k < keep; k++ {
		dgt := uint64(0)
		if k < nd {
			dgt = uint64(digits[k] - '0')
		}
		v = v.Mul(ten).Add(decimal128.FromU64(dgt))
	}
	if !v.FitsInPrecision(prec) {
		return decimal128.Num{}, false
	}
	if neg {
		v = v.Negate()
	}
	return v, true
}
