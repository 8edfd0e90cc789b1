//go:build duckdb_arrow

package flightsql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakeflight/lakeflight/auth"
)

// Client sessions. A session is the cookie arrow_flight_session_id when
// the client sends one, and otherwise the client's gRPC connection
// (session_calls.go says how a call finds its session). Each session opens
// one engine session (one DuckDB connection) when first needed, so SET,
// USE, temp tables and lakeflight_as_of live across calls.
//
// Lifetimes, so nothing leaks and no state is lost silently:
//   - a session is used from the connection that created it and from every
//     connection that sent its cookie; while one of them is open the
//     session lives, however idle (like a PostgreSQL connection);
//   - when its last connection ends, a session whose cookie never came back
//     ("never adopted") closes: no client can name it any more;
//   - an adopted session outlives its connections by the idle timeout, so a
//     cookie-keeping client may reconnect to it; CloseSession ends it at once;
//   - running calls and live handles (tickets, prepared statements) pin
//     their session: it keeps its engine connection and does not expire
//     while pinned; handles are released when it closes;
//   - an unpinned session whose engine session holds no state (engine
//     Session.Stateful) gives its DuckDB connection back to the engine's
//     pool; the next call opens another.

// connID names one gRPC connection (session_calls.go tags each with one).
type connID uint64

// clientSession is the server side of one client's session.
type clientSession struct {
	token string // the cookie value

	// guarded by sessionStore.mu
	adopted bool                // the client sent the cookie back at least once
	conns   map[connID]struct{} // open connections using the session

	mu       sync.Mutex
	user     string // who opened it, with authentication on (auth.go)
	conn     conn   // nil until a call needs it, and after it went back
	pins     int    // running calls and live handles
	lastUsed time.Time
	closed   bool
}

// engineConn returns the session's engine connection, opening it on first use.
func (cs *clientSession) engineConn(ctx context.Context, q querier) (conn, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil, errSessionGone
	}
	cs.lastUsed = time.Now()
	if cs.conn == nil {
		c, err := q.NewSession(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("opening engine session: %w", err)
		}
		if id, ok := auth.From(ctx); ok {
			if !id.May(auth.Writer) {
				c.SetReadOnly(fmt.Sprintf("user %s has the %s role: it may query, but changing tables, views or namespaces needs writer or admin", id.User, id.Role))
			}
			if id.Restricted() {
				c.SetGrants(id.User, id.Namespaces)
			}
		}
		cs.conn = c
	}
	return cs.conn, nil
}

// pin and unpin bracket every running call and every live handle (ticket,
// prepared statement) of the session; the last unpin gives back an engine
// connection that holds nothing.
func (cs *clientSession) pin() {
	cs.mu.Lock()
	cs.pins++
	cs.lastUsed = time.Now()
	cs.mu.Unlock()
}

func (cs *clientSession) unpin() {
	cs.mu.Lock()
	cs.pins--
	cs.lastUsed = time.Now()
	c := cs.releasableLocked()
	cs.mu.Unlock()
	closeConn(c)
}

// close marks the session closed and closes its engine connection, or
// leaves that to the last call or handle still using it (unpin).
func (cs *clientSession) close() {
	cs.mu.Lock()
	cs.closed = true
	c := cs.releasableLocked()
	cs.mu.Unlock()
	closeConn(c)
}

// releasableLocked takes the engine connection when nothing uses it and
// either the session is closed or the connection holds no state (so
// closing it loses nothing); the caller closes it after unlocking.
func (cs *clientSession) releasableLocked() conn {
	if cs.conn == nil || cs.pins > 0 {
		return nil
	}
	if !cs.closed && cs.conn.Stateful() {
		return nil
	}
	c := cs.conn
	cs.conn = nil
	return c
}

func closeConn(c conn) {
	if c != nil {
		_ = c.Close() // the engine logs what it could not close
	}
}

// sessionStore holds the live sessions and the open connections.
type sessionStore struct {
	q       querier
	log     *slog.Logger
	metrics *metrics
	idle    time.Duration
	max     int                  // open sessions at most
	onClose func(*clientSession) // releases the session's handles
	lastID  atomic.Uint64        // the last connID handed out

	mu       sync.Mutex
	sessions map[string]*clientSession // by token
	// conns has an entry per open connection: the session its cookie-less
	// calls use, nil until the first one.
	conns  map[connID]*clientSession
	closed bool
}

func newSessionStore(q querier, log *slog.Logger, m *metrics, idle time.Duration, max int) *sessionStore {
	return &sessionStore{q: q, log: log, metrics: m, idle: idle, max: max,
		sessions: map[string]*clientSession{}, conns: map[connID]*clientSession{}}
}

// connOpened registers a new gRPC connection and names it.
func (st *sessionStore) connOpened() connID {
	id := connID(st.lastID.Add(1))
	st.mu.Lock()
	st.conns[id] = nil
	st.mu.Unlock()
	return id
}

