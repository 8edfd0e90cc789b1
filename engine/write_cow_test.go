//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// A table whose write modes are copy-on-write reads exactly like a
// merge-on-read twin after the same statements, at every snapshot, but its
// touched data files are rewritten: no position-delete file is left, and
// the one written before the switch is removed with its data file.
func TestCopyOnWrite(t *testing.T) {
	_, cat, s := writeEnv(t)
	for _, tbl := range []string{"mor", "cow"} {
		execN(t, s, "CREATE TABLE silver."+tbl+" (id BIGINT, v VARCHAR)")
		for f := range 3 { // three data files of ten rows
			execN(t, s, fmt.Sprintf("INSERT INTO silver.%s SELECT i, 'v' || i FROM range(%d, %d) t(i)", tbl, f*10, f*10+10))
		}
		// A merge-on-read delete before the switch.
		execN(t, s, "DELETE FROM silver."+tbl+" WHERE id = 4")
	}
	for _, op := range []string{"delete", "update", "merge"} {
		execN(t, s, fmt.Sprintf("CALL iceberg_set_property('silver.cow', 'write.%s.mode', 'copy-on-write')", op))
	}
	execN(t, s, "CALL iceberg_set_property('silver.mor', 'write.delete.mode', 'merge-on-read')")
	props := mustQuery(t, s, "SELECT key, value FROM iceberg_properties('silver.cow') WHERE key LIKE 'write.%.mode' ORDER BY key")
	want := [][]string{{"write.delete.mode", "copy-on-write"}, {"write.merge.mode", "copy-on-write"}, {"write.update.mode", "copy-on-write"}}
	if !slices.EqualFunc(props, want, slices.Equal[[]string]) {
		t.Fatalf("properties %q, want %q", props, want)
	}

	steps := []struct {
		sql       string // %s is the table
		affected  int64
		rewritten int64 // surviving rows of the touched files (copy-on-write)
	}{
		// Files 0 (which has the earlier delete) and 1: 9-1 + 10-1 survive.
		{"DELETE FROM silver.%s WHERE id IN (1, 12)", 2, 17},
		// File 2: 10 rows, 2 replaced.
		{"UPDATE silver.%s SET v = v || '!' WHERE id IN (23, 27)", 2, 8},
		// Touches the rewritten files of both earlier steps; 100 is new.
		{`MERGE INTO silver.%s AS t USING (VALUES (0, 'zero'), (13, NULL), (100, 'new')) AS s(id, v) ON t.id = s.id
		  WHEN MATCHED AND s.v IS NULL THEN DELETE
		  WHEN MATCHED THEN UPDATE SET v = s.v
		  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)`, 3, 15},
		// Every row of a file: nothing survives.
		{"DELETE FROM silver.%s WHERE id >= 20 AND id < 30", 10, 0},
	}
	var snaps [][2]int64
	for i, st := range steps {
		for k, tbl := range []string{"mor", "cow"} {
			if n := execN(t, s, fmt.Sprintf(st.sql, tbl)); n != st.affected {
				t.Fatalf("step %d on %s: %d rows affected, want %d", i, tbl, n, st.affected)
			}
			ws := s.LastWrite()
			if ws.CopyOnWrite != (tbl == "cow") {
				t.Fatalf("step %d on %s: LastWrite.CopyOnWrite = %v", i, tbl, ws.CopyOnWrite)
			}
			if tbl == "cow" && ws.RewrittenRows != st.rewritten {
				t.Errorf("step %d: %d rows rewritten, want %d", i, ws.RewrittenRows, st.rewritten)
			}
			if k == 0 {
				snaps = append(snaps, [2]int64{ws.Snapshot, 0})
			} else {
				snaps[i][1] = ws.Snapshot
			}
		}
		mor := mustQuery(t, s, "SELECT * FROM silver.mor ORDER BY id")
		cow := mustQuery(t, s, "SELECT * FROM silver.cow ORDER BY id")
		if !slices.EqualFunc(mor, cow, slices.Equal[[]string]) {
			t.Fatalf("step %d: copy-on-write rows %q, merge-on-read rows %q", i, cow, mor)
		}
		dels := mustQuery(t, s, "SELECT count(*) FROM iceberg_files('silver.cow') WHERE content <> 'data'")
		if dels[0][0] != "0" {
			t.Errorf("step %d: the copy-on-write table has %s delete files", i, dels[0][0])
		}
	}
	if n := mustQuery(t, s, "SELECT count(*) FROM iceberg_files('silver.mor') WHERE content <> 'data'"); n[0][0] == "0" {
		t.Error("the merge-on-read table has no delete files")
	}
	if got := mustQuery(t, s, "SELECT id FROM silver.cow WHERE id IN (0, 13, 100) ORDER BY id"); !slices.EqualFunc(got, [][]string{{"0"}, {"100"}}, slices.Equal[[]string]) {
		t.Errorf("after MERGE: ids %q", got)
	}
	for i, sn := range snaps {
		mor := mustQuery(t, s, fmt.Sprintf("SELECT * FROM silver.mor AT (VERSION => %d) ORDER BY id", sn[0]))
		cow := mustQuery(t, s, fmt.Sprintf("SELECT * FROM silver.cow AT (VERSION => %d) ORDER BY id", sn[1]))
		if !slices.EqualFunc(mor, cow, slices.Equal[[]string]) {
			t.Errorf("snapshot after step %d: copy-on-write rows %q, merge-on-read rows %q", i, cow, mor)
		}
	}
	ops := mustQuery(t, s, "SELECT operation, summary['deleted-data-files'] FROM iceberg_snapshots('silver.cow') ORDER BY sequence_number DESC LIMIT 4")
	for _, op := range ops {
		if op[0] != "overwrite" || op[1] == "" || op[1] == "0" {
			t.Errorf("copy-on-write snapshot: operation %q, deleted-data-files %q", op[0], op[1])
		}
	}
	if n := snapshotCount(t, cat, catalog.Ident{Namespace: "silver", Name: "cow"}); n != 8 {
		t.Errorf("%d snapshots, want 8 (one per statement)", n)
	}
}

func TestTablePropertyRefusals(t *testing.T) {
	_, cat, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.t AS SELECT 1 AS id")
	id := catalog.Ident{Namespace: "silver", Name: "t"}
	before := mustQuery(t, s, "SELECT * FROM iceberg_properties('silver.t')")
	for sql, msg := range map[string]string{
		"CALL iceberg_set_property('silver.t', 'write.delete.mode', 'cow')": `"copy-on-write" or "merge-on-read"`,
		"CALL iceberg_set_property('silver.t', 'owner', NULL)":              "iceberg_unset_property",
		"CALL iceberg_set_property('silver.nope', 'owner', 'x')":            "silver.nope",
		"CALL iceberg_unset_property('silver.t')":                           "iceberg_unset_property",
	} {
		_, err := s.Exec(context.Background(), sql)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want an error mentioning %s", sql, err, msg)
		}
	}
	if after := mustQuery(t, s, "SELECT * FROM iceberg_properties('silver.t')"); !slices.EqualFunc(before, after, slices.Equal[[]string]) {
		t.Errorf("properties changed by refused calls: %q -> %q", before, after)
	}
	execN(t, s, "CALL iceberg_unset_property('silver.t', 'not-there')")
	if n := snapshotCount(t, cat, id); n != 1 {
		t.Errorf("property calls made snapshots: %d", n)
	}
}
