package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/parquettest"
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

// A table's partitioning changes with ALTER TABLE: old files keep their
// spec, new ones follow the new spec, and queries and deletes span both.
func TestSQLPartitionEvolution(t *testing.T) {
	_, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "evo"}
	insert := func(from int) {
		t.Helper()
		execN(t, s, fmt.Sprintf(`INSERT INTO silver.evo SELECT range, TIMESTAMP '2026-03-01 00:30:00' + INTERVAL (range %% 4) HOUR
			+ INTERVAL (range %% 2) DAY FROM range(%d, %d)`, from, from+40))
	}
	execN(t, s, "CREATE TABLE silver.evo (id BIGINT, ts TIMESTAMP)")
	insert(0)
	execN(t, s, "ALTER TABLE silver.evo SET PARTITIONED BY (day(ts))")
	insert(40)
	execN(t, s, "ALTER TABLE silver.evo SET PARTITIONED BY (hour(ts))")
	insert(80)

	files, err := cat.Files(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	bySpec := map[int32][]string{}
	for _, f := range files {
		bySpec[f.SpecID] = append(bySpec[f.SpecID], f.Partition)
	}
	// Spec 0: one unpartitioned file; spec 1: two days; spec 2: the four
	// distinct hours (hours since 1970: 2026-03-01 00:00 is 492312).
	slices.Sort(bySpec[2])
	if len(bySpec) != 3 || !slices.Equal(bySpec[0], []string{"{}"}) || len(bySpec[1]) != 2 ||
		!slices.Equal(bySpec[2], []string{`{"ts_hour":492312}`, `{"ts_hour":492314}`, `{"ts_hour":492337}`, `{"ts_hour":492339}`}) {
		t.Fatalf("files by spec: %v", bySpec)
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(id), count(DISTINCT ts) FROM silver.evo"); !slices.Equal(got[0], []string{"120", "7140", "4"}) {
		t.Fatalf("rows across three specs: %q", got)
	}
	// A DELETE that touches files of every spec.
	if n := execN(t, s, "DELETE FROM silver.evo WHERE id % 10 = 0"); n != 12 {
		t.Fatalf("deleted %d rows", n)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.evo"); got[0][0] != "108" {
		t.Fatalf("after delete: %q", got)
	}
	// The partition source cannot be dropped while the spec uses it.
	_, err = s.Exec(context.Background(), "ALTER TABLE silver.evo DROP COLUMN ts")
	if !errors.Is(err, ErrInvalidSQL) || !strings.Contains(err.Error(), "partition source") {
		t.Fatalf("dropping the partition source: %v", err)
	}
	execN(t, s, "ALTER TABLE silver.evo RESET PARTITIONED BY")
	insert(120)
	if got := partitionsOf(t, cat, id); got["{}"] != 2 {
		t.Fatalf("after RESET: %v, want a second unpartitioned file", got)
	}
	for sql, msg := range map[string]string{
		"ALTER TABLE silver.evo SET PARTITIONED BY (nope)":        "no column nope",
		"ALTER TABLE silver.evo SET PARTITIONED BY ()":            "names no column",
		"ALTER TABLE silver.evo SET PARTITIONED BY (id) AND THEN": "unexpected text",
	} {
		if _, err := s.Exec(context.Background(), sql); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", sql, err, msg)
		}
	}
}