// connEnded forgets a connection and closes the never-adopted sessions it
// was the last user of; adopted ones start their idle timeout.
func (st *sessionStore) connEnded(id connID) {
	var dead []*clientSession
	st.mu.Lock()
	delete(st.conns, id)
	for token, cs := range st.sessions {
		if _, ok := cs.conns[id]; !ok {
			continue
		}
		delete(cs.conns, id)
		if len(cs.conns) > 0 {
			continue
		}
		if cs.adopted {
			cs.mu.Lock()
			cs.lastUsed = time.Now()
			cs.mu.Unlock()
			continue
		}
		delete(st.sessions, token)
		dead = append(dead, cs)
	}
	st.mu.Unlock()
	st.closeSessions(dead)
}

// byCookie returns the session named by a cookie, now used from the
// connection id too, pinned for the call. A token naming no live
// session is errSessionGone: a fresh session would silently drop the
// client's SET, USE, temp tables and time travel.
func (st *sessionStore) byCookie(id connID, token string) (*clientSession, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, errClosed
	}
	cs, ok := st.sessions[token]
	if !ok {
		return nil, errSessionGone
	}
	cs.adopted = true
	if _, open := st.conns[id]; open {
		cs.conns[id] = struct{}{}
	}
	cs.pin()
	return cs, nil
}

// byConn returns the session of the connection id, creating it on first
// use, pinned for the call.
func (st *sessionStore) byConn(id connID) (*clientSession, error) {
	var evicted *clientSession
	defer func() {
		if evicted != nil { // closed outside the lock
			st.log.Info("session evicted to make room: no connection used it", "idle", time.Since(evicted.lastUsedAt()).Round(time.Second))
			st.closeSessions([]*clientSession{evicted})
		}
	}()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, errClosed
	}
	cs, open := st.conns[id]
	if !open {
		return nil, errConnGone
	}
	if cs == nil {
		if len(st.sessions) >= st.max {
			evicted = st.evictLocked()
		}
		if evicted == nil && len(st.sessions) >= st.max {
			return nil, fmt.Errorf("%w: %d sessions are open, the server's limit (lakeflight serve --max-sessions), "+
				"and each is used by an open connection or a running call; close idle connections or raise it",
				errTooManySessions, len(st.sessions))
		}
		cs = &clientSession{token: newToken(), conns: map[connID]struct{}{id: {}}}
		st.sessions[cs.token] = cs
		st.conns[id] = cs
		st.metrics.sessions.Inc()
	}
	cs.pin()
	return cs, nil
}

// evictLocked takes out of the store the abandoned session unused longest:
// one that no open connection uses and no call or handle pins (a client
// that kept its cookie and went away). nil when every session is in use.
func (st *sessionStore) evictLocked() *clientSession {
	var victim *clientSession
	var oldest time.Time
	for _, cs := range st.sessions {
		if len(cs.conns) > 0 {
			continue
		}
		cs.mu.Lock()
		free, last := cs.pins == 0, cs.lastUsed
		cs.mu.Unlock()
		if free && (victim == nil || last.Before(oldest)) {
			victim, oldest = cs, last
		}
	}
	if victim != nil {
		delete(st.sessions, victim.token)
	}
	return victim
}

func (cs *clientSession) lastUsedAt() time.Time {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.lastUsed
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// remove ends a session (CloseSession). The connection that created it
// gets a new one on its next cookie-less call.
func (st *sessionStore) remove(cs *clientSession) {
	st.mu.Lock()
	live := st.sessions[cs.token] == cs
	if live {
		delete(st.sessions, cs.token)
		for id := range cs.conns {
			if st.conns[id] == cs {
				st.conns[id] = nil
			}
		}
	}
	st.mu.Unlock()
	if live {
		st.closeSessions([]*clientSession{cs})
	}
}

// expire closes adopted sessions that no open connection uses, idle longer
// than the timeout and holding no handle.
func (st *sessionStore) expire(now time.Time) {
	var dead []*clientSession
	st.mu.Lock()
	for token, cs := range st.sessions {
		if len(cs.conns) > 0 {
			continue
		}
		cs.mu.Lock()
		idle := cs.pins == 0 && now.Sub(cs.lastUsed) > st.idle
		cs.mu.Unlock()
		if idle {
			delete(st.sessions, token)
			dead = append(dead, cs)
		}
	}
	st.mu.Unlock()
	st.closeSessions(dead)
}

// closeAll closes every session; later calls fail with errClosed.
func (st *sessionStore) closeAll() {
	st.mu.Lock()
	st.closed = true
	dead := make([]*clientSession, 0, len(st.sessions))
	for _, cs := range st.sessions {
		dead = append(dead, cs)
	}
	clear(st.sessions)
	st.mu.Unlock()
	st.closeSessions(dead)
}

// closeSessions closes sessions already taken out of the store.
func (st *sessionStore) closeSessions(dead []*clientSession) {
	for _, cs := range dead {
		st.metrics.sessions.Dec()
		if st.onClose != nil {
			st.onClose(cs)
		}
		cs.close()
	}
}
