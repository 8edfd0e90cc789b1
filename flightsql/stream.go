//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/lakeflight/lakeflight/internal/arrowbytes"
	"github.com/lakeflight/lakeflight/internal/errkind"
)

// stream executes a ticket and streams its batches. The producer goroutine
// stops when the client goes away, the query is cancelled
// (CancelFlightInfo) or the server closes; it always closes the channel and
// releases the reader before the ticket is finished (which may close the
// statement).
func (s *Server) stream(ctx context.Context, h *handle) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	select {
	case <-s.stop:
		return nil, nil, s.status("DoGet", errClosed)
	default:
	}
	sctx, cancel := context.WithCancel(ctx)
	if d := s.opts.QueryTimeout; d > 0 && h.stmt.IsQuery() && !h.stmt.Writes() {
		var stop context.CancelFunc
		sctx, stop = context.WithTimeoutCause(sctx, d, queryTimeoutError(d))
		parent := cancel
		cancel = func() { stop(); parent() }
	}
	if err := s.handles.start(h, sctx, cancel); err != nil {
		cancel()
		return nil, nil, s.status("DoGet", err)
	}
	start := time.Now()

	if !h.stmt.IsQuery() {
		// A statement sent down the query path (DDL, DML): run it now and
		// answer with an empty result.
		_, err := h.stmt.Exec(sctx, h.params)
		cancel()
		s.handles.finish(h, err == nil)
		s.metrics.observeQuery(start, s.status("DoGet", err))
		if err != nil {
			return nil, nil, s.status("DoGet", err)
		}
		ch := make(chan flight.StreamChunk)
		close(ch)
		return h.stmt.Schema(), ch, nil
	}

	var rdr array.RecordReader
	var err error
	leave := func(time.Duration) {}
	if h.stmt.Writes() {
		rdr, err = s.writeResult(sctx, h)
	} else if leaveGate, gerr := s.admit(sctx, h.stmt); gerr != nil {
		// The heavy-query gate first: a heavy query waiting for its
		// turn holds none of --max-queries' slots meanwhile.
		err = gerr
	} else if unlimit, lerr := s.limit.enter(sctx); lerr != nil {
		leaveGate(-1)
		err = lerr
	} else {
		leave = func(d time.Duration) { leaveGate(d); unlimit() }
		rdr, err = h.stmt.Query(sctx, h.params, s.mem)
		if err != nil {
			leave(-1)
		}
	}
	if err != nil {
		if sctx.Err() != nil && errkind.Of(context.Cause(sctx)) == errkind.DeadlineExceeded {
			err = context.Cause(sctx) // the query timeout, waiting for a turn or planning
		}
		cancel()
		s.handles.finish(h, false)
		err = s.status("DoGet", err)
		s.metrics.observeQuery(start, err)
		return nil, nil, err
	}
	out := describeResult(rdr.Schema())
	ch := make(chan flight.StreamChunk, 1)
	s.streams.Add(1)
	go func() {
		defer s.streams.Done()
		err := s.produce(sctx, ctx, out, rdr, ch)
		rdr.Release()
		if err != nil {
			leave(-1)
		} else {
			leave(time.Since(start))
		}
		s.handles.finish(h, err == nil)
		cancel()
		close(ch)
		s.metrics.observeQuery(start, err)
	}()
	return out, ch, nil
}

// tellWait bounds how long a stream's end error waits for its client.
const tellWait = 5 * time.Second

// queryTimeoutError is why a query that ran out of its time stopped.
func queryTimeoutError(d time.Duration) error {
	return errkind.New(errkind.DeadlineExceeded, fmt.Sprintf("the query ran longer than the server's query timeout (%s, --query-timeout) and was stopped", d))
}

// produce sends every batch of rdr on ch; it returns the status error the
// client saw (nil when the result was sent to the end). ctx is the query's
// (canceled by CancelFlightInfo, ended by the query timeout), client the
// call's: an error still reaches a client that is there.
func (s *Server) produce(ctx, client context.Context, out *arrow.Schema, rdr interface {
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
}, ch chan<- flight.StreamChunk) error {
	// tell hands the client the error that ended the stream, waiting at
	// most tellWait for a client that has stopped reading: the query's
	// reader, slot and handle are given back when produce returns.
	tell := func(st error) error {
		t := time.NewTimer(tellWait)
		defer t.Stop()
		select {
		case ch <- flight.StreamChunk{Err: st}:
		case <-client.Done():
		case <-t.C:
		}
		return st
	}
	var sent int64 // result rows before this batch
	for rdr.Next() {
		rec := rdr.RecordBatch()
		parts, err := fit(split(rec, s.opts.MaxBatchBytes), sent, s.opts.MaxRowBytes)
		sent += rec.NumRows()
		if err != nil {
			return tell(s.status("DoGet", err))
		}
		for i, part := range parts {
			rows := part.NumRows()
			size := arrowbytes.Batch(rec) * rows / max(rec.NumRows(), 1)
			part = trackBatch(ctx, relabel(out, part))
			select {
			case ch <- flight.StreamChunk{Data: part}:
				s.metrics.rows.Add(float64(rows))
				s.metrics.bytes.Add(float64(size))
			case <-ctx.Done():
				part.Release()
				for _, p := range parts[i+1:] {
					p.Release()
				}
				return tell(s.status("DoGet", context.Cause(ctx)))
			}
		}
	}
	err := rdr.Err()
	if ctx.Err() != nil {
		// The engine ended early because it was interrupted: the reason
		// (a cancel, the query timeout) is what the client hears.
		if cause := context.Cause(ctx); err == nil || errkind.Of(cause) == errkind.DeadlineExceeded {
			err = cause
		}
	}
	if err == nil {
		return nil
	}
	return tell(s.status("DoGet", err))
}

