package ingest

import (
	"bytes"
	"fmt"
	"strings"
)

// sniffRecords bounds how many records of the sample dialect sniffing reads.
const sniffRecords = 1000

// sniffDialect settles the delimiter, quote and escape: what the options
// fix is kept; the rest is the candidate dialect under which the sample's
// records agree best on their field count.
func sniffDialect(sample []byte, atEOF bool, o CSVOptions) dialect {
	quotes := []byte{'"', '\''}
	switch o.Quote {
	case 0:
	case NoQuote:
		quotes = []byte{0}
	default:
		quotes = []byte{o.Quote}
	}
	delims := []byte{',', '\t', ';', '|'}
	if o.Delimiter != 0 {
		delims = []byte{o.Delimiter}
	}
	escapes := []byte{o.Escape}
	switch {
	case o.Escape == 0 && o.Quote == 0:
		// With the quote sniffed, so is the escape: a backslash before a
		// quote ("say \"hi\"") breaks the doubled-quote reading, and the
		// backslash reading is tried after it.
		escapes = []byte{0, '\\'}
	case o.Escape == o.Quote:
		escapes = []byte{0}
	}
	var best dialect
	var bestScore sniffScore
	first := true
	for _, q := range quotes {
		if q == '\'' && o.Quote == 0 && !opensFields(sample, q) {
			continue // no evidence for single quotes
		}
		for _, e := range escapes {
			if q == 0 && e != 0 {
				continue
			}
			for _, dl := range delims {
				d := dialect{delim: dl, quote: q, escape: e}
				sc := scoreDialect(sample, atEOF, d)
				if first || sc.better(bestScore) {
					best, bestScore, first = d, sc, false
				}
			}
		}
	}
	return best
}

// opensFields reports whether q starts a field somewhere in the sample:
// at a line start or after a candidate delimiter.
func opensFields(sample []byte, q byte) bool {
	for i, c := range sample {
		if c == q && (i == 0 || bytes.IndexByte([]byte("\n,\t;|"), sample[i-1]) >= 0) {
			return true
		}
	}
	return false
}

// sniffScore is how well a dialect reads the sample.
type sniffScore struct {
	width int // the most common field count
	agree int // records with that count, less malformed records
	bad   int // malformed records
}

func (s sniffScore) better(t sniffScore) bool {
	if (s.width > 1) != (t.width > 1) {
		return s.width > 1
	}
	if s.agree != t.agree {
		return s.agree > t.agree
	}
	return s.width > t.width
}

func scoreDialect(sample []byte, atEOF bool, d dialect) sniffScore {
	s := newRecordScanner(d)
	counts := map[int]int{}
	var sc sniffScore
	records := 0
	eachRecord(s, sample, atEOF, func(_ []byte, _ int, bad string) bool {
		if bad != "" {
			sc.bad++
		} else {
			counts[len(s.fields)]++
		}
		records++
		return records < sniffRecords
	})
	for w, c := range counts {
		if c > sc.agree || (c == sc.agree && w > sc.width) {
			sc.width, sc.agree = w, c
		}
	}
	sc.agree -= sc.bad
	return sc
}

// eachRecord scans the records of buf, which starts at a record start,
// calling fn with each complete record's raw bytes, the newlines before it
// (since the previous record) and the reason it is malformed, if it is.
// Without atEOF a record cut off by the end of buf is left out. fn returns
// false to stop. eachRecord returns the offset past the last record seen.
func eachRecord(s *recordScanner, buf []byte, atEOF bool, fn func(raw []byte, blank int, bad string) bool) int {
	pos := 0
	for {
		start, blank := skipBlank(buf, pos)
		if start == len(buf) {
			if atEOF {
				return len(buf)
			}
			return pos
		}
		end, _, bad := s.scan(buf, start)
		if end == len(buf) && !atEOF && (bad == reasonUnterminate || buf[end-1] != '\n') {
			return pos
		}
		pos = end
		if !fn(trimNewline(buf[start:end]), blank, bad) {
			return pos
		}
	}
}

// trimNewline cuts a record's line ending.
func trimNewline(raw []byte) []byte {
	if n := len(raw); n > 0 && raw[n-1] == '\n' {
		raw = raw[:n-1]
	}
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	return raw
}

// columnNames makes header texts usable as column names: an empty name
// becomes column<N> (1-based), and a repeated one gets _2, _3, ….
func columnNames(header []string) []string {
	names := make([]string, len(header))
	taken := make(map[string]bool, len(header))
	for i, h := range header {
		if h == "" {
			h = fmt.Sprintf("column%d", i+1)
		}
		name := h
		for k := 2; taken[name]; k++ {
			name = fmt.Sprintf("%s_%d", h, k)
		}
		taken[name] = true
		names[i] = name
	}
	return names
}

// defaultNames are the names of a file without header: column1..columnN.
func defaultNames(n int) []string {
	return columnNames(make([]string, n))
}

// namesMatch reports whether a record spells out the given column names.
func namesMatch(fields []string, names []string) bool {
	if len(fields) != len(names) {
		return false
	}
	for i := range fields {
		if !strings.EqualFold(strings.TrimSpace(fields[i]), names[i]) {
			return false
		}
	}
	return true
}

// stripBOM drops a UTF-8 byte order mark.
func stripBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
}
