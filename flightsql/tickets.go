//go:build duckdb_arrow

package flightsql

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Handles are the opaque, random, server-side names this server hands to
// clients: prepared-statement handles and tickets. A ticket is one pending
// execution (the statement, its parameters, the session it runs on); SQL
// never travels in a ticket, so tickets cannot be forged into queries.
//
// A ticket is consumed when a DoGet streams it to the end; a failed or
// cancelled stream leaves it for a retry until it expires. Prepared
// statements live until ClosePreparedStatement, their session ends, or they
// sit idle past the session idle timeout.

type handleKind int

const (
	kindTicket handleKind = iota
	kindPrepared
)

type handle struct {
	id       string
	kind     handleKind
	sess     *clientSession
	stmt     stmt
	ownsStmt bool              // ticket of an ad-hoc query: closes stmt when released
	parent   *handle           // ticket of a prepared statement
	params   arrow.RecordBatch // bound parameters (nil: none)
	expires  time.Time
	// written: a write's RETURNING rows, kept after its first run so that a
	// retried DoGet reads them again instead of writing again.
	written       []arrow.RecordBatch
	writtenSchema *arrow.Schema

	// guarded by handleTable.mu
	running  bool
	cancel   context.CancelFunc
	gone     <-chan struct{} // running: closed when the reading client has gone
	ended    chan struct{}   // running: closed when that stream has finished
	canceled bool
	refs     int  // prepared: live tickets that use stmt
	closing  bool // prepared: closed by the client, waiting for refs to drain
	released bool
}

// handleTable holds every live handle of the server.
type handleTable struct {
	ticketTTL time.Duration
	idle      time.Duration

	mu      sync.Mutex
	handles map[string]*handle
}

func newHandleTable(ticketTTL, idle time.Duration) *handleTable {
	return &handleTable{ticketTTL: ticketTTL, idle: idle, handles: map[string]*handle{}}
}

func newHandleID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return string(b[:])
}

// addPrepared registers a prepared statement of cs.
func (t *handleTable) addPrepared(cs *clientSession, st stmt) *handle {
	h := &handle{id: newHandleID(), kind: kindPrepared, sess: cs, stmt: st, expires: time.Now().Add(t.idle)}
	cs.pin()
	t.mu.Lock()
	t.handles[h.id] = h
	t.mu.Unlock()
	return h
}

// addQueryTicket registers a ticket that owns an ad-hoc statement.
func (t *handleTable) addQueryTicket(cs *clientSession, st stmt) *handle {
	h := &handle{id: newHandleID(), kind: kindTicket, sess: cs, stmt: st, ownsStmt: true, expires: time.Now().Add(t.ticketTTL)}
	cs.pin()
	t.mu.Lock()
	t.handles[h.id] = h
	t.mu.Unlock()
	return h
}

// addPreparedTicket registers one execution of a prepared statement with
// its current parameters.
func (t *handleTable) addPreparedTicket(p *handle, st stmt) (*handle, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.released || p.closing {
		return nil, fmt.Errorf("prepared statement: %w", errUnknownHandle)
	}
	h := &handle{id: newHandleID(), kind: kindTicket, sess: p.sess, stmt: st, ownsStmt: st != p.stmt, parent: p,
		params: p.params, expires: time.Now().Add(t.ticketTTL)}
	if h.params != nil {
		h.params.Retain()
	}
	p.refs++
	p.expires = time.Now().Add(t.idle)
	p.sess.pin()
	t.handles[h.id] = h
	return h, nil
}

// get returns a live handle of the given kind.
func (t *handleTable) get(id []byte, kind handleKind) (*handle, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.handles[string(id)]
	if !ok || h.kind != kind || h.closing {
		return nil, errUnknownHandle
	}
	if kind == kindPrepared {
		h.expires = time.Now().Add(t.idle)
	}
	return h, nil
}

