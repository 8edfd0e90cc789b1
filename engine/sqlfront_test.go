//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/errkind"
	"github.com/lakeflight/lakeflight/internal/sqlcorpus"
)

// plainDuck is an in-memory DuckDB with the corpus fixture as plain tables:
// the oracle the engine's answers are checked against.
type plainDuck struct {
	db   bindings.Database
	conn bindings.Connection
}

func newPlainDuck(t *testing.T, setup ...string) *plainDuck {
	t.Helper()
	p := &plainDuck{}
	var cfg bindings.Config
	if bindings.CreateConfig(&cfg) == bindings.StateError {
		t.Fatal("duckdb config")
	}
	defer bindings.DestroyConfig(&cfg)
	var msg string
	if bindings.OpenExt("", &p.db, cfg, &msg) == bindings.StateError {
		t.Fatal(msg)
	}
	if bindings.Connect(p.db, &p.conn) == bindings.StateError {
		t.Fatal("connect")
	}
	t.Cleanup(func() {
		bindings.Disconnect(&p.conn)
		bindings.Close(&p.db)
	})
	for _, q := range append([]string{"CREATE SCHEMA silver"}, setup...) {
		p.exec(t, q)
	}
	return p
}

func (p *plainDuck) exec(t *testing.T, q string) {
	t.Helper()
	if err := execSQL(p.conn, q); err != nil {
		t.Fatalf("oracle: %s: %v", q, err)
	}
}

func (p *plainDuck) query(t *testing.T, q string) [][]string {
	t.Helper()
	rows, err := queryStrings(p.conn, q)
	if err != nil {
		t.Fatalf("oracle: %s: %v", q, err)
	}
	return rows
}

// corpusEnv is the corpus fixture in the engine (silver.t with two
// snapshots, silver.u with one), and a time as of which silver.t has its
// first snapshot and silver.u its only one.
func corpusEnv(t *testing.T) (*Engine, *catalog.Catalog, *Session, string) {
	t.Helper()
	e, cat, s := writeEnv(t)
	execN(t, s, sqlcorpus.CreateT)
	execN(t, s, sqlcorpus.CreateU)
	snaps, err := cat.Snapshots(context.Background(), catalog.Ident{Namespace: "silver", Name: "u"})
	if err != nil || len(snaps) != 1 {
		t.Fatalf("silver.u snapshots: %v, %v", snaps, err)
	}
	then := snaps[0].Timestamp
	for !time.Now().After(then.Add(time.Millisecond)) { // GrowT must commit in a later millisecond
		runtime.Gosched()
	}
	execN(t, s, sqlcorpus.GrowT)
	return e, cat, s, then.UTC().Format("2006-01-02 15:04:05.000") + "+00"
}

func sameRows(got, want [][]string, ordered bool) bool {
	key := func(r []string) string { return strings.Join(r, "\x00") }
	g, w := make([]string, len(got)), make([]string, len(want))
	for i, r := range got {
		g[i] = key(r)
	}
	for i, r := range want {
		w[i] = key(r)
	}
	if !ordered {
		slices.Sort(g)
		slices.Sort(w)
	}
	return slices.Equal(g, w)
}

