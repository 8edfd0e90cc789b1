//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York on machines without zoneinfo

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/querycases"
)

// historyEnv is an engine over the querycases fixture.
func historyEnv(t *testing.T) (*Engine, *catalog.Catalog, *querycases.Fixture, []querycases.Case) {
	t.Helper()
	env := newIcebergEnv(t)
	cat := env.open(t)
	ctx := context.Background()
	if err := cat.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatal(err)
	}
	fx, cases, err := querycases.Build(ctx, cat)
	if err != nil {
		t.Fatalf("building the fixture: %v", err)
	}
	e, err := Open(ctx, icebergConfig(t, cat), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, cat, fx, cases
}

// runCase runs one shared case on s and renders the rows like querycases.
func runCase(t *testing.T, s *Session, c querycases.Case) ([][]string, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := s.Prepare(context.Background(), c.SQL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var params arrow.RecordBatch
	if c.Params != nil {
		fields := make([]arrow.Field, len(c.Params))
		cols := make([]arrow.Array, len(c.Params))
		for i, v := range c.Params {
			fields[i] = arrow.Field{Name: fmt.Sprint(i), Type: arrow.PrimitiveTypes.Int64}
			b := array.NewInt64Builder(mem)
			b.Append(v)
			cols[i] = b.NewArray()
			b.Release()
		}
		params = array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 1)
		for _, c := range cols {
			c.Release()
		}
		defer params.Release()
	}
	return renderQuery(st, params, mem)
}

// renderQuery runs st once and renders its rows like querycases.
func renderQuery(st *Statement, params arrow.RecordBatch, mem memory.Allocator) ([][]string, error) {
	rdr, err := st.Query(context.Background(), params, mem)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var rows [][]string
	for rdr.Next() {
		rows = append(rows, querycases.Render(rdr.RecordBatch())...)
	}
	return rows, rdr.Err()
}

func TestTimeTravelCases(t *testing.T) {
	e, _, _, cases := historyEnv(t)
	s := newSession(t, e)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			rows, err := runCase(t, s, c)
			if c.Err != "" {
				if err == nil || !strings.Contains(err.Error(), c.Err) {
					t.Fatalf("error = %v, want one containing %q", err, c.Err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(rows, c.Want, slices.Equal[[]string]) {
				t.Fatalf("rows = %q, want %q", rows, c.Want)
			}
		})
	}
}

// A prepared statement reads the snapshots resolved when it was prepared,
// even after a commit; a new prepare sees the commit.
func TestPreparedStatementPinsSnapshots(t *testing.T) {
	e, cat, _, _ := historyEnv(t)
	s := newSession(t, e)
	ctx := context.Background()
	st, err := s.Prepare(ctx, "SELECT count(*) FROM bronze.history")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendHistory(t, cat, 7, 8)
	count := func(st *Statement) string {
		rdr, err := st.Query(ctx, nil, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		var rows [][]string
		for rdr.Next() {
			rows = append(rows, querycases.Render(rdr.RecordBatch())...)
		}
		if rdr.Err() != nil {
			t.Fatal(rdr.Err())
		}
		return rows[0][0]
	}
	if got := count(st); got != "6" {
		t.Fatalf("prepared before the commit: count = %s, want 6", got)
	}
	if got := count(st); got != "6" { // a retry of the same ticket
		t.Fatalf("second execution: count = %s, want 6", got)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.history")[0][0]; got != "8" {
		t.Fatalf("a new prepare: count = %s, want 8", got)
	}
	// A new execution asks for a fresh statement: it reads the commit.
	fresh, err := st.Fresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == st {
		t.Fatal("Fresh returned the pinned statement after a commit")
	}
	defer fresh.Close()
	if got := count(fresh); got != "8" {
		t.Fatalf("fresh statement: count = %s, want 8", got)
	}
	if again, err := fresh.Fresh(ctx); err != nil || again != fresh {
		t.Fatalf("Fresh without a commit since: %v, %v", again == fresh, err)
	}
}

// A commit to one table leaves the prepared statements and cached plans
// of the others as they are; one that reads the table is prepared again.
func TestFreshSparesStatementsOfOtherTables(t *testing.T) {
	e, cat, _, _ := historyEnv(t)
	s := newSession(t, e)
	ctx := context.Background()
	mustExec(t, s, "CREATE TABLE bronze.other AS SELECT 1 AS x")
	st, err := s.Prepare(ctx, "SELECT count(*) FROM bronze.history")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustExec(t, s, "INSERT INTO bronze.other VALUES (2)")
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.other")[0][0]; got != "2" {
		t.Fatalf("bronze.other: count = %s, want 2", got)
	}
	same, err := st.Fresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if same != st {
		same.Close()
		t.Fatal("a commit to bronze.other made a statement reading only bronze.history prepare again")
	}

	appendHistory(t, cat, 7, 8)
	fresh, err := st.Fresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == st {
		t.Fatal("Fresh kept the statement after a commit to the table it reads")
	}
	defer fresh.Close()
	rows, err := renderQuery(fresh, nil, memory.DefaultAllocator)
	if err != nil || rows[0][0] != "8" {
		t.Fatalf("fresh statement: %v, %v; want a count of 8", rows, err)
	}

	// The plan cache: the closed statement's plan is handed out again after
	// a commit elsewhere, and not after one to its table.
	before := e.Stats().CacheHits
	mustQuery(t, s, "SELECT count(*) FROM bronze.history")
	mustExec(t, s, "INSERT INTO bronze.other VALUES (3)")
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.history")[0][0]; got != "8" {
		t.Fatalf("count = %s, want 8", got)
	}
	if hits := e.Stats().CacheHits - before; hits < 1 {
		t.Fatalf("no plan-cache hit after a commit to another table (%d hits)", hits)
	}
	appendHistory(t, cat, 9)
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.history")[0][0]; got != "9" {
		t.Fatalf("after a commit to bronze.history: count = %s, want 9 (a stale cached plan?)", got)
	}
}

