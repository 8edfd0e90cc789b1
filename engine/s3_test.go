//go:build duckdb_arrow

package engine

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/resttest"
	"github.com/lakeflight/lakeflight/internal/s3test"
	"github.com/lakeflight/lakeflight/objstore"
)

// An engine over an s3:// warehouse (versitygw): SQL writes go to the
// bucket through iceberg-go, reads come from the local cache, and the
// position deletes of a merge-on-read DELETE apply to the cached copies.
func TestS3Warehouse(t *testing.T) {
	ctx := context.Background()
	e, cat, cache := s3Engine(t)
	s := newSession(t, e)

	mustExec(t, s, "CREATE TABLE silver.s3 AS SELECT range AS id, 'n' || range AS name FROM range(1000)")
	mustExec(t, s, "INSERT INTO silver.s3 SELECT range, 'm' FROM range(1000, 1500)")
	if got := mustQuery(t, s, "SELECT count(*), sum(id) FROM silver.s3"); !slices.Equal(got[0], []string{"1500", "1124250"}) {
		t.Fatalf("after the writes: %v", got)
	}
	st := cache.Stats()
	if st.Misses == 0 || st.FetchedBytes == 0 {
		t.Fatalf("nothing came through the cache: %+v", st)
	}
	// Merge-on-read (the default): the DELETE writes a position-delete
	// file naming the data files by their s3:// locations.
	mustExec(t, s, "DELETE FROM silver.s3 WHERE id % 10 = 0")
	state, err := cat.TableState(ctx, catalog.Ident{Namespace: "silver", Name: "s3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(state.DeleteFiles) == 0 {
		t.Fatalf("no delete file: the DELETE was not merge-on-read (%+v)", state)
	}
	if got := mustQuery(t, s, "SELECT count(*), min(id % 10) FROM silver.s3"); !slices.Equal(got[0], []string{"1350", "1"}) {
		t.Fatalf("after the delete: %v", got)
	}
	// Time travel reads the first snapshot's files (cached already).
	snaps := mustQuery(t, s, "SELECT snapshot_id FROM iceberg_snapshots('silver.s3') ORDER BY sequence_number LIMIT 1")
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.s3 AT (VERSION => "+snaps[0][0]+")"); got[0][0] != "1000" {
		t.Fatalf("time travel: %v", got)
	}
	// Nothing of the warehouse is on local disk but the cache.
	if local := cat.WarehouseDir(); local != "" {
		t.Fatalf("warehouse dir %q", local)
	}
}

