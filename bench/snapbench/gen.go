package main

import (
	"context"
	"strconv"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// genBatchRows is the size of a generated batch.
const genBatchRows = 1 << 16

// baseMicros is the first row's timestamp, 2026-01-01 00:00:00 UTC.
const baseMicros = 1_767_225_600_000_000

// genReader generates rows id = 0 … n-1 in benchSchema, batch by batch (so
// ten million rows never sit in memory at once). seed changes every value
// but the id, with the same distributions.
type genReader struct {
	refs    atomic.Int64
	mem     memory.Allocator
	n, next int64
	seed    int64
	cur     arrow.RecordBatch
	names   []string
}

var _ array.RecordReader = (*genReader)(nil)

func newGen(mem memory.Allocator, n, seed int64) *genReader {
	g := &genReader{mem: mem, n: n, seed: seed, names: make([]string, 1000)}
	for i := range g.names {
		g.names[i] = "name-" + strconv.Itoa(i) + "-" + strconv.FormatInt(seed, 10)
	}
	g.refs.Store(1)
	return g
}

func (g *genReader) Schema() *arrow.Schema { return benchSchema }

func (g *genReader) Next() bool {
	if g.cur != nil {
		g.cur.Release()
		g.cur = nil
	}
	if g.next >= g.n {
		return false
	}
	rows := min(genBatchRows, g.n-g.next)
	bld := array.NewRecordBuilder(g.mem, benchSchema)
	defer bld.Release()
	ids := bld.Field(0).(*array.Int64Builder)
	qty := bld.Field(1).(*array.Int32Builder)
	price := bld.Field(2).(*array.Float64Builder)
	names := bld.Field(3).(*array.StringBuilder)
	ts := bld.Field(4).(*array.TimestampBuilder)
	ids.Reserve(int(rows))
	qty.Reserve(int(rows))
	price.Reserve(int(rows))
	names.Reserve(int(rows))
	ts.Reserve(int(rows))
	for i := g.next; i < g.next+rows; i++ {
		h := i*2654435761 + g.seed*40503
		ids.UnsafeAppend(i)
		qty.UnsafeAppend(int32(h % 100))
		price.UnsafeAppend(float64(h%100_000) / 100)
		names.Append(g.names[h%1000])
		ts.UnsafeAppend(arrow.Timestamp(baseMicros + i*1_000_000 + g.seed))
	}
	g.next += rows
	g.cur = bld.NewRecordBatch()
	return true
}

func (g *genReader) RecordBatch() arrow.RecordBatch { return g.cur }
func (g *genReader) Record() arrow.RecordBatch      { return g.cur }
func (g *genReader) Err() error                     { return nil }
func (g *genReader) Retain()                        { g.refs.Add(1) }

func (g *genReader) Release() {
	if g.refs.Add(-1) == 0 && g.cur != nil {
		g.cur.Release()
		g.cur = nil
	}
}

// createTable creates silver.<name> in benchSchema (dropping an old one).
func (b *bench) createTable(ctx context.Context, name string) (catalog.Ident, error) {
	id := catalog.Ident{Namespace: "silver", Name: name}
	if err := b.cat.CreateTable(ctx, id, benchSchema); err != nil {
		return id, err
	}
	return id, nil
}

// appendRows commits n generated rows as one snapshot, written by one
// Parquet writer per core as ingest writes them.
func (b *bench) appendRows(ctx context.Context, id catalog.Ident, n, seed int64, writers int) (int64, error) {
	return b.commitRows(ctx, id, n, seed, func(txn *catalog.Txn, g *genReader) error {
		return txn.AppendParallel(ctx, g, nil, writers)
	})
}

// overwriteRows commits n generated rows as one snapshot that replaces every
// row of the table (iceberg-go's writer).
func (b *bench) overwriteRows(ctx context.Context, id catalog.Ident, n, seed int64) (int64, error) {
	return b.commitRows(ctx, id, n, seed, func(txn *catalog.Txn, g *genReader) error {
		return txn.Overwrite(ctx, g, nil)
	})
}

// commitRows stages n generated rows with stage and commits them.
func (b *bench) commitRows(ctx context.Context, id catalog.Ident, n, seed int64, stage func(*catalog.Txn, *genReader) error) (int64, error) {
	txn, err := b.cat.Begin(ctx, id)
	if err != nil {
		return 0, err
	}
	defer txn.Abort()
	g := newGen(b.mem, n, seed)
	defer g.Release()
	if err := stage(txn, g); err != nil {
		return 0, err
	}
	return txn.Commit(ctx)
}
