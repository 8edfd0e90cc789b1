package main

// Read-ahead for `lakeflight query`: the next batch is received and decoded
// while the current one is formatted, so the two use both cores instead of
// taking turns.

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// batchReader is the part of a Flight stream reader prefetchBatches uses.
type batchReader interface {
	Next() bool
	RecordBatch() arrow.RecordBatch
}

// prefetchBatches reads rdr in a goroutine and sends each batch, retained,
// on the returned channel, holding at most one batch ready ahead of the one
// the caller has. The channel is closed when rdr ends or ctx is done; the
// caller releases what it receives, must not touch rdr until the channel is
// closed, and then finds any read error in the reader's Err. To stop early, cancel ctx
// (the context of rdr's stream) and drain the channel with releaseAll.
func prefetchBatches(ctx context.Context, rdr batchReader) <-chan arrow.RecordBatch {
	batches := make(chan arrow.RecordBatch, 1)
	go func() {
		defer close(batches)
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain() // Next releases the reader's own reference
			select {
			case batches <- rec:
			case <-ctx.Done():
				rec.Release()
				return
			}
		}
	}()
	return batches
}

// releaseAll drains batches until it is closed, releasing every batch.
func releaseAll(batches <-chan arrow.RecordBatch) {
	for rec := range batches {
		rec.Release()
	}
}
