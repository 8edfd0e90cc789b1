//go:build duckdb_arrow

package flightsql

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
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
	if err := s.handles.start(h, cancel); err != nil {
		cancel()
		return nil, nil, s.status("DoGet", err)
	}
	start := time.Now()

	if !h.stmt.IsQuery() {
		// A statement sent down the query path (DDL, DML): run it now and
		// answer with an empty result.
		h.sess.markStateful()
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

	rdr, err := h.stmt.Query(sctx, h.params, s.mem)
	if err != nil {
		cancel()
		s.handles.finish(h, false)
		err = s.status("DoGet", err)
		s.metrics.observeQuery(start, err)
		return nil, nil, err
	}
	ch := make(chan flight.StreamChunk, 1)
	s.streams.Add(1)
	go func() {
		defer s.streams.Done()
		err := s.produce(sctx, rdr, ch)
		rdr.Release()
		s.handles.finish(h, err == nil)
		cancel()
		close(ch)
		s.metrics.observeQuery(start, err)
	}()
	return rdr.Schema(), ch, nil
}

// produce sends every batch of rdr on ch; it returns the status error the
// client saw (nil when the result was sent to the end).
func (s *Server) produce(ctx context.Context, rdr interface {
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
}, ch chan<- flight.StreamChunk) error {
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		rows, size := rec.NumRows(), recordSize(rec)
		select {
		case ch <- flight.StreamChunk{Data: rec}:
			s.metrics.rows.Add(float64(rows))
			s.metrics.bytes.Add(float64(size))
		case <-ctx.Done():
			rec.Release()
			return s.status("DoGet", context.Cause(ctx))
		}
	}
	err := rdr.Err()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // the engine ended early because it was interrupted
	}
	if err == nil {
		return nil
	}
	st := s.status("DoGet", err)
	select {
	case ch <- flight.StreamChunk{Err: st}:
	case <-ctx.Done():
	}
	return st
}

// recordSize is the bytes of a batch's Arrow buffers.
func recordSize(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += dataSize(c.Data())
	}
	return n
}

func dataSize(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataSize(c)
	}
	return n
}
