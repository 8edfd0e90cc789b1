package ingest

import (
	"bytes"
	"fmt"
	"io"
)

// firstPieceBytes is the size of the first piece: the pieces double from
// it up to ChunkBytes, so that the first batch is out (and on its way to a
// server) after a fraction of the time a whole ChunkBytes piece takes to
// parse. A 10 MB file otherwise waits for a 4 MiB piece before anything
// moves.
const firstPieceBytes = 256 << 10

// split cuts r into pieces of about ChunkBytes (the first ones smaller, see
// firstPieceBytes) that end at record boundaries (a piece grows when one
// record is longer) and queues each in input order for the workers. It
// numbers lines as it goes, skips the header record, and ends the stream
// with a fatal error when the input ends inside quotes.
func (p *csvParser) split(r io.Reader, work chan<- *csvPiece, header bool, extra int64) {
	defer p.wg.Done()
	defer close(p.order)
	defer close(work)

	src := p.opts.Source
	line := int64(1)
	var carry []byte
	eof := false
	size := min(firstPieceBytes, p.opts.ChunkBytes)
	for !eof {
		buf := append(p.buffer(), carry...)
		target := max(size, len(buf)+1)
		size = min(2*size, p.opts.ChunkBytes)
		cut := -1
		for {
			var err error
			if len(buf) < target {
				if buf, eof, err = readMore(r, buf, target-len(buf)); err != nil {
					p.fail(fmt.Errorf("reading %s: %w", src, err))
					return
				}
			}
			if header {
				end := headerEnd(buf, p.d, eof)
				if end < 0 && !eof {
					target = len(buf) + max(len(buf), p.opts.ChunkBytes)
					continue
				}
				if end < 0 {
					end = len(buf)
				}
				line += int64(bytes.Count(buf[:end], nlByte))
				extra += int64(end)
				buf = buf[:copy(buf, buf[end:])]
				header = false
			}
			var outside bool
			cut, outside = lastRecordEnd(buf, p.d)
			if eof {
				if !outside {
					cut = max(cut, 0)
					next := line + int64(bytes.Count(buf[:cut], nlByte))
					if cut > 0 && !p.send(work, &csvPiece{buf: buf[:cut], line: line, extra: extra}) {
						return
					}
					line = next
					_, blank := skipBlank(buf, cut)
					p.fail(fmt.Errorf("%s:%d: %s: %w", src, line+int64(blank), reasonUnterminate, ErrMalformed))
					return
				}
				cut = len(buf)
				break
			}
			if cut > 0 {
				break
			}
			target = len(buf) + max(len(buf), p.opts.ChunkBytes)
		}
		carry = append(carry[:0], buf[cut:]...)
		buf = buf[:cut]
		if len(buf) == 0 && extra == 0 {
			break
		}
		next := line + int64(bytes.Count(buf, nlByte))
		if !p.send(work, &csvPiece{buf: buf, line: line, extra: extra}) {
			return
		}
		line = next
		extra = 0
	}
}

// headerEnd returns the offset past the first record of buf, or -1 when
// buf does not hold all of it yet.
func headerEnd(buf []byte, d dialect, eof bool) int {
	start, _ := skipBlank(buf, 0)
	end, ok := recordEnd(buf, start, d)
	if ok && end > 0 && buf[end-1] == '\n' {
		return end
	}
	if eof {
		return len(buf)
	}
	return -1
}

// buffer returns an empty piece buffer, reused when one is free.
func (p *csvParser) buffer() []byte {
	select {
	case b := <-p.free:
		return b[:0]
	default:
		return make([]byte, 0, p.opts.ChunkBytes+p.opts.ChunkBytes/4)
	}
}

func (p *csvParser) recycle(b []byte) {
	select {
	case p.free <- b:
	default:
	}
}

