package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzCSV compares the parser with encoding/csv (same dialect, strict
// quotes) on an all-utf8 schema: both read the same records, or both
// report an error (the parser as a bad row or a fatal error).
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,\"b,c\"\n\"x\"\"y\",\"multi\nline\"\r\n",
		"a\n\n\nb\n",
		"\"unterminated\n",
		"a,b\n1\n",
		"x\"y,z\n",
		"\"a\"b,c\n",
		"a,b\r\nc,d\r",
		",,\n\"\",\"\"\n",
		"\xef\xbb\xbfa,b\n1,2\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		// The parser drops a leading byte order mark; encoding/csv would keep
		// it in the first field, so the reference reads the input without it.
		want, refErr := referenceCSV(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
		width := 1
		if len(want) > 0 {
			width = len(want[0])
		}
		got, bad, err := utf8Records(t, data, width, int(chunk)+1)
		if refErr != nil {
			if err == nil && bad == 0 {
				t.Fatalf("encoding/csv fails (%v) but the parser read %q", refErr, got)
			}
			return
		}
		if invalidText(want) {
			// Text that is not UTF-8 makes a bad row (or, strictly, an error).
			if err == nil && bad == 0 {
				t.Fatalf("encoding/csv reads %q, not all UTF-8, and the parser took every row: %q", want, got)
			}
			return
		}
		if err != nil || bad > 0 {
			t.Fatalf("encoding/csv reads %q but the parser fails: %v (%d bad rows)", want, err, bad)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("records differ\n got: %q\nwant: %q", got, want)
		}
	})
}

// invalidText reports whether a field of recs is not valid UTF-8.
func invalidText(recs [][]string) bool {
	for _, rec := range recs {
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return true
			}
		}
	}
	return false
}

// referenceCSV reads data with encoding/csv; records of another width than
// the first count as an error, as they are bad rows for the parser.
func referenceCSV(data []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if len(rec) != len(recs[0]) {
			return nil, errors.New("ragged")
		}
	}
	return recs, nil
}

// utf8Records parses data as width utf8 columns without header, with
// encoding/csv's dialect, in pieces of chunk bytes.
func utf8Records(t *testing.T, data []byte, width, chunk int) (recs [][]string, bad int, err error) {
	fields := make([]arrow.Field, width)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.BinaryTypes.String, Nullable: true}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := Options{
		Schema: arrow.NewSchema(fields, nil), Allocator: mem, ChunkBytes: chunk, Workers: 2, BatchRows: 5,
		CSV: CSVOptions{Delimiter: ',', Quote: '"', Header: HeaderNo, NullTokens: []string{"\x00never"}},
	}.withDefaults()
	ctx := context.Background()
	p, err := newCSVParser(ctx, input{r: bytes.NewReader(data)}, &o)
	if err != nil {
		return nil, 0, err
	}
	defer p.Close()
	for {
		c, err := p.Next(ctx)
		if errors.Is(err, io.EOF) {
			return recs, bad, nil
		}
		if err != nil {
			return recs, bad, err
		}
		bad += len(c.Errs)
		if c.Batch == nil {
			continue
		}
		for r := 0; r < int(c.Batch.NumRows()); r++ {
			rec := make([]string, width)
			for i, col := range c.Batch.Columns() {
				// encoding/csv turns \r\n inside quoted fields into \n.
				rec[i] = strings.ReplaceAll(col.(*array.String).Value(r), "\r\n", "\n")
			}
			recs = append(recs, rec)
		}
		c.Batch.Release()
	}
}

// TestCSVSplitInvariance parses random CSV (quoted fields with delimiters,
// quotes and newlines, CRLF, nulls, bad rows) whole on one worker and in
// tiny pieces on four: the results must be identical.
func TestCSVSplitInvariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for iter := range 60 {
		data := randomCSV(rng, 20+rng.IntN(200))
		whole := parseCSVBytes(t, data, Options{Workers: 1, ChunkBytes: 1 << 20}, false)
		chunk := 64 + rng.IntN(194)
		pieces := parseCSVBytes(t, data, Options{Workers: 4, ChunkBytes: chunk, BatchRows: 1 + rng.IntN(20)}, false)
		if a, b := whole.dump(), pieces.dump(); a != b {
			t.Fatalf("iteration %d, ChunkBytes=%d: results differ\nwhole:\n%s\npieces:\n%s\ninput:\n%q", iter, chunk, a, b, data)
		}
		if whole.err == nil && whole.bytes != int64(len(data)) {
			t.Errorf("iteration %d: chunks cover %d bytes of %d", iter, whole.bytes, len(data))
		}
		if pieces.err == nil && pieces.bytes != int64(len(data)) {
			t.Errorf("iteration %d: pieces cover %d bytes of %d", iter, pieces.bytes, len(data))
		}
	}
}

func randomCSV(rng *rand.Rand, rows int) []byte {
	var b bytes.Buffer
	nl := "\n"
	if rng.IntN(2) == 0 {
		nl = "\r\n"
	}
	b.WriteString("id,text,x,flag" + nl)
	pieces := []string{"a", "b,c", "\"", "\n", "\r\n", " ", "é", ";", "|"}
	for i := range rows {
		fmt.Fprintf(&b, "%d,", i)
		switch rng.IntN(4) {
		case 0:
			b.WriteString("plain")
		case 1: // empty: null
		default:
			b.WriteByte('"')
			for range rng.IntN(6) {
				p := pieces[rng.IntN(len(pieces))]
				b.WriteString(strings.ReplaceAll(p, "\"", "\"\""))
			}
			b.WriteByte('"')
		}
		switch rng.IntN(20) {
		case 0:
			b.WriteString(",oops") // not a float
		case 1:
			b.WriteString(",1.5,true,extra") // ragged
		default:
			fmt.Fprintf(&b, ",%g", rng.NormFloat64())
		}
		fmt.Fprintf(&b, ",%t", rng.IntN(2) == 0)
		b.WriteString(nl)
		if rng.IntN(30) == 0 {
			b.WriteString(nl) // blank line
		}
	}
	return b.Bytes()
}
