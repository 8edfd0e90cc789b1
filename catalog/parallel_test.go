package catalog

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
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
	// Row groups of 1024 rows: the 5000 rows go out as five runs, to
	// writers 0, 1, 2, 0 and 1.
	if err := c.SetProperty(ctx, id, PropRowGroupRows, "1024"); err != nil {
		t.Fatal(err)
	}

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
	// One file per writer, each row group one run of adjacent input rows.
	if st.SnapshotID != snap || len(st.DataFiles) != 3 {
		t.Fatalf("snapshot %d with %d files, want %d with 3 (one per writer)", st.SnapshotID, len(st.DataFiles), snap)
	}
	var groups []int64 // the first id of each row group
	for _, df := range st.DataFiles {
		if !strings.HasPrefix(df.Location, "file:///") || LocalPath(df.Location) != df.Path {
			t.Errorf("data file location %q, path %q", df.Location, df.Path)
		}
		groups = append(groups, rowGroupRuns(t, df.Path)...)
	}
	slices.Sort(groups)
	if want := []int64{0, 1024, 2048, 3072, 4096}; !slices.Equal(groups, want) {
		t.Fatalf("row groups start at ids %v, want runs of 1024 adjacent rows starting at %v", groups, want)
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

// rowGroupRuns checks that each row group of the file holds a run of
// adjacent ids (its id bounds span exactly its row count) and returns the
// first id of each.
func rowGroupRuns(t *testing.T, path string) []int64 {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pf.Close() }()
	var firsts []int64
	for rg := range pf.NumRowGroups() {
		md := pf.MetaData().RowGroup(rg)
		cc, err := md.ColumnChunk(0)
		if err != nil {
			t.Fatal(err)
		}
		st, err := cc.Statistics()
		if err != nil || st == nil {
			t.Fatalf("%s row group %d: no id statistics (%v)", path, rg, err)
		}
		ids, ok := st.(*metadata.Int64Statistics)
		if !ok {
			t.Fatalf("%s row group %d: id statistics are %T", path, rg, st)
		}
		if span := ids.Max() - ids.Min() + 1; span != md.NumRows() {
			t.Errorf("%s row group %d: ids %d to %d in %d rows: not one run of adjacent rows", path, rg, ids.Min(), ids.Max(), md.NumRows())
		}
		firsts = append(firsts, ids.Min())
	}
	return firsts
}

// Every write checks its rows' columns against the table's: order, types
// and NULLs where the table requires a value are refused; rows that never
// hold NULLs may go to a column that allows them.
func TestWritableAs(t *testing.T) {
	table := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	cases := []struct {
		name   string
		fields []arrow.Field
		ok     bool
	}{
		{"same", table.Fields(), true},
		{"required rows into an optional column", []arrow.Field{table.Field(0), {Name: "name", Type: arrow.BinaryTypes.String}}, true},
		{"optional rows into a required column", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, table.Field(1)}, false},
		{"another type", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}, table.Field(1)}, false},
		{"another order", []arrow.Field{table.Field(1), table.Field(0)}, false},
		{"a column short", []arrow.Field{table.Field(0)}, false},
	}
	for _, c := range cases {
		err := writableAs(arrow.NewSchema(c.fields, nil), table)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ok=%t (else ErrInvalidArgument)", c.name, err, c.ok)
		}
	}
}