// split cuts a batch into slices of at most about limit bytes, so each
// fits a gRPC message clients accept (grpc-go's default receive limit is
// 4 MiB); slices share the batch's buffers. Each part is retained.
func split(rec arrow.RecordBatch, limit int64) []arrow.RecordBatch {
	size, rows := arrowbytes.Batch(rec), rec.NumRows()
	if size <= limit || rows <= 1 {
		rec.Retain()
		return []arrow.RecordBatch{rec}
	}
	n := (size + limit - 1) / limit
	step := max((rows+n-1)/n, 1)
	parts := make([]arrow.RecordBatch, 0, n)
	for i := int64(0); i < rows; i += step {
		parts = append(parts, rec.NewSlice(i, min(i+step, rows)))
	}
	return parts
}

// fit makes sure no part is a message over limit bytes: a part whose
// buffers may hold more (slices count their parents' whole buffers) is
// measured as it will be sent and halved while it is too big. A single row
// over the limit is refused; first is the result row the batch of the parts
// starts at. It takes over parts (retained) and returns parts to release.
func fit(parts []arrow.RecordBatch, first, limit int64) ([]arrow.RecordBatch, error) {
	out := make([]arrow.RecordBatch, 0, len(parts))
	var fail error
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		if fail != nil || arrowbytes.Batch(p) <= limit {
			out = append(out, p)
			continue
		}
		n, err := bodySize(p)
		switch {
		case err != nil:
			fail = err
		case n <= limit:
		case p.NumRows() > 1:
			half := p.NumRows() / 2
			parts = append([]arrow.RecordBatch{p.NewSlice(0, half), p.NewSlice(half, p.NumRows())}, parts...)
			p.Release()
			continue
		default:
			fail = fmt.Errorf("%w: result row %d is %d bytes as sent, over the server's limit of %d bytes for one row "+
				"(lakeflight serve --max-result-row-bytes): select less of it, e.g. substr() of a long value",
				errRowTooLarge, first+rowOffset(p), n, limit)
		}
		out = append(out, p)
	}
	if fail != nil {
		for _, p := range out {
			p.Release()
		}
		return nil, fail
	}
	return out, nil
}

// rowOffset is where a slice starts in the batch it was cut from.
func rowOffset(rec arrow.RecordBatch) int64 {
	if rec.NumCols() == 0 {
		return 0
	}
	return int64(rec.Column(0).Data().Offset())
}

// bodySize is the bytes of the IPC message body rec is sent as.
func bodySize(rec arrow.RecordBatch) (int64, error) {
	p, err := ipc.GetRecordBatchPayload(rec)
	if err != nil {
		return 0, err
	}
	defer p.Release()
	var n countingWriter
	if err := p.SerializeBody(&n); err != nil {
		return 0, err
	}
	return int64(n), nil
}

// countingWriter counts what is written to it and keeps nothing.
type countingWriter int64

func (w *countingWriter) Write(b []byte) (int, error) {
	*w += countingWriter(len(b))
	return len(b), nil
}

// writeResult answers the ticket of a write with a RETURNING clause: the
// first DoGet runs it (it commits) and keeps the returned rows with the
// ticket; a retry reads them again. Only one DoGet of a ticket runs at a
// time (handles.start), so h.written needs no lock.
func (s *Server) writeResult(ctx context.Context, h *handle) (array.RecordReader, error) {
	if h.writtenSchema == nil {
		rdr, err := h.stmt.Query(ctx, h.params, s.mem)
		if err != nil {
			return nil, err
		}
		defer rdr.Release()
		rows := []arrow.RecordBatch{}
		for rdr.Next() {
			b := rdr.RecordBatch()
			b.Retain()
			rows = append(rows, b)
		}
		if err := rdr.Err(); err != nil {
			for _, b := range rows {
				b.Release()
			}
			return nil, err
		}
		h.written, h.writtenSchema = rows, rdr.Schema()
	}
	return array.NewRecordReader(h.writtenSchema, h.written)
}
