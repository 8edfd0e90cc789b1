//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"testing"
)

func poolLen(e *Engine) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pool)
}

// A session that only read gives its connection back for the next session;
// one that changed connection state (SET, temp objects) does not, so no
// state leaks from one client to another.
func TestConnectionPoolKeepsOnlyCleanConnections(t *testing.T) {
	e, _ := openTest(t, nil)
	ctx := context.Background()

	reader, err := e.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustQuery(t, reader, "SELECT 42")
	_ = reader.Close()
	if n := poolLen(e); n != 1 {
		t.Fatalf("pool after a read-only session = %d, want 1", n)
	}
	reuser := newSession(t, e)
	if n := poolLen(e); n != 0 {
		t.Fatalf("pool after taking a connection = %d, want 0", n)
	}
	if got := mustQuery(t, reuser, "SELECT current_database()"); got[0][0] != "lakehouse" {
		t.Fatalf("a pooled connection lost its default catalog: %v", got)
	}

	writer, err := e.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(ctx, "SET TimeZone = 'America/New_York'"); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(ctx, "CREATE TEMP TABLE secret AS SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	_ = writer.Close()
	if n := poolLen(e); n != 0 {
		t.Fatalf("a session that changed state returned its connection to the pool (%d)", n)
	}
	next := newSession(t, e)
	if got := mustQuery(t, next, "SELECT current_setting('TimeZone')"); got[0][0] == "America/New_York" {
		t.Fatal("a SET leaked into another session")
	}
	if _, _, err := queryAll(t, next, "SELECT * FROM secret", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another session's temp table: err = %v, want ErrNotFound", err)
	}
}

// Closing the engine closes pooled connections too (the engine's Close
// waits for every connection, so a leak would hang here).
func TestEngineCloseDrainsPool(t *testing.T) {
	e, _ := openTest(t, nil)
	for range 3 {
		s, err := e.NewSession(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mustQuery(t, s, "SELECT 1")
		_ = s.Close()
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if n := poolLen(e); n != 0 {
		t.Fatalf("pool after Close = %d", n)
	}
}
