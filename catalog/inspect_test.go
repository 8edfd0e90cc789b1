package catalog

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

func TestHistory(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "events")
	if h, err := c.History(ctx, id); err != nil || len(h) != 0 {
		t.Fatalf("history of an empty table = %+v (%v)", h, err)
	}
	started := time.Now().Add(-time.Second)
	s1 := appendRows(t, c, mem, id, 0, 10, nil)
	s2 := appendRows(t, c, mem, id, 10, 10, nil)
	if err := c.Rollback(ctx, id, s1); err != nil {
		t.Fatal(err)
	}
	s3 := appendRows(t, c, mem, id, 20, 10, nil)

	h, err := c.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []HistoryEntry{
		{SnapshotID: s1, ParentID: 0, IsCurrentAncestor: true},
		{SnapshotID: s2, ParentID: s1, IsCurrentAncestor: false}, // rolled back
		{SnapshotID: s1, ParentID: 0, IsCurrentAncestor: true},   // the rollback
		{SnapshotID: s3, ParentID: s1, IsCurrentAncestor: true},
	}
	if len(h) != len(want) {
		t.Fatalf("history = %+v, want %d entries", h, len(want))
	}
	for i, w := range want {
		got := h[i]
		if got.SnapshotID != w.SnapshotID || got.ParentID != w.ParentID || got.IsCurrentAncestor != w.IsCurrentAncestor {
			t.Errorf("entry %d = %+v, want %+v", i, got, w)
		}
		if got.MadeCurrentAt.Before(started) || got.MadeCurrentAt.Location() != time.UTC {
			t.Errorf("entry %d made current at %v", i, got.MadeCurrentAt)
		}
		if i > 0 && got.MadeCurrentAt.Before(h[i-1].MadeCurrentAt) {
			t.Errorf("entry %d is older than entry %d", i, i-1)
		}
	}
	if _, err := c.History(ctx, Ident{"bronze", "nope"}); !errors.Is(err, ErrNoSuchTable) {
		t.Errorf("history of a missing table: %v", err)
	}
}

func TestFiles(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "events")
	if files, err := c.Files(ctx, id, 0); err != nil || files == nil || len(files) != 0 {
		t.Fatalf("files of an empty table = %#v (%v), want empty", files, err)
	}
	s1 := appendRows(t, c, mem, id, 0, 250, nil)
	s2 := appendRows(t, c, mem, id, 250, 50, nil)

	cur, err := c.Files(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := c.TableState(ctx, id)
	if len(cur) != 2 || len(st.DataFiles) != 2 {
		t.Fatalf("%d files, want 2", len(cur))
	}
	sizes := map[string]int64{}
	for _, df := range st.DataFiles {
		sizes[df.Path] = df.SizeBytes
	}
	for _, f := range cur {
		if f.Content != "data" || f.Format != "PARQUET" || f.SpecID != 0 || f.Partition != "{}" {
			t.Errorf("file %s: content %q format %q spec %d partition %s", f.Path, f.Content, f.Format, f.SpecID, f.Partition)
		}
		if size, ok := sizes[LocalPath(f.Path)]; !ok || size != f.SizeBytes {
			t.Errorf("file %s (%d bytes) is not one of the table's data files %v", f.Path, f.SizeBytes, sizes)
		}
	}

	old, err := c.Files(ctx, id, s1)
	if err != nil || len(old) != 1 {
		t.Fatalf("files at %d = %+v (%v), want 1", s1, old, err)
	}
	f := old[0]
	if f.RecordCount != 250 {
		t.Errorf("record count %d, want 250", f.RecordCount)
	}
	// Rows 0..249: s is "row-<i>", null where i%7 == 0 (36 rows).
	counts := []struct {
		what string
		m    map[string]int64
		col  string
		want int64
	}{
		{"value count", f.ValueCounts, "id", 250},
		{"null count", f.NullCounts, "id", 0},
		{"value count", f.ValueCounts, "s", 250},
		{"null count", f.NullCounts, "s", 36},
		{"value count", f.ValueCounts, "addr.city", 250},
	}
	for _, tc := range counts {
		if got, ok := tc.m[tc.col]; !ok || got != tc.want {
			t.Errorf("%s of %s = %d (present %v), want %d", tc.what, tc.col, got, ok, tc.want)
		}
	}
	if f.ColumnSizes["id"] <= 0 || f.ColumnSizes["s"] <= 0 {
		t.Errorf("column sizes %v", f.ColumnSizes)
	}
	bounds := []struct {
		col, lower, upper string
	}{
		{"id", "0", "249"},
		{"i32", "0", "498"},
		{"s", "row-1", "row-99"},
		{"b", "false", "true"},
		{"d", "2026-11-01", "2026-11-30"},
		{"ts", "2026-11-01T10:00:00.000000", "2026-11-01T10:04:09.000000"},
		{"tstz", "2026-11-01T10:00:00.000000+00:00", "2026-11-01T10:04:09.000000+00:00"},
		{"amount", "0.125", "249.125"},
		{"f64", "-0", "62.25"}, // Parquet writes a zero minimum as -0
	}
	for _, b := range bounds {
		if got := f.LowerBounds[b.col]; got != b.lower {
			t.Errorf("lower bound of %s = %q, want %q", b.col, got, b.lower)
		}
		if got := f.UpperBounds[b.col]; got != b.upper {
			t.Errorf("upper bound of %s = %q, want %q", b.col, got, b.upper)
		}
	}

	if _, err := c.Files(ctx, id, 42); !errors.Is(err, ErrNoSuchSnapshot) || !strings.Contains(err.Error(), "42") {
		t.Errorf("files at an unknown snapshot: %v", err)
	}
	if _, err := c.Files(ctx, Ident{"bronze", "nope"}, 0); !errors.Is(err, ErrNoSuchTable) {
		t.Errorf("files of a missing table: %v", err)
	}
	_ = s2
}

