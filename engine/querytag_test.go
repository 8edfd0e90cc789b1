//go:build duckdb_arrow

package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

func TestQueryTag(t *testing.T) {
	for sql, want := range map[string]string{
		`/* {"app": "dbt", "dbt_version": "1.12.0", "node_id": "model.shop.fct_orders"} */ INSERT INTO t VALUES (1)`: "model.shop.fct_orders",
		"  -- nightly load\nINSERT INTO t VALUES (1)":                                                                "nightly load",
		"/* job 42 */ DELETE FROM t":                                                                                 "job 42",
		`/* {"app": "x"} */ SELECT 1`:                                                                                `{"app": "x"}`,
		"INSERT INTO t VALUES (1) -- trailing":                                                                       "",
		"/* unterminated INSERT INTO t VALUES (1)":                                                                   "",
		"/* bell \a */ SELECT 1":                                                                                     "",
		"/* " + strings.Repeat("é", 150) + " */ SELECT 1":                                                            strings.Repeat("é", 100),
	} {
		if got := queryTag(sql); got != want {
			t.Errorf("queryTag(%.40q) = %q, want %q", sql, got, want)
		}
	}
}

// A write's leading comment names its snapshot: dbt's JSON comment by its
// node_id, any other comment by its text.
func TestWritesCarryTheirQueryTag(t *testing.T) {
	_, cat, s := writeEnv(t)
	execN(t, s, `/* {"app": "dbt", "node_id": "model.shop.tagged"} */ CREATE TABLE silver.tagged AS SELECT 1 AS x`)
	execN(t, s, "-- nightly load\nINSERT INTO silver.tagged VALUES (2)")
	execN(t, s, "INSERT INTO silver.tagged VALUES (3)")
	snaps, err := cat.Snapshots(context.Background(), catalog.Ident{Namespace: "silver", Name: "tagged"})
	if err != nil || len(snaps) != 3 {
		t.Fatalf("snapshots: %d %v", len(snaps), err)
	}
	for i, want := range []string{"model.shop.tagged", "nightly load", ""} {
		if got := snaps[i].Summary["lakeflight.query-tag"]; got != want {
			t.Errorf("snapshot %d tag %q, want %q (summary %v)", i, got, want, snaps[i].Summary)
		}
	}
}