// bind replaces a prepared statement's parameters (params already
// retained; on error they are released).
func (t *handleTable) bind(h *handle, params arrow.RecordBatch) error {
	t.mu.Lock()
	if h.released || h.closing {
		t.mu.Unlock()
		if params != nil {
			params.Release()
		}
		return errUnknownHandle
	}
	old := h.params
	h.params = params
	t.mu.Unlock()
	if old != nil {
		old.Release()
	}
	return nil
}

// retryWait bounds how long a retried DoGet waits for the stream of a
// client that has already gone to wind down.
const retryWait = 5 * time.Second

// goneGrace bounds how long a DoGet waits for the server to notice that
// the client of the ticket's current stream has gone: a client that
// abandons a stream and retries at once can reach the server before the
// stream's cancellation does.
const goneGrace = time.Second

// start marks a ticket as streaming; sctx is the stream's context and
// cancel stops it. A ticket cancelled before it started is released here.
// A retry that arrives while the previous reader's stream is still winding
// down (its client gone, or going within goneGrace) waits for it instead
// of failing.
func (t *handleTable) start(h *handle, sctx context.Context, cancel context.CancelFunc) error {
	t.mu.Lock()
	if h.running && !h.released && !h.canceled {
		gone, ended := h.gone, h.ended
		t.mu.Unlock()
		if err := awaitAbandoned(sctx, gone, ended); err != nil {
			return err
		}
		t.mu.Lock()
	}
	switch {
	case h.released:
		t.mu.Unlock()
		return errUnknownHandle
	case h.canceled:
		fin := t.releaseLocked(h)
		t.mu.Unlock()
		runAll(fin)
		return fmt.Errorf("query was cancelled: %w", context.Canceled)
	case h.running:
		t.mu.Unlock()
		return errBusy
	}
	h.running, h.cancel = true, cancel
	h.gone, h.ended = sctx.Done(), make(chan struct{})
	t.mu.Unlock()
	return nil
}

// awaitAbandoned waits until a stream whose client is gone (or goes within
// goneGrace) has ended, for at most retryWait after it went. It returns
// early if the stream is still wanted; the caller then re-checks the ticket.
func awaitAbandoned(sctx context.Context, gone <-chan struct{}, ended <-chan struct{}) error {
	grace := time.NewTimer(goneGrace)
	defer grace.Stop()
	select {
	case <-gone:
	case <-ended:
		return nil
	case <-grace.C:
		return nil
	case <-sctx.Done():
		return context.Cause(sctx)
	}
	wait := time.NewTimer(retryWait)
	defer wait.Stop()
	select {
	case <-ended:
	case <-wait.C:
	case <-sctx.Done():
		return context.Cause(sctx)
	}
	return nil
}

// finish ends a stream; a ticket read to the end (or cancelled) is released.
func (t *handleTable) finish(h *handle, complete bool) {
	t.mu.Lock()
	if h.running {
		close(h.ended)
	}
	h.running, h.cancel, h.gone = false, nil, nil
	done := complete || h.canceled
	var fin []func()
	if done {
		fin = t.releaseLocked(h)
	}
	t.mu.Unlock()
	runAll(fin)
}

// closePrepared closes a prepared statement at the client's request; a
// statement with executions in flight is closed when the last one ends.
func (t *handleTable) closePrepared(id []byte) error {
	t.mu.Lock()
	h, ok := t.handles[string(id)]
	if !ok || h.kind != kindPrepared || h.closing {
		t.mu.Unlock()
		return errUnknownHandle
	}
	fin := t.releaseLocked(h)
	t.mu.Unlock()
	runAll(fin)
	return nil
}

// cancelTicket cancels a ticket: a running stream is interrupted, a pending
// one is dropped. ok is false when nothing was running or pending.
func (t *handleTable) cancelTicket(id []byte) (ok bool, err error) {
	t.mu.Lock()
	h, found := t.handles[string(id)]
	if !found || h.kind != kindTicket {
		t.mu.Unlock()
		return false, errUnknownHandle
	}
	h.canceled = true
	var fin []func()
	if h.running {
		fin = append(fin, h.cancel)
	} else {
		fin = t.releaseLocked(h)
	}
	t.mu.Unlock()
	runAll(fin)
	return true, nil
}

