//go:build duckdb_arrow

package engine

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/s3test"
	"github.com/lakeflight/lakeflight/objstore"
)

// An engine over an s3:// warehouse (versitygw): SQL writes go to the
// bucket through iceberg-go, reads come from the local cache, and the
// position deletes of a merge-on-read DELETE apply to the cached copies.
func TestS3Warehouse(t *testing.T) {
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
	env.cfg.Warehouse = "s3://lake/wh"
	env.cfg.Props = map[string]string{"s3.endpoint": "http://" + srv.Endpoint, "s3.region": srv.Region,
		"s3.access-key-id": srv.AccessKey, "s3.secret-access-key": srv.SecretKey}
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
