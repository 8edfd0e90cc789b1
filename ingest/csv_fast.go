package ingest

import (
	"bytes"
	"math"
	"strings"
)

// The fast path reads a plain record (on one line, no escaped quotes, the
// right number of fields, every value valid) straight into the batch in a
// single pass, converting numbers as their digits are found. Anything else
// makes it give up on the record, which the general path (scan, then add)
// reads from the start again: the fast path must only ever accept what the
// general path accepts, with the same values.

// noFastPath turns the fast path off, for tests that compare it with the
// general path.
var noFastPath = false

// fastKind is how the fast path reads a column's fields.
type fastKind uint8

const (
	fastGeneric fastKind = iota // find the field's end, then convert it
	fastString
	fastInt
	fastFloat64
	fastDate
	fastTimestamp
	fastBool
)

// fastKinds returns the fast path's plan for cols, or nil when dialect d
// rules the fast path out: it converts numbers and dates up to the first
// byte that cannot belong to them, which must then be a delimiter.
func fastKinds(d dialect, cols []textColumn) []fastKind {
	if noFastPath {
		return nil
	}
	for _, b := range []byte{d.delim, d.quote, d.escape} {
		if b >= 0x80 || b == '\r' || b == '\n' || strings.IndexByte("0123456789+-.:eE ", b) >= 0 ||
			(b|0x20 >= 'a' && b|0x20 <= 'z') {
			return nil
		}
	}
	kinds := make([]fastKind, len(cols))
	for i, c := range cols {
		switch {
		case c.kind == textString:
			kinds[i] = fastString
		case c.kind == textInt:
			kinds[i] = fastInt
		case c.kind == textFloat && c.bits == 64:
			kinds[i] = fastFloat64
		case c.kind == textDate:
			kinds[i] = fastDate
		case c.kind == textTimestamp:
			kinds[i] = fastTimestamp
		case c.kind == textBool:
			kinds[i] = fastBool
		}
	}
	return kinds
}

// addFast adds the record at buf[pos] if it is plain. It returns the
// offset past the record and the newlines it spans, or ok false with
// nothing added.
func (w *csvWorker) addFast(buf []byte, pos int) (end, nl int, ok bool) {
	le, end := len(buf), len(buf)
	if k := bytes.IndexByte(buf[pos:], '\n'); k >= 0 {
		le, end, nl = pos+k, pos+k+1, 1
	}
	if le > pos && buf[le-1] == '\r' {
		le--
	}
	line := buf[:le]
	// One check of the whole record instead of one per string field, and
	// none when the piece was valid (csv_split.go).
	w.lineValid = w.bb.textValid || validUTF8(line[pos:])
	bb := w.bb
	bb.reserveRow()
	i, last := pos, len(w.fast)-1
	for col := range w.fast {
		j, ok := w.fastField(line, i, col)
		if !ok || (j == le) != (col == last) {
			bb.abandon()
			return 0, 0, false
		}
		i = j + 1
	}
	bb.rows++
	return end, nl, true
}

