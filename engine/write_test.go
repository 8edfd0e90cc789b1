//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// writeEnv is an engine over an empty catalog with bronze and silver.
func writeEnv(t *testing.T) (*Engine, *catalog.Catalog, *Session) {
	t.Helper()
	return writeEnvLogged(t, nil)
}

// writeEnvLogged is writeEnv with the engine logging to log.
func writeEnvLogged(t *testing.T, log *slog.Logger) (*Engine, *catalog.Catalog, *Session) {
	t.Helper()
	env := newIcebergEnv(t)
	cat := env.open(t)
	ctx := context.Background()
	for _, ns := range []string{"bronze", "silver"} {
		if err := cat.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	e, err := Open(ctx, icebergConfig(t, cat), cat, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, cat, newSession(t, e)
}

func execN(t *testing.T, s *Session, sql string) int64 {
	t.Helper()
	n, err := s.Exec(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func snapshotCount(t *testing.T, cat *catalog.Catalog, id catalog.Ident) int {
	t.Helper()
	snaps, err := cat.Snapshots(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(snaps)
}

func currentSnapshot(t *testing.T, cat *catalog.Catalog, id catalog.Ident) int64 {
	t.Helper()
	st, err := cat.TableState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st.SnapshotID
}

// Every statement is one snapshot, and every snapshot still reads exactly
// the rows it had when it was made.
func TestSQLWritesHistory(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "accounts"}
	execN(t, s, "CREATE TABLE silver.accounts (id BIGINT, owner VARCHAR, balance DECIMAL(12, 2))")
	if n := snapshotCount(t, cat, id); n != 0 {
		t.Fatalf("CREATE TABLE made %d snapshots", n)
	}
	type step struct {
		sql      string
		affected int64
		want     [][]string // SELECT * ORDER BY id, after the step
	}
	steps := []step{
		{"INSERT INTO silver.accounts VALUES (1, 'ann', 10.50), (2, 'bob', 20), (3, 'cy', NULL)", 3,
			[][]string{{"1", "ann", "10.50"}, {"2", "bob", "20.00"}, {"3", "cy", ""}}},
		{"INSERT INTO silver.accounts (owner, id) SELECT 'dee', 4", 1,
			[][]string{{"1", "ann", "10.50"}, {"2", "bob", "20.00"}, {"3", "cy", ""}, {"4", "dee", ""}}},
		{"DELETE FROM silver.accounts WHERE balance IS NULL AND id > 3", 1,
			[][]string{{"1", "ann", "10.50"}, {"2", "bob", "20.00"}, {"3", "cy", ""}}},
		{"UPDATE silver.accounts SET balance = coalesce(balance, 0) + 1 WHERE id >= 2", 2,
			[][]string{{"1", "ann", "10.50"}, {"2", "bob", "21.00"}, {"3", "cy", "1.00"}}},
		{`MERGE INTO silver.accounts AS a USING (VALUES (1, 'ann', 99.99), (5, 'eve', 5.00), (3, 'cy', 0)) AS src(id, owner, balance)
		  ON a.id = src.id
		  WHEN MATCHED AND src.balance = 0 THEN DELETE
		  WHEN MATCHED THEN UPDATE SET balance = src.balance
		  WHEN NOT MATCHED THEN INSERT VALUES (src.id, src.owner, src.balance)`, 3,
			[][]string{{"1", "ann", "99.99"}, {"2", "bob", "21.00"}, {"5", "eve", "5.00"}}},
		{"UPDATE silver.accounts SET owner = upper(accounts.owner) WHERE accounts.id = 2", 1,
			[][]string{{"1", "ann", "99.99"}, {"2", "BOB", "21.00"}, {"5", "eve", "5.00"}}},
		{"DELETE FROM silver.accounts", 3, nil},
		{"INSERT INTO silver.accounts SELECT i, 'u' || i, i FROM range(10, 13) t(i)", 3,
			[][]string{{"10", "u10", "10.00"}, {"11", "u11", "11.00"}, {"12", "u12", "12.00"}}},
	}
	snaps := make([]int64, len(steps))
	for i, st := range steps {
		before := snapshotCount(t, cat, id)
		if n := execN(t, s, st.sql); n != st.affected {
			t.Fatalf("step %d (%s): %d rows affected, want %d", i, st.sql, n, st.affected)
		}
		if n := snapshotCount(t, cat, id); n != before+1 {
			t.Fatalf("step %d: %d snapshots after, %d before: want exactly one more", i, n, before)
		}
		snaps[i] = currentSnapshot(t, cat, id)
		if ws := s.LastWrite(); ws.Snapshot != snaps[i] || ws.Rows != st.affected || ws.Attempts != 1 || ws.Table != "silver.accounts" ||
			!strings.HasPrefix(st.sql, ws.Statement) || ws.Run <= 0 {
			t.Fatalf("step %d: LastWrite %+v", i, ws)
		}
		if got := mustQuery(t, s, "SELECT * FROM silver.accounts ORDER BY id"); !slices.EqualFunc(got, st.want, slices.Equal[[]string]) {
			t.Fatalf("step %d (%s): rows %q, want %q", i, st.sql, got, st.want)
		}
	}
	for i, st := range steps {
		got := mustQuery(t, s, fmt.Sprintf("SELECT * FROM silver.accounts AT (VERSION => %d) ORDER BY id", snaps[i]))
		if !slices.EqualFunc(got, st.want, slices.Equal[[]string]) {
			t.Errorf("snapshot %d (after step %d): rows %q, want %q", snaps[i], i, got, st.want)
		}
	}
	ops := mustQuery(t, s, "SELECT operation FROM iceberg_snapshots('silver.accounts') ORDER BY sequence_number")
	want := [][]string{{"append"}, {"append"}, {"delete"}, {"overwrite"}, {"overwrite"}, {"overwrite"}, {"delete"}, {"append"}}
	if !slices.EqualFunc(ops, want, slices.Equal[[]string]) {
		t.Errorf("operations %q, want %q", ops, want)
	}
}

func TestCreateTableAs(t *testing.T) {
	_, cat, s := writeEnv(t)
	n := execN(t, s, `CREATE TABLE silver.squares AS
		SELECT i::TINYINT AS small, i * i AS sq, 'n' || i AS name, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_days(i::INTEGER) AS ts
		FROM range(1, 5) t(i)`)
	if n != 4 {
		t.Fatalf("CTAS affected %d rows", n)
	}
	got := mustQuery(t, s, "SELECT small, sq, name, typeof(small), typeof(ts) FROM silver.squares ORDER BY small")
	if len(got) != 4 || got[3][1] != "16" || got[0][3] != "INTEGER" || got[0][4] != "TIMESTAMP WITH TIME ZONE" {
		t.Fatalf("rows %q", got)
	}
	if c := snapshotCount(t, cat, catalog.Ident{Namespace: "silver", Name: "squares"}); c != 1 {
		t.Fatalf("CTAS made %d snapshots", c)
	}
	// IF NOT EXISTS is a no-op; plain CREATE of an existing table fails.
	execN(t, s, "CREATE TABLE IF NOT EXISTS silver.squares AS SELECT 1 AS x")
	if _, err := s.Exec(context.Background(), "CREATE TABLE silver.squares (x INTEGER)"); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("CREATE of an existing table: %v", err)
	}
	// OR REPLACE replaces it.
	execN(t, s, "CREATE OR REPLACE TABLE silver.squares AS SELECT 42 AS answer")
	if got := mustQuery(t, s, "SELECT * FROM silver.squares"); len(got) != 1 || got[0][0] != "42" {
		t.Fatalf("after OR REPLACE: %q", got)
	}
	// NOT NULL in a column list makes the column required.
	execN(t, s, "CREATE TABLE silver.required (a INTEGER NOT NULL, b VARCHAR)")
	execN(t, s, "INSERT INTO silver.required VALUES (1, NULL)")
	if _, err := s.Exec(context.Background(), "INSERT INTO silver.required VALUES (NULL, 'x')"); !errors.Is(err, ErrConstraint) ||
		!strings.Contains(err.Error(), "column a is required") {
		t.Errorf("NULL into a NOT NULL column: %v", err)
	}
	execN(t, s, "DROP TABLE silver.squares")
	if _, _, err := queryAll(t, s, "SELECT * FROM silver.squares", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after DROP: %v", err)
	}
	execN(t, s, "DROP TABLE IF EXISTS silver.squares")
}

func TestAlterTable(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "people"}
	execN(t, s, "CREATE TABLE silver.people AS SELECT 1::INTEGER AS id, 'ann' AS name")
	s1 := currentSnapshot(t, cat, id)
	execN(t, s, "ALTER TABLE silver.people ADD COLUMN age INTEGER")
	execN(t, s, "INSERT INTO silver.people VALUES (2, 'bob', 40)")
	execN(t, s, "ALTER TABLE silver.people RENAME COLUMN name TO full_name")
	execN(t, s, "ALTER TABLE silver.people ALTER COLUMN id TYPE BIGINT")
	s2 := currentSnapshot(t, cat, id)
	execN(t, s, "ALTER TABLE silver.people DROP COLUMN age")
	if got := mustQuery(t, s, "SELECT id, full_name, typeof(id) FROM silver.people ORDER BY id"); !slices.EqualFunc(got,
		[][]string{{"1", "ann", "BIGINT"}, {"2", "bob", "BIGINT"}}, slices.Equal[[]string]) {
		t.Fatalf("current: %q", got)
	}
	if _, _, err := queryAll(t, s, "SELECT age FROM silver.people", nil); err == nil {
		t.Fatal("a dropped column is still readable")
	}
	// Old snapshots read with their own schema.
	if got := mustQuery(t, s, fmt.Sprintf("SELECT * FROM silver.people AT (VERSION => %d)", s1)); !slices.EqualFunc(got,
		[][]string{{"1", "ann"}}, slices.Equal[[]string]) {
		t.Fatalf("at s1: %q", got)
	}
	if got := mustQuery(t, s, fmt.Sprintf("SELECT id, name, age FROM silver.people AT (VERSION => %d) ORDER BY id", s2)); !slices.EqualFunc(got,
		[][]string{{"1", "ann", ""}, {"2", "bob", "40"}}, slices.Equal[[]string]) {
		t.Fatalf("at s2: %q", got)
	}
	for _, c := range []struct {
		sql  string
		kind error
		msg  string
	}{
		{"ALTER TABLE silver.people ALTER COLUMN full_name TYPE INTEGER", ErrInvalidSQL, "ALTER TABLE silver.people"},
		{"ALTER TABLE silver.people ADD COLUMN id INTEGER", ErrAlreadyExists, "already exists"},
		{"ALTER TABLE silver.people DROP COLUMN nope", ErrNotFound, "no column nope"},
		{"ALTER TABLE silver.nope ADD COLUMN x INTEGER", ErrNotFound, "table silver.nope does not exist"},
	} {
		if _, err := s.Exec(context.Background(), c.sql); !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v containing %q", c.sql, err, c.kind, c.msg)
		}
	}
	execN(t, s, "ALTER TABLE silver.people ADD COLUMN IF NOT EXISTS id INTEGER")
	execN(t, s, "ALTER TABLE silver.people DROP COLUMN IF EXISTS nope")
}

// Bad writes fail with a precise error and commit nothing.
func TestSQLWriteRefusals(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "t"}
	execN(t, s, "CREATE TABLE silver.t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, v)")
	before := snapshotCount(t, cat, id)
	for _, c := range []struct {
		sql  string
		kind error
		msg  string
	}{
		{"INSERT INTO nowhere.t VALUES (1)", ErrNotFound, `namespace "nowhere" does not exist`},
		{"CREATE TABLE nowhere.t (x INTEGER)", ErrNotFound, `namespace "nowhere" does not exist`},
		{"INSERT INTO silver.missing VALUES (1)", ErrNotFound, "table silver.missing does not exist"},
		{"INSERT INTO silver.t VALUES ('x', 'y')", ErrInvalidSQL, "x"},
		{"INSERT INTO silver.t VALUES (1, 2, 3)", ErrInvalidSQL, "3 values"},
		{"UPDATE silver.t SET nope = 1", ErrInvalidSQL, "nope"},
		{"MERGE INTO silver.t USING (VALUES (1, 'x'), (1, 'y')) s(id, v) ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
			ErrInvalidSQL, "several source rows match the same target row"},
		{"DELETE FROM silver.t RETURNING * EXCLUDE v", ErrInvalidSQL, "EXCLUDE (a, b)"},
		{"INSERT OR REPLACE INTO silver.t VALUES (1, 'z')", ErrUnsupported, "MERGE INTO"},
		{"CREATE TABLE silver.p (x INTEGER) PARTITIONED BY (day(x))", catalog.ErrInvalidArgument, "day cannot be applied to column x of type int"},
		{"CREATE TABLE silver.p (x INTEGER) PARTITIONED BY (y)", catalog.ErrInvalidArgument, "no column y"},
		{"CREATE TABLE silver.p PARTITIONED (x) AS SELECT 1 AS x", ErrInvalidSQL, "PARTITIONED needs BY"},
		{"CREATE TABLE silver.p (x INTEGER) PRIMARY PARTITIONED BY (x)", ErrInvalidSQL, "goes right after the column list"},
		{"DROP TABLE silver.missing", ErrNotFound, "does not exist"},
	} {
		_, err := s.Exec(context.Background(), c.sql)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v containing %q", c.sql, err, c.kind, c.msg)
		}
	}
	if after := snapshotCount(t, cat, id); after != before {
		t.Fatalf("refused writes made %d snapshots", after-before)
	}
	if got := mustQuery(t, s, "SELECT * FROM silver.t ORDER BY id"); len(got) != 2 || got[0][1] != "a" {
		t.Fatalf("rows changed: %q", got)
	}
}

