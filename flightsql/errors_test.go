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
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
)

func TestBadInput(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()

	for _, c := range []struct {
		name, sql string
		code      codes.Code
		msg       string // part of the message the client sees
	}{
		{"syntax error", `SELEKT 1`, codes.InvalidArgument, "syntax error"},
		{"binder error", `SELECT no_such_column FROM bronze.events`, codes.InvalidArgument, "no_such_column"},
		{"unknown table", `SELECT * FROM bronze.nope`, codes.NotFound, "nope"},
		{"unknown function", `SELECT no_such_fn(1)`, codes.NotFound, "no_such_fn"},
		{"read outside warehouse", `SELECT * FROM read_csv('/etc/passwd')`, codes.PermissionDenied, ""},
		{"read_text outside warehouse", `SELECT * FROM read_text('/etc/hostname')`, codes.PermissionDenied, ""},
		{"copy to file", `COPY (SELECT 1) TO '/tmp/lakeflight-escape.csv'`, codes.Unimplemented, "COPY"},
		{"attach", `ATTACH '/tmp/x.db' AS x`, codes.PermissionDenied, "ATTACH"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := cl.Execute(ctx, c.sql)
			st := wantCode(t, err, c.code)
			if !strings.Contains(st.Message(), c.msg) {
				t.Errorf("message %q lacks %q", st.Message(), c.msg)
			}
			// The same through the update path and a prepared statement.
			_, err = cl.ExecuteUpdate(ctx, c.sql)
			wantCode(t, err, c.code)
			_, err = cl.Prepare(ctx, c.sql)
			wantCode(t, err, c.code)
		})
	}
}