// Compaction rewrites each partition's small files (deletes applied) into
// one, in a snapshot of its own; the rows and the old snapshots stay.
func TestCompact(t *testing.T) {
	e, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "cmp"}
	execN(t, s, "CREATE TABLE silver.cmp (id BIGINT, region VARCHAR) PARTITIONED BY (region)")
	for i := range 4 {
		execN(t, s, fmt.Sprintf("INSERT INTO silver.cmp SELECT range, CASE WHEN range %% 2 = 0 THEN 'eu' ELSE 'us' END FROM range(%d, %d)", i*10, i*10+10))
	}
	execN(t, s, "DELETE FROM silver.cmp WHERE id % 5 = 0")
	before := mustQuery(t, s, "SELECT count(*), sum(id) FROM silver.cmp")
	snapBefore := currentSnapshot(t, cat, id)
	if got := partitionsOf(t, cat, id); got[`{"region":"eu"}`] != 4 || got[`{"region":"us"}`] != 4 {
		t.Fatalf("files before: %v", got)
	}

	rep, err := e.Compact(context.Background(), id, CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DataFilesBefore != 8 || rep.DataFilesAfter != 2 || rep.Rewritten != 8 || rep.Commits != 2 || rep.Conflicts != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := partitionsOf(t, cat, id); got[`{"region":"eu"}`] != 1 || got[`{"region":"us"}`] != 1 {
		t.Fatalf("files after: %v", got)
	}
	// Each commit is a replace: the table's rows did not change.
	if got := mustQuery(t, s, "SELECT operation, count(*) FROM iceberg_snapshots('silver.cmp') GROUP BY ALL ORDER BY 1"); fmt.Sprint(got) != "[[append 4] [delete 1] [replace 2]]" {
		t.Fatalf("snapshots after compaction: %v", got)
	}
	files, err := cat.Files(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Content != "data" {
			t.Fatalf("a %s file is left: the deletes should be applied and dropped", f.Content)
		}
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(id) FROM silver.cmp"); !slices.Equal(got[0], before[0]) || got[0][0] != "32" {
		t.Fatalf("rows after compaction %q, before %q", got, before)
	}
	if got := mustQuery(t, s, fmt.Sprintf("SELECT count(*), sum(id) FROM silver.cmp AT (VERSION => %d)", snapBefore)); !slices.Equal(got[0], before[0]) {
		t.Fatalf("the snapshot before compaction reads %q", got)
	}
	// Nothing left to do: no commit.
	rep, err = e.Compact(context.Background(), id, CompactOptions{})
	if err != nil || rep.Commits != 0 || rep.DataFilesAfter != 2 {
		t.Fatalf("second run: %+v (%v)", rep, err)
	}
}

// Compaction while an ingest appends and a reader scans: every
// acknowledged row is there exactly once, and no read fails.
func TestCompactUnderLoad(t *testing.T) {
	e, _, s := writeEnv(t)
	ctx := context.Background()
	id := catalog.Ident{Namespace: "silver", Name: "busy"}
	execN(t, s, "CREATE TABLE silver.busy (id BIGINT, region VARCHAR) PARTITIONED BY (region)")
	for i := range 6 {
		execN(t, s, fmt.Sprintf("INSERT INTO silver.busy SELECT range, 'r' || (range %% 2) FROM range(%d, %d)", i*100, i*100+100))
	}
	writer, err := e.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	reader, err := e.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	stop := make(chan struct{})
	var acked atomic.Int64
	acked.Store(600)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		for i := 6; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n, err := writer.Exec(ctx, fmt.Sprintf("INSERT INTO silver.busy SELECT range, 'r' || (range %% 2) FROM range(%d, %d)", i*100, i*100+100))
			if err != nil {
				errs <- fmt.Errorf("insert: %w", err)
				return
			}
			acked.Add(n)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := queryAll(t, reader, "SELECT count(*) FROM silver.busy", nil); err != nil {
				errs <- fmt.Errorf("read: %w", err)
				return
			}
		}
	})
	commits := 0
	for range 5 {
		rep, err := e.Compact(ctx, id, CompactOptions{})
		if err != nil {
			t.Fatal(err)
		}
		commits += rep.Commits
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustQuery(t, s, "SELECT count(*), count(DISTINCT id) FROM silver.busy")
	if want := fmt.Sprint(acked.Load()); got[0][0] != want || got[0][1] != want {
		t.Fatalf("rows %q, want %s acknowledged, each once", got, want)
	}
	if commits == 0 {
		t.Fatal("no compaction committed beside the writer")
	}
}

