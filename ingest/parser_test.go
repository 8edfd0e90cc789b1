package ingest

import (
	"context"
	"errors"
	"io"
	"testing"
)

// countRows drains p, failing on any error or bad row, and closes it.
func countRows(tb testing.TB, ctx context.Context, p parser) int64 {
	tb.Helper()
	defer p.Close()
	var rows int64
	for {
		c, err := p.Next(ctx)
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			tb.Fatal(err)
		}
		if len(c.Errs) > 0 {
			tb.Fatal(c.Errs[0].Error())
		}
		if c.Batch != nil {
			rows += c.Batch.NumRows()
			c.Batch.Release()
		}
	}
}
