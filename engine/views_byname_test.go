//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// A table that never had another schema is read matching columns by name,
// so DuckDB knows its size when it plans (a one-file table read through the
// field-id mapping is estimated at 0 rows); after a schema change its view
// maps columns by field id again, and old files read NULL in a new column.
func TestViewsOfOneSchemaTablesMatchByName(t *testing.T) {
	localOnly(t) // checks the local file paths the views read
	_, cat, s := writeEnv(t)
	ctx := context.Background()
	id := catalog.Ident{Namespace: "silver", Name: "card"}
	execN(t, s, "CREATE TABLE silver.card AS SELECT range AS id, (range % 10)::DECIMAL(9,2) AS amount, 'x' || range AS name FROM range(1000)")
	st, err := cat.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !st.FilesMatchSchema {
		t.Fatal("a new table's files do not match its schema")
	}
	sql, err := ViewSQL(st)
	if err != nil || strings.Contains(sql, "schema = map") {
		t.Fatalf("view of a one-schema table: %s (%v)", sql, err)
	}
	plan := strings.Join(flatten(mustQuery(t, s, "EXPLAIN SELECT id FROM silver.card")), "\n")
	if m := regexp.MustCompile(`~([\d,]+) rows`).FindStringSubmatch(plan); m == nil || strings.ReplaceAll(m[1], ",", "") != "1000" {
		t.Errorf("DuckDB's estimate of the table's rows: %v\n%s", m, plan)
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(amount), max(name) FROM silver.card"); got[0][0] != "1000" || got[0][1] != "4500.00" || got[0][2] != "x999" {
		t.Fatalf("read by name: %q", got)
	}

	execN(t, s, "ALTER TABLE silver.card ADD COLUMN note VARCHAR")
	execN(t, s, "ALTER TABLE silver.card RENAME COLUMN name TO label")
	execN(t, s, "INSERT INTO silver.card VALUES (1000, 1.50, 'new', 'hello')")
	st, err = cat.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sql, _ := ViewSQL(st); st.FilesMatchSchema || !strings.Contains(sql, "schema = map") {
		t.Fatalf("after ALTER: files match %v, view %s", st.FilesMatchSchema, sql)
	}
	got := mustQuery(t, s, "SELECT count(*), count(note), max(label), sum(amount) FROM silver.card")
	if got[0][0] != "1001" || got[0][1] != "1" || got[0][2] != "x999" || got[0][3] != "4501.50" {
		t.Fatalf("after ALTER: %q", got)
	}
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// A table rebuilt by CREATE OR REPLACE (a dbt table model) has several
// schemas, but all its current files were written with the newest: it is
// read by name too, until a schema change leaves older files behind. Time
// travel to before the rebuild reads the old columns.
func TestRebuiltTablesMatchByNameUntilAlter(t *testing.T) {
	localOnly(t) // checks the local file paths the views read
	_, cat, s := writeEnv(t)
	ctx := context.Background()
	id := catalog.Ident{Namespace: "silver", Name: "mart"}
	execN(t, s, "CREATE TABLE silver.mart AS SELECT range AS id, 'a' AS old_col FROM range(10)")
	before := currentSnapshot(t, cat, id)
	execN(t, s, "CREATE OR REPLACE TABLE silver.mart AS SELECT range AS id, range * 2 AS twice FROM range(20)")
	execN(t, s, "INSERT INTO silver.mart VALUES (100, 200)")
	byNameNow := func() bool {
		t.Helper()
		st, err := cat.TableState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sql, err := ViewSQL(st)
		if err != nil {
			t.Fatal(err)
		}
		return !strings.Contains(sql, "schema = map")
	}
	if tbl, err := cat.LoadTable(ctx, id); err != nil || len(tbl.Metadata().Schemas()) < 2 {
		t.Fatalf("the rebuild kept one schema (%v): the case is not exercised", err)
	}
	if !byNameNow() {
		t.Fatal("a rebuilt table whose files all have its schema is read by field id")
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(twice) FROM silver.mart"); got[0][0] != "21" || got[0][1] != "580" {
		t.Fatalf("rebuilt: %q", got)
	}
	old := mustQuery(t, s, fmt.Sprintf("SELECT count(*), max(old_col) FROM silver.mart AT (VERSION => %d)", before))
	if old[0][0] != "10" || old[0][1] != "a" {
		t.Fatalf("before the rebuild: %q", old)
	}
	execN(t, s, "ALTER TABLE silver.mart RENAME COLUMN twice TO double")
	if byNameNow() {
		t.Fatal("after a rename the old files would be read by a name they do not have")
	}
	if got := mustQuery(t, s, "SELECT sum(double) FROM silver.mart"); got[0][0] != "580" {
		t.Fatalf("after the rename: %q", got)
	}
	execN(t, s, "INSERT INTO silver.mart VALUES (101, 1)")
	if byNameNow() {
		t.Fatal("files from before the rename are still there")
	}
	execN(t, s, "CREATE OR REPLACE TABLE silver.mart AS SELECT id, double FROM silver.mart")
	if !byNameNow() {
		t.Fatal("after a rebuild every file has the newest schema")
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(double) FROM silver.mart"); got[0][0] != "22" || got[0][1] != "581" {
		t.Fatalf("rebuilt again: %q", got)
	}
}
