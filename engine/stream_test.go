//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestStream10M(t *testing.T) {
	if testing.Short() {
		t.Skip("10M rows")
	}
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := s.Prepare(context.Background(), "SELECT range AS i, range * 2 AS j FROM range(10000000)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rdr, err := st.Query(context.Background(), nil, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var rows, sum, batches int64
	small := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		batches++
		if rec.NumRows() < DefaultBatchRows {
			small++
		}
		rows += rec.NumRows()
		for _, v := range rec.Column(0).(*array.Int64).Int64Values() {
			sum += v
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 10_000_000 || sum != 10_000_000*(10_000_000-1)/2 {
		t.Errorf("rows %d sum %d", rows, sum)
	}
	if small > 1 { // only the last batch may be short
		t.Errorf("%d of %d batches smaller than %d rows", small, batches, DefaultBatchRows)
	}
}

func TestReleaseMidStream(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	st, err := s.Prepare(context.Background(), "SELECT range AS i, 'row ' || range AS s FROM range(50000000)")
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		rdr, err := st.Query(context.Background(), nil, mem)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3 && rdr.Next(); i++ {
		}
		start := time.Now()
		rdr.Release()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("release took %v", d)
		}
		mem.AssertSize(t, 0)
		// The session's connection is usable again (temp table visible =
		// the main connection, not a side one).
		mustExec(t, s, "CREATE OR REPLACE TEMP TABLE after_release AS SELECT 1 AS x")
		if got := mustQuery(t, s, "SELECT x FROM after_release"); len(got) != 1 {
			t.Fatalf("after release: %v", got)
		}
	}
	st.Close()
}

func TestCloseStatementMidStream(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := s.Prepare(context.Background(), "SELECT range AS i FROM range(50000000)")
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := st.Query(context.Background(), nil, mem)
	if err != nil {
		t.Fatal(err)
	}
	rdr.Next()
	st.Close() // stops the producer while the consumer still holds the reader
	for rdr.Next() {
	}
	rdr.Release()
	mustQuery(t, s, "SELECT 1")
}

func TestCancelMidQuery(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	// Cancel while DuckDB is inside a blocking operator (before the first row).
	st, err := s.Prepare(context.Background(),
		"SELECT count(*) FROM range(2000000000) a, range(10) b WHERE a.range + b.range = -1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	rdr, err := st.Query(ctx, nil, mem)
	if err == nil {
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
	}
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want ErrCanceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}

	// Cancel mid-stream.
	st2, err := s.Prepare(context.Background(), "SELECT range FROM range(1000000000)")
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	rdr, err = st2.Query(ctx2, nil, mem)
	if err != nil {
		t.Fatal(err)
	}
	rdr.Next()
	cancel2()
	start = time.Now()
	for rdr.Next() {
	}
	if err := rdr.Err(); !errors.Is(err, ErrCanceled) {
		t.Errorf("mid-stream cancel: %v", err)
	}
	rdr.Release()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
	// A timeout reports DeadlineExceeded too.
	ctx3, cancel3 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel3()
	_, err = st.Query(ctx3, nil, mem)
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	mustQuery(t, s, "SELECT 1")
}

