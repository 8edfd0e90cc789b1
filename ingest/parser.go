package ingest

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// parser is what each format provides to Reader: the schema, then the
// input's rows as chunks in input order. Each format parses pieces of its
// input in parallel and hands them out in order.
type parser interface {
	// Schema is the schema of every chunk's batch (without the metadata
	// columns, which Reader adds).
	Schema() *arrow.Schema
	// Next returns the next chunk in input order and io.EOF after the last.
	// Any other error is fatal (I/O, a broken file structure); bad rows are
	// not errors here but chunk.Errs.
	Next(ctx context.Context) (*chunk, error)
	// Close stops background work and releases everything not yet handed
	// out. It is safe to call at any time, more than once.
	Close()
}

// chunk is one parsed piece of the input.
type chunk struct {
	// Batch holds the piece's good rows (nil when it has none). Ownership
	// passes to the caller of Next.
	Batch arrow.RecordBatch
	// Errs are the piece's bad rows in line order. Their rows are not in
	// Batch.
	Errs []RowError
	// Lines holds, when the parser was asked for lines (input.lines), the
	// 1-based line on which each row of Batch starts.
	Lines []int64
	// Bytes is how many input bytes (after decompression) the piece covers.
	Bytes int64
}

// input is a parser's view of the (decompressed) input.
type input struct {
	// r reads the whole input from its first byte.
	r io.Reader
	// at, when not nil, reads the same bytes at random offsets (a plain,
	// uncompressed file): inference uses it to sample rows spread through
	// the input. size is its length.
	at   io.ReaderAt
	size int64
	// lines asks the parser to fill chunk.Lines.
	lines bool
}
