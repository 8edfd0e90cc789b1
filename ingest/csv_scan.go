package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/lakeflight/lakeflight/catalog"
)

// dialect is a CSV dialect once options and sniffing have settled it.
type dialect struct {
	delim  byte
	quote  byte // 0: no quoting
	escape byte // inside quotes; 0: the quote doubles itself
}

// A record ends at a newline outside quotes. Where quotes are depends only
// on the quote and escape bytes counted from a record start: with doubled
// quotes, on the parity of the quotes seen; with an escape byte, on a small
// state machine. The splitter and the scanner both follow this rule, so a
// malformed record spans the same bytes however the input is cut.

// csvField is one field of a scanned record: where its text (quotes
// removed, escapes resolved) is, and whether it was quoted. Offsets rather
// than slices keep the hot loop free of pointer writes.
type csvField struct {
	start, end uint32
	quoted     bool
	scratch    bool // the text is in the scanner's scratch, not the buffer
}

// maxRecordFields bounds the fields the scanner keeps for one record: a
// record with more cannot fit any table, and is a bad row (reasonManyFields)
// read on to its end without keeping its fields (a 50 MB line of commas
// took 2 GB when every field was kept). One more than the column limit, so
// a header that wide is refused by that limit, with its count.
const maxRecordFields = catalog.MaxColumns + 1

var reasonManyFields = fmt.Sprintf("more than %d fields (a table has at most %d columns)", maxRecordFields, catalog.MaxColumns)

// recordScanner splits records into fields. Field texts are in the
// scanned buffer, or in scratch when escapes had to be resolved; both stay
// valid until the next scan.
type recordScanner struct {
	d       dialect
	stop    [256]bool // bytes that end an unquoted run: delimiter, quote, '\n'
	stopSet [3]uint64 // the same bytes repeated in each byte of a word
	buf     []byte    // the buffer last scanned
	fields  []csvField
	scratch []byte
}

func newRecordScanner(d dialect) *recordScanner {
	s := &recordScanner{d: d}
	s.stop[d.delim] = true
	s.stop['\n'] = true
	q := d.delim
	if d.quote != 0 {
		s.stop[d.quote] = true
		q = d.quote
	}
	s.stopSet = [3]uint64{lowBytes * uint64(d.delim), lowBytes * '\n', lowBytes * uint64(q)}
	return s
}

// text returns field i's text.
func (s *recordScanner) text(i int) []byte {
	f := s.fields[i]
	if f.scratch {
		return s.scratch[f.start:f.end]
	}
	return s.buf[f.start:f.end]
}

const (
	lowBytes  = 0x0101010101010101
	highBytes = 0x8080808080808080
)

// run returns the offset of the first delimiter, quote or newline at or
// after j, or len(buf); it tests eight bytes at a time.
func (s *recordScanner) run(buf []byte, j int) int {
	d, nl, q := s.stopSet[0], s.stopSet[1], s.stopSet[2]
	for j+8 <= len(buf) {
		w := binary.LittleEndian.Uint64(buf[j:])
		x, y, z := w^d, w^nl, w^q
		// A byte of x, y or z is zero where w matches; the lowest flagged
		// byte is exact.
		if m := ((x - lowBytes) &^ x) | ((y - lowBytes) &^ y) | ((z - lowBytes) &^ z); m&highBytes != 0 {
			return j + bits.TrailingZeros64(m&highBytes)>>3
		}
		j += 8
	}
	for j < len(buf) && !s.stop[buf[j]] {
		j++
	}
	return j
}

// Reasons a record's quoting is malformed.
const (
	reasonBareQuote   = `bare quote in an unquoted field`
	reasonAfterQuote  = `unexpected text after a closing quote`
	reasonUnterminate = `unterminated quoted field`
)

// skipBlank skips empty lines ("\n", "\r\n", or a lone "\r" at the end)
// at pos, returning the new position and the newlines skipped.
func skipBlank(buf []byte, pos int) (int, int) {
	nl := 0
	for pos < len(buf) {
		switch {
		case buf[pos] == '\n':
			pos++
		case buf[pos] == '\r' && (pos+1 == len(buf) || buf[pos+1] == '\n'):
			pos++
			continue
		default:
			return pos, nl
		}
		nl++
	}
	return pos, nl
}