// s3Engine is an engine over s3://lake/wh on a fresh versitygw, reading
// through a cache of its own, with the silver namespace.
func s3Engine(t *testing.T) (*Engine, *catalog.Catalog, *objstore.Cache) {
	t.Helper()
	if testHive != nil {
		// Hive checks a database's location through its own file systems,
		// and the test metastore has no S3 one.
		t.Skip("the test Hive Metastore cannot reach S3 (LAKEFLIGHT_TEST_CATALOG=hive)")
	}
	ctx := context.Background()
	srv := s3test.ForTest(t)
	store, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: "lake", Prefix: "wh",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.MakeBucket(ctx); err != nil {
		t.Fatal(err)
	}
	env := newIcebergEnv(t)
	if testREST != nil {
		// The suite's REST catalog writes only locally: this test's writes
		// to the bucket go through a REST catalog of its own.
		env.cfg.URI = resttest.ForTestS3(t, srv, "s3://lake/wh").URI
	}
	env.cfg.Warehouse = "s3://lake/wh"
	env.cfg.Props = srv.IcebergProps()
	cat := env.open(t)
	if err := cat.EnsureNamespace(ctx, "silver"); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(t.TempDir(), "cache")
	cache, err := objstore.OpenCache(cacheDir, 1<<30, store, objstore.Scope(store))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	files := objstore.NewFiles(store, cache, 4)
	e, err := Open(ctx, Config{Warehouse: files.Dir(), Files: files, Threads: 2}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, cat, cache
}

// The same statements on a local and on an s3:// warehouse give the same
// answers: writes of every kind (merge-on-read UPDATE, DELETE and MERGE),
// a partitioned table and its pruning, a persistent view, time travel and
// compaction.
func TestS3MatchesLocal(t *testing.T) {
	ctx := context.Background()
	remote, remoteCat, _ := s3Engine(t)
	local, localCat := func() (*Engine, *catalog.Catalog) {
		cat := newIcebergEnv(t).open(t)
		if err := cat.EnsureNamespace(ctx, "silver"); err != nil {
			t.Fatal(err)
		}
		e, err := Open(ctx, icebergConfig(t, cat), cat, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e, cat
	}()
	engines := []struct {
		name string
		e    *Engine
		cat  *catalog.Catalog
		s    *Session
	}{{"local", local, localCat, newSession(t, local)}, {"s3", remote, remoteCat, newSession(t, remote)}}
	exec := func(sql string) {
		t.Helper()
		for _, en := range engines {
			if _, err := en.s.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %s: %v", en.name, sql, err)
			}
		}
	}
	same := func(sql string) {
		t.Helper()
		var want [][]string
		for i, en := range engines {
			got := mustQuery(t, en.s, sql)
			if i == 0 {
				want = got
				continue
			}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("%s:\nlocal %v\ns3    %v", sql, want, got)
			}
		}
	}
	const summary = "SELECT count(*), sum(id), count(DISTINCT v), min(d), max(d), sum(k) FROM silver.o"
	exec("CREATE TABLE silver.o AS SELECT range AS id, range % 5 AS k, 'v' || range AS v, DATE '2026-01-01' + CAST(range % 30 AS INTEGER) AS d FROM range(20000)")
	exec("INSERT INTO silver.o SELECT range, range % 5, 'w', DATE '2026-02-01' FROM range(20000, 21000)")
	same(summary)
	exec("UPDATE silver.o SET v = 'u' WHERE id % 97 = 0")
	exec("DELETE FROM silver.o WHERE k = 4 AND id < 5000")
	exec("MERGE INTO silver.o t USING (SELECT range AS id, 'm' AS v FROM range(19990, 20010)) s ON t.id = s.id " +
		"WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (id, k, v, d) VALUES (s.id, 9, s.v, DATE '2026-03-01')")
	same(summary)
	same("SELECT id, k, v, d FROM silver.o WHERE id IN (0, 97, 4, 19995, 20005, 20999) ORDER BY id")
	exec("CREATE TABLE silver.p PARTITIONED BY (day(d)) AS SELECT * FROM silver.o")
	same("SELECT count(*), sum(id) FROM silver.p WHERE d = DATE '2026-01-05'")
	exec("CREATE VIEW silver.vw AS SELECT k, count(*) AS n FROM silver.o GROUP BY k")
	same("SELECT k, n FROM silver.vw ORDER BY k")
	// Time travel to the first snapshot (ids differ between the two).
	var counts []string
	for _, en := range engines {
		first := mustQuery(t, en.s, "SELECT snapshot_id FROM iceberg_snapshots('silver.o') ORDER BY sequence_number LIMIT 1")
		counts = append(counts, mustQuery(t, en.s, "SELECT count(*) FROM silver.o AT (VERSION => "+first[0][0]+")")[0][0])
	}
	if counts[0] != counts[1] || counts[0] != "20000" {
		t.Fatalf("time travel: %v", counts)
	}
	for _, en := range engines {
		rep, err := en.e.Compact(ctx, catalog.Ident{Namespace: "silver", Name: "o"}, CompactOptions{MinFiles: 2})
		if err != nil {
			t.Fatalf("%s: compact: %v", en.name, err)
		}
		if rep.DataFilesAfter >= rep.DataFilesBefore {
			t.Fatalf("%s: compaction %+v", en.name, rep)
		}
	}
	same(summary)
	same("SELECT k, n FROM silver.vw ORDER BY k")
}