// A prepared INSERT with many parameter rows is one snapshot.
func TestPreparedInsertManyRows(t *testing.T) {
	_, cat, s := writeEnv(t)
	execN(t, s, "CREATE TABLE bronze.kv (k INTEGER, v VARCHAR)")
	st, err := s.Prepare(context.Background(), "INSERT INTO bronze.kv VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.IsQuery() || st.ParameterSchema().NumFields() != 2 {
		t.Fatalf("IsQuery %v, params %v", st.IsQuery(), st.ParameterSchema())
	}
	mem := memory.NewGoAllocator()
	kb, vb := array.NewInt32Builder(mem), array.NewStringBuilder(mem)
	for i := range 100 {
		kb.Append(int32(i))
		vb.Append(fmt.Sprint("v", i))
	}
	k, v := kb.NewArray(), vb.NewArray()
	defer k.Release()
	defer v.Release()
	params := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int32}, {Name: "v", Type: arrow.BinaryTypes.String}}, nil),
		[]arrow.Array{k, v}, 100)
	defer params.Release()
	n, err := st.Exec(context.Background(), params)
	if err != nil || n != 100 {
		t.Fatalf("exec: %d, %v", n, err)
	}
	if c := snapshotCount(t, cat, catalog.Ident{Namespace: "bronze", Name: "kv"}); c != 1 {
		t.Fatalf("%d snapshots, want 1", c)
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(k) FROM bronze.kv"); got[0][0] != "100" || got[0][1] != "4950" {
		t.Fatalf("rows: %q", got)
	}
}