// A query's WHERE on a partitioned table pins a view of just the files
// its rows may be in; the answers are those of a full scan.
func TestPruning(t *testing.T) {
	e, cat, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.days (id BIGINT, region VARCHAR, ts TIMESTAMP) PARTITIONED BY (day(ts))")
	execN(t, s, `INSERT INTO silver.days SELECT range, CASE WHEN range % 3 = 0 THEN 'eu' ELSE 'us' END,
		TIMESTAMP '2026-03-01 06:00:00' + INTERVAL (range % 10) DAY FROM range(1000)`)
	if got := partitionsOf(t, cat, catalog.Ident{Namespace: "silver", Name: "days"}); len(got) != 10 {
		t.Fatalf("partitions %v", got)
	}
	snap := currentSnapshot(t, cat, catalog.Ident{Namespace: "silver", Name: "days"})
	for _, c := range []struct {
		sql    string
		want   string
		pruned int64 // files skipped
	}{
		{"SELECT count(*) FROM silver.days WHERE ts >= TIMESTAMP '2026-03-05' AND ts < TIMESTAMP '2026-03-06'", "100", 9},
		{"SELECT count(*) FROM silver.days d WHERE d.ts BETWEEN TIMESTAMP '2026-03-02' AND TIMESTAMP '2026-03-03 23:00:00'", "200", 8},
		{"SELECT count(*) FROM silver.days WHERE ts IN (TIMESTAMP '2026-03-01 06:00:00', TIMESTAMP '2026-03-10 06:00:00') AND region = 'eu'", "68", 8},
		{"SELECT count(*) FROM silver.days WHERE TIMESTAMP '2026-03-09' <= ts", "200", 8},
		{"SELECT count(*) FROM silver.days WHERE ts IS NULL", "0", 10}, // no file has a NULL day
		{fmt.Sprintf("SELECT count(*) FROM silver.days AT (VERSION => %d) WHERE ts < TIMESTAMP '2026-03-02'", snap), "100", 9},
		// A string constant is cast to the column's type, a DATE to its
		// midnight, as DuckDB casts them.
		{"SELECT count(*) FROM silver.days WHERE ts < '2026-03-02'", "100", 9},
		{"SELECT count(*) FROM silver.days WHERE ts >= '2026-03-10T00:00:00' AND id < '1000'", "100", 9},
		{"SELECT count(*) FROM silver.days WHERE ts BETWEEN DATE '2026-03-09' AND '2026-03-09 23:59:59.999999'", "100", 9},
		// An OR whose every side can be planned; a side that cannot is left
		// out of its conjunction, or makes the whole OR unusable when it
		// has nothing else.
		{"SELECT count(*) FROM silver.days WHERE ts < TIMESTAMP '2026-03-02' OR ts >= '2026-03-10'", "200", 8},
		{"SELECT count(*) FROM silver.days WHERE (ts < '2026-03-02' AND id % 2 = 0) OR (region = 'eu' AND ts > '2026-03-09')", "167", 7},
		{"SELECT count(*) FROM silver.days WHERE id < 10 AND (ts < '2026-03-02' OR ts >= '2026-03-10')", "2", 8},
		// The day files of ids ending in 6 to 9 hold no id as low as 5.
		{"SELECT count(*) FROM silver.days WHERE ts < TIMESTAMP '2026-03-02' OR id = 5", "101", 4},
		// Nothing to skip on: an OR with a side that may hold anywhere, a
		// string with an offset against a TIMESTAMP, more digits than
		// DuckDB keeps, a join.
		{"SELECT count(*) FROM silver.days WHERE ts < TIMESTAMP '2026-03-02' OR id % 7 = 5", "229", 0},
		{"SELECT count(*) FROM silver.days WHERE ts < '2026-03-02 00:00:00+00'", "100", 0},
		{"SELECT count(*) FROM silver.days WHERE ts < '2026-03-01 06:00:00.0000001'", "0", 0},
		// A sample is drawn before WHERE filters: no pruning under it.
		{"SELECT count(*) FROM silver.days WHERE ts < TIMESTAMP '2026-03-02' USING SAMPLE 100% (bernoulli)", "100", 0},
		{"SELECT count(*) FROM silver.days TABLESAMPLE 100% (bernoulli) WHERE ts < TIMESTAMP '2026-03-02'", "100", 0},
		{"SELECT count(*) FROM silver.days a JOIN silver.days b USING (id) WHERE a.ts < TIMESTAMP '2026-03-02'", "100", 0},
	} {
		before := e.Stats().PrunedFiles
		got := mustQuery(t, s, c.sql)
		if got[0][0] != c.want {
			t.Errorf("%s: %q, want %s", c.sql, got, c.want)
		}
		if n := e.Stats().PrunedFiles - before; n != c.pruned {
			t.Errorf("%s: skipped %d files, want %d", c.sql, n, c.pruned)
		}
	}
	// Another session, the same filters on the same table state: the pin
	// made for them serves it, with no planning again.
	other, err := e.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	prunings := e.Stats().Prunings
	if got := mustQuery(t, other, "SELECT count(*) FROM silver.days WHERE ts >= TIMESTAMP '2026-03-05' AND ts < TIMESTAMP '2026-03-06'"); got[0][0] != "100" {
		t.Fatalf("another session: %q", got)
	}
	if n := e.Stats().Prunings - prunings; n != 0 {
		t.Fatalf("another session planned the same filters again (%d prunings)", n)
	}

	// EXPLAIN says, per Iceberg reference, how many files are planned with
	// which filter, or why all are read; the cached pin keeps its counts.
	for _, c := range []struct{ sql, want string }{
		{"EXPLAIN SELECT count(*) FROM silver.days WHERE ts >= TIMESTAMP '2026-03-05' AND ts < TIMESTAMP '2026-03-06'",
			fmt.Sprintf("silver.days at snapshot %d: 1 of 10 data files planned with ts >= TIMESTAMP '2026-03-05' AND ts < TIMESTAMP '2026-03-06'", snap)},
		{fmt.Sprintf("EXPLAIN ANALYZE SELECT count(*) FROM silver.days AT (VERSION => %d) WHERE ts < TIMESTAMP '2026-03-02'", snap),
			fmt.Sprintf("silver.days at snapshot %d: 1 of 10 data files planned with ts < TIMESTAMP '2026-03-02'", snap)},
		{"EXPLAIN SELECT count(*) FROM silver.days WHERE ts < TIMESTAMPTZ '2026-03-02 00:00:00+00'",
			fmt.Sprintf("silver.days at snapshot %d: all 10 data files read; no WHERE condition can be planned exactly", snap)},
		{"EXPLAIN SELECT count(*) FROM silver.days WHERE (ts < TIMESTAMP '2026-03-02' AND id >= 0) OR ts >= '2026-03-10'",
			fmt.Sprintf("silver.days at snapshot %d: 2 of 10 data files planned with ((ts < TIMESTAMP '2026-03-02' AND id >= 0) OR ts >= '2026-03-10')", snap)},
		{"EXPLAIN SELECT count(*) FROM silver.days WHERE id >= 0",
			fmt.Sprintf("silver.days at snapshot %d: all 10 data files read; planned with id >= 0, every data file may hold", snap)},
		{"EXPLAIN SELECT count(*) FROM silver.days a JOIN silver.days b USING (id)",
			fmt.Sprintf("silver.days at snapshot %d: all 10 data files read; no WHERE condition to plan with", snap)},
	} {
		rows := mustQuery(t, s, c.sql)
		var notes []string
		for _, r := range rows {
			if r[0] == ExplainScanKey {
				notes = append(notes, r[1])
			}
		}
		if len(notes) == 0 || !strings.HasPrefix(notes[0], c.want) {
			t.Errorf("%s: scan notes %q, want one starting %q", c.sql, notes, c.want)
		}
		if len(rows) < 2 || rows[0][0] == ExplainScanKey {
			t.Errorf("%s: DuckDB's plan is missing: %q", c.sql, rows)
		}
	}
}

