//go:build duckdb_arrow

package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
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

// A CREATE TABLE … AS logs its phases as the other writes do, under the
// same message, with its tag and the snapshot it committed: the log is how
// a dbt model's time splits into SQL, file writes and the commit.
func TestCreateTableAsLogsItsPhases(t *testing.T) {
	var buf bytes.Buffer
	_, cat, s := writeEnvLogged(t, slog.New(slog.NewJSONHandler(&buf, nil)))
	execN(t, s, `/* {"app": "dbt", "node_id": "model.shop.made"} */ CREATE TABLE silver.made AS SELECT range AS x FROM range(5)`)
	execN(t, s, `/* {"app": "dbt", "node_id": "model.shop.made"} */ CREATE OR REPLACE TABLE silver.made AS SELECT 1 AS y`)
	snaps, err := cat.Snapshots(context.Background(), catalog.Ident{Namespace: "silver", Name: "made"})
	if err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots: %d %v", len(snaps), err)
	}
	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber() // snapshot ids do not fit a float64
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "sql write committed" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d write lines, want 2:\n%s", len(lines), buf.String())
	}
	for i, want := range []struct {
		stmt, rows string
	}{{"CREATE TABLE AS", "5"}, {"CREATE OR REPLACE TABLE", "1"}} {
		m := lines[i]
		if m["statement"] != want.stmt || m["tag"] != "model.shop.made" || m["table"] != "silver.made" ||
			m["rows"] != json.Number(want.rows) || m["snapshot"] != json.Number(strconv.FormatInt(snaps[i].SnapshotID, 10)) {
			t.Errorf("line %d: %v, want %s of %s rows, snapshot %d", i, m, want.stmt, want.rows, snaps[i].SnapshotID)
		}
		for _, phase := range []string{"run", "collect", "create", "write", "commit"} {
			n, ok := m[phase].(json.Number)
			d, err := n.Int64()
			if !ok || err != nil || d < 0 || (d == 0 && (phase == "write" || phase == "commit")) {
				t.Errorf("line %d: phase %s is %v", i, phase, m[phase])
			}
		}
	}
}
