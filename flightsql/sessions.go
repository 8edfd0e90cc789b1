//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/session"
)

// Client sessions. arrow-go's session middleware gives every client a
// cookie (arrow_flight_session_id); sessionStore is the store behind it
// and keeps, per cookie, one lazily opened engine session (one DuckDB
// connection) so temp tables, USE and prepared statements live across calls.
//
// Lifetimes, so nothing leaks:
//   - a session whose cookie came back at least once ("adopted") lives
//     until CloseSession, the idle timeout or Server.Close;
//   - a never-adopted session that holds no state (no session options, no
//     DDL/DML run, no handles) gives its DuckDB connection back at the end
//     of each call and as soon as its last handle (ticket, prepared
//     statement) goes; the entry itself is dropped after adoptWindow, by
//     which time a cookie-aware client would have sent the cookie back.
//     Cookie-less clients (a session per call) thus hold no connections;
//   - handles pin their session; the reaper expires idle handles and
//     sessions.

// adoptWindow is how long a session nobody sent the cookie of is kept.
const adoptWindow = time.Minute

// clientSession is the server side of one client's session.
type clientSession struct {
	token string
	fs    session.ServerSession

	mu       sync.Mutex
	conn     conn
	adopted  bool // the client sent the cookie back at least once
	stateful bool // the session holds state a client may return for (options, DDL, DML)
	pins     int  // live handles using conn
	lastUsed time.Time
	closed   bool
}

// engineConn returns the session's engine connection, opening it on first use.
func (cs *clientSession) engineConn(ctx context.Context, q querier) (conn, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil, fmt.Errorf("session %s: %w", cs.token, errUnknownHandle)
	}
	cs.lastUsed = time.Now()
	if cs.conn == nil {
		c, err := q.NewSession(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("opening engine session: %w", err)
		}
		cs.conn = c
	}
	return cs.conn, nil
}

// markStateful records that the session now holds state (session options,
// temp tables, ...) that must survive until the client comes back or the
// idle timeout.
func (cs *clientSession) markStateful() {
	cs.mu.Lock()
	cs.stateful = true
	cs.mu.Unlock()
}

func (cs *clientSession) pin() {
	cs.mu.Lock()
	cs.pins++
	cs.lastUsed = time.Now()
	cs.mu.Unlock()
}

// unpin drops one handle's hold. The last unpin of a closed session, or of
// a never-adopted stateless one, closes its engine connection.
func (cs *clientSession) unpin() {
	cs.mu.Lock()
	cs.pins--
	cs.lastUsed = time.Now()
	var c conn
	if cs.pins == 0 && (cs.closed || cs.disposableLocked()) {
		c, cs.conn = cs.conn, nil
	}
	cs.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// releaseIdleConn closes the engine connection of a never-adopted session
// that holds nothing a client could come back for. Called after each call.
func (cs *clientSession) releaseIdleConn() {
	cs.mu.Lock()
	var c conn
	if cs.pins == 0 && cs.disposableLocked() {
		c, cs.conn = cs.conn, nil
	}
	cs.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

func (cs *clientSession) disposableLocked() bool { return !cs.adopted && !cs.stateful }

// close marks the session closed and closes its engine connection, or
// leaves that to the last unpin while streams still use it.
func (cs *clientSession) close() error {
	cs.mu.Lock()
	var c conn
	if cs.pins == 0 {
		c, cs.conn = cs.conn, nil
	}
	cs.closed = true
	cs.mu.Unlock()
	_ = cs.fs.Close()
	if c != nil {
		return c.Close()
	}
	return nil
}

// sessionStore implements arrow-go's session.SessionStore.
type sessionStore struct {
	q       querier
	log     *slog.Logger
	metrics *metrics
	idle    time.Duration
	onClose func(*clientSession) // releases the session's handles

	mu       sync.Mutex
	sessions map[string]*clientSession
	closed   bool
}

var _ session.SessionStore = (*sessionStore)(nil)

func newSessionStore(q querier, log *slog.Logger, m *metrics, idle time.Duration) *sessionStore {
	return &sessionStore{q: q, log: log, metrics: m, idle: idle, sessions: map[string]*clientSession{}}
}

// Get is called when a request carries a session cookie: the client keeps
// the session, so it is adopted.
func (st *sessionStore) Get(id string) (session.ServerSession, error) {
	st.mu.Lock()
	cs, ok := st.sessions[id]
	st.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("session %q: %w", id, errUnknownHandle)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil, fmt.Errorf("session %q: %w", id, errUnknownHandle)
	}
	cs.adopted = true
	cs.lastUsed = time.Now()
	return cs.fs, nil
}

// Put registers a session the middleware just created.
func (st *sessionStore) Put(s session.ServerSession) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil // the call fails with errClosed in clientSession (an error here panics the middleware)
	}
	st.sessions[s.Token()] = &clientSession{token: s.Token(), fs: s, lastUsed: time.Now()}
	st.metrics.sessions.Inc()
	return nil
}

// Remove drops a session (CloseSession) and closes its engine connection.
func (st *sessionStore) Remove(id string) error {
	st.mu.Lock()
	cs, ok := st.sessions[id]
	delete(st.sessions, id)
	st.mu.Unlock()
	if !ok {
		return nil
	}
	st.metrics.sessions.Dec()
	if st.onClose != nil {
		st.onClose(cs)
	}
	if err := cs.close(); err != nil {
		st.log.Warn("flightsql: closing session", "err", err)
	}
	return nil
}

// lookup finds a live session by token.
func (st *sessionStore) lookup(id string) (*clientSession, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	cs, ok := st.sessions[id]
	return cs, ok
}

// expire removes sessions idle longer than the timeout (adoptWindow for
// never-adopted ones) and holding no handle.
func (st *sessionStore) expire(now time.Time) {
	var idle []string
	window := min(st.idle, adoptWindow)
	st.mu.Lock()
	for id, cs := range st.sessions {
		cs.mu.Lock()
		limit := st.idle
		if !cs.adopted {
			limit = window
		}
		if cs.pins == 0 && now.Sub(cs.lastUsed) > limit {
			idle = append(idle, id)
		}
		cs.mu.Unlock()
	}
	st.mu.Unlock()
	for _, id := range idle {
		_ = st.Remove(id)
	}
}

// closeAll closes every session; later Puts fail.
func (st *sessionStore) closeAll() {
	st.mu.Lock()
	st.closed = true
	ids := make([]string, 0, len(st.sessions))
	for id := range st.sessions {
		ids = append(ids, id)
	}
	st.mu.Unlock()
	for _, id := range ids {
		_ = st.Remove(id)
	}
}

// clientSession returns the caller's session (set by the session middleware).
func (s *Server) clientSession(ctx context.Context) (*clientSession, error) {
	fs, err := session.GetSessionFromContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("no session on call: %w", err)
	}
	cs, ok := s.sessions.lookup(fs.Token())
	if !ok {
		s.sessions.mu.Lock()
		closed := s.sessions.closed
		s.sessions.mu.Unlock()
		if closed {
			return nil, errClosed
		}
		return nil, fmt.Errorf("session closed: %w", errUnknownHandle)
	}
	return cs, nil
}

// conn returns the caller's engine connection.
func (s *Server) conn(ctx context.Context) (*clientSession, conn, error) {
	cs, err := s.clientSession(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := cs.engineConn(ctx, s.q)
	if err != nil {
		return nil, nil, err
	}
	return cs, c, nil
}