func appendHistory(t *testing.T, cat *catalog.Catalog, ids ...int64) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("n", id))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	defer rdr.Release()
	if _, err := cat.Append(context.Background(), querycases.Table, rdr, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSessionAsOf(t *testing.T) {
	e, _, fx, _ := historyEnv(t)
	s := newSession(t, e)
	ctx := context.Background()
	q := "SELECT count(*) FROM bronze.history"
	mustExec(t, s, fmt.Sprintf("SET lakeflight_as_of = %d", fx.Snapshots[0]))
	if got := mustQuery(t, s, q)[0][0]; got != "3" {
		t.Fatalf("as of s1: %s", got)
	}
	if s.AsOf() != fmt.Sprint(fx.Snapshots[0]) {
		t.Fatalf("AsOf() = %q", s.AsOf())
	}
	// An AT clause still wins.
	if got := mustQuery(t, s, fmt.Sprintf("%s AT (VERSION => %d)", q, fx.Snapshots[1]))[0][0]; got != "5" {
		t.Fatalf("AT over as_of: %s", got)
	}
	mustExec(t, s, "SET lakeflight_as_of = 'audit'")
	if got := mustQuery(t, s, q)[0][0]; got != "5" {
		t.Fatalf("as of branch audit: %s", got)
	}
	// A timestamp without zone is read in the session's TimeZone.
	mustExec(t, s, "SET TimeZone = 'America/New_York'")
	local := fx.Times[0].In(mustLoad(t, "America/New_York")).Format("2006-01-02 15:04:05.000")
	if err := s.SetAsOf(ctx, local); err != nil {
		t.Fatal(err)
	}
	if got := mustQuery(t, s, q)[0][0]; got != "3" {
		t.Fatalf("as of %s New York time: %s", local, got)
	}
	if got := mustQuery(t, s, fmt.Sprintf("%s AT (TIMESTAMP => TIMESTAMP '%s')", q, local))[0][0]; got != "3" {
		t.Fatalf("AT TIMESTAMP without zone: %s", got)
	}
	mustExec(t, s, "RESET lakeflight_as_of")
	if got := mustQuery(t, s, q)[0][0]; got != "6" || s.AsOf() != "" {
		t.Fatalf("after RESET: %s, AsOf %q", got, s.AsOf())
	}
	// Metadata stays current under as_of.
	mustExec(t, s, fmt.Sprintf("SET lakeflight_as_of = %d", fx.Snapshots[0]))
	if got := mustQuery(t, s, "SELECT count(*) FROM iceberg_snapshots('bronze.history')")[0][0]; got != "3" {
		t.Fatalf("snapshots under as_of: %s", got)
	}
	// A table created after the as_of time has nothing to show.
	mustExec(t, s, "SET lakeflight_as_of = '2001-01-01 00:00:00'")
	if _, _, err := queryAll(t, s, q, nil); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no snapshot at or before 2001-01-01") {
		t.Fatalf("as of 2001: %v", err)
	}
}