// On a TIMESTAMPTZ column only constants that name their offset are
// planned with: others are read in the session's TimeZone.
func TestPruningTimestampTZ(t *testing.T) {
	e, _, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.tz (id BIGINT, ts TIMESTAMPTZ) PARTITIONED BY (day(ts))")
	execN(t, s, "INSERT INTO silver.tz SELECT range, TIMESTAMPTZ '2026-03-01 06:00:00+00' + INTERVAL (range % 10) DAY FROM range(1000)")
	execN(t, s, "SET TimeZone = 'America/New_York'")
	for _, c := range []struct {
		sql    string
		want   string
		pruned int64
	}{
		{"SELECT count(*) FROM silver.tz WHERE ts >= TIMESTAMPTZ '2026-03-05 00:00:00+00' AND ts < '2026-03-06T00:00:00Z'", "100", 9},
		{"SELECT count(*) FROM silver.tz WHERE ts = '2026-03-01 01:00:00-05:00'", "100", 9},
		// Midnight in New York is 05:00 UTC: the day of 2026-03-05 06:00 UTC
		// and no other, read in the session's zone, not planned.
		{"SELECT count(*) FROM silver.tz WHERE ts >= TIMESTAMPTZ '2026-03-05' AND ts < TIMESTAMPTZ '2026-03-06'", "100", 0},
		{"SELECT count(*) FROM silver.tz WHERE ts < TIMESTAMP '2026-03-02'", "100", 0},
	} {
		before := e.Stats().PrunedFiles
		if got := mustQuery(t, s, c.sql); got[0][0] != c.want {
			t.Errorf("%s: %q, want %s", c.sql, got, c.want)
		}
		if n := e.Stats().PrunedFiles - before; n != c.pruned {
			t.Errorf("%s: skipped %d files, want %d", c.sql, n, c.pruned)
		}
	}
}