// Prepared writes announce their parameters' types (the JDBC driver binds
// by them and cannot bind to a NULL-typed parameter).
func TestPreparedWriteParameterTypes(t *testing.T) {
	_, _, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.o AS SELECT range AS id, CAST(range * 1.5 AS DECIMAL(10, 2)) AS amount FROM range(5)")
	for q, want := range map[string]string{
		"UPDATE silver.o SET amount = ? WHERE id = ?":                                                  "[decimal(10, 2) int64]",
		"INSERT INTO silver.o VALUES (?, ?)":                                                           "[int64 decimal(10, 2)]",
		"DELETE FROM silver.o WHERE id = ?":                                                            "[int64]",
		"CREATE TABLE silver.p AS SELECT * FROM silver.o WHERE amount > ?":                             "[decimal(10, 2)]",
		"MERGE INTO silver.o USING (SELECT ?::BIGINT AS id) s ON o.id = s.id WHEN MATCHED THEN DELETE": "[int64]",
	} {
		st, err := s.Prepare(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var types []string
		for _, f := range st.ParameterSchema().Fields() {
			types = append(types, f.Type.String())
		}
		st.Close()
		if fmt.Sprint(types) != want {
			t.Errorf("%s: parameter types %v, want %s", q, types, want)
		}
	}
}

// Writes read old snapshots too: rows deleted by mistake come back with
// INSERT … SELECT … AT, and CREATE TABLE … AS can copy a table as it was.
func TestWritesFromOldSnapshots(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "orders"}
	execN(t, s, "CREATE TABLE silver.orders AS SELECT range AS id, 'o' || range AS name FROM range(10)")
	good := currentSnapshot(t, cat, id)
	execN(t, s, "DELETE FROM silver.orders WHERE id >= 4") // the mistake
	n := execN(t, s, fmt.Sprintf(`INSERT INTO silver.orders
		SELECT * FROM silver.orders AS o AT (VERSION => %d) WHERE o.id NOT IN (SELECT id FROM silver.orders)`, good))
	if n != 6 {
		t.Fatalf("restored %d rows, want 6", n)
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(id) FROM silver.orders"); got[0][0] != "10" || got[0][1] != "45" {
		t.Fatalf("after the restore: %q", got)
	}
	execN(t, s, "CALL iceberg_create_tag('silver.orders', 'good', "+fmt.Sprint(good)+")")
	execN(t, s, "CREATE TABLE silver.orders_then AS SELECT * FROM silver.orders AT (VERSION => 'good') WHERE id < 3")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.orders_then"); got[0][0] != "3" {
		t.Fatalf("CTAS from a tag: %q", got)
	}
	execN(t, s, fmt.Sprintf(`MERGE INTO silver.orders AS t USING (SELECT id, name || '!' AS name FROM silver.orders AT (VERSION => %d) WHERE id = 1) AS s
		ON t.id = s.id WHEN MATCHED THEN UPDATE SET name = s.name`, good))
	if got := mustQuery(t, s, "SELECT name FROM silver.orders WHERE id = 1"); got[0][0] != "o1!" {
		t.Fatalf("MERGE from an old snapshot: %q", got)
	}
	if _, err := s.Exec(context.Background(), "INSERT INTO silver.orders SELECT * FROM silver.orders AT (VERSION => 42)"); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "has no snapshot 42") {
		t.Fatalf("unknown snapshot in a write: %v", err)
	}
}