func TestTimeTravelRefusals(t *testing.T) {
	e, _, fx, _ := historyEnv(t)
	s := newSession(t, e)
	mustExec(t, s, "CREATE TEMP TABLE t AS SELECT 1 AS x")
	for _, c := range []struct {
		sql  string
		kind error
		msg  string
	}{
		{"SELECT * FROM t AT (VERSION => 1)", ErrUnsupported, "works only on Iceberg tables"},
		{fmt.Sprintf("SELECT * FROM bronze.history AT (VERSION => ?) WHERE id = %d", fx.Snapshots[0]), ErrInvalidSQL, "must be a constant"},
		{"SELECT * FROM iceberg_files()", ErrInvalidSQL, "iceberg_files('namespace.table'[, snapshot_id])"},
		{"SELECT * FROM iceberg_snapshots('bronze.history', 1)", ErrInvalidSQL, "iceberg_snapshots('namespace.table')"},
		{"SELECT * FROM iceberg_files('bronze.history', 'x')", ErrInvalidSQL, "is not a number"},
	} {
		_, _, err := queryAll(t, s, c.sql, nil)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error = %v, want %v containing %q", c.sql, err, c.kind, c.msg)
		}
	}
}

// The statement text a client sent survives the rewrite untouched outside
// the table references: hints, comments, and the table-name qualifier.
func TestRewriteKeepsText(t *testing.T) {
	e, _, fx, _ := historyEnv(t)
	s := newSession(t, e)
	sql := fmt.Sprintf("WITH x AS MATERIALIZED (SELECT * FROM bronze.history AT (VERSION => %d) /* old */) SELECT count(*) FROM x", fx.Snapshots[0])
	st, err := s.Prepare(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !strings.Contains(st.text, "AS MATERIALIZED") || !strings.Contains(st.text, "/* old */") || strings.Contains(st.text, "AT (") {
		t.Fatalf("rewritten text: %s", st.text)
	}
	if st.SQL() != sql {
		t.Fatalf("SQL() = %q", st.SQL())
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// EXPLAIN, DESCRIBE and SUMMARIZE of a time-travel query describe the
// snapshot it names, with that snapshot's schema.
func TestExplainTimeTravel(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "people"}
	execN(t, s, "CREATE TABLE silver.people AS SELECT 1::INTEGER AS id, 'ann' AS name")
	s1 := currentSnapshot(t, cat, id)
	execN(t, s, "ALTER TABLE silver.people ADD COLUMN age INTEGER")
	execN(t, s, "INSERT INTO silver.people VALUES (2, 'bob', 40), (3, 'cy', 30)")
	at := fmt.Sprintf("SELECT * FROM silver.people AT (VERSION => %d)", s1)

	cols := mustQuery(t, s, "DESCRIBE "+at)
	if len(cols) != 2 || cols[0][0] != "id" || cols[1][0] != "name" {
		t.Errorf("DESCRIBE at s1: %q", cols)
	}
	if now := mustQuery(t, s, "DESCRIBE SELECT * FROM silver.people"); len(now) != 3 {
		t.Errorf("DESCRIBE now: %q", now)
	}
	sum := mustQuery(t, s, "SUMMARIZE "+at)
	if len(sum) != 2 {
		t.Errorf("SUMMARIZE at s1: %q", sum)
	}
	for _, q := range []string{"EXPLAIN " + at, "EXPLAIN ANALYZE " + at, "explain (" + at + ")"} {
		plan := mustQuery(t, s, q)
		text := fmt.Sprint(plan)
		if len(plan) == 0 || !strings.Contains(strings.ToUpper(text), "PARQUET") {
			t.Errorf("%s: %q", q, plan)
		}
	}
}

// Statements that write only DuckDB's own temp tables read Iceberg
// snapshots too.
func TestTimeTravelIntoTempTables(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "people"}
	execN(t, s, "CREATE TABLE silver.people AS SELECT range AS id FROM range(3)")
	s1 := currentSnapshot(t, cat, id)
	execN(t, s, "DELETE FROM silver.people")
	execN(t, s, fmt.Sprintf("CREATE TEMP TABLE old AS SELECT * FROM silver.people AT (VERSION => %d)", s1))
	execN(t, s, fmt.Sprintf("INSERT INTO old SELECT id + 10 FROM silver.people AS p AT (VERSION => %d) WHERE p.id > 0", s1))
	if got := mustQuery(t, s, "SELECT count(*), sum(id) FROM old"); fmt.Sprint(got[0]) != "[5 26]" {
		t.Errorf("temp table from snapshot %d: %v", s1, got[0])
	}
	if _, err := s.Exec(context.Background(), "CREATE TEMP TABLE bad AS SELECT * FROM silver.people AT (VERSION => 42)"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown snapshot into a temp table: %v", err)
	}
	_, err := s.Exec(context.Background(), fmt.Sprintf("CREATE TEMP VIEW v AS SELECT * FROM silver.people AT (VERSION => %d)", s1))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "cannot keep an Iceberg snapshot") {
		t.Errorf("a view of a snapshot: %v", err)
	}
}
