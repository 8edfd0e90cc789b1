package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/internal/parquettest"
)

func TestParseSortOrder(t *testing.T) {
	sc, err := IcebergSchema(partSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ clause, want string }{
		{"id", "id"},
		{"ts DESC, ID", "ts DESC, id"},
		{"region asc nulls first,  ts desc NULLS LAST", "Region NULLS FIRST, ts DESC"},
		{`"Region" DESC NULLS FIRST`, "Region DESC NULLS FIRST"},
		{"", ""},
	} {
		order, err := ParseSortOrder(c.clause, sc)
		if err != nil {
			t.Errorf("%q: %v", c.clause, err)
			continue
		}
		if got := SortOrderClause(order, sc); got != c.want {
			t.Errorf("%q reads back as %q, want %q", c.clause, got, c.want)
		}
	}
	for _, c := range []struct{ clause, msg string }{
		{"nope", "no column nope"},
		{"id, ts, id DESC", "column id is already sorted by in id"},
		{"day(ts)", "want a column"},
		{"id sideways", `"id sideways" is not a column name`},
		{"id,", "an empty term"},
		{`"region"`, `no column "region"`},
	} {
		_, err := ParseSortOrder(c.clause, sc)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v, want an invalid argument saying %q", c.clause, err, c.msg)
		}
	}
}

// sortedBy checks that the file's rows are in the order of id (column 0)
// and ts (column 2) as keys say, and returns how many rows it has.
func sortedBy(t *testing.T, path string, tsDesc, tsNullsFirst, idDesc bool) int {
	t.Helper()
	at := parquettest.Read(t, path)
	var ids []int64
	var ts []arrow.Timestamp
	var tsNull []bool
	for _, a := range at.Column(0).Data().Chunks() {
		ids = append(ids, a.(*array.Int64).Int64Values()...)
	}
	for _, a := range at.Column(2).Data().Chunks() {
		tsa := a.(*array.Timestamp)
		for i := range tsa.Len() {
			ts = append(ts, tsa.Value(i))
			tsNull = append(tsNull, tsa.IsNull(i))
		}
	}
	// cmp orders rows i and j by ts, then id: negative when i comes first.
	cmp := func(i, j int) int {
		switch {
		case tsNull[i] && tsNull[j]:
		case tsNull[i] != tsNull[j]:
			if tsNull[i] == tsNullsFirst {
				return -1
			}
			return 1
		case ts[i] != ts[j]:
			if (ts[i] < ts[j]) != tsDesc {
				return -1
			}
			return 1
		}
		if ids[i] == ids[j] {
			return 0
		}
		if (ids[i] < ids[j]) != idDesc {
			return -1
		}
		return 1
	}
	for i := 1; i < len(ids); i++ {
		if cmp(i-1, i) > 0 {
			t.Fatalf("%s: row %d (ts %v null %v, id %d) comes before row %d (ts %v null %v, id %d) against the sort order",
				path, i-1, ts[i-1], tsNull[i-1], ids[i-1], i, ts[i], tsNull[i], ids[i])
		}
	}
	return len(ids)
}

