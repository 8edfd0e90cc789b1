//go:build duckdb_arrow

package flightsql

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A temp table lives in the client's session (cookie) and nowhere else.
func TestTempTableVisibleInSameSessionOnly(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	a := env.client(t, true)
	b := env.client(t, true)
	if _, err := a.ExecuteUpdate(ctx, `CREATE TEMP TABLE mine AS SELECT 1 AS x`); err != nil {
		t.Fatal(err)
	}
	if res := query(t, a, `SELECT x FROM mine`); len(res.rows) != 1 {
		t.Errorf("same session: %q", res.rows)
	}
	_, err := b.Execute(ctx, `SELECT x FROM mine`)
	wantCode(t, err, codes.NotFound)
}

func TestSessionOptions(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	str := func(v string) *flight.SessionOptionValue {
		return &flight.SessionOptionValue{OptionValue: &pb.SessionOptionValue_StringValue{StringValue: v}}
	}
	res, err := cl.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: map[string]*flight.SessionOptionValue{
		"catalog": str("lakehouse"),
		"schema":  str("bronze"),
		"colour":  str("blue"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors["colour"].GetValue() != flight.SetSessionOptionsResultErrorInvalidName {
		t.Errorf("errors = %v", res.Errors)
	}
	if r := query(t, cl, `SELECT count(*) FROM events`); r.rows[0][0] != "3" {
		t.Errorf("unqualified table after USE: %q", r.rows)
	}
	got, err := cl.GetSessionOptions(ctx, &flight.GetSessionOptionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if c, s := got.SessionOptions["catalog"].GetStringValue(), got.SessionOptions["schema"].GetStringValue(); c != "lakehouse" || s != "bronze" {
		t.Errorf("options = %v", got.SessionOptions)
	}
	res, err = cl.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: map[string]*flight.SessionOptionValue{
		"catalog": str("no_such_catalog"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors["catalog"].GetValue() != flight.SetSessionOptionsResultErrorInvalidValue {
		t.Errorf("bad catalog: errors = %v", res.Errors)
	}

	// CloseSession drops the session: temp objects go with it.
	if _, err := cl.ExecuteUpdate(ctx, `CREATE TEMP TABLE keep AS SELECT 1 AS x`); err != nil {
		t.Fatal(err)
	}
	closed, err := cl.CloseSession(ctx, &flight.CloseSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != flight.CloseSessionResultClosed {
		t.Errorf("close status = %v", closed.Status)
	}
	// arrow-go hands CloseSession's headers (a DoAction's) to its cookie
	// jar only once the stream has ended: a call before that still carries
	// the closed session's cookie and is told the session is gone.
	waitFor(t, 5*time.Second, func() bool {
		_, err = cl.Execute(ctx, `SELECT x FROM keep`)
		return status.Code(err) != codes.Unauthenticated
	})
	wantCode(t, err, codes.NotFound)
}

// A cookie-less client that holds no state gives its DuckDB connection
// back after each call (no leaked DuckDB connections).
func TestNoSessionLeaks(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, false)
	ctx := context.Background()
	for range 5 {
		query(t, cl, `SELECT 1`)
		info, err := cl.GetTables(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fetch(ctx, cl, info); err != nil {
			t.Fatal(err)
		}
		prep, err := cl.Prepare(ctx, `SELECT 2`)
		if err != nil {
			t.Fatal(err)
		}
		info, err = prep.Execute(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fetch(ctx, cl, info); err != nil {
			t.Fatal(err)
		}
		if err := prep.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The connection's session lives on, but holds no DuckDB connection
	// and no handle.
	waitFor(t, 5*time.Second, func() bool {
		env.srv.handles.mu.Lock()
		h := len(env.srv.handles.handles)
		env.srv.handles.mu.Unlock()
		return h == 0 && env.eng.Stats().Sessions == 0
	})
}

// Idle sessions and their prepared statements expire.
func TestIdleExpiry(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.SessionIdleTimeout = 200 * time.Millisecond; o.TicketTTL = 200 * time.Millisecond })
	cl := env.client(t, true)
	ctx := context.Background()
	prep, err := cl.Prepare(ctx, `SELECT 1`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Execute(ctx, `SELECT 2`); err != nil { // a ticket never fetched
		t.Fatal(err)
	}
	// The reaper expires both handles and the session once they sit idle
	// past their lifetimes (200 ms): wait for that, then use them.
	waitFor(t, 10*time.Second, func() bool {
		env.srv.handles.mu.Lock()
		defer env.srv.handles.mu.Unlock()
		return len(env.srv.handles.handles) == 0
	})
	_, err = prep.Execute(ctx)
	wantCode(t, err, codes.NotFound)
	if st := env.eng.Stats(); st.Sessions > 1 {
		t.Errorf("engine has %d sessions open", st.Sessions)
	}
}