// A table whose properties ask for upkeep is compacted and its snapshots
// expired after its commits, with no one asking.
func TestAutomaticUpkeep(t *testing.T) {
	e, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "kept"}
	execN(t, s, "CREATE TABLE silver.kept (id BIGINT)")
	for _, p := range [][2]string{
		{catalog.PropUpkeepCompactMinFiles, "3"}, {catalog.PropUpkeepExpireOlderThan, "0d"}, {catalog.PropUpkeepRetainLast, "2"},
	} {
		execN(t, s, fmt.Sprintf("CALL iceberg_set_property('silver.kept', '%s', '%s')", p[0], p[1]))
	}
	for i := range 5 {
		execN(t, s, fmt.Sprintf("INSERT INTO silver.kept SELECT range FROM range(%d, %d)", i*10, i*10+10))
		if err := e.WaitUpkeep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st, err := cat.TableState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	// The third insert made three files, compacted into one; the fifth
	// made three again (that one and two more), compacted again.
	if len(st.DataFiles) != 1 {
		t.Fatalf("%d data files, want 1", len(st.DataFiles))
	}
	if n := snapshotCount(t, cat, id); n != 2 {
		t.Fatalf("%d snapshots kept, want 2", n)
	}
	if got := mustQuery(t, s, "SELECT count(*), sum(id) FROM silver.kept"); !slices.Equal(got[0], []string{"50", "1225"}) {
		t.Fatalf("rows %q", got)
	}
	_, err = s.Exec(context.Background(), "CALL iceberg_set_property('silver.kept', '"+catalog.PropUpkeepCompactMinFiles+"', '1')")
	if !errors.Is(err, catalog.ErrInvalidArgument) || !strings.Contains(err.Error(), "at least 2") {
		t.Fatalf("a bad upkeep property: %v", err)
	}
	_, err = s.Exec(context.Background(), "CALL iceberg_set_property('silver.kept', 'lakeflight.upkeep.compact-min-file', '3')")
	if !errors.Is(err, catalog.ErrInvalidArgument) || !strings.Contains(err.Error(), "is not an upkeep property") {
		t.Fatalf("a misspelt upkeep property: %v", err)
	}
}

