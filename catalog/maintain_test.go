package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// expireTable makes bronze.<name> with five snapshots: appends of 1 and 2,
// an overwrite with 3 (the files of 1 and 2 leave the table), appends of 4
// and 5. It returns the snapshot ids in order.
func expireTable(t *testing.T, c *Catalog, mem memory.Allocator, name string) (Ident, []int64) {
	t.Helper()
	ctx := t.Context()
	id := Ident{"bronze", name}
	mustCreate(ctx, t, c, id, deltaSchema)
	snaps := []int64{appendIDs(t, c, mem, id, 1), appendIDs(t, c, mem, id, 2)}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rows := idRows(t, mem, deltaSchema, 3)
	defer rows.Release()
	if err := txn.ReplaceAll(ctx, rows, nil, 1); err != nil {
		t.Fatal(err)
	}
	s3, err := txn.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return id, append(snaps, s3, appendIDs(t, c, mem, id, 4), appendIDs(t, c, mem, id, 5))
}

func TestExpireSnapshots(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id, snaps := expireTable(t, c, mem, "exp")
	if _, err := c.CreateTag(ctx, id, "first", snaps[0]); err != nil {
		t.Fatal(err)
	}
	rep, err := c.ExpireSnapshots(ctx, id, ExpireOptions{RetainLast: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Kept: the last two of main (5, 4) and the tagged first; 2 and 3 go,
	// and with 2 the file of row 2, which no kept snapshot reads.
	left, err := c.Snapshots(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range left {
		ids = append(ids, s.SnapshotID)
	}
	if !slices.Equal(ids, []int64{snaps[0], snaps[3], snaps[4]}) {
		t.Fatalf("snapshots left %v, want %v", ids, []int64{snaps[0], snaps[3], snaps[4]})
	}
	if rep.SnapshotsBefore != 5 || rep.SnapshotsAfter != 3 || rep.FilesAfter >= rep.FilesBefore || rep.BytesAfter >= rep.BytesBefore {
		t.Fatalf("report %+v", rep)
	}
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{3, 4, 5}) {
		t.Fatalf("current rows %v", got)
	}
	// The earlier metadata files, which listed the expired snapshots, are
	// gone from the log and the disk; the table's own setting is back.
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if prev := slices.Collect(tbl.Metadata().PreviousFiles()); len(prev) > 2 {
		t.Errorf("%d earlier metadata files still listed", len(prev))
	}
	if got := tbl.Properties()[table.MetadataPreviousVersionsMaxKey]; got != strconv.Itoa(previousMetadataFiles) {
		t.Errorf("%s is %q after expiry, want %d", table.MetadataPreviousVersionsMaxKey, got, previousMetadataFiles)
	}
	jsons, err := filepath.Glob(filepath.Join(LocalPath(tbl.Location()), "metadata", "*.metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(jsons) > 3 {
		t.Errorf("%d metadata files on disk after expiry, want the current one and up to two earlier", len(jsons))
	}
	if got := idsOf(t, c, id, snaps[0]); !slices.Equal(got, []int64{1}) {
		t.Fatalf("the tagged snapshot reads %v", got)
	}
	if _, err := c.TableStateAt(ctx, id, snaps[1]); !errors.Is(err, ErrNoSuchSnapshot) {
		t.Fatalf("an expired snapshot: %v", err)
	}
	for _, o := range []ExpireOptions{{RetainLast: 0}, {RetainLast: 1, OlderThan: -time.Hour}} {
		if _, err := c.ExpireSnapshots(ctx, id, o); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	// Nothing older than a day: nothing to expire.
	rep, err = c.ExpireSnapshots(ctx, id, ExpireOptions{RetainLast: 1, OlderThan: 24 * time.Hour})
	if err != nil || rep.SnapshotsAfter != 3 || rep.FilesAfter != rep.FilesBefore {
		t.Fatalf("a no-op expiry: %+v (%v)", rep, err)
	}
}

func TestRemoveOrphanFiles(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "orph"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 1, 2)
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(LocalPath(tbl.Location()), "data")
	old, fresh := filepath.Join(data, "stray-old.parquet"), filepath.Join(data, "stray-new.parquet")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("not referenced"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-100 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	dry, err := c.RemoveOrphanFiles(ctx, id, DefaultOrphanAge, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Orphans) != 1 || !strings.HasSuffix(dry.Orphans[0], "stray-old.parquet") || dry.FilesAfter != dry.FilesBefore {
		t.Fatalf("dry run %+v", dry)
	}
	rep, err := c.RemoveOrphanFiles(ctx, id, DefaultOrphanAge, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Orphans) != 1 || rep.FilesAfter != rep.FilesBefore-1 {
		t.Fatalf("report %+v", rep)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("the old orphan is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("the fresh file was removed: %v", err)
	}
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("rows after orphan removal %v", got)
	}
	if _, err := c.RemoveOrphanFiles(ctx, id, time.Minute, true); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a one-minute window: %v", err)
	}
}

// Compact commits on top of appends made after the snapshot it read, and
// refuses (leaving no file) when a delete changed the files it rewrote.
func TestCompactRebasesOnAppendsOnly(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := newEnv(t)
	c := env.open(t)
	id := Ident{"bronze", "cmp"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 1)
	base := appendIDs(t, c, mem, id, 2)
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var replaced []string
	for _, f := range st.DataFiles {
		replaced = append(replaced, f.Location)
	}
	appendIDs(t, c, mem, id, 3) // lands after the compaction read
	rows := idRows(t, mem, deltaSchema, 1, 2)
	snap, err := c.Compact(ctx, id, base, rows, replaced, nil, 1)
	rows.Release()
	if err != nil {
		t.Fatal(err)
	}
	if got := idsOf(t, c, id, snap); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("after compaction %v", got)
	}
	if st, _ := c.TableState(ctx, id); len(st.DataFiles) != 2 {
		t.Fatalf("%d data files, want the compacted one and the appended one", len(st.DataFiles))
	}

	// A delete after the read: the rewrite would bring the row back.
	st, err = c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	base, replaced = st.SnapshotID, nil
	for _, f := range st.DataFiles {
		replaced = append(replaced, f.Location)
	}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Delta(ctx, nil, []PositionDeletes{{DataFile: st.DataFiles[0].Location, Positions: []int64{0}}}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	before := parquetFiles(t, env)
	rows = idRows(t, mem, deltaSchema, 1, 2, 3)
	_, err = c.Compact(ctx, id, base, rows, replaced, nil, 1)
	rows.Release()
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "(delete) changed the table") {
		t.Fatalf("compaction over a delete: %v", err)
	}
	if after := parquetFiles(t, env); after != before {
		t.Fatalf("%d Parquet files before the refused compaction, %d after", before, after)
	}
}

// New tables keep their metadata small: old metadata files go after 10,
// and appends merge manifests.
func TestMetadataStaysSmall(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "small"}
	mustCreate(ctx, t, c, id, deltaSchema)
	for i := range 15 {
		appendIDs(t, c, mem, id, int64(i))
	}
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p := tbl.Properties(); p["commit.manifest-merge.enabled"] != "true" || p["write.metadata.delete-after-commit.enabled"] != "true" {
		t.Fatalf("properties %v", p)
	}
	jsons, err := filepath.Glob(filepath.Join(LocalPath(tbl.Location()), "metadata", "*.metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(jsons) > previousMetadataFiles+1 {
		t.Fatalf("%d metadata files after 15 commits, want at most %d", len(jsons), previousMetadataFiles+1)
	}
	if got := idsOf(t, c, id, 0); len(got) != 15 {
		t.Fatalf("rows %v", got)
	}
}

// RewriteManifests merges the manifests of many appends into few, in a
// snapshot that reads the same rows; a second run has nothing to do.
func TestRewriteManifests(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "manifests"}
	mustCreate(ctx, t, c, id, deltaSchema)
	for i := range 12 {
		appendIDs(t, c, mem, id, int64(i))
	}
	before, err := c.Manifests(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.RewriteManifests(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.Manifests(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 12 || len(after) != 1 || rep.ManifestsRewritten != 12 || rep.ManifestsAdded != 1 || rep.SnapshotsAfter != 13 {
		t.Fatalf("manifests %d → %d, report %+v", len(before), len(after), rep)
	}
	if got := idsOf(t, c, id, 0); len(got) != 12 {
		t.Fatalf("rows after the rewrite %v", got)
	}
	rep, err = c.RewriteManifests(ctx, id)
	if err != nil || rep.SnapshotsAfter != 13 || rep.ManifestsRewritten != 0 {
		t.Fatalf("second run: %+v (%v)", rep, err)
	}
}

// Compaction reads deletes as Parquet position deletes: a table with an
// equality delete (another tool's) is refused, not rewritten wrongly.
func TestFileGroupsRefuseEqualityDeletes(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "eqdel"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 1, 2, 3)
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// iceberg-go writes this delete file, and its writer has no lz4.
	if err := txn.tx.SetProperties(iceberg.Properties{PropCompressionCodec: "zstd"}); err != nil {
		t.Fatal(err)
	}
	rows := idRows(t, mem, deltaSchema, 2)
	rec := rows
	recs := func(yield func(arrow.RecordBatch, error) bool) {
		for rec.Next() {
			if !yield(rec.RecordBatch(), nil) {
				return
			}
		}
	}
	err = txn.tx.CommitEqualityDeletes(ctx, []int{1}, recs, nil)
	rows.Release()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.FileGroups(ctx, id); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "equality_deletes delete file") {
		t.Fatalf("file groups of a table with an equality delete: %v", err)
	}
}
