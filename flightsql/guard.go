//go:build duckdb_arrow

package flightsql

import (
	"context"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
)

// arrow-go's DoGet releases each batch after writing it, but not the one
// whose write failed (the client went away): that batch would leak. So
// every batch handed to the library is tracked per call, and whatever the
// library did not release is released when the call ends.

type chunkGuard struct {
	mu   sync.Mutex
	live map[*trackedBatch]struct{}
}

type guardKey struct{}

// trackBatch wraps rec (whose reference passes to the library) when the call
// has a guard.
func trackBatch(ctx context.Context, rec arrow.RecordBatch) arrow.RecordBatch {
	g, _ := ctx.Value(guardKey{}).(*chunkGuard)
	if g == nil {
		return rec
	}
	t := &trackedBatch{RecordBatch: rec, g: g, refs: 1}
	g.mu.Lock()
	g.live[t] = struct{}{}
	g.mu.Unlock()
	return t
}

// releaseAll releases what the call left behind.
func (g *chunkGuard) releaseAll() {
	g.mu.Lock()
	live := g.live
	g.live = map[*trackedBatch]struct{}{}
	g.mu.Unlock()
	for t := range live {
		t.force()
	}
}

type trackedBatch struct {
	arrow.RecordBatch
	g    *chunkGuard
	mu   sync.Mutex
	refs int64
}

func (t *trackedBatch) Retain() {
	t.mu.Lock()
	if t.refs > 0 {
		t.refs++
	}
	t.mu.Unlock()
}

func (t *trackedBatch) Release() {
	t.mu.Lock()
	if t.refs == 0 {
		t.mu.Unlock()
		return
	}
	t.refs--
	done := t.refs == 0
	t.mu.Unlock()
	if done {
		t.RecordBatch.Release()
		t.g.mu.Lock()
		delete(t.g.live, t)
		t.g.mu.Unlock()
	}
}

func (t *trackedBatch) force() {
	t.mu.Lock()
	done := t.refs > 0
	t.refs = 0
	t.mu.Unlock()
	if done {
		t.RecordBatch.Release()
	}
}

// guardStream installs a guard for the call and cleans up after it.
func guardStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	g := &chunkGuard{live: map[*trackedBatch]struct{}{}}
	err := handler(srv, ctxStream{ss, context.WithValue(ss.Context(), guardKey{}, g)})
	g.releaseAll()
	return err
}

// DoGetSqlInfo is the library's answer, with its batches tracked.
func (s *Server) DoGetSqlInfo(ctx context.Context, cmd afsql.GetSqlInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	sc, in, err := s.BaseServer.DoGetSqlInfo(ctx, cmd)
	if err != nil {
		return nil, nil, err
	}
	out := make(chan flight.StreamChunk)
	go func() {
		defer close(out)
		for c := range in {
			if c.Data != nil {
				c.Data = trackBatch(ctx, c.Data)
			}
			select {
			case out <- c:
			case <-ctx.Done():
				if c.Data != nil {
					c.Data.Release()
				}
				for c := range in { // let the library's producer finish
					if c.Data != nil {
						c.Data.Release()
					}
				}
				return
			}
		}
	}()
	return sc, out, nil
}