// Compaction's notion of a small file follows the table's
// write.target-file-size-bytes.
func TestCompactTargetFromTable(t *testing.T) {
	e, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "sized"}
	execN(t, s, "CREATE TABLE silver.sized (id BIGINT, h VARCHAR)")
	for i := range 3 {
		execN(t, s, fmt.Sprintf("INSERT INTO silver.sized SELECT range, md5(range::VARCHAR) FROM range(%d, %d)", i*100000, i*100000+100000))
	}
	st, err := cat.TableState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.DataFiles {
		if f.SizeBytes < 1<<20*3/4 {
			t.Fatalf("a file of %d bytes: the test needs files over 768 KiB", f.SizeBytes)
		}
	}
	execN(t, s, "CALL iceberg_set_property('silver.sized', 'write.target-file-size-bytes', '1048576')")
	rep, err := e.Compact(context.Background(), id, CompactOptions{})
	if err != nil || rep.Rewritten != 0 {
		t.Fatalf("with a 1 MiB target: %+v (%v), want no file rewritten", rep, err)
	}
	execN(t, s, "CALL iceberg_unset_property('silver.sized', 'write.target-file-size-bytes')")
	rep, err = e.Compact(context.Background(), id, CompactOptions{})
	if err != nil || rep.Rewritten != 3 || rep.DataFilesAfter != 1 {
		t.Fatalf("with the default target: %+v (%v)", rep, err)
	}
}