// fastField reads the field at line[i] into column col of the batch's
// current row. It returns where the field ends, at a delimiter or at
// len(line), or false when the general path must decide.
func (w *csvWorker) fastField(line []byte, i, col int) (int, bool) {
	bb := w.bb
	r := bb.rows
	switch w.fast[col] {
	case fastInt:
		if v, j, ok := intPrefix(line, i, bb.cols[col].bits); ok && w.ends(line, j) && bb.nulls.tokens == nil {
			if f := &bb.fixed[col]; f.store == store64 {
				f.set64(r, uint64(v))
			} else {
				f.set(r, uint64(v), 0)
			}
			return j, true
		}
	case fastFloat64:
		mant, exp, neg, n, ok := decimalPrefix(line[i:])
		if ok && w.ends(line, i+n) && bb.nulls.tokens == nil {
			if f, ok := floatFromParts(mant, exp, neg); ok {
				bb.fixed[col].set64(r, math.Float64bits(f))
				return i + n, true
			}
		}
	case fastDate:
		if j := i + 10; j <= len(line) && w.ends(line, j) && bb.nulls.tokens == nil {
			if days, ok := civilDate(line[i:j]); ok {
				bb.fixed[col].set32(r, uint32(days))
				return j, true
			}
		}
	case fastTimestamp:
		// The text is made of digits, '-', ' ', 'T', ':' and '.', none of
		// which can be the delimiter: the field ends where it stops.
		if j := timestampEnd(line, i); w.ends(line, j) && bb.nulls.tokens == nil {
			c := &bb.cols[col]
			if v, shape, ok := convertTimestamp(line[i:j], c.unit); ok && shape != tsZoned {
				bb.fixed[col].set64(r, uint64(v))
				return j, true
			}
		}
	case fastBool:
		for _, j := range [2]int{i + 4, i + 5} {
			if j <= len(line) && w.ends(line, j) && bb.nulls.tokens == nil {
				if v, ok := convertBool(line[i:j]); ok {
					bb.fixed[col].set(r, uint64(b2u(v)), 0)
					return j, true
				}
			}
		}
	}
	return w.genericField(line, i, col)
}

// timestampEnd returns where a timestamp without a zone at line[i] would
// end: after the date, the time and the fraction's digits.
func timestampEnd(line []byte, i int) int {
	j := i + 10
	if j >= len(line) || (line[j] != ' ' && line[j] != 'T') {
		return min(j, len(line))
	}
	j += 9
	if j < len(line) && line[j] == '.' {
		for j++; j < len(line) && line[j]-'0' <= 9; j++ {
		}
	}
	return min(j, len(line))
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// ends reports whether a field may end at line[j].
func (w *csvWorker) ends(line []byte, j int) bool {
	return j == len(line) || line[j] == w.sc.d.delim
}

// genericField finds the end of the field at line[i], quoted or not, and
// converts its text as the general path would.
func (w *csvWorker) genericField(line []byte, i, col int) (int, bool) {
	d := w.sc.d
	var text []byte
	var j int
	quoted := d.quote != 0 && i < len(line) && line[i] == d.quote
	if quoted {
		k := bytes.IndexByte(line[i+1:], d.quote)
		if k < 0 {
			return 0, false // ends on another line, or not at all
		}
		text, j = line[i+1:i+1+k], i+2+k
		if !w.ends(line, j) {
			return 0, false // a doubled quote, or text after the quote
		}
		if d.escape != 0 && d.escape != d.quote && bytes.IndexByte(text, d.escape) >= 0 {
			return 0, false
		}
	} else {
		j = w.sc.run(line, i)
		if !w.ends(line, j) {
			return 0, false // a bare quote
		}
		text = line[i:j]
	}
	bb := w.bb
	c := &bb.cols[col]
	if bb.nulls.isNull(c, text, quoted) {
		if c.required {
			return 0, false
		}
		bb.setNull(col, bb.rows)
		return j, true
	}
	if str := bb.str[col]; str != nil {
		if c.utf8 && !w.lineValid && !validUTF8(text) {
			return 0, false // the general path reports or repairs it
		}
		str.append(text)
		return j, true
	}
	lo, hi, ok := c.convert(text)
	if !ok {
		return 0, false
	}
	bb.fixed[col].set(bb.rows, lo, hi)
	return j, true
}

// intPrefix reads [+-]digits, at most 18 of them, at b[i] as an integer of
// the given bits; it returns where the digits stop.
func intPrefix(b []byte, i, bits int) (int64, int, bool) {
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	start := i
	var u uint64
	for i < len(b) {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		u = u*10 + uint64(d)
		i++
	}
	if n := i - start; n == 0 || n > 18 {
		return 0, i, false
	}
	limit := uint64(1) << (bits - 1) // |min|; max is limit-1
	if neg {
		if u > limit {
			return 0, i, false
		}
		return -int64(u), i, true
	}
	if u >= limit {
		return 0, i, false
	}
	return int64(u), i, true
}