// An UPDATE or DELETE whose WHERE stands on its own copies only the rows it
// selects into the stand-in; with FROM/USING, parameters or a volatile
// function it copies the snapshot; the results are the same.
func TestStandInPrefilter(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "big"}
	execN(t, s, "CREATE TABLE silver.big AS SELECT range AS id, range % 7 AS k FROM range(1000)")
	first := currentSnapshot(t, cat, id)
	execN(t, s, "CREATE TEMP TABLE picks AS SELECT 5 AS id")
	for _, c := range []struct {
		sql      string
		affected int64
		copied   int64
	}{
		{"DELETE FROM silver.big WHERE id = 3", 1, 1},
		{"UPDATE silver.big AS b SET k = -1 WHERE b.id < 10 AND b.k <> 3", 9, 9},
		{"UPDATE silver.big SET k = -2 WHERE big.id IN (SELECT id FROM silver.big WHERE k = -1) AND id > 5", 4, 4},
		{fmt.Sprintf("DELETE FROM silver.big WHERE id IN (SELECT id FROM silver.big AT (VERSION => %d) WHERE id BETWEEN 990 AND 994)", first), 5, 5},
		{"DELETE FROM silver.big USING picks WHERE big.id = picks.id", 1, 994},
		{"DELETE FROM silver.big WHERE id = 6 AND random() >= 0", 1, 993},
	} {
		if n := execN(t, s, c.sql); n != c.affected {
			t.Fatalf("%s: %d rows, want %d", c.sql, n, c.affected)
		}
		if ws := s.LastWrite(); ws.StandInRows != c.copied {
			t.Errorf("%s: %d rows copied into the stand-in, want %d", c.sql, ws.StandInRows, c.copied)
		}
	}
	got := mustQuery(t, s, "SELECT count(*), count(*) FILTER (k = -1), count(*) FILTER (k = -2), min(id) FILTER (k < 0) FROM silver.big")
	if fmt.Sprint(got[0]) != "[992 4 3 0]" {
		t.Fatalf("after the writes: %v", got[0])
	}
}

