package catalog

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// failingReader hands out its batches, then fails: a client that went away
// or a bad row found after data files were already being written.
type failingReader struct {
	array.RecordReader
	err error
}

func (r *failingReader) Err() error {
	if err := r.RecordReader.Err(); err != nil {
		return err
	}
	return r.err
}

// dataFiles lists the Parquet files under the table's directory.
func dataFiles(t *testing.T, c *Catalog, id Ident) []string {
	t.Helper()
	tbl, err := c.LoadTable(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = filepath.WalkDir(LocalPath(tbl.Location()), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".parquet" {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// A write that fails, or is aborted before it commits, takes its data
// files with it; committed files stay.
func TestAbortRemovesTheWritesFiles(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"silver", "aborted"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 1, 2)
	committed := dataFiles(t, c, id)
	if len(committed) != 1 {
		t.Fatalf("committed files: %v", committed)
	}

	// A reader that fails after its rows were handed out.
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rows := idRows(t, mem, deltaSchema, 3, 4, 5)
	defer rows.Release()
	boom := errors.New("the client went away")
	err = txn.Append(ctx, &failingReader{RecordReader: rows, err: boom}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("append: %v", err)
	}
	// The writer removes what it wrote for a failed append at once.
	if got := dataFiles(t, c, id); !slices.Equal(got, committed) {
		t.Fatalf("the failed append left %v before Abort, want only %v", got, committed)
	}
	txn.Abort()
	if got := dataFiles(t, c, id); !slices.Equal(got, committed) {
		t.Errorf("after a failed append: %v, want only %v", got, committed)
	}

	// An append that succeeded but was never committed.
	txn, err = c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	more := idRows(t, mem, deltaSchema, 6)
	defer more.Release()
	if err := txn.Append(ctx, more, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(dataFiles(t, c, id)); n != 2 {
		t.Fatalf("the staged append wrote %d files in all, want 2", n)
	}
	txn.Abort()
	txn.Abort() // twice is fine
	if got := dataFiles(t, c, id); !slices.Equal(got, committed) {
		t.Errorf("after an aborted append: %v, want only %v", got, committed)
	}
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("rows: %v", got)
	}

	// Abort after Commit removes nothing.
	txn, err = c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	last := idRows(t, mem, deltaSchema, 7)
	defer last.Release()
	if err := txn.Append(ctx, last, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	txn.Abort()
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{1, 2, 7}) {
		t.Errorf("rows after a commit and an Abort: %v", got)
	}
}
