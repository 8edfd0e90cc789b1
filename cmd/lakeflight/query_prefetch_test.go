package main

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
)

// fakeStream hands out n one-row batches and, like the Flight reader,
// releases each one when asked for the next.
type fakeStream struct {
	t    *testing.T
	mem  memory.Allocator
	n    int
	sent int
	rec  arrow.RecordBatch
}

func (f *fakeStream) Next() bool {
	if f.rec != nil {
		f.rec.Release()
		f.rec = nil
	}
	if f.sent == f.n {
		return false
	}
	f.sent++
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec, _, err := array.RecordFromJSON(f.mem, schema, strings.NewReader(`[{"n": 1}]`))
	if err != nil {
		f.t.Error(err)
		return false
	}
	f.rec = rec
	return true
}

func (f *fakeStream) RecordBatch() arrow.RecordBatch { return f.rec }

// Release drops the stream's own reference, as the Flight reader's does.
func (f *fakeStream) Release() {
	if f.rec != nil {
		f.rec.Release()
		f.rec = nil
	}
}

func TestPrefetchDeliversEveryBatch(t *testing.T) {
	defer goleak.VerifyNone(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	stream := &fakeStream{t: t, mem: mem, n: 10}
	got := 0
	for rec := range prefetchBatches(context.Background(), stream) {
		got += int(rec.NumRows())
		rec.Release()
	}
	if got != 10 {
		t.Errorf("got %d rows, want 10", got)
	}
}

// TestPrefetchStopsOnCancel is the path of an output error: the consumer
// cancels, drains, and nothing is left running or unreleased.
func TestPrefetchStopsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	stream := &fakeStream{t: t, mem: mem, n: 1000}
	ctx, cancel := context.WithCancel(context.Background())
	batches := prefetchBatches(ctx, stream)
	rec := <-batches
	rec.Release()
	cancel()
	releaseAll(batches)
	stream.Release()
	if stream.sent == stream.n {
		t.Errorf("read all %d batches after the cancel", stream.n)
	}
}