// ALTER TABLE … RENAME TO keeps the table's history under the new name.
func TestRenameTable(t *testing.T) {
	_, cat, s := writeEnv(t)
	if err := cat.EnsureNamespace(context.Background(), "gold"); err != nil {
		t.Fatal(err)
	}
	execN(t, s, "CREATE TABLE silver.people AS SELECT 1 AS id")
	s1 := currentSnapshot(t, cat, catalog.Ident{Namespace: "silver", Name: "people"})
	execN(t, s, "INSERT INTO silver.people VALUES (2)")
	execN(t, s, "CREATE TABLE silver.other (x INTEGER)")

	execN(t, s, "ALTER TABLE silver.people RENAME TO persons")
	if _, _, err := queryAll(t, s, "SELECT * FROM silver.people", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name after rename: %v", err)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.persons"); got[0][0] != "2" {
		t.Fatalf("new name: %q", got)
	}
	if got := mustQuery(t, s, fmt.Sprintf("SELECT count(*) FROM silver.persons AT (VERSION => %d)", s1)); got[0][0] != "1" {
		t.Fatalf("new name at the first snapshot: %q", got)
	}
	execN(t, s, "ALTER TABLE silver.persons RENAME TO GOLD.persons")
	if got := mustQuery(t, s, "SELECT count(*) FROM iceberg_snapshots('gold.persons')"); got[0][0] != "2" {
		t.Fatalf("snapshots under the new namespace: %q", got)
	}
	execN(t, s, "INSERT INTO gold.persons VALUES (3)")
	if got := mustQuery(t, s, "SELECT sum(id) FROM gold.persons"); got[0][0] != "6" {
		t.Fatalf("after writing under the new name: %q", got)
	}
	for _, c := range []struct {
		sql  string
		kind error
		msg  string
	}{
		{"ALTER TABLE silver.other RENAME TO gold.persons", ErrAlreadyExists, "gold.persons already exists"},
		{"ALTER TABLE silver.other RENAME TO nope.x", ErrNotFound, `namespace "nope" does not exist`},
		{"ALTER TABLE silver.people RENAME TO y", ErrNotFound, "silver.people does not exist"},
		{"ALTER TABLE silver.other RENAME TO a.b.c", ErrUnsupported, "a table stays in the lakehouse catalog"},
		{"ALTER TABLE silver.other RENAME TO a.b.c.d", ErrInvalidSQL, "RENAME TO takes a table name"},
	} {
		if _, err := s.Exec(context.Background(), c.sql); !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v containing %q", c.sql, err, c.kind, c.msg)
		}
	}
	execN(t, s, "ALTER TABLE IF EXISTS silver.people RENAME TO z")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.other"); got[0][0] != "0" {
		t.Fatalf("silver.other after refused renames: %q", got)
	}
}

