//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeflight/lakeflight/catalog"
)

func ptr[T any](v T) *T { return &v }

func listing(t *testing.T, s *Session, f CatalogFilter) *CatalogListing {
	t.Helper()
	l, err := s.Catalog(context.Background(), f)
	if err != nil {
		t.Fatalf("Catalog(%+v): %v", f, err)
	}
	return l
}

func findTable(l *CatalogListing, catalog, schema, name string) *TableEntry {
	for i, t := range l.Tables {
		if t.Catalog == catalog && t.Schema == schema && t.Name == name {
			return &l.Tables[i]
		}
	}
	return nil
}

func tableNames(l *CatalogListing) []string {
	var out []string
	for _, t := range l.Tables {
		out = append(out, t.Catalog+"."+t.Schema+"."+t.Name+":"+t.Kind)
	}
	return out
}

// TestCatalogListingObjects: what is listed, under which kind, per session.
func TestCatalogListingObjects(t *testing.T) {
	e, _, s := writeEnv(t)
	execN(t, s, `CREATE TABLE bronze.events (id BIGINT NOT NULL, name VARCHAR)`)
	execN(t, s, `INSERT INTO bronze.events VALUES (1, 'a')`)
	execN(t, s, `CREATE TEMP TABLE scratch (x INTEGER)`)
	execN(t, s, `CREATE TEMP VIEW scratch_v AS SELECT 1 AS one`)
	mustQuery(t, s, `SELECT * FROM bronze.events`) // read through a pinned view
	other := newSession(t, e)

	l := listing(t, s, CatalogFilter{})
	if want := []string{"lakehouse", "temp"}; !slices.Equal(l.Catalogs, want) {
		t.Errorf("catalogs = %q, want %q", l.Catalogs, want)
	}
	for _, sn := range l.Schemas {
		if sn.Schema == "information_schema" || sn.Schema == "pg_catalog" || sn.Catalog == PinCatalog || sn.Catalog == "system" {
			t.Errorf("hidden schema listed: %+v", sn)
		}
	}
	if !slices.Contains(l.Schemas, SchemaName{"lakehouse", "bronze"}) || !slices.Contains(l.Schemas, SchemaName{"temp", "main"}) {
		t.Errorf("schemas = %+v", l.Schemas)
	}
	want := []string{"lakehouse.bronze.events:TABLE", "temp.main.scratch:LOCAL TEMPORARY", "temp.main.scratch_v:LOCAL TEMPORARY"}
	if got := tableNames(l); !slices.Equal(got, want) {
		t.Errorf("tables = %q, want %q", got, want)
	}
	for _, c := range []struct {
		name              string
		iceberg, writable bool
	}{{"events", true, true}, {"scratch", false, true}, {"scratch_v", false, false}} {
		i := slices.IndexFunc(l.Tables, func(t TableEntry) bool { return t.Name == c.name })
		if i < 0 || l.Tables[i].Iceberg != c.iceberg || l.Tables[i].Writable != c.writable || l.Tables[i].Columns != nil {
			t.Errorf("%s: %+v", c.name, l.Tables[i])
		}
	}

	// Temp objects are the session's own.
	lo := listing(t, other, CatalogFilter{})
	if got := tableNames(lo); !slices.Equal(got, want[:1]) || slices.Contains(lo.Catalogs, "temp") {
		t.Errorf("other session: catalogs %q tables %q", lo.Catalogs, got)
	}

	// Filters.
	for _, c := range []struct {
		f    CatalogFilter
		want []string
	}{
		{CatalogFilter{Catalog: ptr("temp")}, want[1:]},
		{CatalogFilter{Catalog: ptr("")}, nil},
		{CatalogFilter{SchemaPattern: ptr("bro%")}, want[:1]},
		{CatalogFilter{TablePattern: ptr("scratch\\_v")}, want[2:]},
		{CatalogFilter{TablePattern: ptr("scratch_")}, nil},
		{CatalogFilter{Kinds: []string{"table"}}, want[:1]},
		{CatalogFilter{Kinds: []string{"VIEW"}}, nil},
	} {
		if got := tableNames(listing(t, s, c.f)); !slices.Equal(got, c.want) {
			t.Errorf("%+v: tables %q, want %q", c.f, got, c.want)
		}
	}
	if got := listing(t, s, CatalogFilter{Catalog: ptr("temp")}).Schemas; !slices.Equal(got, []SchemaName{{"temp", "main"}}) {
		t.Errorf("schemas of temp = %+v", got)
	}
}