func TestForgedTickets(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()

	// A well-formed ticket naming a handle the server never issued.
	tkt, err := afsql.CreateStatementQueryTicket([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = drain(ctx, cl, &flight.Ticket{Ticket: tkt})
	wantCode(t, err, codes.NotFound)

	// A ticket carrying SQL instead of a handle is just an unknown handle.
	tkt, _ = afsql.CreateStatementQueryTicket([]byte("SELECT * FROM bronze.events"))
	_, err = drain(ctx, cl, &flight.Ticket{Ticket: tkt})
	wantCode(t, err, codes.NotFound)

	// Garbage.
	_, err = drain(ctx, cl, &flight.Ticket{Ticket: []byte("garbage")})
	wantCode(t, err, codes.InvalidArgument)

	// A ticket is consumed by a complete read.
	info, err := cl.Execute(ctx, `SELECT 1`)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := drain(ctx, cl, info.Endpoint[0].Ticket); err != nil || n != 1 {
		t.Fatalf("first read: %d rows, %v", n, err)
	}
	_, err = drain(ctx, cl, info.Endpoint[0].Ticket)
	wantCode(t, err, codes.NotFound)
}

// drain reads a ticket to the end and counts rows.
func drain(ctx context.Context, cl *afsql.Client, tkt *flight.Ticket) (int64, error) {
	rdr, err := cl.DoGet(ctx, tkt)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	return n, rdr.Err()
}

func TestUnsupported(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	_, err := cl.BeginTransaction(ctx)
	wantCode(t, err, codes.Unimplemented)
	_, err = cl.ExecuteSubstrait(ctx, afsql.SubstraitPlan{Plan: []byte{1}, Version: "0.1"})
	wantCode(t, err, codes.Unimplemented)
}

// A client that walks away mid-stream: the server stops the query, frees
// its memory (checked at cleanup) and leaves no goroutine behind.
func TestClientDisconnectMidStream(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	query(t, cl, `SELECT 1`) // warm up the connection and session
	baseline := goleak.IgnoreCurrent()

	ctx, cancel := context.WithCancel(context.Background())
	info, err := cl.Execute(ctx, `SELECT i, repeat('x', 100) AS pad FROM range(50000000) t(i)`)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if !rdr.Next() {
		t.Fatalf("no first batch: %v", rdr.Err())
	}
	cancel()
	rdr.Release()

	waitFor(t, 10*time.Second, func() bool {
		env.srv.handles.mu.Lock()
		defer env.srv.handles.mu.Unlock()
		for _, h := range env.srv.handles.handles {
			if h.running {
				return false
			}
		}
		return true
	})
	if err := goleak.Find(baseline); err != nil {
		t.Error(err)
	}
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const slowQuery = `SELECT count(*) FROM range(100000) a(x), range(1000000) b(y) WHERE (x * y) % 7 = 3`

func TestCancelFlightInfo(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()

	info, err := cl.Execute(ctx, slowQuery)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { _, err := drain(ctx, cl, info.Endpoint[0].Ticket); done <- err }()
	waitFor(t, 10*time.Second, func() bool {
		env.srv.handles.mu.Lock()
		defer env.srv.handles.mu.Unlock()
		h := env.srv.handles.handles[string(ticketHandle(t, info))]
		return h != nil && h.running
	})
	waitFor(t, 10*time.Second, func() bool { return env.eng.Stats().Running > 0 }) // DuckDB is executing it
	res, err := cl.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != flight.CancelStatusCancelled {
		t.Errorf("cancel status = %v", res.Status)
	}
	select {
	case err := <-done:
		wantCode(t, err, codes.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("query still running 10s after cancel")
	}
	t.Logf("cancelled after %v", time.Since(start))
	// /metrics counts the query canceled only once DuckDB has stopped it.
	waitFor(t, 10*time.Second, func() bool {
		n := canceledQueries(t, env)
		if n > 0 && env.eng.Stats().Running != 0 {
			t.Fatalf("%v canceled queries counted while DuckDB still runs %d statements", n, env.eng.Stats().Running)
		}
		return n == 1
	})

	// Cancelling again: the ticket is gone.
	_, err = cl.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	wantCode(t, err, codes.NotFound)

	// A pending ticket cancelled before DoGet never runs.
	info, err = cl.Execute(ctx, `SELECT 1`)
	if err != nil {
		t.Fatal(err)
	}
	//nolint:staticcheck // the deprecated action is what this checks
	if r, err := cl.CancelQuery(ctx, info); err != nil || r != afsql.CancelResultCancelled {
		t.Errorf("legacy CancelQuery = %v, %v", r, err)
	}
	_, err = drain(ctx, cl, info.Endpoint[0].Ticket)
	wantCode(t, err, codes.NotFound)
}

func ticketHandle(t testing.TB, info *flight.FlightInfo) []byte {
	t.Helper()
	id, _, err := parseTicket(info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestIngestDisabled(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.Ingest = nil })
	cl := env.client(t, true)
	_, err := cl.ExecuteIngest(context.Background(), emptyReader(t), &afsql.ExecuteIngestOpts{TableDefinitionOptions: &afsql.TableDefinitionOptions{}, Table: "x"})
	st := wantCode(t, err, codes.Unimplemented)
	if !strings.Contains(st.Message(), "bulk ingest is not enabled") {
		t.Errorf("message = %q", st.Message())
	}
}

// bigTicketRows is the row count of startBigRead's query: enough that its
// stream is still running after the first batch.
const bigTicketRows = 3_000_000

// startBigRead executes a large query and reads the first batch of its
// ticket; the caller owns the reader.
func startBigRead(ctx context.Context, t *testing.T, cl *afsql.Client) (*flight.FlightInfo, *flight.Reader) {
	t.Helper()
	info, err := cl.Execute(context.Background(), fmt.Sprintf(`SELECT i FROM range(%d) t(i)`, bigTicketRows))
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if !rdr.Next() {
		t.Fatalf("no first batch: %v", rdr.Err())
	}
	return info, rdr
}

// A client whose stream broke retries the same ticket at once: the retry
// waits for the abandoned stream to wind down and then reads everything.
func TestTicketRetryRightAfterDisconnect(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	info, rdr := startBigRead(ctx, t, cl)
	cancel()
	rdr.Release()

	n, err := drain(context.Background(), cl, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatalf("immediate retry of the ticket: %v", err)
	}
	if n != bigTicketRows {
		t.Fatalf("retry read %d rows, want %d", n, bigTicketRows)
	}
}

// A second reader of a ticket whose first reader is still there is refused
// (after the grace for a disconnect to arrive), and the first reader still
// gets every row.
func TestTicketSecondReaderRefused(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	info, rdr := startBigRead(context.Background(), t, cl)
	defer rdr.Release()
	n := rdr.RecordBatch().NumRows()
	_, err := drain(context.Background(), cl, info.Endpoint[0].Ticket)
	st := wantCode(t, err, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "already being read") {
		t.Errorf("message = %q", st.Message())
	}
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	if n != bigTicketRows {
		t.Fatalf("first reader read %d rows, want %d", n, bigTicketRows)
	}
}

// canceledQueries is the count of DoGet queries /metrics shows as canceled.
func canceledQueries(t testing.TB, env *testEnv) uint64 {
	t.Helper()
	families, err := env.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "lakeflight_flightsql_query_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == "canceled" {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// A query past the query timeout is interrupted, and its client hears
// DEADLINE_EXCEEDED saying so: while DuckDB computes, and while the client
// is slow to take the batches. Short queries are not touched.
func TestQueryTimeout(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.QueryTimeout = 500 * time.Millisecond })
	cl := env.client(t, true)
	ctx := context.Background()
	if n := countRows(t, ctx, cl, "SELECT * FROM range(10)"); n != 10 {
		t.Fatalf("a short query: %d rows", n)
	}

	info, err := cl.Execute(ctx, slowQuery)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = drain(ctx, cl, info.Endpoint[0].Ticket)
	st := wantCode(t, err, codes.DeadlineExceeded)
	if !strings.Contains(st.Message(), "query timeout (500ms, --query-timeout)") {
		t.Errorf("message = %q", st.Message())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopped after %v", took)
	}
	waitFor(t, 10*time.Second, func() bool { return env.eng.Stats().Running == 0 })

	// A slow reader: the first batch, then a pause past the timeout.
	_, rdr := startBigRead(ctx, t, cl)
	defer rdr.Release()
	time.Sleep(time.Second)
	for rdr.Next() {
	}
	st = wantCode(t, rdr.Err(), codes.DeadlineExceeded)
	if !strings.Contains(st.Message(), "query timeout") {
		t.Errorf("slow reader's message = %q", st.Message())
	}
}

// Past --max-queries a query waits in line, past --max-queued-queries it
// is refused with RESOURCE_EXHAUSTED; a slot frees when a stream ends.
func TestMaxQueries(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.MaxQueries, o.MaxQueuedQueries = 1, 1 })
	ctx := context.Background()
	first, second, third := env.client(t, false), env.client(t, false), env.client(t, false)
	streamCtx, stopStream := context.WithCancel(ctx)
	_, rdr := startBigRead(streamCtx, t, first) // holds the one slot while it streams

	waited := make(chan error, 1)
	go func() {
		info, err := second.Execute(ctx, "SELECT 42")
		if err == nil {
			_, err = drain(ctx, second, info.Endpoint[0].Ticket)
		}
		waited <- err
	}()
	waitFor(t, 10*time.Second, func() bool { return env.srv.limit.queued.Load() == 1 })
	info, err := third.Execute(ctx, "SELECT 7")
	if err != nil {
		t.Fatal(err)
	}
	_, err = drain(ctx, third, info.Endpoint[0].Ticket)
	st := wantCode(t, err, codes.ResourceExhausted)
	if !strings.Contains(st.Message(), "--max-queries") {
		t.Errorf("message = %q", st.Message())
	}
	select {
	case err := <-waited:
		t.Fatalf("the waiting query ran while the slot was taken: %v", err)
	default:
	}
	stopStream() // the first stream ends: its slot goes to the one waiting
	rdr.Release()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("the waiting query: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting query did not run after the slot freed")
	}
}
