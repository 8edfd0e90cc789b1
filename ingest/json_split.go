package ingest

import (
	"bytes"
	"fmt"
	"io"
)

// Splitting JSON input into pieces that can be parsed independently. NDJSON
// splits at '\n' (a raw newline cannot occur inside a JSON string). A
// top-level array splits between elements: a sequential scan tracks string,
// escape and nesting state, jumping with bytes.IndexByte inside strings and
// through a table outside them, and notes every comma at depth 1. A broken
// structure the scan cannot resync from (unclosed string or bracket,
// anything after the closing bracket) is fatal.

// jsonPiece is one piece of input on its way through the workers.
type jsonPiece struct {
	buf   *[]byte // pooled backing store of data
	data  []byte  // the rows: NDJSON lines, or array elements
	ends  []int32 // array: where each element ends in data (at its comma)
	line  int64   // line on which data starts
	bytes int64   // input bytes the piece accounts for

	done    chan struct{} // closed once chunks (or err) are set
	chunks  []*chunk
	ignored map[string]int64
	err     error // fatal: the input breaks here
}

// Events of jsonArrScan.advance.
const (
	jsonEvMore  = iota // need more input
	jsonEvComma        // an element ends at a comma at depth 1
	jsonEvEnd          // the closing bracket of the top-level array
)

// jsonArrScan tracks the structure of a top-level array across buffers.
type jsonArrScan struct {
	depth int
	inStr bool
	esc   bool // the previous buffer ended on a backslash inside a string
}

var jsonStructural = [256]bool{'"': true, '[': true, ']': true, '{': true, '}': true, ',': true}

// advance scans b from i and returns the position after a depth-1 comma,
// or the position of the bracket closing the array, or len(b).
func (s *jsonArrScan) advance(b []byte, i int) (int, int) {
	for i < len(b) {
		if s.inStr {
			if s.esc {
				s.esc = false
				i++
				continue
			}
			q := bytes.IndexByte(b[i:], '"')
			if q < 0 {
				q = len(b) - i
			}
			if bs := bytes.IndexByte(b[i:i+q], '\\'); bs >= 0 {
				i += bs + 1
				if i == len(b) {
					s.esc = true
				} else {
					i++
				}
				continue
			}
			i += q
			if i == len(b) {
				return i, jsonEvMore
			}
			s.inStr = false
			i++
			continue
		}
		for i < len(b) && !jsonStructural[b[i]] {
			i++
		}
		if i == len(b) {
			break
		}
		switch b[i] {
		case '"':
			s.inStr = true
		case '[', '{':
			s.depth++
		case ']', '}':
			s.depth--
			if s.depth == 0 {
				return i, jsonEvEnd
			}
		case ',':
			if s.depth == 1 {
				return i + 1, jsonEvComma
			}
		}
		i++
	}
	return len(b), jsonEvMore
}

// jsonSplitter cuts the input stream into pieces of about size bytes.
type jsonSplitter struct {
	r      io.Reader
	size   int
	arr    bool
	source string
	pool   *jsonBufs

	first   bool
	eof     bool
	done    bool
	carry   []byte
	line    int64 // line at carry[0]
	scan    jsonArrScan
	scanned int  // array: bytes of carry already scanned
	commas  bool // array: some element separator seen
	pending error
}

func jsonIsWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// fill reads into buf until it holds target bytes or the input ends.
func (s *jsonSplitter) fill(buf []byte, target int) ([]byte, error) {
	if cap(buf) < target {
		nb := make([]byte, len(buf), target+target/4)
		copy(nb, buf)
		buf = nb
	}
	for len(buf) < target && !s.eof {
		n, err := s.r.Read(buf[len(buf):target])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			return buf, fmt.Errorf("reading %s: %w", s.source, err)
		}
	}
	return buf, nil
}

