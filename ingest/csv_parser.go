package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// csvParser reads CSV and TSV. newCSVParser settles the dialect, header
// and schema from a sample; then one goroutine cuts the input into pieces
// at record boundaries (csv_split.go), Workers goroutines parse pieces
// into record batches, and Next hands them out in input order.
type csvParser struct {
	schema   *arrow.Schema
	cols     []textColumn
	d        dialect
	nulls    nullSet
	opts     *Options
	lines    bool
	rowBytes int // average bytes per record in the sample

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	order  chan *csvPiece // pieces in input order, parsed or not
	free   chan []byte    // piece buffers to reuse

	cur       *csvPiece // the piece Next waits for
	pending   []*chunk  // parsed chunks not yet handed out
	err       error     // sticky: io.EOF or a fatal error
	closeOnce sync.Once
}

var _ parser = (*csvParser)(nil)

// csvPiece is a run of whole records, or an in-order fatal error.
type csvPiece struct {
	buf   []byte
	line  int64 // 1-based line of buf[0]
	extra int64 // input bytes before buf that belong to it (a header)
	done  chan csvResult
}

type csvResult struct {
	chunks []*chunk
	err    error
}

// newCSVParser reads enough of in to settle the dialect, the header and
// the schema, then starts parsing in the background. Cancelling ctx stops
// the parse; Close must be called in any case.
func newCSVParser(ctx context.Context, in input, opts *Options) (parser, error) {
	head, eof, err := readMore(in.r, nil, sniffBytes)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", opts.Source, err)
	}
	bom := len(head) - len(stripBOM(head))
	d := sniffDialect(head[bom:], eof, opts.CSV)
	p := &csvParser{d: d, nulls: newNullSet(opts.CSV.NullTokens), opts: opts, lines: in.lines}

	s := newCSVSampler(d, &p.nulls)
	spread := in.at != nil && !eof
	want := opts.SampleRows
	if spread {
		want = max(1, want/2)
	}
	head, eof, err = s.sampleHead(in.r, head, bom, eof, want)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", opts.Source, err)
	}
	if spread && !eof {
		s.sampleSpread(in.at, int64(len(head)), in.size, opts.SampleRows-s.rows)
	}
	if s.width < 0 && opts.Schema == nil {
		return nil, fmt.Errorf("%s: empty input: %w", opts.Source, ErrMalformed)
	}
	header, err := p.settleSchema(s)
	if err != nil {
		return nil, err
	}
	p.rowBytes = max(1, s.bytes/max(1, s.rows))
	p.start(ctx, io.MultiReader(bytes.NewReader(head[bom:]), in.r), header, int64(bom))
	return p, nil
}

// settleSchema decides the header and the columns; it reports whether the
// first record is a header to skip.
func (p *csvParser) settleSchema(s *csvSampler) (header bool, err error) {
	o := p.opts
	var names []string
	var types []arrow.DataType
	var given []textColumn
	if o.Schema != nil {
		for _, f := range o.Schema.Fields() {
			c, err := newTextColumn(f.Name, f.Type)
			if err != nil {
				return false, err
			}
			given = append(given, c)
			names = append(names, f.Name)
			types = append(types, f.Type)
		}
	}
	switch o.CSV.Header {
	case HeaderYes:
		header = s.width >= 0
	case HeaderNo:
	default:
		header = s.detectHeader(given, o.InferDecimal)
	}
	if s.firstBad != "" && (header || o.Schema == nil) {
		return false, fmt.Errorf("%s:1: first record: %s: %w", o.Source, s.firstBad, ErrMalformed)
	}
	if o.Schema == nil {
		if header {
			names = columnNames(s.first)
		} else {
			names = defaultNames(s.width)
			for i, v := range s.first {
				if !s.firstNull[i] {
					s.guesses[i].add([]byte(v))
				}
			}
		}
		types = make([]arrow.DataType, len(names))
		for i := range s.guesses {
			types[i] = s.guesses[i].dataType(o.InferDecimal)
		}
	}
	for i, name := range names {
		if t, ok := o.TypeHints[name]; ok && o.ColumnTypes[name] == nil {
			if _, err := newTextColumn(name, t); err == nil {
				types[i] = t
			}
		}
	}
	for name, t := range o.ColumnTypes {
		i := indexOf(names, name)
		if i < 0 {
			return false, fmt.Errorf("%w: a type is given for column %q, which %s does not have", ErrOptions, name, o.Source)
		}
		types[i] = t
	}
	fields := make([]arrow.Field, len(names))
	p.cols = make([]textColumn, len(names))
	for i := range names {
		fields[i] = arrow.Field{Name: names[i], Type: types[i], Nullable: true}
		if o.Schema != nil {
			f := o.Schema.Field(i)
			fields[i].Nullable, fields[i].Metadata = f.Nullable, f.Metadata
		}
		if p.cols[i], err = newTextColumn(names[i], types[i]); err != nil {
			return false, err
		}
		p.cols[i].required = !fields[i].Nullable
		if i < len(s.guesses) {
			p.cols[i].textBytes = s.guesses[i].textBytes/max(1, s.guesses[i].values) + 1
		}
	}
	p.schema = arrow.NewSchema(fields, nil)
	return header, nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func (p *csvParser) Schema() *arrow.Schema { return p.schema }

// start launches the splitter and the workers.
func (p *csvParser) start(ctx context.Context, r io.Reader, header bool, extra int64) {
	p.ctx, p.cancel = context.WithCancel(ctx)
	workers := max(1, p.opts.Workers)
	p.order = make(chan *csvPiece, workers+1)
	p.free = make(chan []byte, workers+3)
	work := make(chan *csvPiece)
	p.wg.Add(1 + workers)
	go p.split(r, work, header, extra)
	for range workers {
		go p.work(work)
	}
}

// Next returns the next chunk in input order.
func (p *csvParser) Next(ctx context.Context) (*chunk, error) {
	for {
		if len(p.pending) > 0 {
			c := p.pending[0]
			p.pending[0] = nil
			p.pending = p.pending[1:]
			return c, nil
		}
		if p.err != nil {
			return nil, p.err
		}
		if p.cur == nil {
			select {
			case pc, ok := <-p.order:
				if !ok {
					p.err = io.EOF
					if err := p.ctx.Err(); err != nil {
						p.err = err
					}
					continue
				}
				p.cur = pc
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		select {
		case res := <-p.cur.done:
			p.cur = nil
			p.pending, p.err = res.chunks, res.err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.ctx.Done():
			return nil, p.ctx.Err()
		}
	}
}

// Close stops the goroutines and releases every batch not handed out. It
// waits for a read of the input in progress to return.
func (p *csvParser) Close() {
	p.closeOnce.Do(func() {
		p.cancel()
		p.wg.Wait()
		releaseChunks(p.pending)
		p.pending = nil
		if p.cur != nil {
			p.cur.drain()
			p.cur = nil
		}
		for pc := range p.order {
			pc.drain()
		}
		if p.err == nil {
			p.err = fmt.Errorf("reading %s: parser closed", p.opts.Source)
		}
	})
}

// drain releases a piece's result if it has one.
func (pc *csvPiece) drain() {
	select {
	case res := <-pc.done:
		releaseChunks(res.chunks)
	default:
	}
}

func releaseChunks(cs []*chunk) {
	for _, c := range cs {
		if c != nil && c.Batch != nil {
			c.Batch.Release()
			c.Batch = nil
		}
	}
}