// Every file written to a table with a sort order holds its rows in that
// order and says so; a write larger than one sort run makes files that
// each hold one run, so each is sorted as a whole.
func TestSortedWrites(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	if err := c.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatal(err)
	}
	old := sortRunBytes
	sortRunBytes = 16 << 10
	t.Cleanup(func() { sortRunBytes = old })

	for _, tc := range []struct {
		name, partitionBy, order string
		tsDesc, tsNullsFirst     bool
		idDesc                   bool
	}{
		{name: "flat", order: "ts DESC NULLS FIRST, id", tsDesc: true, tsNullsFirst: true},
		{name: "parted", partitionBy: "Region", order: "ts, id DESC", idDesc: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := Ident{"bronze", tc.name}
			var opts []CreateOption
			if tc.partitionBy != "" {
				opts = append(opts, PartitionedBy(tc.partitionBy))
			}
			if err := c.CreateTable(ctx, id, partSchema, opts...); err != nil {
				t.Fatal(err)
			}
			if err := c.SetProperty(ctx, id, PropSortOrder, tc.order); err != nil {
				t.Fatal(err)
			}
			props, err := c.Properties(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := props[PropSortOrder]; got != tc.order {
				t.Errorf("%s reads back as %q, want %q", PropSortOrder, got, tc.order)
			}
			tbl, err := c.LoadTable(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			orderID := tbl.SortOrder().OrderID()
			if orderID == table.UnsortedSortOrderID {
				t.Fatal("the table has no sort order")
			}
			const n = 3300
			rdr := inBatches(t, partRows(t, mem, n), 100)
			defer rdr.Release()
			if _, err := c.Append(ctx, id, rdr, nil); err != nil {
				t.Fatal(err)
			}
			files, err := c.Files(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			parts := map[string]int{}
			rows := 0
			for _, f := range files {
				if f.SortOrderID == nil || *f.SortOrderID != orderID {
					t.Errorf("%s: sort order id %v, want %d", f.Path, f.SortOrderID, orderID)
				}
				rows += sortedBy(t, LocalPath(f.Path), tc.tsDesc, tc.tsNullsFirst, tc.idDesc)
				parts[f.Partition]++
			}
			if rows != n {
				t.Fatalf("%d rows in the files, want %d", rows, n)
			}
			// 3300 rows of four columns are far more than one 16 KiB run.
			for p, k := range parts {
				if k < 2 {
					t.Errorf("partition %s: %d file(s), want one per sort run", p, k)
				}
			}

			// Unsorted again: new files claim no order.
			if err := c.SetProperty(ctx, id, PropSortOrder, ""); err != nil {
				t.Fatal(err)
			}
			props, err = c.Properties(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := props[PropSortOrder]; ok {
				t.Errorf("unsorted, yet %s is %q", PropSortOrder, v)
			}
			more := partRows(t, mem, 10)
			defer more.Release()
			if _, err := c.Append(ctx, id, more, nil); err != nil {
				t.Fatal(err)
			}
			after, err := c.Files(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			unsorted := 0
			for _, f := range after {
				if f.SortOrderID == nil || *f.SortOrderID == table.UnsortedSortOrderID {
					unsorted++
				}
			}
			if unsorted == 0 || len(after) != len(files)+unsorted {
				t.Errorf("after RESET: %d files of %d claim no order, want every new one (%d before)", unsorted, len(after), len(files))
			}
		})
	}
}

// inBatches reads rdr (and releases it) as batches of at most n rows.
func inBatches(t *testing.T, rdr array.RecordReader, n int64) array.RecordReader {
	t.Helper()
	defer rdr.Release()
	var out []arrow.RecordBatch
	for rdr.Next() {
		b := rdr.RecordBatch()
		for off := int64(0); off < b.NumRows(); off += n {
			out = append(out, b.NewSlice(off, min(off+n, b.NumRows())))
		}
	}
	r, err := array.NewRecordReader(rdr.Schema(), out)
	for _, b := range out {
		b.Release()
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Writers keep an order exactly or claim none: a transform keeps order
// only as the last field (ties of day(ts) are not sorted by what follows).
func TestSortKeysOfTransforms(t *testing.T) {
	sc, err := IcebergSchema(partSchema)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := sc.FindFieldByName("id")
	ts, _ := sc.FindFieldByName("ts")
	field := func(f iceberg.NestedField, tr iceberg.Transform) table.SortField {
		return table.SortField{SourceIDs: []int{f.ID}, Transform: tr, Direction: table.SortASC, NullOrder: table.NullsLast}
	}
	for _, c := range []struct {
		fields []table.SortField
		ok     bool
	}{
		{[]table.SortField{field(id, iceberg.IdentityTransform{}), field(ts, iceberg.DayTransform{})}, true},
		{[]table.SortField{field(ts, iceberg.DayTransform{}), field(id, iceberg.IdentityTransform{})}, false},
		{[]table.SortField{field(id, iceberg.BucketTransform{NumBuckets: 4})}, false},
	} {
		order, err := table.NewSortOrder(1, c.fields)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := sortKeysOf(order, sc); ok != c.ok {
			t.Errorf("%v: writers keep it %v, want %v", order, ok, c.ok)
		}
	}
}
