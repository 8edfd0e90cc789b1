package ingest

import (
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

const (
	// sniffBytes is how much of the input dialect sniffing looks at.
	sniffBytes = 64 << 10
	// maxHeadBytes bounds what is read ahead of parsing to sample rows.
	maxHeadBytes = 64 << 20
	// spreadBlocks is how many places of a seekable input are sampled
	// besides its start; maxBlockBytes bounds each.
	spreadBlocks  = 8
	maxBlockBytes = 8 << 20
	// resyncRecords is how many records after a random offset must have
	// the expected field count before that offset's rows are trusted.
	resyncRecords = 4
)

// csvSampler collects what inference and header detection need from
// sampled records: the first record, and per column what the others allow.
type csvSampler struct {
	sc    *recordScanner
	nulls *nullSet

	width     int // fields of the first record; -1 before it
	first     []string
	firstNull []bool
	firstBad  string // why the first record is malformed, if it is
	guesses   []columnGuess

	rows  int // records sampled, the first included
	bytes int // their raw size
}

func newCSVSampler(d dialect, nulls *nullSet) *csvSampler {
	return &csvSampler{sc: newRecordScanner(d), nulls: nulls, width: -1}
}

// record takes the record just scanned by s.sc. It returns false for a
// record that does not fit the first record's field count.
func (s *csvSampler) record(raw []byte, bad string) bool {
	s.rows++
	s.bytes += len(raw) + 1
	if s.width < 0 {
		s.firstBad = bad
		if bad != "" {
			s.width = 0
			return true
		}
		s.width = len(s.sc.fields)
		s.first = make([]string, s.width)
		s.firstNull = make([]bool, s.width)
		s.guesses = make([]columnGuess, s.width)
		for i := range s.sc.fields {
			text := s.sc.text(i)
			s.first[i] = string(text)
			s.firstNull[i] = s.nulls.is(text)
			s.guesses[i] = newColumnGuess()
		}
		return true
	}
	if bad != "" || len(s.sc.fields) != s.width {
		return false
	}
	for i := range s.sc.fields {
		if text := s.sc.text(i); !s.nulls.is(text) {
			s.guesses[i].add(text)
		}
	}
	return true
}

// readMore appends up to n bytes from r to buf; eof reports r exhausted.
func readMore(r io.Reader, buf []byte, n int) (_ []byte, eof bool, err error) {
	buf = slices.Grow(buf, n)
	m, err := io.ReadFull(r, buf[len(buf):len(buf)+n])
	buf = buf[:len(buf)+m]
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return buf, true, nil
	}
	return buf, false, err
}

// sampleHead reads records from r, after the bytes already in head, until
// want records are sampled, r ends or maxHeadBytes are read. It returns
// every byte read, so that parsing can replay them.
func (s *csvSampler) sampleHead(r io.Reader, head []byte, skip int, eof bool, want int) ([]byte, bool, error) {
	pos := skip
	for {
		pos += eachRecord(s.sc, head[pos:], eof, func(raw []byte, _ int, bad string) bool {
			s.record(raw, bad)
			return s.rows < want
		})
		if s.rows >= want || eof || len(head) >= maxHeadBytes {
			return head, eof, nil
		}
		var err error
		head, eof, err = readMore(r, head, max(len(head), sniffBytes))
		if err != nil {
			return head, eof, err
		}
	}
}

// sampleSpread samples about want more records from spreadBlocks places
// of a seekable input after its first from bytes.
func (s *csvSampler) sampleSpread(at io.ReaderAt, from, size int64, want int) {
	if s.width <= 0 || want <= 0 || size <= from {
		return
	}
	perBlock := max(1, want/spreadBlocks)
	rowBytes := max(1, s.bytes/max(1, s.rows))
	blockLen := int64(min(perBlock*rowBytes*2+4096, maxBlockBytes))
	buf := make([]byte, blockLen)
	for k := range spreadBlocks {
		off := from + (size-from)*int64(k)/spreadBlocks
		n, err := at.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return // sampling is best effort; parsing will meet the error
		}
		s.sampleBlock(buf[:n], off+int64(n) >= size, perBlock)
	}
}

// sampleBlock samples up to want records from a block read at a random
// offset: it skips to a line start from which resyncRecords records have
// the expected field count, so as not to start inside a quoted field.
func (s *csvSampler) sampleBlock(b []byte, atEOF bool, want int) {
	aligned := false
	for range 16 {
		nl := slices.Index(b, '\n')
		if nl < 0 {
			return
		}
		b = b[nl+1:]
		good, seen := 0, 0
		eachRecord(s.sc, b, atEOF, func(_ []byte, _ int, bad string) bool {
			seen++
			if bad == "" && len(s.sc.fields) == s.width {
				good++
			}
			return seen < resyncRecords
		})
		if seen == 0 {
			return
		}
		if good == seen {
			aligned = true
			break
		}
	}
	if !aligned {
		return
	}
	taken := 0
	eachRecord(s.sc, b, atEOF, func(raw []byte, _ int, bad string) bool {
		if s.record(raw, bad) {
			taken++
		}
		return taken < want
	})
}

// detectHeader decides whether the first record is a header. Against a
// given schema: when it spells the column names or does not convert to a
// typed column. Otherwise: when typed columns (inferred from the other
// records) reject its values and none accepts them; or, when no typed
// column decides, when its values are distinct non-empty words.
func (s *csvSampler) detectHeader(schemaCols []textColumn, inferDecimal bool) bool {
	if s.width <= 0 || s.firstBad != "" {
		return false
	}
	if schemaCols != nil {
		names := make([]string, len(schemaCols))
		for i := range schemaCols {
			names[i] = schemaCols[i].name
		}
		if namesMatch(s.first, names) {
			return true
		}
		if len(schemaCols) != s.width {
			return false
		}
		for i := range schemaCols {
			c := &schemaCols[i]
			if c.kind != textString && !s.firstNull[i] {
				if _, _, ok := c.convert([]byte(s.first[i])); !ok {
					return true
				}
			}
		}
		return false
	}
	fitting, failing := 0, 0
	for i := range s.guesses {
		t := s.guesses[i].dataType(inferDecimal)
		if t.ID() == arrow.STRING || s.firstNull[i] {
			continue
		}
		if fits([]byte(s.first[i]), t) {
			fitting++
		} else {
			failing++
		}
	}
	if failing > 0 || fitting > 0 {
		return fitting == 0
	}
	seen := make(map[string]bool, s.width)
	for i, v := range s.first {
		if s.firstNull[i] || v == "" || seen[v] {
			return false
		}
		if set, _, _ := typesOf([]byte(v)); set != 0 {
			return false
		}
		seen[v] = true
	}
	return true
}