// The shared corpus end to end: every query case answers what DuckDB
// answers on plain tables, now and (with lakeflight_as_of set to the first
// snapshot) as of then; every write case leaves silver.w as DuckDB leaves
// its plain copy.
func TestCorpusAgainstDuckDB(t *testing.T) {
	_, _, s, first := corpusEnv(t)
	now := newPlainDuck(t, sqlcorpus.CreateT, sqlcorpus.GrowT, sqlcorpus.CreateU)
	then := newPlainDuck(t, sqlcorpus.CreateT, sqlcorpus.CreateU)
	travel := newSession(t, s.e)
	mustExec(t, travel, "SET lakeflight_as_of = '"+first+"'")
	for _, c := range sqlcorpus.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			switch {
			case c.Refused != "":
				for _, run := range []*Session{s, travel} {
					if _, rows, err := queryAll(t, run, c.SQL, nil); err == nil || !strings.Contains(err.Error(), c.Refused) {
						t.Errorf("%q, %v; want a refusal containing %q", rows, err, c.Refused)
					}
				}
			case c.Query:
				for _, run := range []struct {
					name   string
					s      *Session
					oracle *plainDuck
				}{{"now", s, now}, {"as-of", travel, then}} {
					if c.Use != "" {
						mustExec(t, run.s, "USE lakehouse."+c.Use)
						run.oracle.exec(t, "USE "+c.Use)
					}
					_, got, err := queryAll(t, run.s, c.SQL, nil)
					if c.Use != "" {
						mustExec(t, run.s, "USE lakehouse.main")
						run.oracle.exec(t, "USE memory.main")
					}
					if err != nil {
						t.Fatalf("%s: %v", run.name, err)
					}
					if want := runOracle(t, run.oracle, c); !sameRows(got, want, c.Ordered) {
						t.Errorf("%s: lakeflight answered %q, DuckDB %q", run.name, got, want)
					}
				}
			case c.Write:
				for _, q := range []string{sqlcorpus.DropW, sqlcorpus.ResetW} {
					execN(t, s, q)
					now.exec(t, q)
				}
				if c.Returning {
					_, got, err := queryAll(t, s, c.SQL, nil)
					if err != nil {
						t.Fatalf("write: %v", err)
					}
					if want := now.query(t, c.SQL); !sameRows(got, want, false) {
						t.Errorf("RETURNING: lakeflight %q, DuckDB %q", got, want)
					}
				} else {
					if _, err := s.Exec(context.Background(), c.SQL); err != nil {
						t.Fatalf("write: %v", err)
					}
					now.exec(t, c.SQL)
				}
				got, want := mustQuery(t, s, sqlcorpus.ReadW), now.query(t, sqlcorpus.ReadW)
				if !sameRows(got, want, true) {
					t.Errorf("silver.w after the write: lakeflight %q, DuckDB %q", got, want)
				}
			}
		})
	}
}

// runOracle runs a query case on the oracle (its first statement).
func runOracle(t *testing.T, p *plainDuck, c sqlcorpus.Case) [][]string {
	t.Helper()
	return p.query(t, c.SQL)
}

// With lakeflight_as_of set, a reference the rewrite cannot see
// (query_table binds a table named in a string) is refused by the current
// view's guard instead of reading current data; without it, it reads.
func TestAsOfGuardRefusesUnpinnedReads(t *testing.T) {
	_, _, s, first := corpusEnv(t)
	const q = "SELECT count(*) FROM query_table('silver.t')"
	if got := mustQuery(t, s, q); got[0][0] != "5" {
		t.Fatalf("%s = %q, want 5", q, got)
	}
	mustExec(t, s, "SET lakeflight_as_of = '"+first+"'")
	_, rows, err := queryAll(t, s, q, nil)
	if err == nil || !errors.Is(err, ErrInvalidSQL) || !strings.Contains(err.Error(), "could not pin this reference to silver.t") {
		t.Fatalf("%s under lakeflight_as_of: rows %q, err %v; want the guard's refusal", q, rows, err)
	}
	// The pinned forms still answer as of the first snapshot.
	for _, q := range []string{"SELECT count(*) FROM silver.t", "TABLE silver.t", "SELECT count(*) FROM (PIVOT silver.t ON k IN ('a', 'b') USING sum(v) GROUP BY id)",
		"SELECT count(*) FROM (PIVOT silver.t ON k USING sum(v) GROUP BY id)",
		"EXPLAIN SELECT count(*) FROM silver.t", "EXPLAIN ANALYZE SELECT count(*) FROM silver.t", "DESCRIBE silver.t", "SUMMARIZE silver.t",
		"DESCRIBE SELECT * FROM silver.t"} {
		if _, rows, err := queryAll(t, s, q, nil); err != nil || len(rows) == 0 || (strings.HasPrefix(q, "SELECT count") && rows[0][0] != "3") {
			t.Errorf("%s as of the first snapshot: %q, %v", q, rows, err)
		}
	}
	mustExec(t, s, "RESET lakeflight_as_of")
	if got := mustQuery(t, s, q); got[0][0] != "5" {
		t.Fatalf("after RESET, %s = %q, want 5", q, got)
	}
}

