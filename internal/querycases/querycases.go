// Package querycases is the shared table of time-travel and snapshot
// metadata queries (SQL and the rows expected) that the engine runs
// in-process and flightsql runs through a real Flight SQL client, against
// the same fixture: a table whose history is a known series of commits.
package querycases

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// Table is the fixture's table.
var Table = catalog.Ident{Namespace: "bronze", Name: "history"}

// Case is one query and its expected result: rows with each cell rendered
// by Render, or, when Err is set, a failure whose message contains Err.
type Case struct {
	Name   string
	SQL    string
	Params []int64 // bound as one row of int64 parameters, when set
	Want   [][]string
	Err    string
}

// Fixture is the history Build committed.
type Fixture struct {
	Snapshots []int64     // s1, s2, s3 in commit order
	Times     []time.Time // their commit times
}

// Build creates bronze.history (namespace bronze must exist) and commits:
// s1 = ids 1–3, s2 = ids 4–5, s3 = id 6; then tags s1 as 'v1' and branches
// s2 as 'audit'. It returns the cases, with snapshot ids and times filled in.
func Build(ctx context.Context, cat *catalog.Catalog) (*Fixture, []Case, error) {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	if err := cat.CreateTable(ctx, Table, sc); err != nil {
		return nil, nil, err
	}
	f := &Fixture{}
	for _, ids := range [][]int64{{1, 2, 3}, {4, 5}, {6}} {
		snap, err := appendIDs(ctx, cat, sc, ids)
		if err != nil {
			return nil, nil, err
		}
		f.Snapshots = append(f.Snapshots, snap)
		time.Sleep(5 * time.Millisecond) // distinct commit times
	}
	snaps, err := cat.Snapshots(ctx, Table)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range f.Snapshots {
		i := slices.IndexFunc(snaps, func(s catalog.Snapshot) bool { return s.SnapshotID == id })
		f.Times = append(f.Times, snaps[i].Timestamp)
	}
	if _, err := cat.CreateTag(ctx, Table, "v1", f.Snapshots[0]); err != nil {
		return nil, nil, err
	}
	if _, err := cat.CreateBranch(ctx, Table, "audit", f.Snapshots[1]); err != nil {
		return nil, nil, err
	}
	return f, f.cases(), nil
}

func appendIDs(ctx context.Context, cat *catalog.Catalog, sc *arrow.Schema, ids []int64) (int64, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append("n" + strconv.FormatInt(id, 10))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	return cat.Append(ctx, Table, rdr, map[string]string{"lakeflight.test": "querycases"})
}

