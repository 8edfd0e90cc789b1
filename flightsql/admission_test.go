//go:build duckdb_arrow

package flightsql

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	lightSQL = "SELECT * FROM t WHERE id = ?"
	heavySQL = "SELECT count(*) FROM big"
)

// heavyGate is a gate of one running and one waiting heavy query that
// already knows heavySQL as heavy (its last run took a second).
func heavyGate(t *testing.T) *admission {
	t.Helper()
	a := newAdmission(1, 1, 100*time.Millisecond)
	leave, err := a.enter(context.Background(), heavySQL)
	if err != nil {
		t.Fatal(err)
	}
	leave(time.Second)
	return a
}

func TestAdmissionLightNeverWaits(t *testing.T) {
	a := heavyGate(t)
	hold, err := a.enter(context.Background(), heavySQL) // takes the only slot
	if err != nil {
		t.Fatal(err)
	}
	defer hold(time.Second)
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		leave, err := a.enter(ctx, lightSQL)
		cancel()
		if err != nil {
			t.Fatalf("a light query waited or failed: %v", err)
		}
		leave(time.Millisecond)
	}
}

func TestAdmissionHeavyWaitsForSlot(t *testing.T) {
	a := heavyGate(t)
	hold, err := a.enter(context.Background(), heavySQL)
	if err != nil {
		t.Fatal(err)
	}
	admitted := make(chan func(time.Duration))
	go func() {
		leave, err := a.enter(context.Background(), heavySQL)
		if err != nil {
			t.Error(err)
			close(admitted)
			return
		}
		admitted <- leave
	}()
	select {
	case <-admitted:
		t.Fatal("a second heavy query ran beside the first")
	case <-time.After(50 * time.Millisecond):
	}
	hold(time.Second)
	select {
	case leave := <-admitted:
		if leave != nil {
			leave(time.Second)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting heavy query did not get the freed slot")
	}
}

func TestAdmissionRefusesPastQueue(t *testing.T) {
	a := heavyGate(t)
	hold, err := a.enter(context.Background(), heavySQL)
	if err != nil {
		t.Fatal(err)
	}
	defer hold(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		_, err := a.enter(ctx, heavySQL) // the one place in line
		waiting <- err
	}()
	for a.queued.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	_, err = a.enter(context.Background(), heavySQL)
	if !errors.Is(err, errOverloaded) || codeOf(err) != codes.ResourceExhausted {
		t.Fatalf("past the queue: %v (code %s), want errOverloaded as ResourceExhausted", err, codeOf(err))
	}
	cancel() // the waiting one gives up with its caller
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	if n := a.queued.Load(); n != 0 {
		t.Fatalf("%d still counted as waiting", n)
	}
}

func TestAdmissionLearns(t *testing.T) {
	a := newAdmission(1, 1, 100*time.Millisecond)
	hold, err := a.enter(context.Background(), lightSQL) // unknown text: light
	if err != nil {
		t.Fatal(err)
	}
	// A failed run teaches nothing; a slow one makes the text heavy.
	hold(-1)
	if _, heavy := a.heavyTexts[lightSQL]; heavy {
		t.Fatal("a failed run classified the text")
	}
	leave, _ := a.enter(context.Background(), lightSQL)
	leave(time.Second)
	if _, heavy := a.heavyTexts[lightSQL]; !heavy {
		t.Fatal("a slow run did not make the text heavy")
	}
	leave, _ = a.enter(context.Background(), lightSQL) // now through the gate
	if len(a.slots) != 1 {
		t.Fatal("a heavy text did not take a slot")
	}
	leave(time.Millisecond)
	if _, heavy := a.heavyTexts[lightSQL]; heavy || len(a.slots) != 0 {
		t.Fatal("a fast run did not make the text light again and free its slot")
	}
}

func TestAdmissionOff(t *testing.T) {
	a := newAdmission(0, 1, time.Millisecond)
	if a != nil {
		t.Fatal("0 running heavy queries should mean no gate")
	}
	leave, err := a.enter(context.Background(), heavySQL)
	if err != nil {
		t.Fatal(err)
	}
	leave(time.Hour)
}

// TestHeavyQueryGateOnTheWire: with one heavy slot and one place in line,
// a heavy query streaming holds the slot, a second waits for it, a third
// is refused with ResourceExhausted, and a light query runs meanwhile.
func TestHeavyQueryGateOnTheWire(t *testing.T) {
	env := newTestEnv(t, func(o *Options) {
		o.MaxHeavyQueries, o.MaxQueuedHeavyQueries, o.HeavyQueryThreshold = 1, 1, time.Nanosecond
	})
	const big = "SELECT range AS n FROM range(4000000)" // more than gRPC's flow-control window holds
	ctx := context.Background()
	cl := env.client(t, false)
	if got := countRows(t, ctx, cl, big); got != 4000000 { // its run makes the text heavy
		t.Fatalf("%d rows", got)
	}

	hctx, stopHolder := context.WithCancel(ctx)
	defer stopHolder()
	holder := streamOf(t, hctx, cl, big)
	if !holder.Next() { // streaming, and holding the slot while its client does not read
		t.Fatal(holder.Err())
	}

	waiter := env.client(t, false)
	waited := make(chan int64, 1)
	go func() { // no t.Fatal off the test's goroutine: a failure shows as a wrong count
		var n int64
		if info, err := waiter.Execute(ctx, big); err == nil {
			if rdr, err := waiter.DoGet(ctx, info.Endpoint[0].Ticket); err == nil {
				for rdr.Next() {
					n += rdr.RecordBatch().NumRows()
				}
				rdr.Release()
			}
		}
		waited <- n
	}()
	for env.srv.gate.queued.Load() != 1 {
		time.Sleep(time.Millisecond)
	}

	refused := env.client(t, false)
	info, err := refused.Execute(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := refused.DoGet(ctx, info.Endpoint[0].Ticket)
	if err == nil {
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
	}
	if codeOf(err) != codes.ResourceExhausted && status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third heavy query: %v, want ResourceExhausted", err)
	}

	if got := countRows(t, ctx, env.client(t, false), "SELECT 42"); got != 1 {
		t.Fatalf("light query: %d rows", got)
	}

	holder.Release()
	stopHolder()
	select {
	case n := <-waited:
		if n != 4000000 {
			t.Fatalf("the waiting heavy query read %d rows", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting heavy query never ran")
	}
}

func streamOf(t *testing.T, ctx context.Context, cl *afsql.Client, sql string) *flight.Reader {
	t.Helper()
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	return rdr
}

func countRows(t *testing.T, ctx context.Context, cl *afsql.Client, sql string) int64 {
	t.Helper()
	rdr := streamOf(t, ctx, cl, sql)
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	if err := rdr.Err(); err != nil {
		t.Error(err)
	}
	return n
}
