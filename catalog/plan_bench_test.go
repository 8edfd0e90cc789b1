package catalog

import (
	"testing"
)

// BenchmarkTableStateAt10k is what binding a snapshot not bound before
// costs the engine on the catalog side: resolving the snapshot and planning
// a table of 10,000 data files (10 manifests, metrics for every column).
//
//	Cold      a fresh Catalog per call: loading the table, the manifest list and every manifest
//	Warm      the same Catalog again: the snapshot's plan comes from the cache
//	Plan      planFiles alone, uncached (the table and its FS loaded once)
//	PlanFiles iceberg-go's Scan.PlanFiles, which planFiles stands in for
//
// go test -tags duckdb_arrow -run '^$' -bench TableStateAt10k -benchmem ./catalog/
func BenchmarkTableStateAt10k(b *testing.B) {
	const commits, perCommit = 10, 1000
	ctx := b.Context()
	env, id := manyFilesTable(b, commits, perCommit)
	c, err := Open(ctx, env.cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	snap := tbl.CurrentSnapshot()
	check := func(b *testing.B, st *TableState, err error) {
		b.Helper()
		if err != nil || len(st.DataFiles) != commits*perCommit {
			b.Fatalf("%d files (%v)", len(st.DataFiles), err)
		}
	}

	b.Run("Cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			fresh, err := Open(ctx, env.cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			st, err := fresh.TableStateAt(ctx, id, snap.SnapshotID)
			b.StopTimer()
			check(b, st, err)
			_ = fresh.Close()
			b.StartTimer()
		}
	})
	b.Run("Warm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := c.TableStateAt(ctx, id, snap.SnapshotID)
			check(b, st, err)
		}
	})
	fs, err := tbl.FS(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Plan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := planFiles(ctx, fs, snap)
			if err != nil || len(p.data) != commits*perCommit {
				b.Fatalf("%v", err)
			}
		}
	})
	b.Run("PlanFiles", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := scanPlan(ctx, tbl, snap)
			if err != nil || len(p.data) != commits*perCommit {
				b.Fatalf("%v", err)
			}
		}
	})
}