// cancelPrepared interrupts the running executions of a prepared statement.
func (t *handleTable) cancelPrepared(id []byte) (ok bool, err error) {
	t.mu.Lock()
	p, found := t.handles[string(id)]
	if !found || p.kind != kindPrepared {
		t.mu.Unlock()
		return false, errUnknownHandle
	}
	var fin []func()
	for _, h := range t.handles {
		if h.parent == p && h.running {
			h.canceled = true
			fin = append(fin, h.cancel)
		}
	}
	t.mu.Unlock()
	runAll(fin)
	return len(fin) > 0, nil
}

// releaseLocked removes h and returns the work to do once t.mu is released
// (closing statements and unpinning sessions may call into the engine).
func (t *handleTable) releaseLocked(h *handle) []func() {
	if h.released {
		return nil
	}
	if h.kind == kindPrepared {
		h.closing = true
		if h.refs > 0 {
			return nil // the last ticket finishes the job
		}
	}
	h.released = true
	delete(t.handles, h.id)
	var fin []func()
	if h.params != nil {
		p := h.params
		h.params = nil
		fin = append(fin, p.Release)
	}
	for _, b := range h.written {
		fin = append(fin, b.Release)
	}
	h.written = nil
	if h.ownsStmt || h.kind == kindPrepared {
		st := h.stmt
		fin = append(fin, func() { _ = st.Close() })
	}
	if p := h.parent; p != nil {
		p.refs--
		if p.closing && p.refs == 0 {
			fin = append(fin, t.releaseLocked(p)...)
		}
	}
	fin = append(fin, h.sess.unpin)
	return fin
}

// expire releases idle handles that are not streaming.
func (t *handleTable) expire(now time.Time) {
	var fin []func()
	t.mu.Lock()
	for _, h := range t.handles {
		if !h.running && h.refs == 0 && now.After(h.expires) {
			fin = append(fin, t.releaseLocked(h)...)
		}
	}
	t.mu.Unlock()
	runAll(fin)
}

// releaseSession releases every handle of a session about to close.
func (t *handleTable) releaseSession(cs *clientSession) {
	var fin []func()
	t.mu.Lock()
	for _, h := range t.handles {
		if h.sess == cs {
			if h.running {
				h.canceled = true
				fin = append(fin, h.cancel)
			} else if h.kind == kindTicket {
				fin = append(fin, t.releaseLocked(h)...)
			}
		}
	}
	for _, h := range t.handles {
		if h.sess == cs && h.kind == kindPrepared && !h.released {
			fin = append(fin, t.releaseLocked(h)...)
		}
	}
	t.mu.Unlock()
	runAll(fin)
}

// cancelAll interrupts every running stream (server shutdown).
func (t *handleTable) cancelAll() {
	var fin []func()
	t.mu.Lock()
	for _, h := range t.handles {
		if h.running {
			h.canceled = true
			fin = append(fin, h.cancel)
		}
	}
	t.mu.Unlock()
	runAll(fin)
}

// releaseAll releases every handle (after streams have stopped).
func (t *handleTable) releaseAll() {
	var fin []func()
	t.mu.Lock()
	for _, h := range t.handles {
		if h.kind == kindTicket {
			fin = append(fin, t.releaseLocked(h)...)
		}
	}
	for _, h := range t.handles {
		fin = append(fin, t.releaseLocked(h)...)
	}
	t.mu.Unlock()
	runAll(fin)
}

func runAll(fns []func()) {
	for _, f := range fns {
		f()
	}
}

// renew extends a pending ticket.
func (t *handleTable) renew(id []byte, until time.Time) (time.Time, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.handles[string(id)]
	if !ok || h.kind != kindTicket {
		return time.Time{}, errUnknownHandle
	}
	h.expires = until
	return until, nil
}
