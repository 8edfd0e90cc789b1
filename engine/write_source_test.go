//go:build duckdb_arrow

package engine

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A MERGE whose source is a subquery merges from the subquery's rows staged
// in a TEMP table, with the result DuckDB's own MERGE gives on a copy; a
// table source, and a statement with parameters, are merged as written.
func TestMergeStagesItsSubquerySource(t *testing.T) {
	_, _, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.acc AS SELECT range AS id, range * 10 AS k FROM range(10)")
	execN(t, s, "CREATE TEMP TABLE ref AS SELECT range AS id, range * 10 AS k FROM range(10)")
	execN(t, s, "CREATE TEMP TABLE picks AS SELECT * FROM (VALUES (2, -2), (20, -20)) v(id, k)")
	for _, c := range []struct {
		sql    string // {t}: the target
		staged bool
		rows   int64
	}{
		// The source reads the target itself: the rows before the MERGE.
		{`MERGE INTO {t} AS t USING (SELECT id, k + 1 AS k FROM {t} WHERE id < 3) AS s ON t.id = s.id
		  WHEN MATCHED THEN UPDATE SET k = s.k`, true, 3},
		// A WITH clause the subquery uses, new and changed rows.
		{`WITH n AS (SELECT range + 8 AS id FROM range(4))
		  MERGE INTO {t} AS t USING (SELECT id, id * 100 AS k FROM n) AS s ON t.id = s.id
		  WHEN MATCHED THEN UPDATE SET k = s.k WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.k)`, true, 4},
		// A delete, the alias without AS.
		{`MERGE INTO {t} AS t USING (SELECT 0 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE`, true, 1},
		// No alias: DuckDB calls it unnamed_subquery, so it is merged as written.
		{`MERGE INTO {t} AS t USING (SELECT 1 AS id) ON t.id = unnamed_subquery.id WHEN MATCHED THEN DELETE`, false, 1},
		// A table source is merged as written.
		{`MERGE INTO {t} AS t USING picks AS p ON t.id = p.id WHEN MATCHED THEN UPDATE SET k = p.k
		  WHEN NOT MATCHED THEN INSERT VALUES (p.id, p.k)`, false, 2},
	} {
		for _, target := range []string{"silver.acc", "ref"} {
			q := replaceTarget(c.sql, target)
			if n := execN(t, s, q); n != c.rows {
				t.Fatalf("%s: %d rows, want %d", q, n, c.rows)
			}
			if target == "silver.acc" {
				if staged := s.LastWrite().Source > 0; staged != c.staged {
					t.Errorf("%s: staged %v, want %v", q, staged, c.staged)
				}
			}
		}
		got := mustQuery(t, s, "SELECT * FROM silver.acc ORDER BY id")
		want := mustQuery(t, s, "SELECT * FROM ref ORDER BY id")
		if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Fatalf("after %s: the Iceberg table %q, DuckDB's copy %q", c.sql, got, want)
		}
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM duckdb_tables() WHERE table_name = '__lakeflight_source'"); got[0][0] != "0" {
		t.Errorf("the staged source outlived its statement: %q", got)
	}
}

// A MERGE with parameters is not staged (one staging cannot serve every
// parameter row) and gives the same rows.
func TestMergeWithParametersIsNotStaged(t *testing.T) {
	_, _, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.p AS SELECT range AS id, 0 AS k FROM range(5)")
	st, err := s.Prepare(context.Background(), "MERGE INTO silver.p AS t USING (SELECT ?::BIGINT AS id) AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET k = 1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{1, 3}, nil)
	col := b.NewArray()
	b.Release()
	params := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "1", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 2)
	col.Release()
	defer params.Release()
	if n, err := st.Exec(context.Background(), params); err != nil || n != 2 {
		t.Fatalf("exec: %d %v", n, err)
	}
	if ws := s.LastWrite(); ws.Source != 0 {
		t.Errorf("a MERGE with parameters was staged")
	}
	if got := mustQuery(t, s, "SELECT id FROM silver.p WHERE k = 1 ORDER BY id"); !slices.EqualFunc(got, [][]string{{"1"}, {"3"}}, slices.Equal[[]string]) {
		t.Errorf("rows changed: %q", got)
	}
}

func replaceTarget(sql, target string) string { return strings.ReplaceAll(sql, "{t}", target) }
