package catalog

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// scanAll reads the table's current rows with iceberg-go's own reader.
func scanAll(t *testing.T, c *Catalog, id Ident) arrow.Table {
	t.Helper()
	tbl, err := c.LoadTable(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(at.Release)
	return at
}

func TestAppendParallel(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "par")

	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rdr := richReader(t, mem, 0, 5000)
	defer rdr.Release()
	summary := map[string]string{"lakeflight.ingest.rows": "5000"}
	if err := txn.AppendParallel(ctx, rdr, summary, 3); err != nil {
		t.Fatal(err)
	}
	snap, err := txn.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// One file per writer that took a batch: the batches go to whichever
	// writer is free, so a busy machine may leave a writer without one.
	if st.SnapshotID != snap || len(st.DataFiles) < 1 || len(st.DataFiles) > 3 {
		t.Fatalf("snapshot %d with %d files, want %d with 1 to 3 (at most one per writer)", st.SnapshotID, len(st.DataFiles), snap)
	}
	for _, df := range st.DataFiles {
		if !strings.HasPrefix(df.Location, "file:///") || LocalPath(df.Location) != df.Path {
			t.Errorf("data file location %q, path %q", df.Location, df.Path)
		}
	}
	snaps, _ := c.Snapshots(ctx, id)
	if got := snaps[len(snaps)-1].Summary; got["lakeflight.ingest.rows"] != "5000" || got["added-records"] != "5000" {
		t.Fatalf("summary: %v", got)
	}

	at := scanAll(t, c, id)
	if at.NumRows() != 5000 {
		t.Fatalf("rows = %d", at.NumRows())
	}
	var sum int64
	seen := map[int64]bool{}
	tr := array.NewTableReader(at, 1<<16)
	defer tr.Release()
	for tr.Next() {
		b := tr.RecordBatch()
		ids := b.Column(0).(*array.Int64)
		addr := b.Column(10).(*array.Struct)
		for i := range ids.Len() {
			v := ids.Value(i)
			sum += v
			seen[v] = true
			if want := "city-" + string(rune('0'+v%5)); addr.Field(0).(*array.String).Value(i) != want {
				t.Fatalf("row %d: addr.city %q, want %q", v, addr.Field(0).(*array.String).Value(i), want)
			}
		}
	}
	if len(seen) != 5000 || sum != 5000*4999/2 {
		t.Fatalf("ids: %d distinct, sum %d", len(seen), sum)
	}

	// An empty input still makes a snapshot (an ingest of nothing is an
	// ingest), but no file, even when it has an empty batch.
	txn, err = c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	none := richReader(t, mem, 0, 0)
	defer none.Release()
	if err := txn.AppendParallel(ctx, none, map[string]string{}, 2); err != nil {
		t.Fatal(err)
	}
	s2, err := txn.Commit(ctx)
	if err != nil || s2 == snap {
		t.Fatalf("empty append: snapshot %d (%v), previous %d", s2, err, snap)
	}
	snaps, _ = c.Snapshots(ctx, id)
	if sum := snaps[len(snaps)-1].Summary; sum["total-data-files"] != "3" {
		t.Fatalf("after an empty append: %v, want 3 data files", sum)
	}
}