func TestSessionState(t *testing.T) {
	e, _ := openTest(t, nil)
	s1 := newSession(t, e)
	s2 := newSession(t, e)
	mustExec(t, s1, "CREATE TEMP TABLE scratch AS SELECT range AS i FROM range(10)")
	mustExec(t, s1, "SET TimeZone = 'Asia/Tokyo'")
	if got := mustQuery(t, s1, "SELECT count(*), current_setting('TimeZone') FROM scratch"); got[0][0] != "10" || got[0][1] != "Asia/Tokyo" {
		t.Errorf("session 1: %v", got)
	}
	if _, _, err := queryAll(t, s2, "SELECT * FROM scratch", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("temp table leaked to session 2: %v", err)
	}
	if got := mustQuery(t, s2, "SELECT current_setting('TimeZone')"); got[0][0] == "Asia/Tokyo" {
		t.Errorf("SET leaked to session 2")
	}
	// USE and the current catalog/schema.
	if s1.CurrentCatalog() != "lakehouse" {
		t.Errorf("catalog %q", s1.CurrentCatalog())
	}
	if err := s1.SetSchema(context.Background(), "gold"); err != nil {
		t.Fatal(err)
	}
	if s1.CurrentSchema() != "gold" || s1.CurrentCatalog() != "lakehouse" {
		t.Errorf("after SetSchema: %s.%s", s1.CurrentCatalog(), s1.CurrentSchema())
	}
	if err := s1.SetSchema(context.Background(), "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetSchema(nosuch): %v", err)
	}
	if err := s1.SetCatalog(context.Background(), "memory"); err != nil {
		t.Fatal(err)
	}
	if s1.CurrentCatalog() != "memory" {
		t.Errorf("after SetCatalog: %s", s1.CurrentCatalog())
	}
	// Temp DDL and DML.
	mustExec(t, s1, "INSERT INTO scratch VALUES (100)")
	mustExec(t, s1, "UPDATE scratch SET i = i + 1 WHERE i = 100")
	mustExec(t, s1, "DELETE FROM scratch WHERE i < 5")
	mustExec(t, s1, "ALTER TABLE scratch ADD COLUMN j INTEGER")
	mustExec(t, s1, "CREATE TEMP VIEW v AS SELECT * FROM scratch")
	mustExec(t, s1, "CREATE OR REPLACE TEMP MACRO twice(x) AS x * 2")
	if got := mustQuery(t, s1, "SELECT count(*), max(twice(i)) FROM v"); got[0][0] != "6" || got[0][1] != "202" {
		t.Errorf("temp objects: %v", got)
	}
	mustExec(t, s1, "DROP VIEW v; DROP TABLE scratch")
	// Transactions.
	mustExec(t, s2, "BEGIN")
	mustExec(t, s2, "CREATE TEMP TABLE tx (a INT)")
	mustExec(t, s2, "ROLLBACK")
	if _, _, err := queryAll(t, s2, "SELECT * FROM tx", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("rolled back table exists: %v", err)
	}
}

func TestSecondStatementWhileStreaming(t *testing.T) {
	e, _ := openTest(t, nil)
	s := newSession(t, e)
	mustExec(t, s, "CREATE TEMP TABLE mine AS SELECT 1 AS x")
	mustExec(t, s, "SET TimeZone = 'America/New_York'")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := s.Prepare(context.Background(), "SELECT range FROM range(20000000)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rdr, err := st.Query(context.Background(), nil, mem)
	if err != nil {
		t.Fatal(err)
	}
	rdr.Next()
	// A read runs on a side connection: sees the session's SET, not its
	// temp tables.
	done := make(chan struct{})
	go func() {
		defer close(done)
		got := mustQuery(t, s, "SELECT current_setting('TimeZone'), 42")
		if got[0][0] != "America/New_York" || got[0][1] != "42" {
			t.Errorf("side query: %v", got)
		}
		if _, _, err := queryAll(t, s, "SELECT * FROM mine", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("side connection saw temp table: %v", err)
		}
		if _, err := s.Exec(context.Background(), "SET TimeZone = 'UTC'"); !errors.Is(err, ErrBusy) {
			t.Errorf("state change while streaming: %v", err)
		}
		// The same statement again while its first stream is open.
		r2, err := st.Query(context.Background(), nil, mem)
		if err != nil {
			t.Error(err)
			return
		}
		r2.Next()
		r2.Release()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("second statement deadlocked")
	}
	n := int64(0)
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	rdr.Release()
	if rdr.Err() != nil || n < 19_000_000 {
		t.Errorf("first stream: %d rows, %v", n, rdr.Err())
	}
	if got := mustQuery(t, s, "SELECT x FROM mine"); len(got) != 1 {
		t.Errorf("main connection after stream: %v", got)
	}
}
