//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// Writers in many sessions at once: every acknowledged statement is in the
// table, each as its own snapshot, and nothing else is.
func TestConcurrentSQLWriters(t *testing.T) {
	e, cat, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.counter (writer INTEGER, seq INTEGER, bumped INTEGER)")
	const writers, each = 4, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			ws, err := e.NewSession(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer ws.Close()
			for i := range each {
				if _, err := ws.Exec(context.Background(), fmt.Sprintf("INSERT INTO silver.counter VALUES (%d, %d, 0)", w, i)); err != nil {
					errs <- fmt.Errorf("writer %d insert %d: %w", w, i, err)
					return
				}
				if i%2 == 1 { // bump the previous row: an UPDATE racing with the others' INSERTs
					q := fmt.Sprintf("UPDATE silver.counter SET bumped = bumped + 1 WHERE writer = %d AND seq = %d", w, i-1)
					if n, err := ws.Exec(context.Background(), q); err != nil || n != 1 {
						errs <- fmt.Errorf("writer %d update %d: %d rows, %w", w, i, n, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustQuery(t, s, "SELECT count(*), count(DISTINCT (writer, seq)), sum(bumped) FROM silver.counter")
	want := []string{fmt.Sprint(writers * each), fmt.Sprint(writers * each), fmt.Sprint(writers * each / 2)}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("rows, distinct rows, bumps = %v, want %v", got[0], want)
	}
	if n := snapshotCount(t, cat, catalog.Ident{Namespace: "silver", Name: "counter"}); n != writers*each*3/2 {
		t.Fatalf("%d snapshots, want one per statement (%d)", n, writers*each*3/2)
	}
}