// TestCatalogColumnTypes: a listed column has the Arrow type a SELECT * of
// its table returns, for Iceberg tables and DuckDB temp tables alike, with
// DuckDB's type name, precision, scale, nullability and comment.
func TestCatalogColumnTypes(t *testing.T) {
	_, _, s := writeEnv(t)
	execN(t, s, `CREATE TABLE bronze.wide (
		id BIGINT NOT NULL, d DECIMAL(18,3), d38 DECIMAL(38,10), f FLOAT, g DOUBLE, ok BOOLEAN,
		day DATE, tod TIME, ts TIMESTAMP, tstz TIMESTAMPTZ, tsns TIMESTAMP_NS, s VARCHAR, u UUID, b BLOB,
		l INTEGER[], ls VARCHAR[][], st STRUCT(a INTEGER, "b c" VARCHAR, n STRUCT(x DOUBLE[])),
		m MAP(VARCHAR, DECIMAL(9,2)), ml MAP(INTEGER, STRUCT(k VARCHAR)[]), h HUGEINT, ti TINYINT, ub UBIGINT)`)
	execN(t, s, `INSERT INTO bronze.wide (id, d, s) VALUES (1, 1.5, 'x')`)
	execN(t, s, `CREATE TABLE silver.empty (a INTEGER, e DECIMAL(4,1))`) // no snapshot: a typed empty view
	execN(t, s, `CREATE TEMP TABLE duck (
		h HUGEINT, uh UHUGEINT, ut UTINYINT, us USMALLINT, ui UINTEGER, ub UBIGINT, i INTERVAL, e ENUM('sad', 'ok'),
		e2 ENUM('x', 'y'), bits BIT, un UNION(n INTEGER, s VARCHAR), arr INTEGER[3], c VARCHAR COLLATE NOCASE,
		tz TIMESTAMPTZ, tms TIMESTAMP_MS, tss TIMESTAMP_S, ttz TIMETZ, j JSON, ls STRUCT("x y" INTEGER)[],
		m MAP(VARCHAR, MAP(INTEGER, BLOB)), d DECIMAL(4,2) NOT NULL, v VARCHAR(10), bn BIGNUM)`)
	// Clients may not COMMENT ON; the session's connection may.
	if err := execSQL(s.main.c, `COMMENT ON COLUMN duck.d IS 'two places'`); err != nil {
		t.Fatal(err)
	}
	execN(t, s, `CREATE TEMP VIEW duck_v AS SELECT h, e, un, d FROM duck`)

	l := listing(t, s, CatalogFilter{Columns: true})
	for _, name := range [][3]string{
		{"lakehouse", "bronze", "wide"}, {"lakehouse", "silver", "empty"}, {"temp", "main", "duck"}, {"temp", "main", "duck_v"},
	} {
		tbl := findTable(l, name[0], name[1], name[2])
		if tbl == nil {
			t.Fatalf("%v not listed: %q", name, tableNames(l))
		}
		sc, _, err := queryAll(t, s, "SELECT * FROM "+strings.Join(name[:], ".")+" LIMIT 0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(tbl.Columns) != sc.NumFields() {
			t.Fatalf("%v: %d columns listed, SELECT * has %d", name, len(tbl.Columns), sc.NumFields())
		}
		for i, c := range tbl.Columns {
			f := sc.Field(i)
			if c.Field.Name != f.Name || !arrow.TypeEqual(c.Field.Type, f.Type, arrow.CheckMetadata()) {
				t.Errorf("%v column %d: listed %s %s, SELECT * gives %s %s", name, i, c.Field.Name, c.Field.Type, f.Name, f.Type)
			}
		}
	}
	// Every type name parsed back: no table fell back to a SELECT * of it.
	var names []string
	for _, tbl := range l.Tables {
		for _, c := range tbl.Columns {
			names = append(names, c.TypeName)
		}
	}
	if types := arrowTypes(s.main, slices.Clone(names)); len(types) != len(slices.Compact(slices.Sorted(slices.Values(names)))) {
		t.Errorf("%d of the type names %q parsed back", len(types), names)
	}
	duck := findTable(l, "temp", "main", "duck")
	col := func(tbl *TableEntry, name string) Column {
		i := slices.IndexFunc(tbl.Columns, func(c Column) bool { return c.Field.Name == name })
		if i < 0 {
			t.Fatalf("%s has no column %s", tbl.Name, name)
		}
		return tbl.Columns[i]
	}
	d := col(duck, "d")
	if d.TypeName != "DECIMAL(4,2)" || d.Precision == nil || *d.Precision != 4 || d.Scale == nil || *d.Scale != 2 ||
		d.Field.Nullable || d.Comment != "two places" {
		t.Errorf("duck.d = %+v", d)
	}
	if h := col(duck, "h"); !h.Field.Nullable || h.TypeName != "HUGEINT" {
		t.Errorf("duck.h = %+v", h)
	}
	wide := findTable(l, "lakehouse", "bronze", "wide")
	// A view keeps no NOT NULL: Iceberg's required columns list as nullable.
	if id := col(wide, "id"); id.TypeName != "BIGINT" || *id.Precision != 64 {
		t.Errorf("wide.id = %+v", id)
	}
}

// TestCatalogColumnsCurrentUnderAsOf: metadata describes the table, not
// the snapshot lakeflight_as_of reads, and needs no pinning to do so.
func TestCatalogColumnsCurrentUnderAsOf(t *testing.T) {
	_, cat, s := writeEnv(t)
	execN(t, s, `CREATE TABLE bronze.events (id BIGINT)`)
	execN(t, s, `INSERT INTO bronze.events VALUES (1)`)
	first := currentSnapshot(t, cat, catalog.Ident{Namespace: "bronze", Name: "events"})
	execN(t, s, `ALTER TABLE bronze.events ADD COLUMN note VARCHAR`)
	execN(t, s, `INSERT INTO bronze.events VALUES (2, 'two')`)
	execN(t, s, fmt.Sprintf("SET lakeflight_as_of = %d", first))

	if sc, _, err := queryAll(t, s, "SELECT * FROM bronze.events", nil); err != nil || sc.NumFields() != 1 {
		t.Fatalf("as of the first snapshot: %v, %v", sc, err)
	}
	tbl := findTable(listing(t, s, CatalogFilter{Columns: true}), "lakehouse", "bronze", "events")
	if tbl == nil || len(tbl.Columns) != 2 || tbl.Columns[1].Field.Name != "note" || tbl.Columns[1].Field.Type.ID() != arrow.STRING {
		t.Fatalf("listed as %+v, want the current schema (id, note)", tbl)
	}
}
