//go:build duckdb_arrow

package engine

import (
	"context"
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
	_, cat, s := writeEnv(t)
	ctx := context.Background()
	id := catalog.Ident{Namespace: "silver", Name: "card"}
	execN(t, s, "CREATE TABLE silver.card AS SELECT range AS id, (range % 10)::DECIMAL(9,2) AS amount, 'x' || range AS name FROM range(1000)")
	st, err := cat.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !st.OneSchema {
		t.Fatal("a new table reports more than one schema")
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
	if sql, _ := ViewSQL(st); st.OneSchema || !strings.Contains(sql, "schema = map") {
		t.Fatalf("after ALTER: one schema %v, view %s", st.OneSchema, sql)
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
