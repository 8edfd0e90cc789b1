package catalog

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// peopleTable creates silver.people (deltaSchema) with one data file of
// ten rows per entry of files, ids 10*f … 10*f+9.
func peopleTable(t *testing.T, c *Catalog, mem memory.Allocator, files int64) Ident {
	t.Helper()
	id := Ident{"silver", "people"}
	mustCreate(t.Context(), t, c, id, deltaSchema)
	for f := range files {
		appendIDs(t, c, mem, id, idRange(f*10, 10)...)
	}
	return id
}

// commitTxn stages fn's change in a Txn on id and commits it.
func commitTxn(t *testing.T, c *Catalog, id Ident, fn func(*Txn) error) int64 {
	t.Helper()
	txn, err := c.Begin(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	if err := fn(txn); err != nil {
		t.Fatal(err)
	}
	snap, err := txn.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// Replace rewrites touched files: after a merge-on-read delete in file 0,
// a copy-on-write change to file 0 (its survivors minus one more row, plus
// a new row) removes the file and its delete file; iceberg-go's scanner
// reads the same rows at every snapshot.
func TestReplace(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := peopleTable(t, c, mem, 3)
	all := idRange(0, 30)
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	files := filesByFirstID(t, st)

	s1 := commitTxn(t, c, id, func(txn *Txn) error {
		return txn.Delta(ctx, nil, []PositionDeletes{{DataFile: files[0].Location, Positions: []int64{2}}}, nil, 1)
	})

	// Survivors of file 0 without row 5, and row 100: one snapshot.
	rows := idRows(t, mem, deltaSchema, append(without(idRange(0, 10), 2, 5), 100)...)
	defer rows.Release()
	s2 := commitTxn(t, c, id, func(txn *Txn) error {
		return txn.Replace(ctx, rows, []string{files[0].Location}, map[string]string{"lakeflight.sql.statement": "UPDATE"}, 2)
	})
	want := append(without(all, 2, 5), 100)
	if got := idsOf(t, c, id, 0); !slices.Equal(got, want) {
		t.Fatalf("after replace: ids %v, want %v", got, want)
	}
	snap := lastSnapshot(t, c, id)
	if snap.SnapshotID != s2 || snap.ParentID != s1 || snap.Operation != "overwrite" ||
		snap.Summary["deleted-data-files"] != "1" || snap.Summary["added-data-files"] != "1" ||
		snap.Summary["removed-position-delete-files"] != "1" || snap.Summary["lakeflight.sql.statement"] != "UPDATE" {
		t.Errorf("replace snapshot: %+v", snap)
	}
	st2, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st2.DataFiles) != 3 || len(st2.DeleteFiles) != 0 {
		t.Errorf("after replace: %d data files, %d delete files; want 3 and 0", len(st2.DataFiles), len(st2.DeleteFiles))
	}
	if got := idsOf(t, c, id, s1); !slices.Equal(got, without(all, 2)) {
		t.Errorf("rows at %d: %v", s1, got)
	}

	// A whole file deleted: nothing to add.
	commitTxn(t, c, id, func(txn *Txn) error { return txn.Replace(ctx, nil, []string{files[10].Location}, nil, 1) })
	if got, want := idsOf(t, c, id, 0), without(want, idRange(10, 10)...); !slices.Equal(got, want) {
		t.Fatalf("after dropping a file: ids %v, want %v", got, want)
	}

	// A file not in the snapshot is refused, and nothing is committed.
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	before := lastSnapshot(t, c, id).SnapshotID
	err = txn.Replace(ctx, nil, []string{files[10].Location}, nil, 1)
	txn.Abort()
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("replacing a file no longer in the table: %v, want ErrInvalidArgument", err)
	}
	if lastSnapshot(t, c, id).SnapshotID != before {
		t.Error("a refused replace committed a snapshot")
	}
}

// Replace pins main like Delta: a writer that committed first makes it a
// conflict.
func TestReplaceConflict(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := newEnv(t)
	c := env.open(t)
	id := peopleTable(t, c, mem, 1)
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rows := idRows(t, mem, deltaSchema, idRange(1, 9)...)
	defer rows.Release()
	if err := txn.Replace(ctx, rows, []string{st.DataFiles[0].Location}, nil, 1); err != nil {
		t.Fatal(err)
	}
	other := env.open(t) // another process on the same catalog
	appendIDs(t, other, mem, id, 50)
	if _, err := txn.Commit(ctx); !errors.Is(err, ErrConflict) {
		t.Fatalf("commit after another writer: %v, want ErrConflict", err)
	}
	if got, want := idsOf(t, c, id, 0), append(idRange(0, 10), 50); !slices.Equal(got, want) {
		t.Fatalf("after the conflict: ids %v, want %v", got, want)
	}
}

