package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Stats describe what a Reader has read so far. They may be read while the
// Reader is in use (for progress).
type Stats struct {
	Rows     int64 // good rows handed out
	Bytes    int64 // input bytes read, as stored (compressed size if compressed)
	Size     int64 // the input's size when known (a file), else -1
	Skipped  int64 // bad rows dropped under PolicySkip
	Rejected int64 // bad rows kept under PolicyRejects
	// SkipReasons counts skipped rows by reason (`column "price": expected
	// float64`, `expected 5 fields, found 3`).
	SkipReasons map[string]int64
}

// SkipSummary says in one line how many rows were skipped and why, or ""
// when none were.
func (s Stats) SkipSummary() string {
	if s.Skipped == 0 {
		return ""
	}
	reasons := make([]string, 0, len(s.SkipReasons))
	for r := range s.SkipReasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if a, b := s.SkipReasons[reasons[i]], s.SkipReasons[reasons[j]]; a != b {
			return a > b
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d × %s", s.SkipReasons[r], r)
	}
	return fmt.Sprintf("%d bad rows skipped: %s", s.Skipped, strings.Join(parts, "; "))
}

// Reader streams an input's rows as Arrow record batches. It implements
// array.RecordReader; Err reports a failure (including bad rows under the
// strict policy) once Next returns false. A Reader is used by one goroutine;
// Stats may be called from others.
type Reader struct {
	refs   atomic.Int64
	ctx    context.Context
	opts   Options
	p      parser
	schema *arrow.Schema
	meta   *metaColumns
	close  []func()

	cur    arrow.RecordBatch
	err    error
	done   bool
	strict []RowError // bad rows seen under the strict policy

	counted  bool // bytes counts the input as read (else, Parquet, by chunk)
	rows     atomic.Int64
	bytes    atomic.Int64
	size     int64
	skipped  atomic.Int64
	rejected atomic.Int64

	mu      sync.Mutex // guards reasons and rejects
	reasons map[string]int64
	rejects []RowError
}

var _ array.RecordReader = (*Reader)(nil)

// Open starts reading r. The format comes from opts.Format, else from the
// extension of opts.Source, else from the first bytes; gzip and zstd
// compression are recognised the same way. Open reads enough of the input
// to settle the schema before it returns. Close (or Release) the Reader
// when done.
func Open(ctx context.Context, r io.Reader, opts Options) (*Reader, error) {
	return open(ctx, r, nil, -1, opts)
}

// OpenFile is Open on a file. Because a file can be read at any offset,
// inference samples rows from all through it, and Parquet row groups are read
// in place. opts.Source defaults to path.
func OpenFile(ctx context.Context, path string, opts Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening input: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("opening input: %w", err)
	}
	if opts.Source == "" {
		opts.Source = path
	}
	rd, err := open(ctx, f, f, st.Size(), opts)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	rd.close = append(rd.close, func() { _ = f.Close() })
	return rd, nil
}

func open(ctx context.Context, r io.Reader, at io.ReaderAt, size int64, opts Options) (*Reader, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	rd := &Reader{ctx: ctx, opts: opts, size: size, reasons: map[string]int64{}}
	rd.refs.Store(1)
	ok := false
	defer func() {
		if !ok {
			rd.release()
		}
	}()

	extFormat, extComp, tsv := splitExt(opts.Source)
	src := &sourceReader{r: r, n: &rd.bytes}
	rd.counted = true
	br := bufio.NewReaderSize(src, 1<<16)
	comp := extComp
	if sniffed := sniffCompression(br); sniffed != compressNone {
		comp = sniffed // the bytes win over a misleading name
	}
	plain, closeZ, err := decompress(br, src, comp, opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Source, err)
	}
	rd.close = append(rd.close, closeZ)
	if comp != compressNone {
		at, size = nil, -1 // offsets no longer match the bytes
	}
	pbr := bufio.NewReaderSize(plain, 1<<16)

	format := opts.Format
	if format == FormatAuto {
		format = extFormat
	}
	if format == FormatAuto {
		if format, err = sniffFormat(pbr); err != nil {
			return nil, fmt.Errorf("%s: %w", opts.Source, err)
		}
	}
	if tsv && format == FormatCSV && rd.opts.CSV.Delimiter == 0 {
		rd.opts.CSV.Delimiter = '\t'
	}

	in := input{r: pbr, at: at, size: size, lines: opts.Metadata}
	if at != nil && size >= 0 {
		// The parser reads pbr from the start; at reads the same plain bytes.
		in.at = at
	}
	var p parser
	switch format {
	case FormatCSV:
		p, err = newCSVParser(ctx, in, &rd.opts)
	case FormatJSON:
		p, err = newJSONParser(ctx, in, &rd.opts)
	case FormatParquet:
		if in.at != nil && in.size >= 0 {
			// Read by random access, not through the stream: counted per
			// row group instead (what sniffing read does not count).
			rd.counted = false
			rd.bytes.Store(0)
		}
		p, err = newParquetParser(ctx, in, &rd.opts)
	default:
		err = fmt.Errorf("%w: %q (want csv, json or parquet)", ErrFormat, format)
	}
	if err != nil {
		if !strings.Contains(err.Error(), opts.Source) {
			err = fmt.Errorf("%s: %w", opts.Source, err)
		}
		return nil, err
	}
	rd.p = p
	rd.schema = p.Schema()
	if err := checkNames(rd.schema); err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Source, err)
	}
	// Refused now rather than at the writer after every row was built.
	if err := checkNesting(rd.schema); err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Source, err)
	}
	if opts.Metadata {
		if rd.meta, err = newMetaColumns(rd.schema, &rd.opts); err != nil {
			return nil, err
		}
		rd.schema = rd.meta.schema
	}
	ok = true
	return rd, nil
}

