package ingest

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// jsonWorker parses pieces into batches. Each worker owns its column
// accumulators, reused from piece to piece.
type jsonWorker struct {
	root   *jsonCol
	schema *arrow.Schema
	opts   *Options
	arr    bool
	lines  bool
	pool   *jsonBufs

	d        jsonDec
	errs     []RowError
	rowLines []int64
}

func (w *jsonWorker) run(ctx context.Context, jobs <-chan *jsonPiece) {
	for {
		select {
		case piece, ok := <-jobs:
			if !ok {
				return
			}
			if ctx.Err() == nil {
				w.parse(ctx, piece)
			}
			close(piece.done)
		case <-ctx.Done():
			return
		}
	}
}

// parse turns a piece into chunks of at most BatchRows rows.
func (w *jsonWorker) parse(ctx context.Context, p *jsonPiece) {
	data := p.data
	var used int64 // bytes given to chunks so far
	lastEnd := 0   // where the previous chunk's rows ended in data
	w.d.ignored = nil
	emit := func(end int, final bool) {
		c := &chunk{Batch: w.root.batch(w.schema, w.opts.Allocator), Errs: w.errs}
		if w.lines && c.Batch != nil {
			c.Lines = w.rowLines
		}
		w.errs, w.rowLines = nil, nil
		if final {
			c.Bytes = p.bytes - used
		} else {
			c.Bytes = int64(end - lastEnd)
		}
		used += c.Bytes
		lastEnd = end
		p.chunks = append(p.chunks, c)
	}
	batchRows := w.opts.BatchRows
	rows := 0
	if !w.arr {
		line := p.line
		for pos := 0; pos < len(data); line++ {
			end := len(data)
			if k := bytes.IndexByte(data[pos:], '\n'); k >= 0 {
				end = pos + k
			}
			w.row(data[pos:end], line)
			pos = end + 1
			if len(w.root.valid) >= batchRows {
				emit(min(pos, len(data)), false)
			}
			if rows++; rows&4095 == 0 && ctx.Err() != nil {
				w.abandon()
				return
			}
		}
	} else {
		line, counted, start := p.line, 0, 0
		for _, e := range p.ends {
			seg := data[start:e]
			k := 0
			for k < len(seg) && jsonIsWS(seg[k]) {
				k++
			}
			line += int64(bytes.Count(data[counted:start+k], []byte{'\n'}))
			counted = start + k
			w.row(seg, line)
			start = int(e) + 1
			if len(w.root.valid) >= batchRows {
				emit(min(start, len(data)), false)
			}
			if rows++; rows&4095 == 0 && ctx.Err() != nil {
				w.abandon()
				return
			}
		}
	}
	emit(len(data), true)
	p.ignored = w.d.ignored
	// the input bytes are no longer needed
	w.pool.put(p.buf)
	p.buf, p.data = nil, nil
}

// abandon drops a piece half parsed (the context is done).
func (w *jsonWorker) abandon() {
	w.root.reset()
	w.errs, w.rowLines = nil, nil
}

// row parses one row's text; a bad row is undone and recorded.
func (w *jsonWorker) row(text []byte, line int64) {
	d := &w.d
	d.reset(text)
	d.ws()
	base := 0
	if w.arr {
		base = d.i
	}
	if d.i == len(text) {
		if w.arr {
			w.bad(text, line, "", "", "", "invalid JSON: missing value (empty array element)")
		}
		return
	}
	if text[d.i] != '{' {
		if d.validate(text) {
			w.bad(text, line, "", "", "", "the row is not a JSON object")
		} else {
			w.bad(text, line, "", "", "", fmt.Sprintf("invalid JSON: %s at byte offset %d", d.errMsg, d.errOff-base))
		}
		return
	}
	r := len(w.root.valid)
	ok := w.root.object(d)
	if ok {
		d.ws()
		if d.i != len(text) {
			ok = d.syntax(d.i, "unexpected data after the object")
		}
	}
	if ok {
		if w.lines {
			w.rowLines = append(w.rowLines, line)
		}
		return
	}
	w.root.truncate(r)
	if d.errCol != nil {
		col, val, reason := d.errCol, string(jsonClip(d.errVal, 1024)), d.errReason
		if d.validate(text) {
			w.bad(text, line, col.path, val, col.dt.String(), reason)
			return
		}
	}
	w.bad(text, line, "", "", "", fmt.Sprintf("invalid JSON: %s at byte offset %d", d.errMsg, d.errOff-base))
}

func (w *jsonWorker) bad(text []byte, line int64, col, val, expected, reason string) {
	if w.arr {
		text = bytes.TrimSpace(text)
	} else {
		text = bytes.TrimSuffix(text, []byte{'\r'})
	}
	w.errs = append(w.errs, RowError{
		Source: w.opts.Source, Line: line, Column: col, Value: val,
		Expected: expected, Reason: reason, Raw: clipRaw(text),
	})
}

// ignoredKey counts a key of an object of column c that is not a field.
func (d *jsonDec) ignoredKey(c *jsonCol, key []byte) {
	if d.ignored == nil {
		d.ignored = map[string]int64{}
	}
	if c.path == "" {
		if _, ok := d.ignored[string(key)]; ok || len(d.ignored) < jsonMaxIgnoredKeys {
			d.ignored[string(key)]++
		}
		return
	}
	path := jsonJoinPath(c.path, string(key))
	if _, ok := d.ignored[path]; ok || len(d.ignored) < jsonMaxIgnoredKeys {
		d.ignored[path]++
	}
}
