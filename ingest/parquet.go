package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetParser hands out a Parquet file's row groups as Arrow batches,
// decoded by pqarrow (columns in parallel) without any text parsing.
type parquetParser struct {
	pf    *file.Reader
	rr    pqarrow.RecordReader
	rows  int64 // total rows in the file
	size  int64
	seen  int64
	lines bool
	tmp   string // spooled copy of a non-seekable input, removed on Close
	opts  *Options
}

func newParquetParser(ctx context.Context, in input, opts *Options) (parser, error) {
	if opts.Schema != nil || len(opts.ColumnTypes) > 0 {
		return nil, fmt.Errorf("%w: Parquet carries its own types; schema and column-type overrides apply to CSV and JSON only", ErrOptions)
	}
	p := &parquetParser{lines: in.lines, opts: opts}
	var src parquet.ReaderAtSeeker
	if in.at != nil && in.size >= 0 {
		src = io.NewSectionReader(in.at, 0, in.size)
		p.size = in.size
	} else {
		// A stream (stdin, an upload, a compressed file): spool it to disk,
		// since Parquet's footer is at the end.
		f, err := os.CreateTemp(opts.TempDir, "lakeflight-ingest-*.parquet")
		if err != nil {
			return nil, fmt.Errorf("spooling parquet input: %w", err)
		}
		p.tmp = f.Name()
		n, err := io.Copy(f, in.r)
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			_ = f.Close()
			p.Close()
			return nil, fmt.Errorf("spooling parquet input: %w", err)
		}
		src, p.size = f, n
	}
	pf, err := file.NewParquetReader(src)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("%w: not a readable Parquet file: %w", ErrMalformed, err)
	}
	p.pf = pf
	p.rows = pf.NumRows()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{Parallel: true, BatchSize: int64(opts.BatchRows)}, opts.Allocator)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("%w: reading Parquet schema: %w", ErrMalformed, err)
	}
	if p.rr, err = fr.GetRecordReader(ctx, nil, nil); err != nil {
		p.Close()
		return nil, fmt.Errorf("%w: reading Parquet row groups: %w", ErrMalformed, err)
	}
	return p, nil
}

func (p *parquetParser) Schema() *arrow.Schema { return p.rr.Schema() }

func (p *parquetParser) Next(ctx context.Context) (*chunk, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !p.rr.Next() {
		if err := p.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: decoding Parquet: %w", ErrMalformed, err)
		}
		return nil, io.EOF
	}
	b, bad := fixBatchUTF8(p.opts.Allocator, p.rr.RecordBatch(), p.opts.InvalidUTF8 == UTF8Replace)
	n := b.NumRows()
	c := &chunk{}
	if p.rows > 0 {
		c.Bytes = p.size*(p.seen+n)/p.rows - p.size*p.seen/p.rows
	}
	keep, err := p.badRows(ctx, c, b, bad)
	b.Release()
	if err != nil {
		return nil, err
	}
	c.Batch = keep
	if p.lines {
		c.Lines = make([]int64, 0, keep.NumRows())
		next := 0 // in bad
		for i := range n {
			if next < len(bad) && bad[next].row == int(i) {
				next++
				continue
			}
			c.Lines = append(c.Lines, p.seen+i+1)
		}
	}
	p.seen += n
	return c, nil
}

// badRows reports the rows of b with invalid UTF-8 (bad, in row order) in
// c.Errs and returns b without them, retained. A Parquet row's "line" is
// its 1-based row number in the file.
func (p *parquetParser) badRows(ctx context.Context, c *chunk, b arrow.RecordBatch, bad []badString) (arrow.RecordBatch, error) {
	if len(bad) == 0 {
		b.Retain()
		return b, nil
	}
	mask := array.NewBooleanBuilder(p.opts.Allocator)
	defer mask.Release()
	next := 0
	for i := range int(b.NumRows()) {
		ok := next >= len(bad) || bad[next].row != i
		mask.Append(ok)
		if !ok {
			x := bad[next]
			f := b.Schema().Field(x.col)
			val := badText(b.Column(x.col), i)
			c.Errs = append(c.Errs, RowError{
				Source: p.opts.Source, Line: p.seen + int64(i) + 1, Column: f.Name,
				Value: clipRaw(val), Expected: f.Type.String(), Reason: reasonInvalidUTF8,
			})
			next++
		}
	}
	m := mask.NewArray()
	defer m.Release()
	out, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, p.opts.Allocator), b, m, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("dropping rows with invalid UTF-8: %w", err)
	}
	return out, nil
}

func (p *parquetParser) Close() {
	if p.rr != nil {
		p.rr.Release()
		p.rr = nil
	}
	if p.pf != nil {
		_ = p.pf.Close()
		p.pf = nil
	}
	if p.tmp != "" {
		_ = os.Remove(p.tmp)
		p.tmp = ""
	}
}