// validate rejects contradictory options.
func (o *Options) validate() error {
	switch o.Format {
	case FormatAuto, FormatCSV, FormatJSON, FormatParquet:
	default:
		return fmt.Errorf("%w: %q (want csv, json or parquet)", ErrFormat, o.Format)
	}
	if _, err := ParsePolicy(string(o.Policy)); err != nil {
		return err
	}
	if _, err := ParseUTF8Policy(string(o.InvalidUTF8)); err != nil {
		return err
	}
	if d := o.CSV.Delimiter; d != 0 && (d == '\n' || d == '\r' || d == o.CSV.Quote) {
		return fmt.Errorf("%w: delimiter %q cannot be a newline or the quote", ErrOptions, d)
	}
	return nil
}

// Schema is the schema of every batch (with the metadata columns, when asked).
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next advances to the next batch of good rows.
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done {
		return false
	}
	for {
		c, err := r.p.Next(r.ctx)
		if err != nil {
			r.finish(err)
			return false
		}
		if err := r.account(c); err != nil {
			if c.Batch != nil {
				c.Batch.Release()
			}
			r.finish(err)
			return false
		}
		if c.Batch == nil {
			continue
		}
		if c.Batch.NumRows() == 0 || len(r.strict) > 0 {
			c.Batch.Release() // nothing to hand out, or strict mode already failed
			continue
		}
		b := c.Batch
		if r.meta != nil {
			b, err = r.meta.add(b, c.Lines, r.rows.Load())
			if err != nil {
				r.finish(err)
				return false
			}
		}
		r.rows.Add(b.NumRows())
		r.cur = b
		return true
	}
}

// account applies the bad-row policy to a chunk and counts its bytes.
func (r *Reader) account(c *chunk) error {
	if !r.counted {
		r.bytes.Add(c.Bytes)
	}
	if len(c.Errs) == 0 {
		return nil
	}
	switch r.opts.Policy {
	case PolicySkip:
		r.skipped.Add(int64(len(c.Errs)))
		r.mu.Lock()
		for i := range c.Errs {
			r.reasons[reasonKey(&c.Errs[i])]++
		}
		r.mu.Unlock()
	case PolicyRejects:
		n := r.rejected.Add(int64(len(c.Errs)))
		if n > int64(r.opts.MaxRejects) {
			return fmt.Errorf("%s: %w: more than %d rejected rows (first: %s)",
				r.opts.Source, ErrTooManyRejects, r.opts.MaxRejects, r.firstReject())
		}
		r.mu.Lock()
		r.rejects = append(r.rejects, c.Errs...)
		r.mu.Unlock()
	default:
		r.strict = append(r.strict, c.Errs...)
		if len(r.strict) >= r.opts.MaxErrors {
			return &BadRowsError{Rows: r.strict[:r.opts.MaxErrors], More: true}
		}
	}
	return nil
}

func (r *Reader) firstReject() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rejects) == 0 {
		return "none kept"
	}
	return r.rejects[0].Error()
}

// reasonKey groups bad rows for the skip summary.
func reasonKey(e *RowError) string {
	if e.Reason == reasonInvalidUTF8 && e.Column != "" {
		return fmt.Sprintf("column %q: %s", e.Column, reasonInvalidUTF8)
	}
	if e.Column != "" && e.Expected != "" {
		return fmt.Sprintf("column %q: not a valid %s", e.Column, e.Expected)
	}
	if e.Column != "" {
		return fmt.Sprintf("column %q: %s", e.Column, e.Reason)
	}
	return e.Reason
}

// finish ends the stream with err (io.EOF is the clean end).
func (r *Reader) finish(err error) {
	r.done = true
	if errors.Is(err, io.EOF) {
		err = nil
		if len(r.strict) > 0 {
			err = &BadRowsError{Rows: r.strict}
		}
	}
	if err != nil && r.ctx.Err() != nil && !errors.Is(err, ErrMalformed) {
		err = fmt.Errorf("reading %s: %w", r.opts.Source, r.ctx.Err())
	}
	r.err = err
	r.p.Close()
}

// RecordBatch is the current batch, valid until the next call to Next.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch.
//
// Deprecated: use RecordBatch.
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err is the reason the stream ended early, or nil.
func (r *Reader) Err() error { return r.err }

// Stats are the counts so far.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	reasons := make(map[string]int64, len(r.reasons))
	for k, v := range r.reasons {
		reasons[k] = v
	}
	r.mu.Unlock()
	return Stats{
		Rows:        r.rows.Load(),
		Bytes:       r.bytes.Load(),
		Size:        r.size,
		Skipped:     r.skipped.Load(),
		Rejected:    r.rejected.Load(),
		SkipReasons: reasons,
	}
}

// TakeRejects returns the rejected rows collected since the last call and
// forgets them (rejects mode only).
func (r *Reader) TakeRejects() []RowError {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.rejects
	r.rejects = nil
	return out
}

// Retain adds a reference.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one closes the Reader.
func (r *Reader) Release() {
	if r.refs.Add(-1) == 0 {
		r.release()
	}
}

// Close releases the Reader regardless of references.
func (r *Reader) Close() error {
	if r.refs.Swap(0) > 0 {
		r.release()
	}
	return nil
}

func (r *Reader) release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.p != nil {
		r.p.Close()
	}
	if r.meta != nil {
		r.meta.release()
	}
	for i := len(r.close) - 1; i >= 0; i-- {
		r.close[i]()
	}
	r.close = nil
}
