package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// Reading the head of a JSON input (kept and replayed to the parsers,
// since input.r is read once) and sampling rows for inference: the first
// SampleRows rows, or for NDJSON in a seekable file half of them from the
// head and the rest from blocks spread through the file, each resynced to
// the line after its offset.

// jsonHeadCap bounds the head kept for inference.
const jsonHeadCap = 64 << 20

// jsonSpreadMin is the smallest file whose sample is spread.
const jsonSpreadMin = 16 << 20

type jsonHead struct {
	r   io.Reader
	buf []byte
	eof bool
}

// more reads up to n more bytes.
func (h *jsonHead) more(n int, source string) error {
	if h.eof {
		return nil
	}
	if cap(h.buf)-len(h.buf) < n {
		nb := make([]byte, len(h.buf), 2*len(h.buf)+n)
		copy(nb, h.buf)
		h.buf = nb
	}
	want := len(h.buf) + n
	for len(h.buf) < want {
		k, err := h.r.Read(h.buf[len(h.buf):want])
		h.buf = h.buf[:len(h.buf)+k]
		if errors.Is(err, io.EOF) {
			h.eof = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", source, err)
		}
	}
	return nil
}

// jsonBlank reports whether b holds only JSON whitespace.
func jsonBlank(b []byte) bool {
	for _, c := range b {
		if !jsonIsWS(c) {
			return false
		}
	}
	return true
}

// jsonInferSchema samples rows and settles the schema. start is where the
// rows begin in h.buf (after a BOM, and for an array after its bracket).
func jsonInferSchema(h *jsonHead, in input, opts *Options, arr bool, start int) (*arrow.Schema, error) {
	root := &jsonInfer{}
	var d jsonDec
	quota := opts.SampleRows
	// spreading pays off only when the file is much bigger than a sample
	spread := in.at != nil && !arr && in.size > jsonSpreadMin
	if spread {
		quota = max(1, quota/2)
	}
	seen, rows := 0, 0
	firstErr := "" // why the first row that failed did
	pos := start
	if !arr {
		for seen < quota {
			k := bytes.IndexByte(h.buf[pos:], '\n')
			var line []byte
			switch {
			case k >= 0:
				line = h.buf[pos : pos+k]
				pos += k + 1
			case h.eof || len(h.buf) >= jsonHeadCap:
				line = h.buf[pos:]
				if !h.eof {
					line = nil // an incomplete line
				}
				pos = len(h.buf)
			default:
				if err := h.more(max(len(h.buf), 64<<10), opts.Source); err != nil {
					return nil, err
				}
				continue
			}
			if !jsonBlank(line) {
				seen++
				if root.row(&d, line) {
					rows++
				} else if firstErr == "" {
					firstErr = d.errMsg
				}
			}
			if k < 0 {
				break
			}
		}
		if spread && !h.eof && seen >= quota {
			// the head ends at pos in the file
			n, err := jsonSampleSpread(in, opts, root, &d, int64(pos), opts.SampleRows-seen, len(h.buf)/max(seen, 1))
			if err != nil {
				return nil, err
			}
			rows += n
		}
	} else {
		scan := jsonArrScan{depth: 1}
		elemStart, commas := pos, false
		for seen < quota {
			j, ev := scan.advance(h.buf, pos)
			if ev == jsonEvMore {
				if h.eof || len(h.buf) >= jsonHeadCap {
					break // the splitter reports a broken array
				}
				if err := h.more(max(len(h.buf), 64<<10), opts.Source); err != nil {
					return nil, err
				}
				pos = j
				continue
			}
			end := j
			if ev == jsonEvComma {
				end, commas = j-1, true
			}
			elem := h.buf[elemStart:end]
			if ev == jsonEvEnd && !commas && jsonBlank(elem) {
				break
			}
			seen++
			if root.row(&d, elem) {
				rows++
			} else if firstErr == "" {
				firstErr = d.errMsg
			}
			if ev == jsonEvEnd {
				break
			}
			pos, elemStart = j, j
		}
	}
	if rows == 0 {
		switch {
		case seen == 0 && arr:
			return nil, fmt.Errorf("%w: %s: the top-level array is empty: nothing to infer a schema from (give a schema)", ErrMalformed, opts.Source)
		case seen == 0:
			return nil, fmt.Errorf("%w: %s: empty input", ErrMalformed, opts.Source)
		}
		if firstErr != "" {
			return nil, fmt.Errorf("%w: %s: none of the %d sampled rows could be read, so there is nothing to infer a schema from; "+
				"the first: %s", ErrMalformed, opts.Source, seen, firstErr)
		}
		return nil, fmt.Errorf("%w: %s: none of the %d sampled rows is a valid JSON object: nothing to infer a schema from", ErrMalformed, opts.Source, seen)
	}
	return root.schema(opts)
}

// jsonSampleSpread samples up to want NDJSON rows from 8 blocks spread
// over in.at after offset from, and returns how many it observed.
func jsonSampleSpread(in input, opts *Options, root *jsonInfer, d *jsonDec, from int64, want, avgLine int) (int, error) {
	const blocks = 8
	if want <= 0 || in.size-from < 1<<20 {
		return 0, nil
	}
	per := max(1, want/blocks)
	size := min(per*max(avgLine, 16)*5/4+64<<10, 16<<20)
	buf := make([]byte, size)
	rows := 0
	for k := 0; k < blocks; k++ {
		off := from + (in.size-from)*int64(2*k+1)/(2*blocks)
		n, err := in.at.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return rows, fmt.Errorf("reading %s: %w", opts.Source, err)
		}
		b := buf[:n]
		atEnd := off+int64(n) >= in.size
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			continue
		}
		b = b[nl+1:]
		for got := 0; got < per; {
			k := bytes.IndexByte(b, '\n')
			var line []byte
			if k < 0 {
				if !atEnd || len(b) == 0 {
					break
				}
				line, b = b, nil
			} else {
				line, b = b[:k], b[k+1:]
			}
			if jsonBlank(line) {
				continue
			}
			got++
			if root.row(d, line) {
				rows++
			}
		}
	}
	return rows, nil
}
