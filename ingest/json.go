package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// The JSON parser reads newline-delimited JSON objects (blank lines
// skipped) or one top-level array of objects, told apart by the first byte
// that is not whitespace (after an optional UTF-8 BOM): '[' means an array.
//
// One goroutine cuts the input into pieces of about Options.ChunkBytes
// (json_split.go); Options.Workers goroutines parse pieces into column
// accumulators and Arrow batches of at most BatchRows rows (json_worker.go);
// Next hands the chunks out strictly in input order. At most Workers+2
// pieces are in flight, parsed or not.
//
// Values: a column takes JSON values of its type, NULL for null and for a
// missing key. Integer columns take integer literals and strings holding an
// integer; float columns numbers and strings strconv.ParseFloat reads;
// date32 and timestamp columns strings (see json_time.go); bool columns
// true and false; utf8 columns strings and, for any other value, its raw
// JSON text. Anything else makes the row bad (chunk.Errs), as does a syntax
// error, a top-level value that is not an object, or (in an array) an empty
// element. Duplicate keys: the last one wins.
//
// Keys that are not columns (not seen in the inference sample, or not in
// Options.Schema) are skipped — after a syntax check of their values — and
// counted by dotted path; IgnoredKeys reports the counts.
//
// Strings: escapes are decoded. A string value with invalid UTF-8 bytes or
// a lone surrogate escape makes its row bad, unless Options.InvalidUTF8 is
// UTF8Replace: then they become U+FFFD, as encoding/json does. Either way
// every utf8 value is valid UTF-8.

// jsonParser is the parser for JSON input.
type jsonParser struct {
	schema *arrow.Schema
	cancel context.CancelFunc
	ctx    context.Context

	order   chan *jsonPiece // pieces in input order
	tokens  chan struct{}   // one per piece in flight
	workers sync.WaitGroup

	cur     *jsonPiece // the piece being handed out (or waited for)
	ready   bool       // cur is parsed
	next    int
	ignored map[string]int64
	err     error // sticky: io.EOF, a fatal error or errJSONClosed
	closed  bool
}

var _ parser = (*jsonParser)(nil)

var errJSONClosed = errors.New("json parser closed")

// jsonMaxIgnoredKeys bounds the distinct ignored key paths counted.
const jsonMaxIgnoredKeys = 1000

// jsonBufs recycles piece buffers (at most Workers+3 are kept).
type jsonBufs struct {
	free chan *[]byte
	size int
}

func (b *jsonBufs) get() *[]byte {
	select {
	case p := <-b.free:
		return p
	default:
		buf := make([]byte, 0, b.size)
		return &buf
	}
}

func (b *jsonBufs) put(p *[]byte) {
	*p = (*p)[:0]
	select {
	case b.free <- p:
	default:
	}
}

