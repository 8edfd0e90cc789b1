package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// planHistory builds a table whose snapshots cover what planning must get
// right: appends, position deletes (several for one data file, at later
// sequence numbers), an update, a file without rows, manifests merged into
// EXISTING entries, an overwrite that removes every file, and position
// deletes that name their data file only in their bounds. It returns the
// table's snapshot ids, oldest first.
func planHistory(t *testing.T, c *Catalog, id Ident) []int64 {
	t.Helper()
	ctx := t.Context()
	mem := memory.NewGoAllocator()
	mustCreate(ctx, t, c, id, deltaSchema)
	var snaps []int64
	for f := range int64(3) {
		snaps = append(snaps, appendIDs(t, c, mem, id, idRange(f*10, 10)...))
	}
	delta := func(rows []int64, dels func(files map[int64]DataFile) []PositionDeletes) {
		t.Helper()
		txn, err := c.Begin(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Abort()
		st, err := txn.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var reader array.RecordReader
		if len(rows) > 0 {
			r := idRows(t, mem, deltaSchema, rows...)
			defer r.Release()
			reader = r
		}
		if err := txn.Delta(ctx, reader, dels(filesByFirstID(t, st)), nil, 2); err != nil {
			t.Fatal(err)
		}
		s, err := txn.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	// A delete, then a second delete of the same file at a later sequence
	// number, then an update.
	delta(nil, func(files map[int64]DataFile) []PositionDeletes {
		return []PositionDeletes{{DataFile: files[0].Location, Positions: []int64{1, 2}}, {DataFile: files[10].Location, Positions: []int64{0}}}
	})
	delta(nil, func(files map[int64]DataFile) []PositionDeletes {
		return []PositionDeletes{{DataFile: files[0].Location, Positions: []int64{5}}}
	})
	delta([]int64{7}, func(files map[int64]DataFile) []PositionDeletes {
		return []PositionDeletes{{DataFile: files[0].Location, Positions: []int64{7}}}
	})

	// A data file of no rows (PlanFiles leaves it out).
	commit := func(stage func(tx *table.Transaction) error) {
		t.Helper()
		txn, err := c.Begin(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Abort()
		if err := stage(txn.tx); err != nil {
			t.Fatal(err)
		}
		s, err := txn.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	fileOf := func(content iceberg.ManifestEntryContent, name string, rows int64) *iceberg.DataFileBuilder {
		t.Helper()
		b, err := iceberg.NewDataFileBuilder(*iceberg.UnpartitionedSpec, content,
			c.Warehouse()+"/registered/"+name, iceberg.ParquetFile, nil, nil, nil, rows, 100)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	commit(func(tx *table.Transaction) error {
		return tx.AddDataFiles(ctx, []iceberg.DataFile{fileOf(iceberg.EntryContentData, "empty.parquet", 0).Build()}, nil)
	})

	// Merged manifests: the appends so far come back as EXISTING entries.
	commit(func(tx *table.Transaction) error {
		return tx.SetProperties(iceberg.Properties{table.ManifestMergeEnabledKey: "true", table.ManifestMinMergeCountKey: "2"})
	})
	snaps = snaps[:len(snaps)-1] // a property change makes no snapshot
	snaps = append(snaps, appendIDs(t, c, mem, id, idRange(100, 5)...))

	// Overwrite: every file goes, one comes.
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rdr := idRows(t, mem, deltaSchema, idRange(200, 10)...)
	defer rdr.Release()
	if err := txn.Overwrite(ctx, rdr, nil); err != nil {
		t.Fatal(err)
	}
	s, err := txn.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snaps = append(snaps, s)
	snaps = append(snaps, appendIDs(t, c, mem, id, idRange(300, 10)...))
	delta(nil, func(files map[int64]DataFile) []PositionDeletes {
		return []PositionDeletes{{DataFile: files[300].Location, Positions: []int64{0, 9}}}
	})

	// A position delete naming its data file only in its file_path bounds.
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	target := filesByFirstID(t, st)[200].Location
	fieldID := iceberg.PositionalDeleteSchema.Fields()[0].ID
	commit(func(tx *table.Transaction) error {
		df := fileOf(iceberg.EntryContentPosDeletes, "by-bounds-deletes.parquet", 1).
			LowerBoundValues(map[int][]byte{fieldID: []byte(target)}).
			UpperBoundValues(map[int][]byte{fieldID: []byte(target)}).Build()
		return tx.NewRowDelta(nil).AddDeletes(df).Commit(ctx)
	})
	return snaps
}

// TestPlanMatchesPlanFiles: for every snapshot of a table with appends,
// overwrites and position deletes, TableStateAt lists exactly the files,
// in the order, that iceberg-go's PlanFiles plans.
func TestPlanMatchesPlanFiles(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	id := Ident{"silver", "planned"}
	snaps := planHistory(t, c, id)
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sawDeletes, sawEmpty bool
	for _, sid := range snaps {
		snap := tbl.SnapshotByID(sid)
		want, err := scanPlan(ctx, tbl, snap)
		if err != nil {
			t.Fatal(err)
		}
		got, err := planFiles(ctx, fs, snap)
		if err != nil {
			t.Fatalf("snapshot %d: %v", sid, err)
		}
		if !slices.Equal(got.data, want.data) || !slices.Equal(got.deletes, want.deletes) {
			t.Errorf("snapshot %d:\n planned %+v\n PlanFiles %+v", sid, got, want)
		}
		// Through the cache, twice.
		for range 2 {
			st, err := c.TableStateAt(ctx, id, sid)
			if err != nil || !slices.Equal(st.DataFiles, want.data) || !slices.Equal(st.DeleteFiles, want.deletes) {
				t.Errorf("TableStateAt(%d) = %+v (%v), want %+v", sid, st, err, want)
			}
		}
		sawDeletes = sawDeletes || len(want.deletes) > 1
		// The file without rows is in the table, not in the plan.
		sawEmpty = sawEmpty || snap.Summary.Properties["added-data-files"] == "1" && snap.Summary.Properties["added-records"] == "" &&
			snap.Summary.Properties["total-data-files"] == strconv.Itoa(len(want.data)+1)
	}
	if !sawDeletes || !sawEmpty {
		t.Errorf("the history lacks a case: deletes %v, empty file %v", sawDeletes, sawEmpty)
	}
	// The current state too (read with the table's schema).
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := scanPlan(ctx, tbl, tbl.CurrentSnapshot())
	if !slices.Equal(st.DataFiles, want.data) || !slices.Equal(st.DeleteFiles, want.deletes) || len(st.DeleteFiles) != 2 {
		t.Errorf("TableState = %+v, want %+v", st, want)
	}
}

// TestPlanFallsBack: deletes planFiles does not match itself (here a
// position delete that covers a whole partition) are planned by PlanFiles.
func TestPlanFallsBack(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	id := Ident{"silver", "scoped"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, memory.NewGoAllocator(), id, 1, 2, 3)
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	fieldID := iceberg.PositionalDeleteSchema.Fields()[0].ID
	b, err := iceberg.NewDataFileBuilder(*iceberg.UnpartitionedSpec, iceberg.EntryContentPosDeletes,
		c.Warehouse()+"/registered/scoped-deletes.parquet", iceberg.ParquetFile, nil, nil, nil, 2, 100)
	if err != nil {
		t.Fatal(err)
	}
	df := b.LowerBoundValues(map[int][]byte{fieldID: []byte("file:///a")}).
		UpperBoundValues(map[int][]byte{fieldID: []byte("file:///zzz")}).Build()
	if err := txn.tx.NewRowDelta(nil).AddDeletes(df).Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := tbl.FS(ctx)
	if _, err := planFiles(ctx, fs, tbl.CurrentSnapshot()); !errors.Is(err, errNeedsFullPlan) {
		t.Fatalf("planFiles: %v, want errNeedsFullPlan", err)
	}
	want, err := scanPlan(ctx, tbl, tbl.CurrentSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.TableState(ctx, id)
	if err != nil || !slices.Equal(st.DataFiles, want.data) || !slices.Equal(st.DeleteFiles, want.deletes) || len(st.DeleteFiles) != 1 {
		t.Errorf("TableState = %+v (%v), want %+v", st, err, want)
	}
}

// TestScanManifest: the fast manifest reader reads every manifest of the
// history as iceberg-go's reader does.
func TestScanManifest(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	id := Ident{"silver", "manifests"}
	snaps := planHistory(t, c, id)
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := tbl.FS(ctx)
	seen := map[string]bool{}
	var existing, byBounds int
	for _, sid := range snaps {
		manifests, err := tbl.SnapshotByID(sid).Manifests(fs)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range manifests {
			if seen[m.FilePath()] {
				continue
			}
			seen[m.FilePath()] = true
			for _, bounds := range []bool{false, true} {
				got, err := scanManifest(fs, m, bounds)
				if err != nil {
					t.Fatalf("manifest %s: %v", m.FilePath(), err)
				}
				want, err := readManifestSlow(ctx, fs, m, bounds)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("manifest %s (bounds %v):\n fast %+v\n iceberg-go %+v", m.FilePath(), bounds, got, want)
				}
				for _, e := range got {
					if !bounds && e.status == iceberg.EntryStatusEXISTING {
						existing++
					}
					if bounds && e.ref == "" && e.referenced() != "" {
						byBounds++
					}
				}
			}
		}
	}
	if len(seen) < 8 || existing == 0 || byBounds == 0 {
		t.Errorf("%d manifests read, %d EXISTING entries, %d deletes naming their file by bounds", len(seen), existing, byBounds)
	}
}

// TestScanManifestVersions: manifests of each format version, with and
// without sequence numbers, column metrics and deletes, read as iceberg-go
// reads them.
func TestScanManifestVersions(t *testing.T) {
	for _, version := range []int{1, 2, 3} {
		for _, content := range []iceberg.ManifestEntryContent{iceberg.EntryContentData, iceberg.EntryContentPosDeletes} {
			if version == 1 && content != iceberg.EntryContentData {
				continue
			}
			t.Run(fmt.Sprintf("v%d-%s", version, contentName(content)), func(t *testing.T) {
				m, data := sampleManifest(t, version, content)
				want, err := iceberg.ReadManifest(m, bytes.NewReader(data), true)
				if err != nil {
					t.Fatal(err)
				}
				for _, bounds := range []bool{false, true} {
					got, err := parseManifest(data, m, bounds)
					if err != nil {
						t.Fatal(err)
					}
					wantScanned := make([]scannedEntry, len(want))
					for i, e := range want {
						wantScanned[i] = scannedOf(e, bounds)
					}
					if fmt.Sprint(got) != fmt.Sprint(wantScanned) || len(got) != 3 {
						t.Errorf("bounds %v:\n fast %+v\n iceberg-go %+v", bounds, got, wantScanned)
					}
				}
			})
		}
	}
}

// TestScanManifestDamaged: a damaged manifest is left to iceberg-go's
// reader, never misread.
func TestScanManifestDamaged(t *testing.T) {
	m, data := sampleManifest(t, 2, iceberg.EntryContentPosDeletes)
	if _, err := parseManifest(data, m, true); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{0, 3, 10, len(data) / 2, len(data) - 17, len(data) - 1} {
		if _, err := parseManifest(data[:cut], m, true); !errors.Is(err, errSlowPath) {
			t.Errorf("cut at %d of %d: %v, want errSlowPath", cut, len(data), err)
		}
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)-1] ^= 0xff // the sync marker
	if _, err := parseManifest(flipped, m, true); !errors.Is(err, errSlowPath) {
		t.Errorf("bad sync marker: %v", err)
	}
	other, _ := sampleManifest(t, 2, iceberg.EntryContentData) // the list says data, the file deletes
	if _, err := parseManifest(data, other, true); !errors.Is(err, errSlowPath) {
		t.Errorf("content mismatch: %v", err)
	}
}

// sampleManifest writes a manifest of three entries (one ADDED with an
// inherited sequence number, one EXISTING, one DELETED) with column
// metrics, and returns it as a manifest list would list it.
func sampleManifest(t testing.TB, version int, content iceberg.ManifestEntryContent) (iceberg.ManifestFile, []byte) {
	t.Helper()
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "s", Type: iceberg.PrimitiveTypes.String})
	fieldID := iceberg.PositionalDeleteSchema.Fields()[0].ID
	snap := int64(7)
	var entries []iceberg.ManifestEntry
	for i, status := range []iceberg.ManifestEntryStatus{iceberg.EntryStatusADDED, iceberg.EntryStatusEXISTING, iceberg.EntryStatusDELETED, iceberg.EntryStatusADDED} {
		path := fmt.Sprintf("file:///w/data/f-%d.parquet", i)
		b, err := iceberg.NewDataFileBuilder(*iceberg.UnpartitionedSpec, content, path, iceberg.ParquetFile, nil, nil, nil, int64(10+i), int64(1000+i))
		if err != nil {
			t.Fatal(err)
		}
		b = b.ColumnSizes(map[int]int64{1: 10, 2: 20}).ValueCounts(map[int]int64{1: 10, 2: 10}).
			NullValueCounts(map[int]int64{1: 0, 2: 1}).
			LowerBoundValues(map[int][]byte{1: {1, 0, 0, 0, 0, 0, 0, 0}, 2: []byte("a")}).
			UpperBoundValues(map[int][]byte{1: {9, 0, 0, 0, 0, 0, 0, 0}, 2: []byte("z")})
		if content == iceberg.EntryContentPosDeletes {
			target := []byte(fmt.Sprintf("file:///w/data/target-%d.parquet", i))
			b = b.LowerBoundValues(map[int][]byte{fieldID: target}).UpperBoundValues(map[int][]byte{fieldID: target})
			if i == 0 {
				b = b.ReferencedDataFile(string(target))
			}
		}
		eb := iceberg.NewManifestEntryBuilder(status, &snap, b.Build())
		if status != iceberg.EntryStatusADDED || i > 0 {
			eb = eb.SequenceNum(int64(3 + i)).FileSequenceNum(int64(3 + i))
		}
		entries = append(entries, eb.Build())
	}
	var buf bytes.Buffer
	mc := iceberg.ManifestContentData
	if content != iceberg.EntryContentData {
		mc = iceberg.ManifestContentDeletes
	}
	w, err := iceberg.NewManifestWriter(version, &buf, *iceberg.UnpartitionedSpec, sc, snap, iceberg.WithManifestWriterContent(mc))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Status() {
		case iceberg.EntryStatusADDED:
			err = w.Add(e)
		case iceberg.EntryStatusEXISTING:
			err = w.Existing(e)
		default:
			err = w.Delete(e)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// As the manifest list gives it: with the sequence number its ADDED
	// entries without one inherit (v1: none).
	seq := int64(5)
	if version == 1 {
		seq = 0
	}
	mf := iceberg.NewManifestFile(version, "file:///w/metadata/m.avro", int64(buf.Len()), 0, snap).
		Content(mc).SequenceNum(seq, 3).AddedFiles(2).ExistingFiles(1).DeletedFiles(1).Build()
	return mf, buf.Bytes()
}

// FuzzParseManifest: whatever the bytes, the fast reader returns entries
// or errSlowPath, and never panics.
func FuzzParseManifest(f *testing.F) {
	m, data := sampleManifest(f, 2, iceberg.EntryContentPosDeletes)
	f.Add(data)
	dm, ddata := sampleManifest(f, 2, iceberg.EntryContentData)
	f.Add(ddata)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mf := range []iceberg.ManifestFile{m, dm} {
			if _, err := parseManifest(b, mf, true); err != nil && !errors.Is(err, errSlowPath) {
				t.Fatalf("error %v", err)
			}
		}
	})
}