// send queues a piece in order and for a worker; false when cancelled.
func (p *csvParser) send(work chan<- *csvPiece, pc *csvPiece) bool {
	pc.done = make(chan csvResult, 1)
	select {
	case p.order <- pc:
	case <-p.ctx.Done():
		return false
	}
	select {
	case work <- pc:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// fail queues a fatal error in order.
func (p *csvParser) fail(err error) {
	pc := &csvPiece{done: make(chan csvResult, 1)}
	pc.done <- csvResult{err: err}
	select {
	case p.order <- pc:
	case <-p.ctx.Done():
	}
}

// work parses pieces until the splitter stops.
func (p *csvParser) work(work <-chan *csvPiece) {
	defer p.wg.Done()
	w := &csvWorker{p: p, sc: newRecordScanner(p.d), fast: fastKinds(p.d, p.cols)}
	w.bb = newBatchBuilder(p.opts.Allocator, p.schema, p.cols, &p.nulls)
	w.bb.replaceUTF8 = p.opts.InvalidUTF8 == UTF8Replace
	w.bb.hint = min(p.opts.BatchRows, max(16, p.opts.ChunkBytes/p.rowBytes*9/8))
	defer w.bb.release()
	for pc := range work {
		chunks, err := w.parse(pc)
		p.recycle(pc.buf)
		pc.done <- csvResult{chunks: chunks, err: err}
	}
}

// csvWorker parses pieces with its own scanner and builders.
type csvWorker struct {
	p    *csvParser
	sc   *recordScanner
	bb   *batchBuilder
	fast []fastKind // the fast path's plan (csv_fast.go); nil: no fast path
	// lineValid: the record the fast path is reading is valid UTF-8 as a
	// whole, so each of its fields is (they are cut at ASCII bytes).
	lineValid bool
}

// Checking text for valid UTF-8 costs one pass over each piece: a piece
// that is valid UTF-8 as a whole (almost always, most often plain ASCII,
// checked 8 bytes at a time) has only valid fields, since fields are cut
// at ASCII bytes; only in a piece that is not are records and then fields
// checked one by one.

// parse turns a piece into chunks of at most BatchRows good rows each,
// with the bad rows among them.
func (w *csvWorker) parse(pc *csvPiece) ([]*chunk, error) {
	p, buf := w.p, pc.buf
	w.bb.textValid = validUTF8(buf)
	line := pc.line
	var chunks []*chunk
	cur := w.newChunk()
	from, pos := 0, 0
	for n := 1; ; n++ {
		start, blank := skipBlank(buf, pos)
		line += int64(blank)
		if start == len(buf) {
			break
		}
		at := line
		good := false
		if w.fast != nil {
			var end, nl int
			end, nl, good = w.addFast(buf, start)
			if good {
				line += int64(nl)
				pos = end
			}
		}
		if !good {
			end, nl, bad := w.sc.scan(buf, start)
			line += int64(nl)
			pos = end
			raw := buf[start:end]
			fields := w.sc.fields
			switch {
			case bad != "":
				cur.Errs = append(cur.Errs, p.rowError(at, raw, bad))
			case len(fields) != len(p.cols):
				cur.Errs = append(cur.Errs, p.rowError(at, raw, fmt.Sprintf("expected %d fields, found %d", len(p.cols), len(fields))))
			default:
				if col := w.bb.add(w.sc); col >= 0 {
					cur.Errs = append(cur.Errs, p.valueError(at, raw, col, w.sc.text(col), fields[col].quoted))
					break
				}
				good = true
			}
		}
		if good {
			if p.lines {
				cur.Lines = append(cur.Lines, at)
			}
			// String data comes from buf[from:pos], so no column can be
			// full before that many bytes went by.
			if w.bb.rows == p.opts.BatchRows || (pos-from >= maxStringBatchBytes && w.bb.full()) {
				cur.Batch, cur.Bytes = w.bb.flush(), int64(pos-from)
				chunks = append(chunks, cur)
				cur, from = w.newChunk(), pos
			}
		}
		if n%1024 == 0 && p.ctx.Err() != nil {
			if b := w.bb.flush(); b != nil {
				b.Release()
			}
			releaseChunks(chunks)
			return nil, p.ctx.Err()
		}
	}
	cur.Batch, cur.Bytes = w.bb.flush(), int64(len(buf)-from)
	if cur.Batch == nil && len(cur.Errs) == 0 && len(chunks) > 0 {
		chunks[len(chunks)-1].Bytes += cur.Bytes
	} else {
		chunks = append(chunks, cur)
	}
	chunks[0].Bytes += pc.extra
	return chunks, nil
}

func (w *csvWorker) newChunk() *chunk {
	c := &chunk{}
	if w.p.lines {
		c.Lines = make([]int64, 0, w.bb.hint)
	}
	return c
}

// rowError reports a record bad as a whole.
func (p *csvParser) rowError(line int64, raw []byte, reason string) RowError {
	return RowError{Source: p.opts.Source, Line: line, Reason: reason, Raw: clipRaw(trimNewline(raw))}
}

// valueError reports a field that does not convert to its column's type.
func (p *csvParser) valueError(line int64, raw []byte, col int, text []byte, quoted bool) RowError {
	c := &p.cols[col]
	e := p.rowError(line, raw, "")
	e.Column, e.Value, e.Expected = c.name, clipRaw(text), c.typ.String()
	switch {
	case p.nulls.isNull(c, text, quoted):
		e.Reason = "null in a non-nullable column"
	case c.utf8 && !validUTF8(text):
		e.Reason = reasonInvalidUTF8
	default:
		e.Reason = fmt.Sprintf("cannot parse %q as %s", clipText(text, 64), c.typ)
	}
	return e
}

// clipText shortens a value quoted in a message.
func clipText(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
