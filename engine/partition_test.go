package engine

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// partitionsOf counts a table's live data files per partition (the
// partition as iceberg_files renders it).
func partitionsOf(t *testing.T, cat *catalog.Catalog, id catalog.Ident) map[string]int {
	t.Helper()
	files, err := cat.Files(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range files {
		if f.Content == "data" {
			var m map[string]any
			if err := json.Unmarshal([]byte(f.Partition), &m); err != nil {
				t.Fatal(err)
			}
			out[f.Partition]++
		}
	}
	return out
}

// Tables created PARTITIONED BY get one file per partition from every
// SQL write, and read back the same as unpartitioned ones.
func TestSQLPartitionedTables(t *testing.T) {
	_, cat, s := writeEnv(t)
	ev := catalog.Ident{Namespace: "silver", Name: "ev"}
	execN(t, s, "CREATE TABLE silver.ev (id BIGINT, region VARCHAR, ts TIMESTAMP) PARTITIONED BY (day(ts), region)")
	tbl, err := cat.LoadTable(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if spec := tbl.Spec(); spec.NumFields() != 2 {
		t.Fatalf("spec of silver.ev: %v", spec)
	}
	if n := execN(t, s, `INSERT INTO silver.ev SELECT range, CASE WHEN range % 2 = 0 THEN 'eu' ELSE 'us' END,
		TIMESTAMP '2026-03-01 10:00:00' + INTERVAL (range % 3) DAY FROM range(60)`); n != 60 {
		t.Fatalf("inserted %d rows", n)
	}
	if got := partitionsOf(t, cat, ev); len(got) != 6 {
		t.Fatalf("partitions after INSERT: %v, want 3 days × 2 regions, a file each", got)
	}
	if got := mustQuery(t, s, "SELECT region, count(*), min(id) FROM silver.ev WHERE ts >= TIMESTAMP '2026-03-02' GROUP BY ALL ORDER BY 1"); !slices.EqualFunc(got,
		[][]string{{"eu", "20", "2"}, {"us", "20", "1"}}, slices.Equal[[]string]) {
		t.Fatalf("rows: %q", got)
	}

	// UPDATE moves rows to another partition; DELETE removes some: the
	// delete files land in the partitions of the rows they delete.
	if n := execN(t, s, "UPDATE silver.ev SET region = 'apac' WHERE id < 10"); n != 10 {
		t.Fatalf("updated %d rows", n)
	}
	if n := execN(t, s, "DELETE FROM silver.ev WHERE id >= 50"); n != 10 {
		t.Fatalf("deleted %d rows", n)
	}
	if got := mustQuery(t, s, "SELECT region, count(*) FROM silver.ev GROUP BY ALL ORDER BY 1"); !slices.EqualFunc(got,
		[][]string{{"apac", "10"}, {"eu", "20"}, {"us", "20"}}, slices.Equal[[]string]) {
		t.Fatalf("rows after UPDATE and DELETE: %q", got)
	}
	for p := range partitionsOf(t, cat, ev) {
		if !strings.Contains(p, `"ts_day":"2026-03-0`) {
			t.Errorf("partition %s", p)
		}
	}

	// CREATE TABLE … AS with the clause after the name, and NULL partitions.
	execN(t, s, `CREATE TABLE silver.b PARTITIONED BY (bucket(4, id), truncate(2, code)) AS
		SELECT range AS id, CASE WHEN range % 10 = 0 THEN NULL ELSE 'c' || (range % 3) END AS code FROM range(200)`)
	b := partitionsOf(t, cat, catalog.Ident{Namespace: "silver", Name: "b"})
	nulls := 0
	for p := range b {
		if strings.Contains(p, `"code_trunc":null`) {
			nulls++
		}
	}
	if len(b) < 8 || nulls == 0 {
		t.Fatalf("partitions of silver.b: %v", b)
	}
	if got := mustQuery(t, s, "SELECT count(*), count(code), sum(id) FROM silver.b"); !slices.Equal(got[0], []string{"200", "180", "19900"}) {
		t.Fatalf("silver.b: %q", got)
	}

	// Replacing a partitioned table is refused, and changes nothing.
	_, err = s.Exec(context.Background(), "CREATE OR REPLACE TABLE silver.ev AS SELECT 1 AS x")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "partitioned") {
		t.Fatalf("CREATE OR REPLACE of a partitioned table: %v", err)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.ev"); got[0][0] != "50" {
		t.Fatalf("silver.ev after the refused replace: %q", got)
	}
}
