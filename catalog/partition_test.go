package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/internal/parquettest"
)

var partSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "Region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func TestParsePartitionSpec(t *testing.T) {
	sc, err := IcebergSchema(partSchema)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParsePartitionSpec(` days(ts), bucket(16, ID), region, truncate(3, "name")`, sc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range spec.Fields() {
		got = append(got, f.Name+"="+f.Transform.String())
	}
	want := []string{"ts_day=day", "id_bucket=bucket[16]", "Region=identity", "name_trunc=truncate[3]"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for clause, msg := range map[string]string{
		"":                    "names no column",
		"day(when)":           "no column when",
		"week(ts)":            `unknown transform "week"`,
		"day(name)":           "day cannot be applied to column name of type string",
		"bucket(id)":          "takes a width and a column",
		"bucket(0, id)":       "not a positive whole number",
		"truncate(x, name)":   "not a positive whole number",
		"day(ts), days(ts)":   `the partition field "ts_day" is already made by day(ts)`,
		"day(ts), hour(ts)":   "redundant partition field",
		"id, , ts":            "an empty term",
		"day(ts":              "unbalanced",
		`"region"`:            `no column "region"`,
		"identity(id, name)":  "identity takes one column",
		"a.b":                 "top-level columns only",
		"day(ts) hour(ts)":    "with commas between terms",
		"bucket(16, id, ts)":  "takes a width and a column",
		"truncate(4, \"ts\")": "truncate(4, …) cannot be applied to column ts",
	} {
		_, err := ParsePartitionSpec(clause, sc)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an invalid argument saying %q", clause, err, msg)
		}
	}
}

// partRows makes rows spread over three days and two regions (and NULLs of
// both), interleaved so that no partition arrives as one run.
func partRows(t *testing.T, mem memory.Allocator, n int) array.RecordReader {
	t.Helper()
	b := array.NewRecordBuilder(mem, partSchema)
	defer b.Release()
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		switch i % 5 {
		case 0, 1:
			b.Field(1).(*array.StringBuilder).Append("eu")
		case 2, 3:
			b.Field(1).(*array.StringBuilder).Append("us")
		default:
			b.Field(1).AppendNull()
		}
		if i%11 == 10 {
			b.Field(2).AppendNull()
		} else {
			ts := day0.Add(time.Duration(i%3)*24*time.Hour + time.Duration(i%1440)*time.Minute)
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		}
		b.Field(3).(*array.StringBuilder).Append("n")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	empty := rec.NewSlice(0, 0) // an empty batch must not open a file
	defer empty.Release()
	rdr, err := array.NewRecordReader(partSchema, []arrow.RecordBatch{rec, empty})
	if err != nil {
		t.Fatal(err)
	}
	return rdr
}

func TestPartitionedAppend(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "parts"}
	if err := c.EnsureNamespace(ctx, id.Namespace); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, id, partSchema, PartitionedBy("day(ts), region")); err != nil {
		t.Fatal(err)
	}
	const n = 3300
	rdr := partRows(t, mem, n)
	defer rdr.Release()
	if _, err := c.Append(ctx, id, rdr, nil); err != nil {
		t.Fatal(err)
	}

	// One file per partition: 3 days and a NULL day, times eu, us and NULL.
	files, err := c.Files(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 12 {
		t.Fatalf("%d files, want 12 (4 days × 3 regions)", len(files))
	}
	rows := map[string]int64{}
	var total int64
	for _, f := range files {
		if !strings.Contains(f.Path, "/data/ts_day=") || !strings.Contains(f.Path, "/Region=") {
			t.Errorf("file %s is not under its partition's directory", f.Path)
		}
		var part map[string]any
		if err := json.Unmarshal([]byte(f.Partition), &part); err != nil {
			t.Fatalf("partition %q: %v", f.Partition, err)
		}
		rows[f.Partition] = f.RecordCount
		total += f.RecordCount
	}
	if total != n {
		t.Fatalf("%d rows in the files, want %d", total, n)
	}
	// Days 0..2 from 2026-03-01; rows with i%11 == 10 have no day.
	want := map[string]int64{}
	for i := range n {
		day := `null`
		if i%11 != 10 {
			day = `"2026-03-0` + string(rune('1'+i%3)) + `"`
		}
		region := map[int]string{0: `"eu"`, 1: `"eu"`, 2: `"us"`, 3: `"us"`, 4: `null`}[i%5]
		want[`{"ts_day":`+day+`,"Region":`+region+`}`]++
	}
	if len(rows) != len(want) {
		t.Fatalf("partitions %v, want %v", rows, want)
	}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("partition %s: %d rows, want %d (have %v)", k, rows[k], v, rows)
		}
	}

	// iceberg-go's own planner prunes by the recorded partition values.
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	planned, err := tbl.Scan(table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("Region"), "eu"))).PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(planned) != 4 {
		t.Errorf("a filter on Region = 'eu' planned %d files, want 4", len(planned))
	}
	at := scanAll(t, c, id)
	if at.NumRows() != n {
		t.Fatalf("scan: %d rows, want %d", at.NumRows(), n)
	}
}