// next returns the next piece, or io.EOF.
func (s *jsonSplitter) next() (*jsonPiece, error) {
	if s.pending != nil {
		err := s.pending
		s.pending = nil
		s.done = true
		return nil, err
	}
	if s.done || (s.eof && len(s.carry) == 0 && !s.arr) {
		return nil, io.EOF
	}
	bufp := s.pool.get()
	buf := (*bufp)[:0]
	buf = append(buf, s.carry...)
	target := max(s.size, len(buf)+s.size/2)
	lo := 0
	if s.first {
		var err error
		if buf, err = s.fill(buf, target); err != nil {
			return nil, err
		}
		if bytes.HasPrefix(buf, jsonBOM) {
			lo = 3
		}
		if s.arr {
			for lo < len(buf) && jsonIsWS(buf[lo]) {
				lo++
			}
			lo++ // '[' (the input was detected by it)
			s.scan.depth = 1
			s.scanned = lo
		}
	}
	p := &jsonPiece{buf: bufp, done: make(chan struct{})}
	var ends []int32
	pos := s.scanned
	cut, endAt := -1, -1
	for {
		var err error
		if buf, err = s.fill(buf, target); err != nil {
			return nil, err
		}
		if !s.arr {
			if s.eof && len(buf) == lo {
				s.done = true
				return nil, io.EOF
			}
			if s.eof {
				cut = len(buf)
			} else if k := bytes.LastIndexByte(buf, '\n'); k >= lo {
				cut = k + 1
			}
		} else {
			for endAt < 0 {
				j, ev := s.scan.advance(buf, pos)
				pos = j
				if ev == jsonEvMore {
					break
				}
				if ev == jsonEvComma {
					ends = append(ends, int32(j-1-lo))
					s.commas = true
					cut = j
					continue
				}
				endAt = j
			}
			if endAt < 0 && s.eof && cut < 0 {
				return nil, s.unterminated(buf)
			}
		}
		if cut >= 0 || endAt >= 0 {
			break
		}
		target = len(buf) + s.size
	}
	*bufp = buf
	s.first = false
	if endAt >= 0 {
		if buf[endAt] != ']' {
			return nil, fmt.Errorf("%w: %s:%d: '}' where ']' should close the top-level array", ErrMalformed, s.source, s.line+int64(bytes.Count(buf[:endAt], []byte{'\n'})))
		}
		last := buf[max(cut, lo):endAt]
		if s.commas || len(bytes.TrimLeft(last, " \t\r\n")) > 0 {
			ends = append(ends, int32(endAt-lo))
		}
		p.data, p.ends = buf[lo:endAt], ends
		p.line = s.line + int64(bytes.Count(buf[:lo], []byte{'\n'}))
		tail, err := s.trailing(buf[endAt+1:], s.line+int64(bytes.Count(buf[:endAt], []byte{'\n'})))
		p.bytes = int64(endAt+1) + tail
		s.carry, s.done = nil, true
		if err != nil {
			s.pending, s.done = err, false
		}
		return p, nil
	}
	p.data = buf[lo:cut]
	p.ends = ends
	p.bytes = int64(cut)
	p.line = s.line
	if s.arr {
		p.line += int64(bytes.Count(buf[:lo], []byte{'\n'}))
	}
	s.line += int64(bytes.Count(buf[:cut], []byte{'\n'}))
	s.carry = append(s.carry[:0], buf[cut:]...)
	s.scanned = len(buf) - cut
	if s.eof && len(s.carry) == 0 && !s.arr {
		s.done = true
	}
	return p, nil
}

// trailing checks that only whitespace follows the top-level array and
// returns how many bytes followed it.
func (s *jsonSplitter) trailing(rest []byte, line int64) (int64, error) {
	n := int64(0)
	var tmp [4096]byte
	for {
		for _, c := range rest {
			if !jsonIsWS(c) {
				return n, fmt.Errorf("%w: %s:%d: unexpected data after the top-level array", ErrMalformed, s.source, line)
			}
			if c == '\n' {
				line++
			}
		}
		n += int64(len(rest))
		if s.eof {
			return n, nil
		}
		k, err := s.r.Read(tmp[:])
		rest = tmp[:k]
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			return n, fmt.Errorf("reading %s: %w", s.source, err)
		}
	}
}

// unterminated is the fatal error for an array that ends inside an element.
func (s *jsonSplitter) unterminated(buf []byte) error {
	line := s.line
	what := "an object or array"
	if s.scan.inStr {
		what = "a string"
	}
	if s.scan.depth == 1 && !s.scan.inStr {
		what = "the top-level array"
	}
	return fmt.Errorf("%w: %s:%d: input ends inside %s (element starting on this line is never closed)", ErrMalformed, s.source, line+int64(jsonLeadingNewlines(buf)), what)
}

// jsonLeadingNewlines counts the newlines in b's leading whitespace.
func jsonLeadingNewlines(b []byte) int {
	n := 0
	for _, c := range b {
		if !jsonIsWS(c) && c != ',' {
			break
		}
		if c == '\n' {
			n++
		}
	}
	return n
}

var jsonBOM = []byte{0xEF, 0xBB, 0xBF}