// CREATE OR REPLACE TABLE on an existing table is one snapshot of the same
// table: its history, tags and time travel stay; old snapshots read with
// their own schema.
func TestCreateOrReplaceKeepsHistory(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "r"}
	execN(t, s, "CREATE TABLE silver.r AS SELECT i AS id, 'n' || i AS name FROM range(3) t(i)")
	execN(t, s, "DELETE FROM silver.r WHERE id = 1")
	s2 := currentSnapshot(t, cat, id)
	execN(t, s, "CALL iceberg_create_tag('silver.r', 'before')")
	if n := execN(t, s, "CREATE OR REPLACE TABLE silver.r AS SELECT 'x' AS code, 2.5 AS score"); n != 1 {
		t.Fatalf("CREATE OR REPLACE affected %d rows", n)
	}
	if got := mustQuery(t, s, "SELECT * FROM silver.r"); !slices.EqualFunc(got, [][]string{{"x", "2.5"}}, slices.Equal[[]string]) {
		t.Fatalf("after replace: %q", got)
	}
	want := [][]string{{"0", "n0"}, {"2", "n2"}}
	for _, at := range []string{fmt.Sprint(s2), "'before'"} {
		if got := mustQuery(t, s, "SELECT * FROM silver.r AT (VERSION => "+at+") ORDER BY id"); !slices.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Errorf("at %s: %q, want %q", at, got, want)
		}
	}
	if n := snapshotCount(t, cat, id); n != 3 {
		t.Errorf("%d snapshots, want 3 (CTAS, DELETE, REPLACE)", n)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM iceberg_files('silver.r')"); got[0][0] != "1" {
		t.Errorf("files after replace: %q, want the one new data file", got)
	}
	// Replacing with a column list empties the table.
	execN(t, s, "CREATE OR REPLACE TABLE silver.r (a INTEGER NOT NULL, b VARCHAR)")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.r"); got[0][0] != "0" {
		t.Errorf("after replace with columns: %q", got)
	}
	cols := mustQuery(t, s, "SELECT column_name FROM (DESCRIBE SELECT * FROM silver.r)")
	if !slices.EqualFunc(cols, [][]string{{"a"}, {"b"}}, slices.Equal[[]string]) {
		t.Errorf("columns after replace: %q", cols)
	}
	if _, err := s.Exec(context.Background(), "INSERT INTO silver.r VALUES (NULL, 'x')"); !errors.Is(err, ErrConstraint) {
		t.Errorf("NULL into the replaced NOT NULL column: %v", err)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.r AT (VERSION => 'before')"); got[0][0] != "2" {
		t.Errorf("tag after two replaces: %q", got)
	}
}

