package catalog

import (
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// TestCommitSchemaOnly commits a schema change without data (ALTER TABLE
// ADD COLUMN), on a table without a snapshot and on one with.
func TestCommitSchemaOnly(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "alter")

	addColumn := func(name string) int64 {
		t.Helper()
		txn, err := c.Begin(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Abort()
		if err := txn.EvolveSchema(func(u *table.UpdateSchema) error {
			u.AddColumn([]string{name}, iceberg.PrimitiveTypes.String, "", false, nil)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		snap, err := txn.Commit(ctx)
		if err != nil {
			t.Fatalf("adding column %s: %v", name, err)
		}
		st, err := c.TableState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Schema.FindFieldByName(name); !ok || st.SnapshotID != snap {
			t.Fatalf("after adding %s: snapshot %d, Commit said %d; schema %s", name, st.SnapshotID, snap, st.Schema)
		}
		return snap
	}

	if snap := addColumn("note"); snap != 0 {
		t.Errorf("schema change of an empty table: snapshot %d, want 0", snap)
	}
	s1 := appendRows(t, c, mem, id, 0, 10, nil)
	if snap := addColumn("remark"); snap != s1 {
		t.Errorf("schema change: snapshot %d, want the current %d", snap, s1)
	}
	if snaps, _ := c.Snapshots(ctx, id); len(snaps) != 1 {
		t.Errorf("%d snapshots, want 1 (schema changes make none)", len(snaps))
	}
}
