//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/catalog"
)

// manyFiles builds tables of many small data files cheaply: one real
// Parquet file (a seed table's) hard-linked under new names and committed
// with AddDataFiles, with the seed file's column metrics (as ingest
// registers files), no Parquet written per file.
type manyFiles struct {
	cat  *catalog.Catalog
	src  iceberg.DataFile
	dir  string
	next int // files linked so far
}

func newManyFiles(t testing.TB, cat *catalog.Catalog) *manyFiles {
	localOnly(t) // links files into the table directories
	t.Helper()
	ctx := context.Background()
	seed := catalog.Ident{Namespace: "bronze", Name: "seed"}
	if err := cat.CreateTable(ctx, seed, eventsSchema); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, cat, seed, 0, 100)
	tbl, err := cat.LoadTable(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := tbl.CurrentSnapshot().Manifests(fs)
	if err != nil {
		t.Fatal(err)
	}
	m := &manyFiles{cat: cat, dir: filepath.Join(cat.WarehouseDir(), "many-files")}
	for e, err := range manifests[0].Entries(fs, false) {
		if err != nil {
			t.Fatal(err)
		}
		m.src = e.DataFile()
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return m
}

// add commits n more files (100 rows each) to id in one snapshot.
func (m *manyFiles) add(t testing.TB, id catalog.Ident, n int) {
	t.Helper()
	ctx := context.Background()
	files := make([]iceberg.DataFile, n)
	for i := range files {
		path := filepath.Join(m.dir, fmt.Sprintf("f-%06d.parquet", m.next))
		m.next++
		if err := os.Link(catalog.LocalPath(m.src.FilePath()), path); err != nil {
			t.Fatal(err)
		}
		src := m.src
		bld, err := iceberg.NewDataFileBuilder(*iceberg.UnpartitionedSpec, iceberg.EntryContentData, "file://"+path,
			iceberg.ParquetFile, nil, nil, nil, src.Count(), src.FileSizeBytes())
		if err != nil {
			t.Fatal(err)
		}
		files[i] = bld.ColumnSizes(src.ColumnSizes()).ValueCounts(src.ValueCounts()).NullValueCounts(src.NullValueCounts()).
			NaNValueCounts(src.NaNValueCounts()).LowerBoundValues(src.LowerBoundValues()).UpperBoundValues(src.UpperBoundValues()).
			SplitOffsets(src.SplitOffsets()).Build()
	}
	tbl, err := m.cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.AddDataFiles(ctx, files, nil, table.WithoutDuplicateCheck()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// table creates id with files data files in ten commits.
func (m *manyFiles) table(t testing.TB, id catalog.Ident, files int) {
	t.Helper()
	if err := m.cat.CreateTable(context.Background(), id, eventsSchema); err != nil {
		t.Fatal(err)
	}
	for c := range 10 {
		m.add(t, id, files*(c+1)/10-files*c/10)
	}
}

// manyFilesEnv is a catalog with one table of files data files in bronze
// per name, and an engine over it; wrap, when not nil, stands between them.
func manyFilesEnv(t testing.TB, files int, wrap func(*catalog.Catalog) Tables, names ...string) (*Engine, *manyFiles, []catalog.Ident) {
	t.Helper()
	cat := newIcebergEnv(t).open(t)
	ctx := context.Background()
	if err := cat.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatal(err)
	}
	mf := newManyFiles(t, cat)
	ids := make([]catalog.Ident, len(names))
	for i, name := range names {
		ids[i] = catalog.Ident{Namespace: "bronze", Name: name}
		mf.table(t, ids[i], files)
	}
	var tables Tables = cat
	if wrap != nil {
		tables = wrap(cat)
	}
	e, err := Open(ctx, icebergConfig(t, cat), tables, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, mf, ids
}

// tableNames is t0 … t(n-1).
func manyTableNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%d", i)
	}
	return out
}

// BenchmarkBind1000Files: sessions binding 1,000-file tables another writer
// has just committed to (one more file each, outside the timer), so each
// bind reads a new snapshot from the catalog, re-creates the view, pins it
// and has DuckDB prepare a query on it. Per iteration it times one session
// binding one table, then 8 sessions binding 8 other tables at once, and
// reports both, their ratio (target: 8-at-once ≤ 1.5× one) and the CPU time
// each took.
//
//	go test -tags duckdb_arrow -run '^$' -bench Bind1000 -benchtime 5x ./engine/
func BenchmarkBind1000Files(b *testing.B) {
	const files, eight = 1000, 8
	e, mf, ids := manyFilesEnv(b, files, nil, manyTableNames(eight+1)...)
	ctx := context.Background()
	sessions := make([]*Session, len(ids))
	for i := range sessions {
		sessions[i] = newSession(b, e)
	}
	bind := func(i int) error {
		st, err := sessions[i].Prepare(ctx, "SELECT count(*) FROM bronze."+ids[i].Name)
		if err != nil {
			return err
		}
		return st.Close()
	}
	var one, all, oneCPU, allCPU time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, id := range ids {
			mf.add(b, id, 1)
		}
		b.StartTimer()
		start, cpu := time.Now(), cpuTime(b)
		if err := bind(0); err != nil {
			b.Fatal(err)
		}
		one += time.Since(start)
		oneCPU += cpuTime(b) - cpu

		start, cpu = time.Now(), cpuTime(b)
		var wg sync.WaitGroup
		errs := make([]error, eight)
		for i := range eight {
			wg.Go(func() { errs[i] = bind(i + 1) })
		}
		wg.Wait()
		all += time.Since(start)
		allCPU += cpuTime(b) - cpu
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(one.Microseconds())/1e3/float64(b.N), "one-ms/op")
	b.ReportMetric(float64(all.Microseconds())/1e3/float64(b.N), "eight-ms/op")
	b.ReportMetric(float64(all)/float64(one), "ratio")
	b.ReportMetric(float64(oneCPU.Microseconds())/1e3/float64(b.N), "one-cpu-ms/op")
	b.ReportMetric(float64(allCPU.Microseconds())/1e3/float64(b.N), "eight-cpu-ms/op")
}

// cpuTime is the CPU time the process has used (user and system), DuckDB's
// threads included: on 2 cores, 8 binds at once cannot take less wall time
// than half their CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
