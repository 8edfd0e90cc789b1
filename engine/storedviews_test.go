//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// viewsEnv is writeEnv with a silver.t of three rows, and a way to open a
// second engine (another process) on the same catalog.
func viewsEnv(t *testing.T) (*Engine, *catalog.Catalog, *Session, func() (*Engine, *catalog.Catalog)) {
	t.Helper()
	env := newIcebergEnv(t)
	ctx := context.Background()
	open := func() (*Engine, *catalog.Catalog) {
		cat := env.open(t)
		for _, ns := range []string{"bronze", "silver"} {
			if err := cat.EnsureNamespace(ctx, ns); err != nil {
				t.Fatal(err)
			}
		}
		e, err := Open(ctx, icebergConfig(t, cat), cat, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e, cat
	}
	e, cat := open()
	s := newSession(t, e)
	mustExec(t, s, "CREATE TABLE silver.t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS v(id, name)")
	return e, cat, s, open
}

func wantErr(t *testing.T, s *Session, sql string, kind error, substr string) {
	t.Helper()
	_, err := s.Exec(context.Background(), sql)
	if err == nil || !errors.Is(err, kind) || !strings.Contains(err.Error(), substr) {
		t.Fatalf("%s: %v, want %v containing %q", sql, err, kind, substr)
	}
}

func TestPersistentViews(t *testing.T) {
	needViews(t)
	e, cat, s, _ := viewsEnv(t)
	ctx := context.Background()
	id := catalog.Ident{Namespace: "silver", Name: "v"}
	mustExec(t, s, "CREATE VIEW silver.v AS SELECT id, upper(name) AS up FROM silver.t WHERE id > 1;")
	other := newSession(t, e)
	if got := mustQuery(t, other, "SELECT * FROM silver.v ORDER BY id"); !slices.EqualFunc(got, [][]string{{"2", "B"}, {"3", "C"}}, slices.Equal) {
		t.Fatalf("view rows %v", got)
	}
	v, err := cat.LoadView(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.SQL != "SELECT id, upper(name) AS up FROM silver.t WHERE id > 1" || len(v.Schema.Fields()) != 2 || v.Schema.Field(1).Name != "up" {
		t.Fatalf("stored %q, schema %v", v.SQL, v.Schema)
	}
	// Listed as a view, with columns; the table stays a table.
	l, err := other.Catalog(ctx, CatalogFilter{Columns: true, SchemaPattern: ptr("silver")})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, tb := range l.Tables {
		kinds[tb.Name] = tb.Kind
		if tb.Name == "v" && (len(tb.Columns) != 2 || tb.Columns[1].Field.Name != "up" || tb.Writable) {
			t.Fatalf("view entry %+v", tb)
		}
	}
	if kinds["v"] != KindView || kinds["t"] != KindTable {
		t.Fatalf("kinds %v", kinds)
	}
	l, err = other.Catalog(ctx, CatalogFilter{Kinds: []string{"view"}, SchemaPattern: ptr("silver")})
	if err != nil || len(l.Tables) != 1 || l.Tables[0].Name != "v" {
		t.Fatalf("VIEW filter: %+v %v", l, err)
	}

	// Invalid queries are refused with DuckDB's message; nothing is stored.
	wantErr(t, s, "CREATE VIEW silver.bad AS SELECT nope FROM silver.t", ErrInvalidSQL, "nope")
	wantErr(t, s, "CREATE VIEW silver.bad AS SELECT * FROM silver.missing", ErrNotFound, "missing")
	wantErr(t, s, "CREATE VIEW silver.bad AS SELECT * FROM silver.t WHERE id = ?", ErrInvalidSQL, "parameters")
	wantErr(t, s, "CREATE VIEW silver.bad AS SELECT * FROM silver.t AT (VERSION => 1)", ErrUnsupported, "snapshot")
	wantErr(t, s, "CREATE VIEW silver.bad (a, b) AS SELECT 1, 2", ErrUnsupported, "column list")
	wantErr(t, s, "CREATE VIEW nowhere.bad AS SELECT 1", ErrNotFound, "nowhere")
	mustExec(t, s, "CREATE TEMP TABLE scratch AS SELECT 1 AS x")
	wantErr(t, s, "CREATE VIEW silver.bad AS SELECT * FROM scratch", ErrNotFound, "scratch")
	if views, err := cat.ListViews(ctx); err != nil || len(views) != 1 {
		t.Fatalf("views after refusals: %v %v", views, err)
	}

	// Exists, IF NOT EXISTS, OR REPLACE (seen by the other session at once).
	wantErr(t, s, "CREATE VIEW silver.v AS SELECT 1 AS x", ErrAlreadyExists, "already exists")
	mustExec(t, s, "CREATE VIEW IF NOT EXISTS silver.v AS SELECT 1 AS x")
	if got := mustQuery(t, other, "SELECT count(*) FROM silver.v"); got[0][0] != "2" {
		t.Fatalf("IF NOT EXISTS changed the view: %v", got)
	}
	mustExec(t, s, "CREATE OR REPLACE VIEW silver.v AS SELECT name FROM t ORDER BY name DESC") // t: the view's namespace
	if got := mustQuery(t, other, "SELECT * FROM silver.v"); !slices.EqualFunc(got, [][]string{{"c"}, {"b"}, {"a"}}, slices.Equal) {
		t.Fatalf("replaced view rows %v", got)
	}
	if v2, err := cat.LoadView(ctx, id); err != nil || v2.VersionID != 2 {
		t.Fatalf("replace: %+v %v", v2, err)
	}

	// A name is a table or a view.
	wantErr(t, s, "CREATE VIEW silver.t AS SELECT 1 AS x", ErrAlreadyExists, "is a table")
	wantErr(t, s, "CREATE OR REPLACE VIEW silver.t AS SELECT 1 AS x", ErrAlreadyExists, "is a table")
	wantErr(t, s, "CREATE TABLE silver.v (x INT)", ErrAlreadyExists, "is a view")
	wantErr(t, s, "CREATE OR REPLACE TABLE silver.v AS SELECT 1 AS x", ErrAlreadyExists, "is a view")
	wantErr(t, s, "DROP TABLE silver.v", ErrInvalidSQL, "use DROP VIEW")
	wantErr(t, s, "DROP VIEW silver.t", ErrInvalidSQL, "use DROP TABLE")
	wantErr(t, s, "INSERT INTO silver.v VALUES ('z')", ErrUnsupported, "is a view")
	wantErr(t, s, "DROP VIEW silver.nope", ErrNotFound, "does not exist")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.t"); got[0][0] != "3" {
		t.Fatalf("table after refusals: %v", got)
	}

	// DuckDB's own catalog shows it as a view.
	if got := mustQuery(t, s, "SELECT table_type FROM information_schema.tables WHERE table_schema = 'silver' AND table_name = 'v'"); len(got) != 1 || got[0][0] != "VIEW" {
		t.Fatalf("information_schema: %v", got)
	}

	// Not inside a transaction.
	mustExec(t, s, "BEGIN")
	wantErr(t, s, "CREATE VIEW silver.w AS SELECT 1 AS x", ErrUnsupported, "inside a transaction")
	wantErr(t, s, "DROP VIEW silver.v", ErrUnsupported, "inside a transaction")
	mustExec(t, s, "ROLLBACK")

	// DROP SCHEMA restricts, CASCADE takes the view along.
	mustExec(t, s, "CREATE VIEW bronze.bv AS SELECT 1 AS x")
	wantErr(t, s, "DROP SCHEMA bronze", ErrConstraint, "bv (view)")
	mustExec(t, s, "DROP SCHEMA bronze CASCADE")
	if ok, err := cat.ViewExists(ctx, catalog.Ident{Namespace: "bronze", Name: "bv"}); ok || err != nil {
		t.Fatalf("bronze.bv after CASCADE: %v %v", ok, err)
	}

	mustExec(t, s, "DROP VIEW silver.v")
	mustExec(t, s, "DROP VIEW IF EXISTS silver.v")
	if _, _, err := queryAll(t, other, "SELECT * FROM silver.v", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dropped view read: %v", err)
	}
	if _, err := cat.LoadView(ctx, id); !errors.Is(err, catalog.ErrNoSuchView) {
		t.Fatalf("dropped view in the catalog: %v", err)
	}
}

// Unqualified names follow the session's current lakehouse schema, as for
// tables; in main they are refused.
func TestPersistentViewUnqualified(t *testing.T) {
	needViews(t)
	_, cat, s, _ := viewsEnv(t)
	wantErr(t, s, "CREATE VIEW w AS SELECT 1 AS x", ErrUnsupported, "namespace.name")
	mustExec(t, s, "USE lakehouse.silver")
	mustExec(t, s, "CREATE VIEW w AS SELECT max(id) AS m FROM t")
	if got := mustQuery(t, s, "SELECT m FROM w"); got[0][0] != "3" {
		t.Fatalf("unqualified view: %v", got)
	}
	if ok, err := cat.ViewExists(context.Background(), catalog.Ident{Namespace: "silver", Name: "w"}); !ok || err != nil {
		t.Fatalf("silver.w stored: %v %v", ok, err)
	}
	mustExec(t, s, "DROP VIEW w")
}

// Time travel never reads a view's current data: the statement is refused,
// by name when lakeflight sees the view, by the tables' as-of guard when it
// does not (a TEMP view over it).
func TestPersistentViewTimeTravel(t *testing.T) {
	needViews(t)
	_, cat, s, _ := viewsEnv(t)
	snap := currentSnapshot(t, cat, catalog.Ident{Namespace: "silver", Name: "t"})
	mustExec(t, s, "INSERT INTO silver.t VALUES (4, 'd')")
	mustExec(t, s, "CREATE VIEW silver.v AS SELECT * FROM silver.t")
	mustExec(t, s, "CREATE TEMP VIEW tv AS SELECT * FROM silver.v")
	wantErr(t, s, "SELECT * FROM silver.v AT (VERSION => "+strconv.FormatInt(snap, 10)+")", ErrUnsupported, "view silver.v")
	mustExec(t, s, "SET lakeflight_as_of = '"+strconv.FormatInt(snap, 10)+"'")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.t"); got[0][0] != "3" {
		t.Fatalf("as of: %v", got) // the table itself time-travels
	}
	for _, q := range []string{
		"SELECT * FROM silver.v",
		"SELECT count(*) FROM v",
		"FROM lakehouse.silver.v",
		"SELECT * FROM silver.t JOIN silver.v USING (id)",
		"WITH x AS (SELECT * FROM silver.v) SELECT * FROM x",
		"DESCRIBE SELECT * FROM silver.v",
		"CREATE TEMP TABLE copy AS SELECT * FROM silver.v",
	} {
		if strings.HasPrefix(q, "SELECT count(*) FROM v") {
			mustExec(t, s, "USE lakehouse.silver")
		}
		_, err := s.Exec(context.Background(), q)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "view silver.v") {
			t.Errorf("%s as of: %v", q, err)
		}
	}
	_, rows, err := queryAll(t, s, "SELECT * FROM tv", nil)
	if err == nil || !strings.Contains(err.Error(), "could not pin") || len(rows) != 0 {
		t.Fatalf("through a temp view as of: %v rows, %v", rows, err)
	}
	mustExec(t, s, "RESET lakeflight_as_of")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.v"); got[0][0] != "4" {
		t.Fatalf("after RESET: %v", got)
	}
}