// Writes under lakeflight_as_of: INSERT reads its sources as of the
// snapshot; UPDATE, DELETE and MERGE, which change current rows, are
// refused with a message that says so.
func TestWritesUnderAsOf(t *testing.T) {
	_, _, s, first := corpusEnv(t)
	execN(t, s, "CREATE TABLE silver.restored AS SELECT * FROM silver.t WHERE false")
	mustExec(t, s, "SET lakeflight_as_of = '"+first+"'")
	if n := execN(t, s, "INSERT INTO silver.restored SELECT * FROM silver.t"); n != 3 {
		t.Fatalf("INSERT … SELECT under lakeflight_as_of copied %d rows, want the first snapshot's 3", n)
	}
	for _, q := range []string{"DELETE FROM silver.t WHERE id = 1", "UPDATE silver.t SET v = 0",
		"MERGE INTO silver.t USING silver.u ON t.id = u.id WHEN MATCHED THEN DELETE"} {
		if _, err := s.Exec(context.Background(), q); !errors.Is(err, ErrInvalidSQL) || !strings.Contains(err.Error(), "RESET lakeflight_as_of first") {
			t.Errorf("%s under lakeflight_as_of: %v, want a refusal", q, err)
		}
	}
	mustExec(t, s, "RESET lakeflight_as_of")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.t"); got[0][0] != "5" {
		t.Fatalf("silver.t changed by refused writes: %q", got)
	}
}

// A transaction cannot hold an Iceberg write: inside BEGIN it is refused
// (not accepted and then left committed by ROLLBACK), scripts that would do
// it are refused before anything runs, and temp tables keep working.
func TestTransactionsRefuseIcebergWrites(t *testing.T) {
	_, _, s, _ := corpusEnv(t)
	ctx := context.Background()
	mustExec(t, s, "BEGIN TRANSACTION")
	for _, q := range []string{"INSERT INTO silver.t VALUES (9, 'z', 90)", "DELETE FROM silver.t", "CREATE TABLE silver.x (a INT)",
		"DROP TABLE silver.u", "CREATE SCHEMA scratch", "CALL iceberg_create_tag('silver.t', 'x')"} {
		if _, err := s.Exec(ctx, q); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "inside a transaction is refused") {
			t.Errorf("%s inside BEGIN: %v, want a refusal", q, err)
		}
	}
	mustExec(t, s, "CREATE TEMP TABLE scratch AS SELECT 1 AS a")
	mustExec(t, s, "ROLLBACK")
	if _, err := s.Exec(ctx, "BEGIN; INSERT INTO silver.t VALUES (9, 'z', 90); ROLLBACK"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("script with an Iceberg write inside BEGIN: %v, want a refusal", err)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.t"); got[0][0] != "5" {
		t.Fatalf("silver.t after refused writes: %q rows, want 5", got)
	}
	// Outside a transaction the same statements run, in a script too.
	if n := execN(t, s, "INSERT INTO silver.t VALUES (9, 'z', 90); DELETE FROM silver.t WHERE id = 9 -- undo"); n != 2 {
		t.Fatalf("script changed %d rows, want 2", n)
	}
	// A script that commits its transaction before writing is fine.
	execN(t, s, "BEGIN; CREATE TEMP TABLE t2 AS SELECT 1; COMMIT; INSERT INTO silver.t VALUES (10, 'y', 100)")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.t"); got[0][0] != "6" {
		t.Fatalf("silver.t: %q rows, want 6", got)
	}
}

