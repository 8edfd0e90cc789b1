package catalog

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestDeltaConflict has a second *Catalog on the same database (another
// process, as far as locking goes) commit between Begin and Commit: a Txn
// with position deletes fails with ErrConflict and leaves nothing behind,
// a Txn that only appends is replayed onto the other writer's snapshot.
func TestDeltaConflict(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := newEnv(t)
	a, b := env.open(t), env.open(t)
	id := Ident{"silver", "contended"}
	mustCreate(ctx, t, a, id, deltaSchema)
	appendIDs(t, a, mem, id, idRange(0, 10)...)

	// deleteIn stages the delete of one position of the table's first
	// file (ids 0..9), with the new version of that row if update.
	deleteIn := func(txn *Txn, pos int64, update bool) {
		t.Helper()
		st, err := txn.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var rows array.RecordReader
		if update {
			rows = idRows(t, mem, deltaSchema, pos)
			defer rows.Release()
		}
		dels := []PositionDeletes{{DataFile: filesByFirstID(t, st)[0].Location, Positions: []int64{pos}}}
		if err := txn.Delta(ctx, rows, dels, nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	conflict := func(txn *Txn) {
		t.Helper()
		snap, err := txn.Commit(ctx)
		if !errorsIs(err, ErrConflict) {
			t.Fatalf("commit after another writer's: snapshot %d, %v; want ErrConflict", snap, err)
		}
		for _, part := range []string{id.String(), strconv.FormatInt(txn.BaseSnapshot(), 10)} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("conflict error %q does not name %s", err, part)
			}
		}
		t.Logf("conflict: %v", err)
	}

	// A DELETE loses to an INSERT: nothing of it is visible, its delete
	// file is gone, and re-running it succeeds.
	files := parquetFiles(t, env)
	txn, err := a.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	deleteIn(txn, 0, false)
	other := appendIDs(t, b, mem, id, 10, 11)
	conflict(txn)
	st, err := a.TableState(ctx, id)
	if err != nil || st.SnapshotID != other || len(st.DeleteFiles) != 0 {
		t.Fatalf("after the conflict: %+v (%v), want snapshot %d without deletes", st, err, other)
	}
	if got := idsOf(t, a, id, 0); !slices.Equal(got, idRange(0, 12)) {
		t.Fatalf("after the conflict: ids %v", got)
	}
	if got := parquetFiles(t, env); got != files+1 {
		t.Errorf("%d parquet files, want %d (the other writer's only)", got, files+1)
	}
	txn, err = a.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	deleteIn(txn, 0, false)
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatalf("re-run: %v", err)
	}

	// Two UPDATEs of row 5: the first to commit wins, the row stays one.
	ta, err := a.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	deleteIn(ta, 5, true)
	deleteIn(tb, 5, true)
	if _, err := ta.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	conflict(tb)
	if got := idsOf(t, b, id, 0); !slices.Equal(got, idRange(1, 11)) {
		t.Fatalf("after two updates of row 5: ids %v", got)
	}

	// An INSERT is replayed onto the other writer's snapshot.
	txn, err = a.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rows := idRows(t, mem, deltaSchema, 20, 21)
	defer rows.Release()
	if err := txn.Delta(ctx, rows, nil, nil, 1); err != nil {
		t.Fatal(err)
	}
	other = appendIDs(t, b, mem, id, 30)
	snap, err := txn.Commit(ctx)
	if err != nil {
		t.Fatalf("insert after another writer's commit: %v", err)
	}
	last := lastSnapshot(t, b, id)
	if last.SnapshotID != snap || last.ParentID != other || last.Operation != "append" {
		t.Errorf("replayed insert: %+v, want snapshot %d on %d", last, snap, other)
	}
	if got, want := idsOf(t, b, id, 0), append(idRange(1, 11), 20, 21, 30); !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
}

// parquetFiles counts the Parquet files in the warehouse.
func parquetFiles(t *testing.T, env *testEnv) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(env.cfg.Warehouse, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
