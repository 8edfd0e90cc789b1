//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// setSessionState gives cl's session every kind of state a client sets:
// a setting, a temp table, a current schema and time travel to the first
// of bronze.sess_tt's two snapshots (one row, then two).
func setSessionState(t *testing.T, cl *afsql.Client) {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := cl.ExecuteUpdate(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE bronze.sess_tt AS SELECT 1 AS id`)
	first := query(t, cl, `SELECT max(snapshot_id) FROM iceberg_snapshots('bronze.sess_tt')`).rows[0][0]
	exec(`INSERT INTO bronze.sess_tt VALUES (2)`)
	exec(`SET TimeZone = 'America/Lima'`)
	exec(`CREATE TEMP TABLE scratch AS SELECT 42 AS x`)
	exec(`USE lakehouse.bronze`)
	exec(`SET lakeflight_as_of = '` + first + `'`)
}

// checkSessionState reports whether cl sees the state setSessionState set,
// asking each piece in its own call.
func checkSessionState(t *testing.T, cl *afsql.Client, want bool) {
	t.Helper()
	ctx := context.Background()
	tz := query(t, cl, `SELECT current_setting('TimeZone')`).rows[0][0]
	rows := query(t, cl, `SELECT count(*) FROM lakehouse.bronze.sess_tt`).rows[0][0]
	_, tempErr := cl.Execute(ctx, `SELECT x FROM scratch`)
	schema := query(t, cl, `SELECT current_schema()`).rows[0][0]
	if want {
		if tz != "America/Lima" || rows != "1" || tempErr != nil || schema != "bronze" {
			t.Fatalf("state lost between calls: TimeZone %s, rows as of the first snapshot %s, temp table: %v, schema %s",
				tz, rows, tempErr, schema)
		}
		return
	}
	if tz == "America/Lima" || rows != "2" || schema == "bronze" {
		t.Fatalf("state leaked to another session: TimeZone %s, rows %s (want current data: 2), schema %s", tz, rows, schema)
	}
	wantCode(t, tempErr, codes.NotFound)
}

// openSessions reads the open-sessions gauge.
func openSessions(t *testing.T, env *testEnv) float64 {
	var m dto.Metric
	if err := env.srv.metrics.sessions.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// A client without cookies keeps its session for as long as its gRPC
// connection lives; another connection is another session.
func TestSessionFollowsConnection(t *testing.T) {
	env := newTestEnv(t)
	a := env.client(t, false)
	setSessionState(t, a)
	checkSessionState(t, a, true)
	checkSessionState(t, env.client(t, false), false)
}

// A client keeping cookies keeps its session, also from a new connection.
func TestSessionFollowsCookie(t *testing.T) {
	env := newTestEnv(t)
	jar := flight.NewClientCookieMiddleware()
	a := env.dial(t, jar)
	setSessionState(t, a)
	checkSessionState(t, a, true)
	checkSessionState(t, env.client(t, true), false)

	_ = a.Close()
	checkSessionState(t, env.dial(t, jar), true) // same cookie, new connection
}

// A cookie naming a session that is gone is an error, never a fresh
// session; closing such a session succeeds.
func TestStaleCookie(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.SessionIdleTimeout = 100 * time.Millisecond })
	jar := flight.NewClientCookieMiddleware()
	a := env.dial(t, jar)
	setSessionState(t, a)
	_ = a.Close()
	// The session outlives its connection by the idle timeout, then closes.
	waitFor(t, 10*time.Second, func() bool { return openSessions(t, env) == 0 })

	b := env.dial(t, jar)
	_, err := b.Execute(context.Background(), `SELECT count(*) FROM lakehouse.bronze.sess_tt`)
	st := wantCode(t, err, codes.Unauthenticated)
	if !strings.Contains(st.Message(), "session expired") {
		t.Errorf("message %q does not say the session expired", st.Message())
	}

	// CloseSession of a session that is gone answers Closed and drops the
	// cookie: the next call starts a new session, knowingly.
	res, err := b.CloseSession(context.Background(), &flight.CloseSessionRequest{})
	if err != nil || res.Status != flight.CloseSessionResultClosed {
		t.Fatalf("CloseSession: %v, %v", res, err)
	}
	// arrow-go's client hands a streaming call's headers (CloseSession is
	// a DoAction) to its cookie jar only once the stream has ended, which
	// may be after the next call has gone out with the old cookie.
	waitFor(t, 5*time.Second, func() bool {
		_, err := b.Execute(context.Background(), `SELECT 1`)
		return err == nil
	})
	if got := query(t, b, `SELECT count(*) FROM lakehouse.bronze.sess_tt`).rows[0][0]; got != "2" {
		t.Errorf("new session reads %s rows, want current data: 2", got)
	}

	// A forged or mistyped cookie is the same error.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "cookie", sessionCookie+"=0123abcd")
	_, err = env.client(t, false).Execute(ctx, `SELECT 1`)
	wantCode(t, err, codes.Unauthenticated)
}

// Closing a client's connection closes its session and frees its engine
// session (a session whose cookie never came back).
func TestConnectionEndFreesSession(t *testing.T) {
	env := newTestEnv(t)
	a := env.client(t, false)
	if _, err := a.ExecuteUpdate(context.Background(), `CREATE TEMP TABLE scratch AS SELECT 1 AS x`); err != nil {
		t.Fatal(err)
	}
	if n := env.eng.Stats().Sessions; n != 1 {
		t.Fatalf("engine sessions = %d, want 1 (the stateful session keeps its connection)", n)
	}
	_ = a.Close()
	waitFor(t, 10*time.Second, func() bool {
		return env.eng.Stats().Sessions == 0 && openSessions(t, env) == 0
	})
}

// Sessions are capped: one more than MaxSessions is ResourceExhausted, and
// a closed connection makes room again.
func TestMaxSessions(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.MaxSessions = 2 })
	ctx := context.Background()
	a, b, c := env.client(t, false), env.client(t, false), env.client(t, false)
	for _, cl := range []*afsql.Client{a, b} {
		if _, err := cl.ExecuteUpdate(ctx, "SET TimeZone = 'UTC'"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.ExecuteUpdate(ctx, "SET TimeZone = 'UTC'")
	if st := wantCode(t, err, codes.ResourceExhausted); !strings.Contains(st.Message(), "--max-sessions") {
		t.Errorf("message %q", st.Message())
	}
	_ = a.Close()
	waitFor(t, 10*time.Second, func() bool { return openSessions(t, env) == 1 })
	if _, err := c.ExecuteUpdate(ctx, "SET TimeZone = 'UTC'"); err != nil {
		t.Fatalf("after a connection closed: %v", err)
	}
}

// At the cap, an abandoned session (its client kept the cookie and went
// away; no connection or handle uses it) is evicted, the one unused longest
// first, to make room for a new one; sessions in use never are.
func TestMaxSessionsEvictsAbandoned(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.MaxSessions = 2 })
	ctx := context.Background()
	older, newer := flight.NewClientCookieMiddleware(), flight.NewClientCookieMiddleware()
	for i, jar := range []flight.ClientMiddleware{older, newer} {
		cl := env.dial(t, jar)
		if _, err := cl.GetSqlInfoSchema(ctx); err != nil { // takes the cookie
			t.Fatal(err)
		}
		// The cookie comes back: the session is adopted and outlives the
		// connection.
		if _, err := cl.ExecuteUpdate(ctx, fmt.Sprintf("CREATE TEMP TABLE mine AS SELECT %d AS x", i)); err != nil {
			t.Fatal(err)
		}
		_ = cl.Close()
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, 10*time.Second, func() bool { return openSessions(t, env) == 2 })

	// A third client gets a session: the older abandoned one makes room.
	fresh := env.client(t, false)
	if _, err := fresh.ExecuteUpdate(ctx, "SET TimeZone = 'UTC'"); err != nil {
		t.Fatalf("a new session at the cap with abandoned ones: %v", err)
	}
	if n := openSessions(t, env); n != 2 {
		t.Fatalf("open sessions = %v, want 2", n)
	}
	_, err := env.dial(t, older).Execute(ctx, `SELECT x FROM mine`)
	wantCode(t, err, codes.Unauthenticated) // evicted: said so, never a silent fresh session
	if got := query(t, env.dial(t, newer), `SELECT x FROM mine`).rows; got[0][0] != "1" {
		t.Fatalf("the newer session's temp table: %q", got)
	}

	// Both remaining sessions are in use by open connections: no room.
	_, err = env.client(t, false).ExecuteUpdate(ctx, "SET TimeZone = 'UTC'")
	if st := wantCode(t, err, codes.ResourceExhausted); !strings.Contains(st.Message(), "--max-sessions") {
		t.Errorf("message %q", st.Message())
	}
}