func TestPartitionedBucketRoutesEveryRow(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "buckets"}
	if err := c.EnsureNamespace(ctx, id.Namespace); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, id, partSchema, PartitionedBy("bucket(4, id), truncate(1, name)")); err != nil {
		t.Fatal(err)
	}
	rdr := partRows(t, mem, 1000)
	defer rdr.Release()
	// Two writer goroutines: each partition stays with one of them.
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.AppendParallel(ctx, rdr, nil, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.DataFiles) != 4 {
		t.Fatalf("%d files, want 4 (one per bucket)", len(st.DataFiles))
	}
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bucket := iceberg.BucketTransform{NumBuckets: 4}.Transformer(iceberg.PrimitiveTypes.Int64)
	seen := 0
	for _, task := range tasks {
		want := task.File.Partition()[1000]
		ids := parquettest.Read(t, LocalPath(task.File.FilePath())).Column(0).Data().Chunks()
		for _, ch := range ids {
			for _, v := range ch.(*array.Int64).Int64Values() {
				if got := bucket(v); !got.Valid || got.Val != want {
					t.Fatalf("id %d (bucket %v) is in the file of bucket %v", v, got.Val, want)
				}
				seen++
			}
		}
		if task.File.Partition()[1001] != "n" {
			t.Errorf("truncate(1, name) value %v, want n", task.File.Partition()[1001])
		}
	}
	if seen != 1000 {
		t.Fatalf("%d rows in the files, want 1000", seen)
	}
}

// Deleting rows of a partitioned table writes delete files in the data
// files' partitions, which iceberg-go's reader matches to them.
func TestPartitionedDeletes(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	id := Ident{"bronze", "pdel"}
	if err := c.EnsureNamespace(ctx, id.Namespace); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, id, partSchema, PartitionedBy("region")); err != nil {
		t.Fatal(err)
	}
	rdr := partRows(t, mem, 100)
	defer rdr.Release()
	if _, err := c.Append(ctx, id, rdr, nil); err != nil {
		t.Fatal(err)
	}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := txn.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dels []PositionDeletes
	for _, f := range st.DataFiles { // the first two rows of every partition
		dels = append(dels, PositionDeletes{DataFile: f.Location, Positions: []int64{0, 1}})
	}
	if err := txn.Delta(ctx, nil, dels, nil, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	files, err := c.Files(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	byPart := map[string][]string{}
	for _, f := range files {
		byPart[f.Partition] = append(byPart[f.Partition], f.Content)
	}
	for _, p := range []string{`{"Region":"eu"}`, `{"Region":"us"}`, `{"Region":null}`} {
		if got := byPart[p]; !slices.Equal(got, []string{"data", "position_deletes"}) && !slices.Equal(got, []string{"position_deletes", "data"}) {
			t.Errorf("partition %s holds %v, want its data file and its delete file", p, got)
		}
	}
	if at := scanAll(t, c, id); at.NumRows() != 100-6 {
		t.Fatalf("iceberg-go reads %d rows, want %d", at.NumRows(), 100-6)
	}
}

// The boxing-free keys of day(ts), hour(ts) and identity columns group
// rows exactly as the general path does, NULLs and days before 1970
// included.
func TestFastPartitionKeysAgree(t *testing.T) {
	sc, err := IcebergSchema(partSchema)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, partSchema)
	defer b.Release()
	base := time.Date(1969, 12, 30, 22, 0, 0, 0, time.UTC)
	for i := range 500 {
		b.Field(0).(*array.Int64Builder).Append(int64(i % 7))
		b.Field(1).AppendNull()
		if i%13 == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(i*37) * time.Minute).UnixMicro()))
		}
		b.Field(3).AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for _, clause := range []string{"day(ts)", "hour(ts)", "id"} {
		spec, err := ParsePartitionSpec(clause, sc)
		if err != nil {
			t.Fatal(err)
		}
		p, err := newPartitioner(spec, sc)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.fastKeys(rec); !ok {
			t.Fatalf("%s: no fast keys", clause)
		}
		fast, general := p.split(rec), p.splitGeneral(rec)
		if len(fast) != len(general) || len(fast) < 3 {
			t.Fatalf("%s: %d groups fast, %d general", clause, len(fast), len(general))
		}
		for i := range fast {
			if fast[i].key != general[i].key || !slices.Equal(fast[i].row, general[i].row) || !slices.Equal(fast[i].runs, general[i].runs) {
				t.Fatalf("%s: group %d: fast %+v, general %+v", clause, i, *fast[i], *general[i])
			}
		}
	}
}
