package catalog

import (
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/internal/parquettest"
)

// deltaSchema is the table of the row-level tests: ids identify rows.
var deltaSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// idRows is a reader of one batch of rows (id, "row-<id>") in sc, whose
// further columns are null.
func idRows(t testing.TB, mem memory.Allocator, sc *arrow.Schema, ids ...int64) array.RecordReader {
	t.Helper()
	bld := array.NewRecordBuilder(mem, sc)
	defer bld.Release()
	for _, id := range ids {
		bld.Field(0).(*array.Int64Builder).Append(id)
		bld.Field(1).(*array.StringBuilder).Append("row-" + strconv.FormatInt(id, 10))
		for i := 2; i < sc.NumFields(); i++ {
			bld.Field(i).AppendNull()
		}
	}
	b := bld.NewRecordBatch()
	defer b.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{b})
	if err != nil {
		t.Fatal(err)
	}
	return rdr
}

func idRange(from, n int64) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = from + int64(i)
	}
	return ids
}

// appendIDs commits rows with the given ids as one data file.
func appendIDs(t testing.TB, c *Catalog, mem memory.Allocator, id Ident, ids ...int64) int64 {
	t.Helper()
	rdr := idRows(t, mem, deltaSchema, ids...)
	defer rdr.Release()
	snap, err := c.Append(t.Context(), id, rdr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// idsOf reads the ids of the table's rows at snapshot (0: current) with
// iceberg-go's own scanner, sorted: an independent reader of the deletes.
func idsOf(t *testing.T, c *Catalog, id Ident, snapshot int64) []int64 {
	t.Helper()
	tbl, err := c.LoadTable(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var opts []table.ScanOption
	if snapshot != 0 {
		opts = append(opts, table.WithSnapshotID(snapshot))
	}
	at, err := tbl.Scan(opts...).ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	var ids []int64
	for _, a := range at.Column(0).Data().Chunks() {
		ids = append(ids, a.(*array.Int64).Int64Values()...)
	}
	slices.Sort(ids)
	return ids
}

func without(ids []int64, gone ...int64) []int64 {
	return slices.DeleteFunc(slices.Clone(ids), func(v int64) bool { return slices.Contains(gone, v) })
}

func lastSnapshot(t *testing.T, c *Catalog, id Ident) Snapshot {
	t.Helper()
	snaps, err := c.Snapshots(t.Context(), id)
	if err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots: %v (%v)", snaps, err)
	}
	return snaps[len(snaps)-1]
}

// filesByFirstID maps the first id of each data file to the file, with the
// ids of its rows in row order.
func filesByFirstID(t *testing.T, st *TableState) map[int64]DataFile {
	t.Helper()
	out := map[int64]DataFile{}
	for _, df := range st.DataFiles {
		out[parquettest.Int64s(t, df.Path, 0)[0]] = df
	}
	return out
}

func TestDelta(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := peopleTable(t, c, mem, 3)
	all := idRange(0, 30)

	// DELETE: positions of two files, out of order, repeated, split over
	// two entries for one file.
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	base := txn.BaseSnapshot()
	st, err := txn.State(ctx)
	if err != nil || st.SnapshotID != base || len(st.DataFiles) != 3 {
		t.Fatalf("base state %+v (%v), base snapshot %d", st, err, base)
	}
	files := filesByFirstID(t, st)
	dels := []PositionDeletes{
		{DataFile: files[0].Location, Positions: []int64{3, 1, 3, 0}},
		{DataFile: files[10].Location, Positions: []int64{9}},
		{DataFile: files[0].Location, Positions: []int64{5}},
	}
	if err := txn.Delta(ctx, nil, dels, map[string]string{"lakeflight.statement": "DELETE"}, 2); err != nil {
		t.Fatal(err)
	}
	s1, err := txn.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := idsOf(t, c, id, 0), without(all, 0, 1, 3, 5, 19); !slices.Equal(got, want) {
		t.Fatalf("after delete: ids %v, want %v", got, want)
	}
	snap := lastSnapshot(t, c, id)
	if snap.SnapshotID != s1 || snap.ParentID != base || snap.Operation != "delete" ||
		snap.Summary["lakeflight.statement"] != "DELETE" || snap.Summary["added-position-deletes"] != "5" {
		t.Errorf("delete snapshot: %+v", snap)
	}
	st1, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st1.DataFiles) != 3 || len(st1.DeleteFiles) != 2 {
		t.Fatalf("state after delete: %d data files, %d delete files", len(st1.DataFiles), len(st1.DeleteFiles))
	}
	for _, df := range st1.DeleteFiles {
		checkDeleteFile(t, df, files)
	}

	// UPDATE: the new version of row 7 and the delete of the old one, in
	// one snapshot.
	txn, err = c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rows := idRows(t, mem, deltaSchema, 7)
	defer rows.Release()
	upd := []PositionDeletes{{DataFile: files[0].Location, Positions: []int64{7}}}
	if err := txn.Delta(ctx, rows, upd, map[string]string{"lakeflight.statement": "UPDATE"}, 2); err != nil {
		t.Fatal(err)
	}
	s2, err := txn.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := idsOf(t, c, id, 0), without(all, 0, 1, 3, 5, 19); !slices.Equal(got, want) {
		t.Fatalf("after update: ids %v, want %v (row 7 once)", got, want)
	}
	snap = lastSnapshot(t, c, id)
	if snap.SnapshotID != s2 || snap.ParentID != s1 || snap.Operation != "overwrite" ||
		snap.Summary["lakeflight.statement"] != "UPDATE" || snap.Summary["added-records"] != "1" ||
		snap.Summary["added-position-deletes"] != "1" {
		t.Errorf("update snapshot: %+v", snap)
	}
	if st2, err := c.TableState(ctx, id); err != nil || len(st2.DataFiles) != 4 || len(st2.DeleteFiles) != 3 {
		t.Errorf("state after update: %+v (%v)", st2, err)
	}

	// Time travel: the base snapshot still has every row and no deletes.
	old, err := c.TableStateAt(ctx, id, base)
	if err != nil || len(old.DataFiles) != 3 || len(old.DeleteFiles) != 0 || rowCount(old) != 30 {
		t.Errorf("state at %d: %+v (%v)", base, old, err)
	}
	if got := idsOf(t, c, id, base); !slices.Equal(got, all) {
		t.Errorf("rows at %d: %v", base, got)
	}
}

// checkDeleteFile opens a position-delete file as DuckDB would: Iceberg's
// column names and field ids, zstd, one data file's location in file_path,
// positions sorted and distinct.
func checkDeleteFile(t *testing.T, df DataFile, files map[int64]DataFile) {
	t.Helper()
	if LocalPath(df.Location) != df.Path {
		t.Errorf("delete file location %q, path %q", df.Location, df.Path)
	}
	fi, err := os.Stat(df.Path)
	if err != nil || fi.Size() != df.SizeBytes {
		t.Errorf("delete file %s: %v, size %d, catalog says %d", df.Path, err, fi.Size(), df.SizeBytes)
	}
	pf, err := file.OpenParquetFile(df.Path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	root := pf.MetaData().Schema.Root()
	for i, f := range iceberg.PositionalDeleteSchema.Fields() {
		if n := root.Field(i); n.Name() != f.Name || n.FieldID() != int32(f.ID) {
			t.Errorf("delete file column %d: %s with id %d, want %s with %d", i, n.Name(), n.FieldID(), f.Name, f.ID)
		}
	}
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(1)
	if err != nil || cc.Compression() != compress.Codecs.Lz4Raw {
		t.Errorf("delete file compression: %v (%v)", cc.Compression(), err)
	}
	ch := parquettest.Read(t, df.Path).Column(0).Data()
	paths := map[string]bool{}
	for _, a := range ch.Chunks() {
		for i := range a.Len() {
			paths[a.(*array.String).Value(i)] = true
		}
	}
	want := map[string][]int64{files[0].Location: {0, 1, 3, 5}, files[10].Location: {9}}
	pos := parquettest.Int64s(t, df.Path, 1)
	if len(paths) != 1 {
		t.Fatalf("delete file %s names data files %v, want one", df.Path, paths)
	}
	for p := range paths {
		if !slices.Equal(pos, want[p]) || df.RecordCount != int64(len(pos)) {
			t.Errorf("delete file %s of %s: positions %v (%d records), want %v", df.Path, p, pos, df.RecordCount, want[p])
		}
	}
}

func TestDeltaRejects(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := newEnv(t)
	c, other := env.open(t), env.open(t)
	id := Ident{"silver", "strict"}
	mustCreate(ctx, t, c, id, deltaSchema)
	base := appendIDs(t, c, mem, id, idRange(0, 10)...)

	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	st, err := txn.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loc := st.DataFiles[0].Location
	// A file committed after Begin (by another process) is not in the base.
	appendIDs(t, other, mem, id, 10, 11)
	later, err := other.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var newer string
	for _, df := range later.DataFiles {
		if df.Location != loc {
			newer = df.Location
		}
	}
	wrong := richReader(t, mem, 0, 3)
	defer wrong.Release()
	for name, tc := range map[string]struct {
		rows array.RecordReader
		dels []PositionDeletes
	}{
		"unknown file":     {dels: []PositionDeletes{{DataFile: "file:///nowhere/x.parquet", Positions: []int64{0}}}},
		"file after Begin": {dels: []PositionDeletes{{DataFile: newer, Positions: []int64{0}}}},
		"local path":       {dels: []PositionDeletes{{DataFile: st.DataFiles[0].Path, Positions: []int64{0}}}},
		"past the end":     {dels: []PositionDeletes{{DataFile: loc, Positions: []int64{3, 10}}}},
		"negative":         {dels: []PositionDeletes{{DataFile: loc, Positions: []int64{-1}}}},
		"schema":           {rows: wrong},
	} {
		err := txn.Delta(ctx, tc.rows, tc.dels, nil, 1)
		if !errorsIs(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
		t.Logf("%s: %v", name, err)
	}

	// Nothing to do stages nothing: Commit answers the base snapshot.
	empty := idRows(t, mem, deltaSchema)
	defer empty.Release()
	if err := txn.Delta(ctx, nil, nil, nil, 1); err != nil {
		t.Fatal(err)
	}
	if err := txn.Delta(ctx, empty, []PositionDeletes{{DataFile: loc}}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if snap, err := txn.Commit(ctx); err != nil || snap != base {
		t.Errorf("commit of nothing: snapshot %d (%v), want the base %d", snap, err, base)
	}
	if snaps, _ := c.Snapshots(ctx, id); len(snaps) != 2 {
		t.Errorf("%d snapshots, want 2 (base and the other writer's)", len(snaps))
	}
	if got := idsOf(t, c, id, 0); !slices.Equal(got, idRange(0, 12)) {
		t.Errorf("ids %v", got)
	}
}

// TestDeltaEvolve stages a schema change and a row-level change in one Txn.
func TestDeltaEvolve(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"silver", "evolving"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, idRange(0, 10)...)

	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	st, err := txn.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.EvolveSchema(func(u *table.UpdateSchema) error {
		u.AddColumn([]string{"score"}, iceberg.PrimitiveTypes.Int64, "", false, nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sc, err := txn.ArrowSchema()
	if err != nil || sc.NumFields() != 3 {
		t.Fatalf("schema after adding score: %v (%v)", sc, err)
	}
	rows := idRows(t, mem, sc, 100)
	defer rows.Release()
	dels := []PositionDeletes{{DataFile: st.DataFiles[0].Location, Positions: []int64{0, 9}}}
	if err := txn.Delta(ctx, rows, dels, nil, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := idsOf(t, c, id, 0), append(idRange(1, 8), 100); !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
	if now, err := c.TableState(ctx, id); err != nil || len(now.Schema.Fields()) != 3 || len(now.DeleteFiles) != 1 {
		t.Errorf("state: %+v (%v)", now, err)
	}
}

// TestDeltaConcurrent runs Txns of one process at once: the table lock
// serialises them, so each starts from the last one's snapshot and all land.
func TestDeltaConcurrent(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"silver", "busy"}
	mustCreate(ctx, t, c, id, deltaSchema)

	const n = 8
	run := func(step func(txn *Txn, i int64) error) {
		t.Helper()
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range int64(n) {
			wg.Go(func() {
				txn, err := c.Begin(ctx, id)
				if err != nil {
					errs[i] = err
					return
				}
				defer txn.Abort()
				if err := step(txn, i); err != nil {
					errs[i] = err
					return
				}
				_, errs[i] = txn.Commit(ctx)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("txn %d: %v", i, err)
			}
		}
	}

	// INSERTs: Txn i adds ids 10i..10i+9.
	run(func(txn *Txn, i int64) error {
		rows := idRows(t, mem, deltaSchema, idRange(10*i, 10)...)
		defer rows.Release()
		return txn.Delta(ctx, rows, nil, nil, 2)
	})
	all := idRange(0, 10*n)
	if got := idsOf(t, c, id, 0); !slices.Equal(got, all) {
		t.Fatalf("after %d inserts: ids %v", n, got)
	}
	if snap := lastSnapshot(t, c, id); snap.Operation != "append" {
		t.Errorf("insert snapshot: %+v", snap)
	}

	// DELETEs: Txn i deletes row i of the file Txn i wrote (id 11i).
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	files := filesByFirstID(t, st)
	var gone []int64
	for i := range int64(n) {
		gone = append(gone, 11*i)
	}
	run(func(txn *Txn, i int64) error {
		return txn.Delta(ctx, nil, []PositionDeletes{{DataFile: files[10*i].Location, Positions: []int64{i}}}, nil, 2)
	})
	if got, want := idsOf(t, c, id, 0), without(all, gone...); !slices.Equal(got, want) {
		t.Fatalf("after %d deletes: ids %v, want %v", n, got, want)
	}
	if snaps, _ := c.Snapshots(ctx, id); len(snaps) != 2*n {
		t.Errorf("%d snapshots, want %d", len(snaps), 2*n)
	}
}