// scan reads the record starting at buf[pos] into s.fields. It returns the
// offset just past the record (and its newline), the newlines the record
// spans, and a reason when its quoting is malformed (the record then runs
// to the next newline outside quotes, and s.fields is not usable).
// reasonUnterminate means the buffer ended inside quotes.
func (s *recordScanner) scan(buf []byte, pos int) (end, lines int, bad string) {
	s.buf = buf
	s.fields = s.fields[:0]
	s.scratch = s.scratch[:0]
	q, delim := s.d.quote, s.d.delim
	n := len(buf)
	i := pos
	for {
		if i < n && buf[i] == q && q != 0 {
			next, nl, esc, ok := s.quoted(buf, i+1)
			if !ok {
				return n, bytes.Count(buf[pos:], nlByte), reasonUnterminate
			}
			lines += nl
			f := csvField{start: uint32(i + 1), end: uint32(next - 1), quoted: true}
			if esc {
				f = s.unescape(buf[f.start:f.end])
			}
			if len(s.fields) == maxRecordFields {
				return s.skipRecord(buf, pos, reasonManyFields)
			}
			s.fields = append(s.fields, f)
			i = next
			switch {
			case i == n:
				return n, lines, ""
			case buf[i] == delim:
				i++
				continue
			case buf[i] == '\n':
				return i + 1, lines + 1, ""
			case buf[i] == '\r' && (i+1 == n || buf[i+1] == '\n'):
				if i+1 == n {
					return n, lines, ""
				}
				return i + 2, lines + 1, ""
			}
			return s.skipRecord(buf, pos, reasonAfterQuote)
		}
		j := s.run(buf, i)
		if j == n || buf[j] == '\n' {
			e := j
			if e > i && buf[e-1] == '\r' {
				e--
			}
			if len(s.fields) == maxRecordFields {
				return s.skipRecord(buf, pos, reasonManyFields)
			}
			s.fields = append(s.fields, csvField{start: uint32(i), end: uint32(e)})
			if j == n {
				return n, lines, ""
			}
			return j + 1, lines + 1, ""
		}
		if buf[j] != delim { // a quote inside an unquoted field
			return s.skipRecord(buf, pos, reasonBareQuote)
		}
		if len(s.fields) == maxRecordFields {
			return s.skipRecord(buf, pos, reasonManyFields)
		}
		s.fields = append(s.fields, csvField{start: uint32(i), end: uint32(j)})
		i = j + 1
	}
}

var nlByte = []byte{'\n'}

// quoted reads a quoted field's content starting just past its opening
// quote. It returns the offset past the closing quote, the newlines
// inside, whether escapes need resolving, and false when the buffer ends
// first.
func (s *recordScanner) quoted(buf []byte, start int) (next, nl int, esc, ok bool) {
	q, e := s.d.quote, s.d.escape
	i := start
	if e == 0 || e == q {
		for {
			k := bytes.IndexByte(buf[i:], q)
			if k < 0 {
				return 0, 0, false, false
			}
			i += k + 1
			if i < len(buf) && buf[i] == q {
				esc = true
				i++
				continue
			}
			break
		}
	} else {
		for {
			if i >= len(buf) {
				return 0, 0, false, false
			}
			c := buf[i]
			if c == e {
				esc = true
				i += 2
				continue
			}
			i++
			if c == q {
				break
			}
		}
		if i > len(buf) {
			return 0, 0, false, false
		}
	}
	return i, bytes.Count(buf[start:i-1], nlByte), esc, true
}

// unescape resolves doubled quotes or escape bytes into scratch.
func (s *recordScanner) unescape(b []byte) csvField {
	from := len(s.scratch)
	q, e := s.d.quote, s.d.escape
	if e == 0 {
		e = q
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == e && i+1 < len(b) {
			i++
			c = b[i]
		}
		s.scratch = append(s.scratch, c)
	}
	return csvField{start: uint32(from), end: uint32(len(s.scratch)), quoted: true, scratch: true}
}

// skipRecord finds the end of a malformed record starting at pos.
func (s *recordScanner) skipRecord(buf []byte, pos int, reason string) (end, lines int, bad string) {
	end, ok := recordEnd(buf, pos, s.d)
	if !ok {
		return len(buf), bytes.Count(buf[pos:], nlByte), reasonUnterminate
	}
	return end, bytes.Count(buf[pos:end], nlByte), reason
}

// recordEnd returns the offset just past the first newline outside quotes
// at or after pos (a record start), or len(buf) and whether the buffer
// ended outside quotes.
func recordEnd(buf []byte, pos int, d dialect) (int, bool) {
	in := false
	q, e := d.quote, d.escape
	if e == q {
		e = 0
	}
	for i := pos; i < len(buf); i++ {
		switch c := buf[i]; {
		case c == '\n' && !in:
			return i + 1, true
		case c == q && q != 0:
			in = !in
		case c == e && e != 0 && in:
			i++
		}
	}
	return len(buf), !in
}

// lastRecordEnd returns the offset just past the last newline outside
// quotes in buf (which starts at a record start), or -1 when there is
// none; and whether buf ends outside quotes.
func lastRecordEnd(buf []byte, d dialect) (int, bool) {
	q, e := d.quote, d.escape
	if q == 0 {
		k := bytes.LastIndexByte(buf, '\n')
		if k < 0 {
			return -1, true
		}
		return k + 1, true
	}
	if e == 0 || e == q {
		// Inside quotes iff an odd number of quotes came before.
		odd := bytes.Count(buf, []byte{q})&1 == 1
		endOutside := !odd
		for i := len(buf) - 1; i >= 0; i-- {
			switch buf[i] {
			case q:
				odd = !odd
			case '\n':
				if !odd {
					return i + 1, endOutside
				}
			}
		}
		return -1, endOutside
	}
	last := -1
	in := false
	for i := 0; i < len(buf); i++ {
		switch buf[i] {
		case q:
			in = !in
		case e:
			if in {
				i++
			}
		case '\n':
			if !in {
				last = i + 1
			}
		}
	}
	return last, !in
}
