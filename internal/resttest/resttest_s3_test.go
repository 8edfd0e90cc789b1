package resttest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// tables on the client side
	icetable "github.com/apache/iceberg-go/table"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lakeflight/lakeflight/internal/s3test"
)

// TestS3Warehouse: with S3Props the server writes table metadata to a
// bucket, and a client writing data files there commits through it.
func TestS3Warehouse(t *testing.T) {
	ctx := t.Context()
	store := s3test.ForTest(t)
	bucket := makeBucket(t, store, "lake")
	srv := ForTestS3(t, store, "s3://lake/wh/")
	if srv.WarehouseLocation != "s3://lake/wh" || srv.Warehouse != "" {
		t.Errorf("warehouse = %q, location %q; want none and s3://lake/wh", srv.Warehouse, srv.WarehouseLocation)
	}

	props := iceberg.Properties(store.IcebergProps())
	props["s3.force-virtual-addressing"] = "false"
	cat, err := rest.NewCatalog(ctx, "fixture-s3", srv.URI, rest.WithAdditionalProps(props))
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateNamespace(ctx, icetable.Identifier{"ns"}, nil); err != nil {
		t.Fatal(err)
	}
	ident := icetable.Identifier{"ns", "t-xyz"}
	location := "s3://lake/wh/ns.db/t-xyz"
	tbl, err := cat.CreateTable(ctx, ident, schema, icecatalog.WithLocation(location))
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Location() != location {
		t.Errorf("created table location = %q, want %q", tbl.Location(), location)
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := rowsOf(t, mem, []int64{1, 2, 3}, []string{"a", "b", "c"})
	defer rows.Release()
	tx := tbl.NewTransaction()
	if err := tx.AppendTable(ctx, rows, 1024, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	loaded, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	snap := loaded.CurrentSnapshot()
	if snap == nil || snap.Summary == nil || snap.Summary.Properties["total-records"] != "3" {
		t.Fatalf("current snapshot after the append = %+v, want 3 records", snap)
	}
	read, err := loaded.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer read.Release()
	if read.NumRows() != 3 {
		t.Errorf("read back %d rows, want 3", read.NumRows())
	}

	// The server wrote the metadata file into the bucket, under the
	// table's location, and the client its data file.
	meta := loaded.MetadataLocation()
	if !strings.HasPrefix(meta, location+"/metadata/") {
		t.Errorf("metadata file %s is not under %s/metadata/", meta, location)
	}
	if _, err := bucket.StatObject(ctx, "lake", objectKey(t, meta), minio.StatObjectOptions{}); err != nil {
		t.Errorf("metadata file %s in the bucket: %v", meta, err)
	}
	var data int
	for obj := range bucket.ListObjects(ctx, "lake", minio.ListObjectsOptions{Prefix: "wh/ns.db/t-xyz/data/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		data++
	}
	if data != 1 {
		t.Errorf("%d data files in the bucket, want 1", data)
	}

	// A table without a location goes under the warehouse.
	other, err := cat.CreateTable(ctx, icetable.Identifier{"ns", "plain"}, schema)
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.WarehouseLocation + "/ns/plain"; other.Location() != want {
		t.Errorf("default location = %q, want %q", other.Location(), want)
	}
}

// TestCatalogEnv: each property comes back from its variable as the
// fixture reads it, and a key none comes back as is refused.
func TestCatalogEnv(t *testing.T) {
	for _, tc := range []struct {
		key, env string // env "" when the key is refused
	}{
		{"s3.endpoint", "CATALOG_S3_ENDPOINT"},
		{"s3.path-style-access", "CATALOG_S3_PATH__STYLE__ACCESS"},
		{"s3.secret-access-key", "CATALOG_S3_SECRET__ACCESS__KEY"},
		{"client.region", "CATALOG_CLIENT_REGION"},
		{"io-impl", "CATALOG_IO__IMPL"},
		{"a-.b", "CATALOG_A___B"},
		{"a.-b", ""}, // would come back as a-.b
		{"S3.endpoint", ""},
		{"s3_endpoint", ""},
		{"a=b", ""},
		{"warehouse", ""},
		{"rest.port", ""},
	} {
		env, err := catalogEnv(map[string]string{tc.key: "v"})
		switch {
		case tc.env == "" && err == nil:
			t.Errorf("catalogEnv(%q) = %v, want an error", tc.key, env)
		case tc.env != "" && err != nil:
			t.Errorf("catalogEnv(%q): %v", tc.key, err)
		case tc.env != "" && (len(env) != 1 || env[0] != tc.env+"=v" || propertyOf(tc.env) != tc.key):
			t.Errorf("catalogEnv(%q) = %v, want [%s=v]", tc.key, env, tc.env)
		}
	}
}

// makeBucket creates the bucket on store and returns a client of it.
func makeBucket(t *testing.T, store *s3test.Server, name string) *minio.Client {
	t.Helper()
	c, err := minio.New(store.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(store.AccessKey, store.SecretKey, ""),
		Region: store.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(t.Context(), name, minio.MakeBucketOptions{Region: store.Region}); err != nil {
		t.Fatalf("making bucket %s: %v", name, err)
	}
	return c
}

// objectKey is the key of an s3:// location in its bucket.
func objectKey(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "s3" {
		t.Fatalf("location %q is not an s3:// URL", location)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// rowsOf is an Arrow table of the suite's schema; the caller releases it.
func rowsOf(t *testing.T, mem memory.Allocator, ids []int64, names []string) arrow.Table {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	b.Field(1).(*array.StringBuilder).AppendValues(names, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
}
