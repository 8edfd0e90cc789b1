package catalog

import (
	"os"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A dropped table takes its directory with it, renamed or not, and leaves
// every other table's files alone; DropIfEmpty does the same for a table
// taken back after a failed create.
func TestDropRemovesTheTablesFiles(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	dirOf := func(id Ident) string {
		t.Helper()
		tbl, err := c.LoadTable(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return LocalPath(tbl.Location())
	}
	exists := func(dir string) bool {
		_, err := os.Stat(dir)
		return err == nil
	}

	// A table renamed away keeps its directory; a new table under the old
	// name gets another. Dropping the renamed one removes only its own.
	id := peopleTable(t, c, mem, 1)
	moved := Ident{"silver", "moved"}
	if err := c.RenameTable(ctx, id, moved); err != nil {
		t.Fatal(err)
	}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 100)
	movedDir, newDir := dirOf(moved), dirOf(id)
	if !exists(movedDir) || !exists(newDir) {
		t.Fatalf("directories before the drop: %s %v, %s %v", movedDir, exists(movedDir), newDir, exists(newDir))
	}
	if err := c.DropTable(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if exists(movedDir) {
		t.Errorf("the dropped table's directory %s is still there", movedDir)
	}
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{100}) {
		t.Errorf("the other table after the drop: %v", got)
	}
	if err := c.DropTable(ctx, id); err != nil {
		t.Fatal(err)
	}
	if exists(newDir) {
		t.Errorf("the dropped table's directory %s is still there", newDir)
	}

	// A table with no snapshot, taken back by DropIfEmpty.
	empty := Ident{"silver", "empty"}
	mustCreate(ctx, t, c, empty, deltaSchema)
	emptyDir := dirOf(empty)
	if !exists(emptyDir) {
		t.Fatalf("a created table has no directory at %s", emptyDir)
	}
	if dropped, err := c.DropIfEmpty(ctx, empty); err != nil || !dropped {
		t.Fatalf("DropIfEmpty: %v %v", dropped, err)
	}
	if exists(emptyDir) {
		t.Errorf("the taken-back table's directory %s is still there", emptyDir)
	}
	// The namespace directory stays for the next table.
	entries, err := os.ReadDir(c.WarehouseDir())
	if err != nil || len(entries) == 0 {
		t.Fatalf("warehouse after the drops: %v %v", entries, err)
	}
}
