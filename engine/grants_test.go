//go:build duckdb_arrow

package engine

import (
	"slices"
	"testing"
)

// A session granted only gold reads gold's tables and views, and every
// other reference is refused: other namespaces (joined, in subqueries, in
// CTE bodies, bare names after USE), files, table functions that read, and
// statements whose references cannot be checked.
func TestNamespaceGrants(t *testing.T) {
	needViews(t) // its setup makes views
	e, _, admin, _ := viewsEnv(t)
	mustExec(t, admin, "CREATE SCHEMA gold")
	mustExec(t, admin, "CREATE TABLE gold.g AS SELECT * FROM (VALUES (1, 'x'), (2, 'y')) AS v(id, tag)")
	mustExec(t, admin, "CREATE VIEW gold.over_silver AS SELECT count(*) AS n FROM silver.t")
	files := mustQuery(t, admin, "SELECT file_path FROM iceberg_files('silver.t') LIMIT 1")

	s := newSession(t, e)
	s.SetGrants("rita", []string{"gold"})
	for sql, want := range map[string][][]string{
		"SELECT id, tag FROM gold.g ORDER BY id":                  {{"1", "x"}, {"2", "y"}},
		"SELECT count(*) FROM lakehouse.gold.g":                   {{"2"}},
		"WITH c AS (SELECT * FROM gold.g) SELECT count(*) FROM c": {{"2"}},
		"SELECT sum(range) FROM range(4)":                         {{"6"}},
		"SELECT n FROM gold.over_silver":                          {{"3"}}, // a view reads with its creator's rights
		"SELECT count(*) FROM iceberg_snapshots('gold.g')":        {{"1"}},
		"SELECT 1 + 1": {{"2"}},
	} {
		if got := mustQuery(t, s, sql); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: %v, want %v", sql, got, want)
		}
	}
	l := listing(t, s, CatalogFilter{})
	for _, tb := range l.Tables {
		if tb.Catalog == "lakehouse" && tb.Schema != "gold" {
			t.Errorf("the listing shows %s.%s outside the grants", tb.Schema, tb.Name)
		}
	}
	if findTable(l, "lakehouse", "gold", "g") == nil || slices.ContainsFunc(l.Schemas, func(n SchemaName) bool { return n.Schema == "silver" }) {
		t.Errorf("listing: gold.g missing or silver listed: %+v", l.Schemas)
	}
	if got := mustQuery(t, s, "DESCRIBE gold.g"); len(got) != 2 {
		t.Errorf("DESCRIBE gold.g: %v", got)
	}
	wantErr(t, s, "DESCRIBE silver.t", ErrPermission, "silver")
	wantErr(t, s, "SUMMARIZE silver.t", ErrPermission, "silver")
	mustExec(t, s, "USE gold")
	if got := mustQuery(t, s, "SELECT count(*) FROM g"); got[0][0] != "2" {
		t.Errorf("bare name in the granted namespace: %v", got)
	}
	for sql, why := range map[string]string{
		"SELECT * FROM silver.t":                                     "silver.t is in namespace silver",
		"SELECT * FROM gold.g JOIN silver.t USING (id)":              "silver.t is in namespace silver",
		"SELECT * FROM gold.g WHERE id IN (SELECT id FROM silver.t)": "silver.t is in namespace silver",
		"WITH c AS (SELECT * FROM silver.t) SELECT * FROM c":         "silver.t is in namespace silver",
		"SELECT * FROM iceberg_snapshots('silver.t')":                "iceberg_snapshots",
		"SELECT * FROM read_parquet('" + files[0][0] + "')":          "read_parquet",
		"SELECT * FROM '" + files[0][0] + "'":                        "no table or view",
		"SELECT * FROM '" + files[0][0] + "', (WITH \"" + files[0][0] + "\" AS (SELECT 1) SELECT * FROM \"" + files[0][0] + "\") q": "no table or view",
		"SELECT * FROM glob('**')":                                "glob",
		"SELECT * FROM duckdb_tables()":                           "duckdb_tables",
		"SELECT * FROM information_schema.tables":                 "namespace information_schema",
		"EXPLAIN SELECT * FROM silver.t":                          "silver.t",
		"INSERT INTO gold.g VALUES (3, 'z')":                      "statements that write",
		"CREATE TEMP TABLE x AS SELECT * FROM silver.t":           "statements that write",
		"SET search_path = 'silver'":                              "SET search_path",
		"PRAGMA table_info('silver.t')":                           "statements that write",
		"SHOW ALL TABLES":                                         "listing statements",
		"show tables":                                             "listing statements",
		"SHOW SCHEMAS":                                            "listing statements",
		"DESCRIBE":                                                "listing statements",
		"FROM pragma_table_info('silver.t')":                      "pragma_table_info",
		"SELECT * FROM (SHOW silver.t)":                           "silver.t",
		"SELECT * FROM (SHOW ALL TABLES)":                         "lists every namespace",
		"SELECT * FROM (SHOW SCHEMAS)":                            "lists every namespace",
		"SELECT * FROM iceberg_files('gold.'[1:0] || 'silver.t')": "iceberg_files",
		"SELECT pg_get_viewdef(1)":                                "reads the catalog",
		"SET VARIABLE x = (SELECT count(*) FROM silver.t)":        "literal value",
		"SET lakeflight_as_of = (SELECT max(id) FROM silver.t)":   "literal value",
	} {
		wantErr(t, s, sql, ErrPermission, why)
	}
	mustExec(t, s, "USE silver")
	wantErr(t, s, "SELECT * FROM t", ErrPermission, "is in namespace silver")
	// A CTE of the same name elsewhere in the statement does not make the
	// bare name outside its scope a CTE.
	wantErr(t, s, "SELECT * FROM t, (WITH t AS (SELECT 1) SELECT * FROM t) q", ErrPermission, "is in namespace silver")
	mustExec(t, s, "USE gold")
	if got := mustQuery(t, s, "WITH c AS (SELECT 5 AS x) SELECT x FROM c"); got[0][0] != "5" {
		t.Errorf("a CTE: %v", got)
	}
	// The metadata function's table is checked once evaluated too.
	if got := mustQuery(t, s, "SELECT count(*) > 0 FROM iceberg_files('gold.g')"); got[0][0] != "true" {
		t.Errorf("iceberg_files of a granted table: %v", got)
	}

	// Unrestricted again: everything reads.
	s.SetGrants("", nil)
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.t"); got[0][0] != "3" {
		t.Fatalf("after lifting the grants: %v", got)
	}
}