// CREATE SCHEMA and DROP SCHEMA are Iceberg namespaces.
func TestSchemasAreNamespaces(t *testing.T) {
	_, cat, s := writeEnv(t)
	ctx := context.Background()
	execN(t, s, `create schema if not exists "lakehouse"."dbt_stage"`)
	execN(t, s, "CREATE SCHEMA IF NOT EXISTS dbt_stage")
	execN(t, s, "CREATE TABLE dbt_stage.m AS SELECT 1 AS id")
	if got := mustQuery(t, s, "SELECT count(*) FROM lakehouse.dbt_stage.m"); got[0][0] != "1" {
		t.Fatalf("table in the new schema: %q", got)
	}
	ns, err := cat.Namespaces(ctx)
	if err != nil || !slices.Contains(ns, "dbt_stage") {
		t.Fatalf("namespaces %q, %v: want dbt_stage", ns, err)
	}
	for _, c := range []struct {
		sql  string
		kind error
		msg  string
	}{
		{"CREATE SCHEMA dbt_stage", ErrAlreadyExists, "already exists"},
		{"DROP SCHEMA dbt_stage", ErrConstraint, "CASCADE drops them too"},
		{"DROP SCHEMA nope", ErrNotFound, `namespace "nope" does not exist`},
		{"CREATE SCHEMA a.b.c", ErrUnsupported, "one level"},
	} {
		if _, err := s.Exec(ctx, c.sql); !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v containing %q", c.sql, err, c.kind, c.msg)
		}
	}
	execN(t, s, "DROP SCHEMA IF EXISTS nope")
	execN(t, s, `drop schema "lakehouse"."dbt_stage" cascade`)
	if ns, _ := cat.Namespaces(ctx); slices.Contains(ns, "dbt_stage") {
		t.Fatalf("namespaces after DROP SCHEMA … CASCADE: %q", ns)
	}
	if _, err := s.Exec(ctx, "SELECT * FROM dbt_stage.m"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reading a table of a dropped schema: %v", err)
	}
}

// dbt-shaped SQL: CTE-prefixed DML, a statement with a trailing comment,
// drop … cascade with catalog-qualified names, rename of a __dbt_tmp table.
func TestDbtShapedSQL(t *testing.T) {
	_, _, s, _ := corpusEnv(t)
	for _, q := range []string{
		`create table "lakehouse"."silver"."m__dbt_tmp" as (select id, k from silver.t where v > 10)`,
		`drop table if exists "lakehouse"."silver"."m" cascade`,
		`alter table "lakehouse"."silver"."m__dbt_tmp" rename to "m"`,
		`with src as (select id from silver.u) delete from "lakehouse"."silver"."m" where id in (select id from src);`,
		"insert into silver.m (id, k) select 100, 'x' -- appended by dbt\n",
		`drop table if exists "lakehouse"."silver"."m__dbt_backup" cascade`,
	} {
		execN(t, s, q)
	}
	if got := mustQuery(t, s, "SELECT id FROM silver.m ORDER BY id"); !slices.Equal(flat(got), []string{"2", "4", "100"}) {
		t.Fatalf("silver.m: %q", got)
	}
}

