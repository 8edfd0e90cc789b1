//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeflight/lakeflight/catalog"
)

// The same text prepared again on a connection reuses the cached statement
// and gives the same answer.
func TestPlanCacheReusesStatements(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	const q = "SELECT 40 + 2 AS answer, 'x' AS s"
	first := mustQuery(t, s, q)
	hits := e.Stats().CacheHits
	second := mustQuery(t, s, q)
	if e.Stats().CacheHits != hits+1 {
		t.Fatalf("second prepare of the same text was not a cache hit (%d → %d)", hits, e.Stats().CacheHits)
	}
	if fmt.Sprint(first) != fmt.Sprint(second) || fmt.Sprint(first) != "[[42 x]]" {
		t.Fatalf("first %v, second %v", first, second)
	}
}

// A full cache evicts the entry used longest ago, so a session's newest
// texts stay cached however many it has run.
func TestPlanCacheEvictsOldest(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	text := func(i int) string { return fmt.Sprintf("SELECT %d AS n", i) }
	for i := range cachePerConn + 1 { // one more than fits: text 0 goes
		mustQuery(t, s, text(i))
	}
	hits := e.Stats().CacheHits
	if got := mustQuery(t, s, text(cachePerConn)); fmt.Sprint(got) != fmt.Sprint([][]string{{fmt.Sprint(cachePerConn)}}) {
		t.Fatalf("rows %v", got)
	}
	if e.Stats().CacheHits != hits+1 {
		t.Fatalf("text %d, run after %d others, was not a cache hit", cachePerConn, cachePerConn)
	}
	mustQuery(t, s, text(1))
	if e.Stats().CacheHits != hits+2 {
		t.Fatal("text 1 was evicted before text 0, the older one")
	}
	mustQuery(t, s, text(0))
	if e.Stats().CacheHits != hits+2 {
		t.Fatal("text 0, the oldest, was still cached after the cache filled up")
	}
}

// A SET on the connection makes cached statements stale: the result type
// of a TIMESTAMPTZ column follows the new TimeZone.
func TestPlanCacheDroppedBySet(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	const q = "SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' AS t"
	mustQuery(t, s, q)
	mustExec(t, s, "SET TimeZone = 'America/New_York'")
	hits := e.Stats().CacheHits
	schema, rows, err := queryAll(t, s, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Stats().CacheHits != hits {
		t.Fatal("a statement cached before SET was reused after it")
	}
	if tz := schema.Field(0).Type.(*arrow.TimestampType).TimeZone; tz != "America/New_York" {
		t.Fatalf("time zone %q after SET, rows %v", tz, rows)
	}
}

// A commit rebinds the table's view: a statement cached before it is not
// reused, so the new rows are seen.
func TestPlanCacheDroppedByCommit(t *testing.T) {
	env := newIcebergEnv(t)
	cat := env.open(t)
	ctx := context.Background()
	events := catalog.Ident{Namespace: "bronze", Name: "events"}
	if err := cat.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateTable(ctx, events, eventsSchema); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, cat, events, 0, 3)
	e, err := Open(ctx, icebergConfig(t, cat), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := newSession(t, e)
	const q = "SELECT count(*) FROM bronze.events"
	if got := mustQuery(t, s, q); got[0][0] != "3" {
		t.Fatalf("before the commit: %v", got)
	}
	if got := mustQuery(t, s, q); got[0][0] != "3" { // cached now
		t.Fatalf("cached: %v", got)
	}
	appendEvents(t, cat, events, 3, 2)
	if err := e.Refresh(ctx, events); err != nil {
		t.Fatal(err)
	}
	if got := mustQuery(t, s, q); got[0][0] != "5" {
		t.Fatalf("after the commit: %v, want 5", got)
	}
}