// ALTER TABLE … SET SORTED BY sorts the rows of every file written after
// it (SQL writes, compaction), on partitioned tables too; files record the
// order, iceberg_properties shows it, and RESET SORTED BY ends it.
func TestSortOrderSQL(t *testing.T) {
	localOnly(t) // reads the written files back by path
	e, cat, s := writeEnv(t)
	id := catalog.Ident{Namespace: "silver", Name: "sorted"}
	execN(t, s, "CREATE TABLE silver.sorted (k BIGINT, id BIGINT, region VARCHAR) PARTITIONED BY (region)")
	insert := func(from, to int) {
		execN(t, s, fmt.Sprintf(`INSERT INTO silver.sorted SELECT (range * 7919) %% 13, (range * 104729) %% 100003,
			CASE WHEN range %% 3 = 0 THEN 'eu' ELSE 'us' END FROM range(%d, %d)`, from, to))
	}
	insert(0, 500) // before any order: unsorted files
	execN(t, s, "ALTER TABLE silver.sorted SET SORTED BY (k DESC, id)")
	if got := mustQuery(t, s, "SELECT value FROM iceberg_properties('silver.sorted') WHERE key = 'write.sort-order'"); len(got) != 1 || got[0][0] != "k DESC, id" {
		t.Fatalf("write.sort-order: %q", got)
	}
	insert(500, 3000)
	insert(3000, 6000)
	ordered := func(path string) bool {
		ks, ids := parquettest.Int64s(t, catalog.LocalPath(path), 0), parquettest.Int64s(t, catalog.LocalPath(path), 1)
		for i := 1; i < len(ks); i++ {
			if ks[i-1] < ks[i] || ks[i-1] == ks[i] && ids[i-1] > ids[i] {
				return false
			}
		}
		return true
	}
	check := func(stage string, wantUnsorted int, rows string) {
		t.Helper()
		files, err := cat.Files(context.Background(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		unsorted := 0
		for _, f := range files {
			if f.SortOrderID == nil || *f.SortOrderID == 0 {
				unsorted++
				continue
			}
			if !ordered(f.Path) {
				t.Errorf("%s: %s claims sort order %d, its rows are not in it", stage, f.Path, *f.SortOrderID)
			}
		}
		if unsorted != wantUnsorted {
			t.Errorf("%s: %d unsorted files of %d, want %d", stage, unsorted, len(files), wantUnsorted)
		}
		if got := mustQuery(t, s, "SELECT count(*) FROM silver.sorted"); got[0][0] != rows {
			t.Errorf("%s: %q rows", stage, got)
		}
	}
	check("after sorted inserts", 2, "6000") // the first insert's eu and us files
	if got := mustQuery(t, s, "SELECT count(*) FROM iceberg_files('silver.sorted') WHERE sort_order_id = 1"); got[0][0] != "4" {
		t.Errorf("iceberg_files: %q files with sort_order_id 1, want 4", got)
	}
	// Compaction rewrites the unsorted files too, into sorted ones.
	if _, err := e.Compact(context.Background(), id, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	check("after compaction", 0, "6000")
	if got := partitionsOf(t, cat, id); got[`{"region":"eu"}`] != 1 || got[`{"region":"us"}`] != 1 {
		t.Fatalf("files after compaction: %v", got)
	}

	execN(t, s, "ALTER TABLE silver.sorted RESET SORTED BY")
	if got := mustQuery(t, s, "SELECT count(*) FROM iceberg_properties('silver.sorted') WHERE key = 'write.sort-order'"); got[0][0] != "0" {
		t.Fatalf("after RESET, write.sort-order is still shown")
	}
	insert(6000, 6010)
	check("after RESET", 2, "6010")

	for _, c := range []struct{ sql, msg string }{
		{"ALTER TABLE silver.sorted SET SORTED BY (nope)", "no column nope"},
		{"ALTER TABLE silver.sorted SET SORTED BY ()", "names no column"},
		{"ALTER TABLE silver.sorted SET SORTED BY (k) extra", "unexpected text"},
		{"CALL iceberg_set_property('silver.sorted', 'write.sort-order', 'k UP')", `"k UP" is not a column name`},
	} {
		if _, err := s.Exec(context.Background(), c.sql); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want an error saying %q", c.sql, err, c.msg)
		}
	}
}

// A column renamed since the table's last snapshot: the filter names it
// by its new name, which the snapshot's schema does not know, so the files
// are read whole (a right answer, no failure) until a write brings the
// schemas together again.
func TestPruningAfterRenameWithoutSnapshot(t *testing.T) {
	e, _, s := writeEnv(t)
	execN(t, s, "CREATE TABLE silver.ren (id BIGINT, ts TIMESTAMP) PARTITIONED BY (day(ts))")
	execN(t, s, "INSERT INTO silver.ren SELECT range, TIMESTAMP '2026-03-01' + INTERVAL (range % 10) DAY FROM range(1000)")
	execN(t, s, "ALTER TABLE silver.ren RENAME COLUMN ts TO moment")
	before := e.Stats().PrunedFiles
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.ren WHERE moment < TIMESTAMP '2026-03-02'"); got[0][0] != "100" {
		t.Fatalf("after the rename: %q", got)
	}
	if n := e.Stats().PrunedFiles - before; n != 0 {
		t.Fatalf("pruned %d files with a name the snapshot's schema does not have", n)
	}
	execN(t, s, "INSERT INTO silver.ren VALUES (5000, TIMESTAMP '2026-03-01 12:00:00')")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.ren WHERE moment < TIMESTAMP '2026-03-02'"); got[0][0] != "101" {
		t.Fatalf("after a write: %q", got)
	}
	if n := e.Stats().PrunedFiles - before; n == 0 {
		t.Fatal("no pruning once a snapshot has the new schema")
	}
}