func TestSetProperty(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	id := Ident{"silver", "people"}
	mustCreate(ctx, t, c, id, deltaSchema)
	if err := c.SetProperty(ctx, id, PropDeleteMode, ModeCopyOnWrite); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProperty(ctx, id, "owner", "data-team"); err != nil {
		t.Fatal(err)
	}
	props, err := c.Properties(ctx, id)
	if err != nil || props[PropDeleteMode] != ModeCopyOnWrite || props["owner"] != "data-team" {
		t.Fatalf("properties %v (%v)", props, err)
	}
	if err := c.SetProperty(ctx, id, "owner", ""); err != nil {
		t.Fatal(err)
	}
	if props, _ := c.Properties(ctx, id); props["owner"] != "" || props[PropDeleteMode] != ModeCopyOnWrite {
		t.Errorf("after removing owner: %v", props)
	}
	for _, bad := range []struct{ key, value string }{{PropMergeMode, "copy_on_write"}, {"", "x"}} {
		if err := c.SetProperty(ctx, id, bad.key, bad.value); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("SetProperty(%q, %q) = %v, want ErrInvalidArgument", bad.key, bad.value, err)
		}
	}
	if err := c.SetProperty(ctx, Ident{"silver", "nope"}, "owner", "x"); !errors.Is(err, ErrNoSuchTable) {
		t.Errorf("property of a missing table: %v", err)
	}
}

func TestRenameTable(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	for _, ns := range []string{"silver", "gold"} {
		if err := c.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	a, b, g := Ident{"silver", "a"}, Ident{"silver", "b"}, Ident{"gold", "a"}
	mustCreate(ctx, t, c, a, deltaSchema)
	s1 := appendIDs(t, c, mem, a, 1, 2)
	if err := c.RenameTable(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoadTable(ctx, a); !errors.Is(err, ErrNoSuchTable) {
		t.Errorf("old name after rename: %v", err)
	}
	if got := idsOf(t, c, b, s1); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("renamed table at its first snapshot: %v", got)
	}
	if err := c.RenameTable(ctx, b, g); err != nil {
		t.Fatal(err)
	}
	mustCreate(ctx, t, c, a, deltaSchema)
	for _, bad := range []struct {
		from, to Ident
		want     error
	}{
		{a, g, ErrTableAlreadyExists},
		{b, Ident{"silver", "c"}, ErrNoSuchTable},
		{a, Ident{"nope", "c"}, ErrNoSuchNamespace},
	} {
		if err := c.RenameTable(ctx, bad.from, bad.to); !errors.Is(err, bad.want) {
			t.Errorf("RenameTable(%s, %s) = %v, want %v", bad.from, bad.to, err, bad.want)
		}
	}
	if got := idsOf(t, c, g, 0); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("after refused renames: %v", got)
	}
}

func TestReplaceAll(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := peopleTable(t, c, mem, 0)

	// On a table without a snapshot: an append.
	first := idRows(t, mem, deltaSchema, 1, 2, 3)
	defer first.Release()
	s1 := commitTxn(t, c, id, func(txn *Txn) error { return txn.ReplaceAll(ctx, first, nil, 1) })
	appendIDs(t, c, mem, id, 4)
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	commitTxn(t, c, id, func(txn *Txn) error {
		return txn.Delta(ctx, nil, []PositionDeletes{{DataFile: st.DataFiles[0].Location, Positions: []int64{0}}}, nil, 1)
	})

	rows := idRows(t, mem, deltaSchema, 10, 11)
	defer rows.Release()
	commitTxn(t, c, id, func(txn *Txn) error {
		return txn.ReplaceAll(ctx, rows, map[string]string{"lakeflight.sql.statement": "CREATE OR REPLACE TABLE"}, 2)
	})
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{10, 11}) {
		t.Fatalf("after ReplaceAll: %v", got)
	}
	if got := idsOf(t, c, id, s1); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("first snapshot: %v", got)
	}
	snap := lastSnapshot(t, c, id)
	if snap.Operation != "overwrite" || snap.Summary["deleted-data-files"] != "2" || snap.Summary["removed-position-delete-files"] != "1" ||
		snap.Summary["total-records"] != "2" || snap.Summary["total-delete-files"] != "0" {
		t.Errorf("replace-all snapshot: %+v", snap)
	}
}

// A table created under a name another table was renamed away from gets a
// directory of its own.
func TestCreateAfterRenameGetsItsOwnLocation(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := peopleTable(t, c, mem, 1)
	moved := Ident{"silver", "moved"}
	if err := c.RenameTable(ctx, id, moved); err != nil {
		t.Fatal(err)
	}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 100)
	a, err := c.LoadTable(ctx, moved)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Location() == b.Location() || strings.HasPrefix(b.Location(), a.Location()+"/") {
		t.Errorf("the new table's location %s is inside the renamed one's, %s", b.Location(), a.Location())
	}
	if got := idsOf(t, c, moved, 0); !slices.Equal(got, idRange(0, 10)) {
		t.Errorf("renamed table: %v", got)
	}
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{100}) {
		t.Errorf("new table: %v", got)
	}
}