// A MERGE whose ON joins on a key copies into the stand-in only the target
// rows whose key is in the source, and changes the table exactly as
// DuckDB's own MERGE changes a copy of it in a TEMP table.
func TestMergePrefilter(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "big"}
	execN(t, s, "CREATE TABLE silver.big AS SELECT range AS id, range % 7 AS k FROM range(1000)")
	first := currentSnapshot(t, cat, id)
	execN(t, s, "CREATE TEMP TABLE ref AS SELECT range AS id, range % 7 AS k FROM range(1000)")
	execN(t, s, "CREATE TEMP TABLE picks AS SELECT * FROM (VALUES (5, 50), (6, 60), (5000, 1)) v(id, k)")
	for _, c := range []struct {
		sql      string // {t}: the target, {n}: its name without namespace
		affected int64
		copied   int64
	}{
		{`MERGE INTO {t} AS t USING (VALUES (1, 10), (2000, 20)) AS s(id, k) ON t.id = s.id
		  WHEN MATCHED THEN UPDATE SET k = s.k WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.k)`, 2, 1},
		{`MERGE INTO {t} AS t USING picks AS p ON p.id = t.id AND t.k <> 99
		  WHEN MATCHED THEN UPDATE SET k = p.k WHEN NOT MATCHED THEN INSERT (id, k) VALUES (p.id, p.k)`, 3, 2},
		{fmt.Sprintf(`MERGE INTO {t} AS t USING (SELECT id FROM silver.big AT (VERSION => %d) WHERE id < 4) AS old ON t.id = old.id
		  WHEN MATCHED THEN DELETE`, first), 4, 4},
		{`MERGE INTO {t} AS t USING picks ON t.id = picks.id OR (t.id = 10 AND picks.id = 5) WHEN MATCHED THEN UPDATE SET k = -1`, 4, 998},
		{`MERGE INTO {t} AS t USING picks ON t.id = picks.id WHEN MATCHED THEN UPDATE SET k = -2
		  WHEN NOT MATCHED BY SOURCE AND t.id > 995 THEN DELETE`, 8, 998},
		{`MERGE INTO {t} USING picks ON {n}.id = picks.id WHEN MATCHED THEN UPDATE SET k = 100`, 3, 3},
	} {
		for _, target := range []string{"silver.big", "ref"} {
			q := strings.NewReplacer("{t}", target, "{n}", target[strings.LastIndex(target, ".")+1:]).Replace(c.sql)
			if n := execN(t, s, q); n != c.affected {
				t.Fatalf("%s: %d rows, want %d", q, n, c.affected)
			}
			if target == "silver.big" {
				if ws := s.LastWrite(); ws.StandInRows != c.copied {
					t.Errorf("%s: %d rows copied into the stand-in, want %d", q, ws.StandInRows, c.copied)
				}
			}
		}
		got := mustQuery(t, s, "SELECT * FROM silver.big ORDER BY id")
		want := mustQuery(t, s, "SELECT * FROM ref ORDER BY id")
		if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Fatalf("after %s: the Iceberg table and DuckDB's copy differ (%d and %d rows)", c.sql, len(got), len(want))
		}
	}
	// Several source rows for one target row: still refused, with the
	// stand-in prefiltered.
	before := snapshotCount(t, cat, id)
	_, err := s.Exec(context.Background(), `MERGE INTO silver.big AS t USING (VALUES (7, 1), (7, 2)) AS s(id, k) ON t.id = s.id
		WHEN MATCHED THEN UPDATE SET k = s.k`)
	if !errors.Is(err, ErrInvalidSQL) || !strings.Contains(err.Error(), "several source rows") {
		t.Errorf("ambiguous MERGE: %v", err)
	}
	if n := snapshotCount(t, cat, id); n != before {
		t.Errorf("the refused MERGE made a snapshot")
	}
}
