//go:build duckdb_arrow

package flightsql

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
)

// A ticket reads the snapshot resolved by GetFlightInfo, even when commits
// land before DoGet. (Re-running one statement after a commit is pinned
// too: engine's TestPreparedStatementPinsSnapshots.)
func TestTicketPinsSnapshot(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	info, err := cl.Execute(ctx, "SELECT count(*) FROM bronze.events")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"INSERT INTO bronze.events VALUES (4, 'delta', 4.0)", "DELETE FROM bronze.events WHERE id = 1"} {
		if _, err := cl.ExecuteUpdate(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	if res.rows[0][0] != "3" {
		t.Fatalf("DoGet after two commits: count %s, want 3 (the snapshot GetFlightInfo saw)", res.rows[0][0])
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.events").rows[0][0]; got != "3" {
		t.Fatalf("a new query: %s", got)
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.events WHERE id = 4").rows[0][0]; got != "1" {
		t.Fatalf("a new query: id 4 count %s", got)
	}

	// A prepared statement: each execution reads the snapshots current
	// when it started (drivers re-execute one prepared statement, e.g. a
	// dashboard refreshing), and each ticket keeps its own.
	prep, err := cl.Prepare(ctx, "SELECT count(*) FROM bronze.events")
	if err != nil {
		t.Fatal(err)
	}
	defer prep.Close(ctx)
	first, err := prep.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ExecuteUpdate(ctx, "INSERT INTO bronze.events VALUES (5, 'epsilon', 5.0)"); err != nil {
		t.Fatal(err)
	}
	second, err := prep.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		info *flight.FlightInfo
		want string
	}{{second, "4"}, {first, "3"}} {
		res, err := fetch(ctx, cl, c.info)
		if err != nil {
			t.Fatal(err)
		}
		if res.rows[0][0] != c.want {
			t.Errorf("prepared execution: count %s, want %s", res.rows[0][0], c.want)
		}
	}
}

// SQL writes through the protocol: updates report their row counts, a
// prepared INSERT is an update, and the session option lakeflight_as_of
// time-travels every table.
func TestSQLWritesAndAsOfOverFlight(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	snap := func() string {
		return query(t, cl, "SELECT max_by(snapshot_id, sequence_number) FROM iceberg_snapshots('bronze.events')").rows[0][0]
	}
	first := snap()
	if n, err := cl.ExecuteUpdate(ctx, "UPDATE bronze.events SET amount = 0 WHERE amount IS NULL"); err != nil || n != 1 {
		t.Fatalf("UPDATE: %d, %v", n, err)
	}
	if n, err := cl.ExecuteUpdate(ctx, "DELETE FROM bronze.events WHERE id = 1"); err != nil || n != 1 {
		t.Fatalf("DELETE: %d, %v", n, err)
	}
	prep, err := cl.Prepare(ctx, "INSERT INTO bronze.events VALUES (10, 'ten', 10.0)")
	if err != nil {
		t.Fatal(err)
	}
	if upd, ok := prep.IsUpdate(); !ok || !upd {
		t.Errorf("prepared INSERT: IsUpdate = %v, %v", upd, ok)
	}
	if n, err := prep.ExecuteUpdate(ctx); err != nil || n != 1 {
		t.Fatalf("prepared INSERT: %d, %v", n, err)
	}
	_ = prep.Close(ctx)
	if got := query(t, cl, "SELECT count(*), sum(amount) FROM bronze.events").rows; got[0][0] != "3" || got[0][1] != "12.25" {
		t.Fatalf("after writes: %q", got)
	}

	res, err := cl.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: map[string]*flight.SessionOptionValue{
		"lakeflight_as_of": {OptionValue: &pb.SessionOptionValue_StringValue{StringValue: first}},
	}})
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("SetSessionOptions: %v %v", res, err)
	}
	if got := query(t, cl, "SELECT count(*), sum(amount) FROM bronze.events").rows; got[0][0] != "3" || got[0][1] != "3.75" {
		t.Fatalf("as of the first snapshot: %q", got)
	}
	opts, err := cl.GetSessionOptions(ctx, &flight.GetSessionOptionsRequest{})
	if err != nil || opts.SessionOptions["lakeflight_as_of"].GetStringValue() != first {
		t.Fatalf("GetSessionOptions: %v %v", opts, err)
	}
	if _, err := cl.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: map[string]*flight.SessionOptionValue{
		"lakeflight_as_of": {OptionValue: &pb.SessionOptionValue_StringValue{StringValue: ""}},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.events").rows[0][0]; got != "3" {
		t.Fatalf("after resetting as_of: %s", got)
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.events WHERE id = 10").rows[0][0]; got != "1" {
		t.Fatalf("after resetting as_of: id 10 count %s", got)
	}
}

// A write with RETURNING is a query: its ticket answers the returned rows
// once the snapshot is committed, and fetching the ticket again never
// writes again.
func TestWriteReturningOverFlight(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, false)
	ctx := context.Background()
	prep, err := cl.Prepare(ctx, "INSERT INTO bronze.events (id, name) VALUES (?, 'r') RETURNING id * 10 AS tenfold, name")
	if err != nil {
		t.Fatal(err)
	}
	defer prep.Close(ctx)
	if upd, ok := prep.IsUpdate(); !ok || upd {
		t.Errorf("INSERT … RETURNING: IsUpdate = %v, %v; want a query", upd, ok)
	}
	params := int64Params("1", 7, 8)
	prep.SetParameters(params)
	params.Release()
	info, err := prep.Execute(ctx) // the ticket, fetched twice
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(res.rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	if !slices.EqualFunc(res.rows, [][]string{{"70", "r"}, {"80", "r"}}, slices.Equal[[]string]) {
		t.Fatalf("returned rows %q", res.rows)
	}
	// A second fetch of the same ticket: consumed, or the same rows, but
	// never a second insert.
	if again, err := fetch(ctx, cl, info); err == nil && len(again.rows) != 2 {
		t.Fatalf("refetch: %q", again.rows)
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.events WHERE name = 'r'").rows[0][0]; got != "2" {
		t.Fatalf("%s rows inserted, want 2", got)
	}
	// An ad-hoc DELETE … RETURNING.
	if got := query(t, cl, "DELETE FROM bronze.events WHERE name = 'r' RETURNING *").rows; len(got) != 2 || len(got[0]) != 3 {
		t.Fatalf("DELETE … RETURNING *: %q (want the table's 3 columns, no identity)", got)
	}
}
