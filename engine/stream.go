//go:build duckdb_arrow

package engine

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// The streaming reader. A producer goroutine drives DuckDB's streaming
// result: it fetches 2048-row chunks, converts each to Arrow (DuckDB's own
// conversion, into C memory), concatenates them into batches of about
// Config.BatchRows rows (one copy, into the caller's allocator) and hands
// them over a small channel, so DuckDB keeps executing while the consumer
// sends. Releasing the reader early, cancelling ctx or closing the statement
// interrupts DuckDB, stops the producer, frees everything queued and gives
// the connection back to the session.

const queueDepth = 2 // coalesced batches buffered ahead of the consumer

type stream struct {
	st     *Statement
	schema *arrow.Schema
	mem    memory.Allocator
	ir     *interrupter

	refs     atomic.Int64
	ch       chan arrow.RecordBatch
	done     chan struct{} // closed to stop the producer
	stopOnce sync.Once
	exited   chan struct{} // closed when the producer has returned

	cur arrow.RecordBatch // consumer side

	mu  sync.Mutex
	err error
}

var _ array.RecordReader = (*stream)(nil)

func newStream(st *Statement, conn bindings.Connection, mem memory.Allocator) *stream {
	r := &stream{
		st:     st,
		schema: st.schema,
		mem:    mem,
		ir:     st.s.e.interrupter(conn),
		ch:     make(chan arrow.RecordBatch, queueDepth),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	r.refs.Store(1)
	return r
}

func (r *stream) Schema() *arrow.Schema { return r.schema }

func (r *stream) Retain() { r.refs.Add(1) }

// Release stops the query when the last reference goes: DuckDB is
// interrupted, queued batches are freed and the producer has exited (and
// returned the connection) by the time Release returns.
func (r *stream) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.stop()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.st.forget(r)
}

// stop ends the producer and frees what it queued; safe to call repeatedly
// and concurrently with the consumer.
func (r *stream) stop() {
	r.stopOnce.Do(func() { close(r.done) })
	r.ir.interrupt()
	for rec := range r.ch {
		rec.Release()
	}
	<-r.exited
}

func (r *stream) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	rec, ok := <-r.ch
	if !ok {
		return false
	}
	r.cur = rec
	return true
}

func (r *stream) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch.
func (r *stream) Record() arrow.RecordBatch { return r.cur }