// TestFilesWithDeletes lists a merge-on-read delete's position-delete file
// after the data files.
func TestFilesWithDeletes(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "events")
	appendRows(t, c, mem, id, 0, 20, nil)
	appendRows(t, c, mem, id, 20, 20, nil)

	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// iceberg-go writes this delete file, and its writer has no lz4.
	if err := txn.tx.SetProperties(iceberg.Properties{table.WriteDeleteModeKey: table.WriteModeMergeOnRead,
		PropCompressionCodec: "zstd"}); err != nil {
		t.Fatal(err)
	}
	if err := txn.tx.Delete(ctx, iceberg.EqualTo(iceberg.Reference("id"), int64(5)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	files, err := c.Files(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range files {
		kinds = append(kinds, f.Content)
	}
	if strings.Join(kinds, ",") != "data,data,position_deletes" {
		t.Fatalf("files = %v, want two data files, then the delete file", kinds)
	}
	if del := files[2]; del.RecordCount != 1 || del.SizeBytes <= 0 {
		t.Errorf("delete file %+v", del)
	}

	manifests, err := c.Manifests(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var contents []string
	for _, m := range manifests {
		contents = append(contents, m.Content)
	}
	if !strings.Contains(strings.Join(contents, ","), "deletes") {
		t.Errorf("manifests have contents %v, want a deletes manifest", contents)
	}
}

func TestManifests(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "events")
	if ms, err := c.Manifests(ctx, id, 0); err != nil || ms == nil || len(ms) != 0 {
		t.Fatalf("manifests of an empty table = %#v (%v), want empty", ms, err)
	}
	s1 := appendRows(t, c, mem, id, 0, 250, nil)
	s2 := appendRows(t, c, mem, id, 250, 50, nil)

	cases := []struct {
		snapshot      int64
		files, rows   int64
		addedBy       []int64
		wantManifests int
	}{
		{0, 2, 300, []int64{s1, s2}, 2},
		{s2, 2, 300, []int64{s1, s2}, 2},
		{s1, 1, 250, []int64{s1}, 1},
	}
	for _, tc := range cases {
		ms, err := c.Manifests(ctx, id, tc.snapshot)
		if err != nil || len(ms) != tc.wantManifests {
			t.Fatalf("manifests at %d = %+v (%v), want %d", tc.snapshot, ms, err, tc.wantManifests)
		}
		var files, rows int64
		added := map[int64]bool{}
		for _, m := range ms {
			files += int64(m.AddedFiles + m.ExistingFiles)
			rows += m.AddedRows + m.ExistingRows
			added[m.AddedSnapshotID] = true
			if m.Content != "data" || m.SpecID != 0 || m.DeletedFiles != 0 || m.DeletedRows != 0 {
				t.Errorf("manifest %+v", m)
			}
			if m.SequenceNumber < 1 || m.MinSequenceNumber < 1 || m.MinSequenceNumber > m.SequenceNumber {
				t.Errorf("manifest %s: sequence numbers %d, min %d", m.Path, m.SequenceNumber, m.MinSequenceNumber)
			}
			if fi, err := os.Stat(LocalPath(m.Path)); err != nil || fi.Size() != m.Length {
				t.Errorf("manifest %s: length %d, file %v (%v)", m.Path, m.Length, fi, err)
			}
		}
		if files != tc.files || rows != tc.rows {
			t.Errorf("at %d: manifests count %d files, %d rows; want %d, %d", tc.snapshot, files, rows, tc.files, tc.rows)
		}
		for _, s := range tc.addedBy {
			if !added[s] {
				t.Errorf("at %d: no manifest added by snapshot %d (%v)", tc.snapshot, s, added)
			}
		}
	}
	if _, err := c.Manifests(ctx, id, 42); !errors.Is(err, ErrNoSuchSnapshot) {
		t.Errorf("manifests at an unknown snapshot: %v", err)
	}
}

func TestRenderBound(t *testing.T) {
	cases := []struct {
		name string
		typ  iceberg.Type
		lit  iceberg.Literal
		want string
	}{
		{"int", iceberg.PrimitiveTypes.Int32, iceberg.NewLiteral(int32(-7)), "-7"},
		{"long", iceberg.PrimitiveTypes.Int64, iceberg.NewLiteral(int64(1) << 40), "1099511627776"},
		{"long promoted from int", iceberg.PrimitiveTypes.Int64, iceberg.NewLiteral(int32(12)), "12"},
		{"double", iceberg.PrimitiveTypes.Float64, iceberg.NewLiteral(2.5), "2.5"},
		{"double promoted from float", iceberg.PrimitiveTypes.Float64, iceberg.NewLiteral(float32(0.5)), "0.5"},
		{"string", iceberg.PrimitiveTypes.String, iceberg.NewLiteral("héllo"), "héllo"},
		{"bool", iceberg.PrimitiveTypes.Bool, iceberg.NewLiteral(true), "true"},
		{"date", iceberg.PrimitiveTypes.Date, iceberg.NewLiteral(iceberg.Date(20758)), "2026-11-01"},
		{"time", iceberg.PrimitiveTypes.Time, iceberg.NewLiteral(iceberg.Time(3_600_000_001)), "01:00:00.000001"},
		{"timestamp", iceberg.PrimitiveTypes.Timestamp, iceberg.NewLiteral(iceberg.Timestamp(1_500_000_000_123_456)), "2017-07-14T02:40:00.123456"},
		{"timestamptz", iceberg.PrimitiveTypes.TimestampTz, iceberg.NewLiteral(iceberg.Timestamp(0)), "1970-01-01T00:00:00.000000+00:00"},
		{"binary", iceberg.PrimitiveTypes.Binary, iceberg.NewLiteral([]byte{0, 1, 0xff}), "0001ff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.lit.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if got := renderBound(tc.typ, b); got != tc.want {
				t.Errorf("renderBound = %q, want %q", got, tc.want)
			}
		})
	}
	if got := renderBound(nil, []byte{0xab}); got != "ab" {
		t.Errorf("bound of an unknown column = %q, want hex", got)
	}
	if got := renderBound(iceberg.PrimitiveTypes.Int64, []byte{1, 2, 3}); got != "010203" {
		t.Errorf("undecodable bound = %q, want hex", got)
	}
}

func TestForEach(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		n       int
		failAt  int // -1: never
		wantErr error
	}{
		{"none", 0, -1, nil},
		{"all", 50, -1, nil},
		{"one fails", 50, 7, boom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make([]bool, tc.n)
			err := forEach(t.Context(), tc.n, 3, func(i int) error {
				if i == tc.failAt {
					return boom
				}
				done[i] = true
				return nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil {
				for i, d := range done {
					if !d {
						t.Errorf("call %d skipped", i)
					}
				}
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := forEach(ctx, 5, 2, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v", err)
	}
}