func (f *Fixture) cases() []Case {
	s1, s2, s3 := f.Snapshots[0], f.Snapshots[1], f.Snapshots[2]
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") + "+00" }
	id := func(v int64) string { return strconv.FormatInt(v, 10) }
	rows := func(vals ...string) [][]string {
		out := make([][]string, len(vals))
		for i, v := range vals {
			out[i] = strings.Split(v, "|")
		}
		return out
	}
	return []Case{
		{Name: "current", SQL: "SELECT count(*), sum(id) FROM bronze.history", Want: rows("6|21")},
		{Name: "version", SQL: fmt.Sprintf("SELECT count(*), sum(id) FROM bronze.history AT (VERSION => %d)", s1), Want: rows("3|6")},
		{Name: "three-part name", SQL: fmt.Sprintf("SELECT count(*) FROM lakehouse.bronze.history AT (VERSION => %d)", s2), Want: rows("5")},
		{Name: "alias", SQL: fmt.Sprintf("SELECT h.id FROM bronze.history AS h AT (VERSION => %d) ORDER BY h.id", s1), Want: rows("1", "2", "3")},
		{Name: "table name as qualifier", SQL: fmt.Sprintf("SELECT history.id FROM bronze.history AT (VERSION => %d) WHERE history.id > 2 ORDER BY 1", s2), Want: rows("3", "4", "5")},
		{Name: "tag", SQL: "SELECT count(*) FROM bronze.history AT (VERSION => 'v1')", Want: rows("3")},
		{Name: "branch", SQL: "SELECT max(id) FROM bronze.history AT (VERSION => 'audit')", Want: rows("5")},
		{Name: "timestamptz at a commit", SQL: fmt.Sprintf("SELECT count(*) FROM bronze.history AT (TIMESTAMP => TIMESTAMPTZ '%s')", ts(f.Times[1])), Want: rows("5")},
		{Name: "timestamptz just before a commit", SQL: fmt.Sprintf("SELECT count(*) FROM bronze.history AT (TIMESTAMP => TIMESTAMPTZ '%s' - INTERVAL 1 MILLISECOND)", ts(f.Times[2])), Want: rows("5")},
		{Name: "join of two snapshots", SQL: fmt.Sprintf("SELECT a.id FROM bronze.history AS a AT (VERSION => %d) ANTI JOIN bronze.history AS b AT (VERSION => %d) ON a.id = b.id ORDER BY 1", s3, s1), Want: rows("4", "5", "6")},
		{Name: "subqueries at different snapshots", SQL: fmt.Sprintf("SELECT (SELECT count(*) FROM bronze.history AT (VERSION => %d)), (SELECT count(*) FROM bronze.history AT (VERSION => %d)), (SELECT count(*) FROM bronze.history)", s1, s2), Want: rows("3|5|6")},
		{Name: "cte", SQL: fmt.Sprintf("WITH old AS (SELECT * FROM bronze.history AT (VERSION => %d)) SELECT count(*) FROM old JOIN bronze.history USING (id)", s2), Want: rows("5")},
		{Name: "in-subquery", SQL: fmt.Sprintf("SELECT id FROM bronze.history WHERE id NOT IN (SELECT id FROM bronze.history AT (VERSION => %d)) ORDER BY id", s2), Want: rows("6")},
		{Name: "multi-byte text before the table", SQL: fmt.Sprintf("SELECT 'héllo wörld' AS s, count(*) FROM bronze.history AT (VERSION => %d)", s1), Want: rows("héllo wörld|3")},
		{Name: "parameter", SQL: fmt.Sprintf("SELECT count(*) FROM bronze.history AT (VERSION => %d) WHERE id > ?", s2), Params: []int64{2}, Want: rows("3")},
		{Name: "snapshots", SQL: "SELECT snapshot_id, parent_id, operation FROM iceberg_snapshots('bronze.history') ORDER BY sequence_number",
			Want: rows(id(s1)+"|(null)|append", id(s2)+"|"+id(s1)+"|append", id(s3)+"|"+id(s2)+"|append")},
		{Name: "snapshot summary", SQL: "SELECT summary['added-records'], summary['lakeflight.test'] FROM iceberg_snapshots('bronze.history') ORDER BY sequence_number",
			Want: rows("3|querycases", "2|querycases", "1|querycases")},
		{Name: "history", SQL: "SELECT snapshot_id, is_current_ancestor FROM iceberg_history('bronze.history') ORDER BY made_current_at",
			Want: rows(id(s1)+"|true", id(s2)+"|true", id(s3)+"|true")},
		{Name: "refs", SQL: "SELECT name, type, snapshot_id FROM iceberg_refs('bronze.history') ORDER BY name",
			Want: rows("audit|branch|"+id(s2), "main|branch|"+id(s3), "v1|tag|"+id(s1))},
		{Name: "files", SQL: "SELECT content, record_count, lower_bounds['id'], upper_bounds['id'] FROM iceberg_files('bronze.history') ORDER BY record_count",
			Want: rows("data|1|6|6", "data|2|4|5", "data|3|1|3")},
		{Name: "files at a snapshot", SQL: fmt.Sprintf("SELECT count(*), sum(record_count) FROM iceberg_files('bronze.history', %d)", s2), Want: rows("2|5")},
		{Name: "manifests", SQL: "SELECT count(*), sum(added_rows_count + existing_rows_count) FROM iceberg_manifests('bronze.history')", Want: rows("3|6")},
		{Name: "unknown snapshot", SQL: "SELECT * FROM bronze.history AT (VERSION => 42)", Err: "table bronze.history has no snapshot 42"},
		{Name: "unknown tag", SQL: "SELECT * FROM bronze.history AT (VERSION => 'nope')", Err: `has no tag or branch "nope"`},
		{Name: "before the first snapshot", SQL: "SELECT * FROM bronze.history AT (TIMESTAMP => TIMESTAMPTZ '2001-01-01 00:00:00+00')", Err: "table bronze.history has no snapshot at or before 2001-01-01"},
		{Name: "metadata of an unknown table", SQL: "SELECT * FROM iceberg_snapshots('bronze.nope')", Err: `no Iceberg table "bronze.nope"`},
	}
}

// Render renders a batch's rows, each cell with arrow's ValueStr and NULL
// as "(null)".
func Render(rec arrow.RecordBatch) [][]string {
	out := make([][]string, rec.NumRows())
	for r := range out {
		row := make([]string, rec.NumCols())
		for c := range row {
			col := rec.Column(c)
			if col.IsNull(r) {
				row[c] = "(null)"
			} else {
				row[c] = strings.Clone(col.ValueStr(r))
			}
		}
		out[r] = row
	}
	return out
}