// newJSONParser reads the head of the input, settles the schema and starts
// the parsing goroutines.
func newJSONParser(ctx context.Context, in input, opts *Options) (parser, error) {
	p, err := newJSONParserT(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func newJSONParserT(ctx context.Context, in input, opts *Options) (*jsonParser, error) {
	h := &jsonHead{r: in.r}
	// detect: the first byte that is not whitespace
	start, first := 0, -1
	for first < 0 {
		if err := h.more(64<<10, opts.Source); err != nil {
			return nil, err
		}
		start = 0
		if bytes.HasPrefix(h.buf, jsonBOM) {
			start = 3
		}
		for i := start; i < len(h.buf); i++ {
			if !jsonIsWS(h.buf[i]) {
				first = i
				break
			}
		}
		if h.eof {
			break
		}
	}
	if first < 0 && opts.Schema == nil {
		return nil, fmt.Errorf("%w: %s: empty input", ErrMalformed, opts.Source)
	}
	arr := first >= 0 && h.buf[first] == '['
	schema := opts.Schema
	if schema == nil {
		from := start
		if arr {
			from = first + 1
		}
		var err error
		if schema, err = jsonInferSchema(h, in, opts, arr, from); err != nil {
			return nil, err
		}
	}
	rootType := arrow.StructOf(schema.Fields()...)
	if _, err := newJSONCol(rootType, ""); err != nil {
		return nil, err
	}

	var r io.Reader = bytes.NewReader(h.buf)
	if !h.eof {
		r = io.MultiReader(r, in.r)
	}
	ctx, cancel := context.WithCancel(ctx)
	n := opts.Workers + 2
	p := &jsonParser{
		schema:  schema,
		ctx:     ctx,
		cancel:  cancel,
		order:   make(chan *jsonPiece, n),
		tokens:  make(chan struct{}, n),
		ignored: map[string]int64{},
	}
	pool := &jsonBufs{free: make(chan *[]byte, n+1), size: opts.ChunkBytes + opts.ChunkBytes/4}
	sp := &jsonSplitter{r: r, size: opts.ChunkBytes, arr: arr, source: opts.Source, pool: pool, first: true, line: 1}
	jobs := make(chan *jsonPiece, n)
	go p.split(sp, jobs)
	for range opts.Workers {
		root, _ := newJSONCol(rootType, "")
		w := &jsonWorker{
			root: root, schema: schema, opts: opts, arr: arr, lines: in.lines, pool: pool,
		}
		w.d.replaceUTF8 = opts.InvalidUTF8 == UTF8Replace
		p.workers.Add(1)
		go func() {
			defer p.workers.Done()
			w.run(ctx, jobs)
		}()
	}
	return p, nil
}

// split feeds pieces to the workers and, in the same order, to Next.
func (p *jsonParser) split(sp *jsonSplitter, jobs chan<- *jsonPiece) {
	defer close(p.order)
	defer close(jobs)
	for {
		select {
		case p.tokens <- struct{}{}:
		case <-p.ctx.Done():
			return
		}
		piece, err := sp.next()
		if p.ctx.Err() != nil || errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			piece = &jsonPiece{err: err, done: make(chan struct{})}
			close(piece.done)
			p.order <- piece // room: a token is held
			return
		}
		p.order <- piece
		select {
		case jobs <- piece:
		case <-p.ctx.Done():
			return
		}
	}
}

// Schema implements parser.
func (p *jsonParser) Schema() *arrow.Schema { return p.schema }

// Next implements parser.
func (p *jsonParser) Next(ctx context.Context) (*chunk, error) {
	for {
		if p.err != nil {
			return nil, p.err
		}
		if p.cur == nil {
			select {
			case piece, ok := <-p.order:
				if !ok {
					if err := p.ctx.Err(); err != nil {
						return nil, err
					}
					p.err = io.EOF
					continue
				}
				p.cur, p.next, p.ready = piece, 0, false
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-p.ctx.Done():
				return nil, p.ctx.Err()
			}
		}
		if !p.ready {
			select {
			case <-p.cur.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-p.ctx.Done():
				return nil, p.ctx.Err()
			}
			p.ready = true
			if p.cur.err != nil {
				p.err = p.cur.err
				return nil, p.err
			}
			for k, v := range p.cur.ignored {
				if _, ok := p.ignored[k]; ok || len(p.ignored) < jsonMaxIgnoredKeys {
					p.ignored[k] += v
				}
			}
		}
		if p.next < len(p.cur.chunks) {
			c := p.cur.chunks[p.next]
			p.cur.chunks[p.next] = nil
			p.next++
			return c, nil
		}
		p.cur = nil
		<-p.tokens
	}
}

// IgnoredKeys returns, for the chunks handed out so far, how many values
// were skipped per key path (dotted for nested keys) because the key is
// not a column of the schema. At most 1000 distinct paths are counted.
func (p *jsonParser) IgnoredKeys() map[string]int64 {
	out := make(map[string]int64, len(p.ignored))
	for k, v := range p.ignored {
		out[k] = v
	}
	return out
}

// Close implements parser.
func (p *jsonParser) Close() {
	if p.closed {
		return
	}
	p.closed = true
	p.cancel()
	p.workers.Wait()
	// The workers are gone: every piece is either done or never will be.
	release := func(piece *jsonPiece) {
		select {
		case <-piece.done:
			for i, c := range piece.chunks {
				if c != nil && c.Batch != nil {
					c.Batch.Release()
				}
				piece.chunks[i] = nil
			}
		default:
		}
	}
	if p.cur != nil {
		release(p.cur)
		p.cur = nil
	}
drain:
	for {
		select {
		case piece, ok := <-p.order:
			if !ok {
				break drain
			}
			release(piece)
		default:
			break drain
		}
	}
	p.err = errJSONClosed
}