func flat(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// Several tables in one DROP TABLE; constraints Iceberg cannot keep are
// refused; a prepared statement is one statement.
func TestWriteRefusalsAndDrops(t *testing.T) {
	_, cat, s, _ := corpusEnv(t)
	ctx := context.Background()
	execN(t, s, "CREATE TABLE silver.a AS SELECT 1 AS x")
	execN(t, s, "CREATE TABLE silver.b AS SELECT 1 AS x")
	execN(t, s, "DROP TABLE silver.a, silver.b")
	for _, id := range []string{"a", "b"} {
		if _, err := cat.TableState(ctx, catalog.Ident{Namespace: "silver", Name: id}); !errors.Is(err, catalog.ErrNoSuchTable) {
			t.Errorf("silver.%s after DROP TABLE silver.a, silver.b: %v", id, err)
		}
	}
	for _, q := range []string{
		"CREATE TABLE silver.k (id INTEGER PRIMARY KEY, v INTEGER)",
		"CREATE TABLE silver.k (id INTEGER, v INTEGER, UNIQUE (id))",
		"CREATE TABLE silver.k (id INTEGER CHECK (id > 0))",
		"CREATE TABLE silver.k (id INTEGER DEFAULT 7)",
		"CREATE TABLE silver.k (id INTEGER, d INTEGER AS (id * 2))",
	} {
		if _, err := s.Exec(ctx, q); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "cannot be kept on an Iceberg table") {
			t.Errorf("%s: %v, want a refusal", q, err)
		}
	}
	execN(t, s, "CREATE TABLE silver.k (id INTEGER NOT NULL, v VARCHAR)")
	if _, err := s.Prepare(ctx, "SELECT 1; SELECT 2"); !errors.Is(err, ErrInvalidSQL) || !strings.Contains(err.Error(), "holds 2 statements") {
		t.Fatalf("Prepare of two statements: %v", err)
	}
	if n := execN(t, s, "SELECT 1; -- a comment only\n; INSERT INTO silver.k VALUES (1, 'a') /* done */"); n != 1 {
		t.Fatalf("script: %d rows changed, want 1", n)
	}
}

// A temp view over an Iceberg table reads the table's newest commit, though
// the statement that reads the view does not name the table.
func TestTempViewSeesCommits(t *testing.T) {
	_, _, s, _ := corpusEnv(t)
	mustExec(t, s, "CREATE TEMP VIEW recent AS SELECT count(*) AS n FROM silver.u")
	if got := mustQuery(t, s, "SELECT n FROM recent"); got[0][0] != "3" {
		t.Fatalf("view before the insert: %q", got)
	}
	execN(t, s, "INSERT INTO silver.u VALUES (7, 'w')")
	if got := mustQuery(t, s, "SELECT n FROM recent"); got[0][0] != "4" {
		t.Fatalf("view after the insert: %q, want 4", got)
	}
}

// A SQL text over the configured limit is refused before DuckDB parses it.
func TestSQLSizeLimit(t *testing.T) {
	e, err := Open(context.Background(), Config{Warehouse: t.TempDir(), Threads: 2, MaxSQLBytes: 64}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := newSession(t, e)
	long := "SELECT 1 WHERE " + strings.Repeat("1 = 1 AND ", 10) + "true"
	if _, err := s.Prepare(context.Background(), long); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "--max-sql-bytes") {
		t.Fatalf("Prepare of %d bytes: %v", len(long), err)
	}
	if _, err := s.Exec(context.Background(), long+"; SELECT 2"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Exec of a long script: %v", err)
	}
	if got := mustQuery(t, s, "SELECT 42"); got[0][0] != "42" {
		t.Fatalf("a short text: %q", got)
	}
}