// Views survive a restart, and another process's views, replacements,
// drops and table commits are seen.
func TestPersistentViewsAcrossProcesses(t *testing.T) {
	needViews(t)
	e1, _, s1, open := viewsEnv(t)
	mustExec(t, s1, "CREATE VIEW silver.v AS SELECT count(*) AS n FROM silver.t")
	mustExec(t, s1, "CREATE VIEW silver.vv AS SELECT n * 10 AS n10 FROM silver.v") // a view over a view
	e1.Close()

	e2, _ := open() // a restart: bound at Open, views over views included
	s2 := newSession(t, e2)
	if got := mustQuery(t, s2, "SELECT n10 FROM silver.vv"); got[0][0] != "30" {
		t.Fatalf("after restart: %v", got)
	}
	e3, _ := open() // another process on the same catalog
	s3 := newSession(t, e3)
	mustExec(t, s3, "CREATE VIEW silver.fresh AS SELECT 'hi' AS greeting")
	if got := mustQuery(t, s2, "SELECT greeting FROM silver.fresh"); got[0][0] != "hi" {
		t.Fatalf("another process's view: %v", got)
	}
	mustExec(t, s3, "CREATE OR REPLACE VIEW silver.fresh AS SELECT 'bye' AS greeting")
	if got := mustQuery(t, s2, "SELECT greeting FROM silver.fresh"); got[0][0] != "bye" {
		t.Fatalf("another process's replacement: %v", got)
	}
	mustExec(t, s3, "INSERT INTO silver.t VALUES (9, 'z')") // read by s2 only through the views
	if got := mustQuery(t, s2, "SELECT n10 FROM silver.vv"); got[0][0] != "40" {
		t.Fatalf("a commit read through two views: %v", got)
	}
	mustExec(t, s3, "DROP VIEW silver.fresh")
	if _, _, err := queryAll(t, s2, "SELECT * FROM silver.fresh", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another process's drop: %v", err)
	}
	// A view whose table is gone binds broken: listed, and says why when read.
	mustExec(t, s3, "DROP TABLE silver.t")
	e4, _ := open()
	s4 := newSession(t, e4)
	_, _, err := queryAll(t, s4, "SELECT * FROM silver.v", nil)
	if err == nil || !strings.Contains(err.Error(), "no longer binds") {
		t.Fatalf("broken view: %v", err)
	}
	l, err := s4.Catalog(context.Background(), CatalogFilter{Columns: true, TablePattern: ptr("v")})
	if err != nil || len(l.Tables) != 1 || l.Tables[0].Kind != KindView || len(l.Tables[0].Columns) != 1 || l.Tables[0].Columns[0].Field.Name != "n" {
		t.Fatalf("broken view listed: %+v %v", l, err)
	}
	// Bringing the table back heals it.
	mustExec(t, s4, "CREATE TABLE silver.t (id INT)")
	if got := mustQuery(t, s4, "SELECT n FROM silver.v"); got[0][0] != "0" {
		t.Fatalf("healed view: %v", got)
	}
}

// needViews skips a test of persistent views on a catalog that cannot
// hold them: a Hive Metastore, where iceberg-go stores a view's SQL under
// the dialect "default" only (the refusal is tested in package catalog).
func needViews(t *testing.T) {
	t.Helper()
	if testHive != nil {
		t.Skip("a Hive Metastore cannot hold lakeflight's views (LAKEFLIGHT_TEST_CATALOG=hive)")
	}
}
