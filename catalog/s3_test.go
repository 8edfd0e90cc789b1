package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/internal/resttest"
	"github.com/lakeflight/lakeflight/internal/s3test"
	"github.com/lakeflight/lakeflight/objstore"
)

// s3Env is a catalog whose warehouse is s3://lake/wh on a real
// S3-compatible server (versitygw), with the bronze namespace, and a
// checked allocator for the rows the test appends.
func s3Env(t *testing.T) (*Catalog, *objstore.Store, memory.Allocator) {
	t.Helper()
	if testHive != nil {
		// Hive checks a database's location through its own file systems,
		// and the test metastore has no S3 one.
		t.Skip("the test Hive Metastore cannot reach S3 (LAKEFLIGHT_TEST_CATALOG=hive)")
	}
	srv := s3test.ForTest(t)
	store, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: "lake", Prefix: "wh",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.MakeBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	if testREST != nil {
		// The suite's REST catalog writes only locally: this test's writes
		// to the bucket go through a REST catalog of its own.
		env.cfg.URI = resttest.ForTestS3(t, srv, "s3://lake/wh").URI
	}
	env.cfg.Warehouse = "s3://lake/wh/"
	env.cfg.Props = srv.IcebergProps()
	c := env.open(t)
	if err := c.EnsureNamespace(t.Context(), "bronze"); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return c, store, mem
}

// With an s3:// warehouse the metadata and the data files go to the
// bucket, and the table reads back (iceberg-go's scanner) from there.
func TestS3Warehouse(t *testing.T) {
	c, store, mem := s3Env(t)
	ctx := t.Context()
	id := Ident{"bronze", "s3t"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 1, 2, 3)
	appendIDs(t, c, mem, id, 4)
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Fatalf("read back %v", got)
	}
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.DataFiles) != 2 || !strings.HasPrefix(st.DataFiles[0].Location, "s3://lake/wh/bronze") || st.DataFiles[0].Path != "" {
		t.Fatalf("data files %+v", st.DataFiles)
	}
	objs, err := store.List(ctx, "bronze")
	if err != nil {
		t.Fatal(err)
	}
	var data, meta int
	for _, o := range objs {
		switch {
		case strings.HasSuffix(o.Name, ".parquet") && strings.Contains(o.Name, "/data/"):
			data++
		case strings.Contains(o.Name, "/metadata/"):
			meta++
		}
	}
	if data != 2 || meta == 0 {
		t.Fatalf("bucket holds %d data and %d metadata objects: %+v", data, meta, objs)
	}
}

// Maintenance reports count the bucket's objects, and a dropped table's
// objects leave the bucket.
func TestS3MaintenanceAndDrop(t *testing.T) {
	c, store, mem := s3Env(t)
	ctx := t.Context()
	id := Ident{"bronze", "s3m"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 1)
	appendIDs(t, c, mem, id, 2)
	rep, err := c.ExpireSnapshots(ctx, id, ExpireOptions{RetainLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := store.List(ctx, "bronze")
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesBefore == 0 || rep.FilesAfter != len(objs) || rep.SnapshotsAfter != 1 {
		t.Fatalf("report %+v with %d objects in the bucket", rep, len(objs))
	}
	if err := c.DropTable(ctx, id); err != nil {
		t.Fatal(err)
	}
	if objs, err := store.List(ctx, "bronze"); err != nil || len(objs) != 0 {
		t.Fatalf("after the drop the bucket holds %+v %v", objs, err)
	}
}

// A table renamed away keeps its objects where they are; a new table of
// the old name gets a prefix of its own, so dropping the renamed one
// leaves the new one whole.
func TestS3RenameThenRecreate(t *testing.T) {
	c, _, mem := s3Env(t)
	ctx := t.Context()
	a, old := Ident{"bronze", "t"}, Ident{"bronze", "t_old"}
	mustCreate(ctx, t, c, a, deltaSchema)
	appendIDs(t, c, mem, a, 1)
	if err := c.RenameTable(ctx, a, old); err != nil {
		t.Fatal(err)
	}
	mustCreate(ctx, t, c, a, deltaSchema)
	appendIDs(t, c, mem, a, 2)
	if err := c.DropTable(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got := idsOf(t, c, a, 0); !slices.Equal(got, []int64{2}) {
		t.Fatalf("the new table after dropping the renamed one: %v", got)
	}
}