// Statements whose shape DuckDB plans in quadratic, uninterruptible time
// are refused before DuckDB sees them; those at the limits run.
func TestSQLShapeLimits(t *testing.T) {
	e, err := Open(context.Background(), Config{
		Warehouse: t.TempDir(), Threads: 2, MaxSetOperations: 3, MaxConditions: 4, MaxResultColumns: 5,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := newSession(t, e)
	unions := func(n int) string {
		parts := make([]string, n+1)
		for i := range parts {
			parts[i] = fmt.Sprintf("SELECT %d AS x", i)
		}
		return "SELECT count(*) FROM (" + strings.Join(parts, " UNION ALL ") + ")"
	}
	conds := func(n int) string { return "SELECT 1 WHERE " + strings.Repeat("1 = 1 AND ", n) + "true" }
	cols := func(n int) string {
		c := make([]string, n)
		for i := range c {
			c[i] = fmt.Sprintf("%d AS c%d", i, i)
		}
		return "SELECT " + strings.Join(c, ", ")
	}
	for _, tt := range []struct {
		sql, flag string
		ok        bool
	}{
		{unions(3), "", true},
		{unions(4), "--max-sql-set-operations", false},
		{"SELECT 1 INTERSECT SELECT 1 EXCEPT SELECT 2 UNION SELECT 3 UNION SELECT 4", "--max-sql-set-operations", false},
		{conds(4), "", true},
		{conds(5), "--max-sql-conditions", false},
		{"SELECT 1 WHERE 1 = 1 OR 2 = 2 OR 3 = 3 AND 4 BETWEEN 1 AND 5 OR false", "--max-sql-conditions", false},
		{cols(5), "", true},
		{cols(6), "--max-result-columns", false},
	} {
		_, err := s.Prepare(context.Background(), tt.sql)
		if tt.ok {
			if err != nil {
				t.Errorf("%s: %v", tt.sql, err)
			}
			continue
		}
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("%s: %v; want ErrTooLarge naming %s", tt.sql, err, tt.flag)
		}
	}
	// Words inside strings and quoted names are not counted.
	if got := mustQuery(t, s, `SELECT 'a and b or c union d' AS "and or union except"`); got[0][0] != "a and b or c union d" {
		t.Fatalf("quoted words: %q", got)
	}
	if _, err := s.Exec(context.Background(), "SELECT 1; "+conds(5)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a script with a statement over the limit: %v", err)
	}
}

// DuckDB running out of its memory limit is ResourceExhausted naming the
// setting, not an internal error, and the session goes on.
func TestOutOfMemoryIsResourceExhausted(t *testing.T) {
	e, err := Open(context.Background(), Config{Warehouse: t.TempDir(), Threads: 1, MemoryLimit: "64MB"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := newSession(t, e)
	// One list of 40 M integers (320 MB) cannot spill.
	_, _, err = queryAll(t, s, "SELECT length(list(i)) FROM range(40000000) t(i)", nil)
	if !errors.Is(err, ErrOutOfMemory) || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("err = %v; want ErrOutOfMemory naming --memory-limit", err)
	}
	if got := mustQuery(t, s, "SELECT 42"); got[0][0] != "42" {
		t.Fatalf("after the refusal: %q", got)
	}
}

// SQL writes keep the nesting limits too: a table or column nested deeper
// than clients can read is refused with InvalidArgument naming the column,
// and nothing is created.
func TestSQLWritesKeepTheNestingLimits(t *testing.T) {
	_, cat, s := writeEnv(t)
	deep := func(n int) string {
		return strings.Repeat("{'a': ", n) + "1" + strings.Repeat("}", n)
	}
	execN(t, s, "CREATE TABLE silver.ok32 AS SELECT "+deep(32)+" AS v")
	for _, sql := range []string{
		"CREATE TABLE silver.deep AS SELECT " + deep(33) + " AS v",
		"CREATE TABLE silver.deep (v INTEGER" + strings.Repeat("[]", 17) + ")",
		"ALTER TABLE silver.ok32 ADD COLUMN w " + strings.Repeat("STRUCT(a ", 33) + "INTEGER" + strings.Repeat(")", 33),
		"CREATE OR REPLACE TABLE silver.ok32 AS SELECT " + deep(40) + " AS v",
	} {
		_, err := s.Exec(context.Background(), sql)
		if errkind.Of(err) != errkind.InvalidArgument || !strings.Contains(err.Error(), "deep; at most") {
			t.Errorf("%.60s…: %v", sql, err)
		}
	}
	if _, err := cat.TableState(context.Background(), catalog.Ident{Namespace: "silver", Name: "deep"}); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Errorf("a refused create left silver.deep (%v)", err)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.ok32"); got[0][0] != "1" {
		t.Fatalf("silver.ok32 after the refusals: %q", got)
	}
}
