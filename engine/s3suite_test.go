//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/s3test"
	"github.com/lakeflight/lakeflight/objstore"
)

// envWarehouse picks the warehouse of the Iceberg tests: "s3" puts each
// test's in a prefix of its own in one bucket of a versitygw the suite
// starts (the catalog stays whatever LAKEFLIGHT_TEST_CATALOG says), and the
// engine reads through a cache of the test's own.
const envWarehouse = "LAKEFLIGHT_TEST_WAREHOUSE"

// testS3 is the suite's S3-compatible server when envWarehouse is "s3".
var testS3 *s3test.Server

// withS3 runs the suite with testS3 started when envWarehouse asks.
func withS3(run func() int) int {
	if os.Getenv(envWarehouse) != "s3" {
		return run()
	}
	dir, err := os.MkdirTemp("", "lakeflight-engine-s3-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if testS3, err = s3test.Start(dir); err != nil {
		fmt.Fprintln(os.Stderr, "starting versitygw for the tests:", err)
		return 1
	}
	defer func() { _ = testS3.Stop() }()
	store, err := suiteStore("")
	if err == nil {
		err = store.MakeBucket(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "making the tests' bucket:", err)
		return 1
	}
	return run()
}

func suiteStore(prefix string) (*objstore.Store, error) {
	return objstore.New(objstore.Config{Endpoint: testS3.Endpoint, Region: testS3.Region, Bucket: "lake", Prefix: prefix,
		AccessKey: testS3.AccessKey, SecretKey: testS3.SecretKey, Insecure: true, PathStyle: true})
}

// s3Warehouse points cfg at a fresh prefix of the suite's bucket.
func s3Warehouse(cfg *catalog.Config) {
	cfg.Warehouse = "s3://lake/t-" + uuid.NewString()[:12]
	cfg.Props = testS3.IcebergProps()
}

// icebergConfig is the engine configuration over cat's warehouse: its
// directory, or for an s3:// one a cache of the test's own.
func icebergConfig(t testing.TB, cat *catalog.Catalog) Config {
	t.Helper()
	if dir := cat.WarehouseDir(); dir != "" || testS3 == nil {
		return Config{Warehouse: dir, Threads: 2}
	}
	store, err := suiteStore(strings.TrimPrefix(cat.Warehouse(), "s3://lake/"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := objstore.OpenCache(filepath.Join(t.TempDir(), "cache"), 1<<30, store, objstore.Scope(store))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	files := objstore.NewFiles(store, cache, 4)
	return Config{Warehouse: files.Dir(), Files: files, Threads: 2}
}

// localOnly skips, on the suite's s3:// warehouse, a test that reads or
// places the warehouse's files on local disk itself.
func localOnly(t testing.TB) {
	t.Helper()
	if testS3 != nil {
		t.Skip("reads or writes the warehouse's files on local disk (" + envWarehouse + "=s3)")
	}
}