func (r *stream) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *stream) setErr(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// stopped reports whether the consumer asked the producer to stop.
func (r *stream) stopped() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// produce runs the query once per parameter row and streams the results.
// It reports the outcome of starting the first execution on started.
func (r *stream) produce(ctx context.Context, ps bindings.PreparedStatement, params arrow.RecordBatch,
	release func(), started chan<- error,
) {
	defer close(r.exited)
	defer close(r.ch)
	// Concatenation runs in its own goroutine so that DuckDB keeps
	// executing (in FetchChunk) while the previous batch is being copied.
	groups := make(chan []arrow.RecordBatch, 1)
	coalesced := make(chan struct{})
	go r.coalesceLoop(ctx, groups, coalesced)
	defer func() {
		close(groups)
		<-coalesced
	}()
	defer release() // the connection is free before the consumer sees the end
	if params != nil {
		defer params.Release()
	}
	stopCtx := context.AfterFunc(ctx, r.ir.interrupt)
	defer stopCtx()
	defer r.ir.disarm()

	rows := 1
	if params != nil {
		rows = int(params.NumRows())
	}
	c := grouper{target: r.st.s.e.cfg.BatchRows}
	defer c.discard()
	first := true
	fail := func(err error) {
		err = withCtx(ctx, err)
		if first {
			started <- err
			first = false
			return
		}
		if !r.stopped() {
			r.setErr(err)
		}
	}
	for row := 0; row < rows; row++ {
		if params != nil {
			if err := bindRow(ps, params, row); err != nil {
				fail(err)
				return
			}
		}
		res, err := r.execute(ctx, ps)
		if err != nil {
			fail(err)
			return
		}
		if first {
			err = r.checkSchema(&res)
			if err != nil {
				bindings.DestroyResult(&res)
				fail(err)
				return
			}
			started <- nil
			first = false
		}
		err = r.drain(ctx, &res, &c, groups)
		bindings.DestroyResult(&res)
		if err != nil {
			fail(err)
			return
		}
	}
	if first { // no parameter rows: an empty result
		started <- nil
		return
	}
	if g := c.take(); g != nil {
		if err := r.sendGroup(ctx, groups, g); err != nil {
			fail(err)
		}
	}
}

// execute starts one streaming execution; the result must be destroyed.
func (r *stream) execute(ctx context.Context, ps bindings.PreparedStatement) (bindings.Result, error) {
	var res bindings.Result
	r.ir.arm()
	if ctx.Err() != nil {
		return res, canceled(ctx)
	}
	if r.stopped() {
		return res, newError(ErrCanceled, "canceled: reader released")
	}
	var pending bindings.PendingResult
	if bindings.PendingPreparedStreaming(ps, &pending) == bindings.StateError {
		msg := bindings.PendingError(pending)
		bindings.DestroyPending(&pending)
		return res, duckErr(bindings.ErrorTypeInvalid, msg)
	}
	state := bindings.ExecutePending(pending, &res)
	bindings.DestroyPending(&pending)
	if state == bindings.StateError {
		err := duckErr(bindings.ResultErrorType(&res), bindings.ResultError(&res))
		bindings.DestroyResult(&res)
		return res, err
	}
	return res, nil
}

// checkSchema makes sure the result has the columns announced at prepare
// time (DuckDB rebinds a prepared statement when a view it reads changed).
func (r *stream) checkSchema(res *bindings.Result) error {
	got, err := resultArrowSchema(res, r.st.opts)
	if err != nil {
		return err
	}
	if r.st.schemaOpen {
		r.schema = got // typed by the bound parameters
		return nil
	}
	if !got.Equal(r.schema) {
		return newError(ErrSchemaChanged, "the result columns changed since the statement was prepared (now "+
			got.String()+"): prepare it again")
	}
	return nil
}

// drain fetches one execution's chunks, handing groups of about
// BatchRows rows to the coalescing goroutine as they fill.
func (r *stream) drain(ctx context.Context, res *bindings.Result, c *grouper, groups chan<- []arrow.RecordBatch) error {
	for {
		if r.stopped() {
			return newError(ErrCanceled, "canceled: reader released")
		}
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		if err := r.Err(); err != nil {
			return err
		}
		chunk := bindings.FetchChunk(*res)
		if chunk.Ptr == nil {
			if msg := bindings.ResultError(res); msg != "" {
				return duckErr(bindings.ResultErrorType(res), msg)
			}
			return nil
		}
		rec, ed := bindings.DataChunkToArrowArray(r.st.opts, r.schema, chunk)
		bindings.DestroyDataChunk(&chunk)
		if err := errorData(ed); err != nil {
			return err
		}
		if g := c.add(rec); g != nil {
			if err := r.sendGroup(ctx, groups, g); err != nil {
				return err
			}
		}
	}
}

func (r *stream) sendGroup(ctx context.Context, groups chan<- []arrow.RecordBatch, g []arrow.RecordBatch) error {
	select {
	case groups <- g:
		return nil
	case <-r.done:
		releaseAll(g)
		return newError(ErrCanceled, "canceled: reader released")
	case <-ctx.Done():
		releaseAll(g)
		return canceled(ctx)
	}
}

// coalesceLoop concatenates each group into one batch for the consumer.
// It frees every group it receives, sent on or not.
func (r *stream) coalesceLoop(ctx context.Context, groups <-chan []arrow.RecordBatch, finished chan<- struct{}) {
	defer close(finished)
	for g := range groups {
		if r.stopped() || ctx.Err() != nil || r.Err() != nil {
			releaseAll(g)
			continue
		}
		out, err := concatBatches(r.schema, g, r.mem)
		if err != nil {
			r.setErr(err)
			continue
		}
		select {
		case r.ch <- out:
			r.st.s.e.stats.batches.Add(1)
			r.st.s.e.stats.rows.Add(out.NumRows())
		case <-r.done:
			out.Release()
		case <-ctx.Done():
			out.Release()
		}
	}
}

// grouper gathers DuckDB's 2048-row batches into groups of at least
// target rows.
type grouper struct {
	target  int
	pending []arrow.RecordBatch
	rows    int
}

// add takes ownership of rec; it returns a full group when one is ready.
func (c *grouper) add(rec arrow.RecordBatch) []arrow.RecordBatch {
	if rec.NumRows() == 0 {
		rec.Release()
		return nil
	}
	c.pending = append(c.pending, rec)
	c.rows += int(rec.NumRows())
	if c.rows < c.target {
		return nil
	}
	return c.take()
}

// take hands over what is pending (nil when nothing).
func (c *grouper) take() []arrow.RecordBatch {
	if len(c.pending) == 0 {
		return nil
	}
	g := c.pending
	c.pending, c.rows = nil, 0
	return g
}

func (c *grouper) discard() { releaseAll(c.take()) }

func releaseAll(recs []arrow.RecordBatch) {
	for _, rec := range recs {
		rec.Release()
	}
}

// concatBatches copies a group into one batch allocated from mem, one
// column at a time; it releases the group. A group of one is passed on
// as is.
func concatBatches(schema *arrow.Schema, group []arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	defer releaseAll(group)
	if len(group) == 1 {
		group[0].Retain()
		return group[0], nil
	}
	var rows int64
	for _, rec := range group {
		rows += rec.NumRows()
	}
	cols := make([]arrow.Array, schema.NumFields())
	parts := make([]arrow.Array, len(group))
	for i := range cols {
		for j, rec := range group {
			parts[j] = rec.Column(i)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			releaseAll(nil)
			for _, done := range cols[:i] {
				done.Release()
			}
			return nil, newError(ErrInternal, "coalescing batches: "+err.Error())
		}
		cols[i] = col
	}
	out := array.NewRecordBatch(schema, cols, rows)
	for _, col := range cols {
		col.Release()
	}
	return out, nil
}
