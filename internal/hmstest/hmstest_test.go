package hmstest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hive"
	icetable "github.com/apache/iceberg-go/table"
)

// srv is the suite's server, on PostgreSQL (Run). Without the built
// fixture TestMain fails the package with the build instruction: these
// tests never skip.
var srv *Server

func TestMain(m *testing.M) {
	os.Exit(Run(m, func(s *Server) { srv = s }))
}

var schema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
)

func open(t *testing.T, s *Server) *hive.Catalog {
	t.Helper()
	cat, err := hive.NewCatalog(iceberg.Properties{hive.Warehouse: s.WarehouseLocation},
		hive.WithURI(s.URI), hive.WithWarehouse(s.WarehouseLocation))
	if err != nil {
		t.Fatalf("connecting to %s: %v", s.URI, err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	return cat
}

// localPath turns a file: location (file:/a/b, file:///a/b) into a path.
func localPath(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("location %q is not a local file URL", location)
	}
	return filepath.FromSlash(u.Path)
}

// rows is an Arrow batch of ids with their names, in the table's schema.
func rows(t *testing.T, mem memory.Allocator, ids ...int64) arrow.RecordBatch {
	t.Helper()
	rec, err := batch(mem, ids...)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// batch is rows for callers off the test's goroutine.
func batch(mem memory.Allocator, ids ...int64) (arrow.RecordBatch, error) {
	sc, err := icetable.SchemaToArrowSchema(schema, nil, false, false)
	if err != nil {
		return nil, err
	}
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append("row-" + strconv.FormatInt(id, 10))
	}
	return b.NewRecordBatch(), nil
}

// TestTableLifecycle drives iceberg-go's hive catalog through a table's
// life on the real metastore, on each database it runs on: the table's
// database, create, list, load, an append committed under the metastore's
// table lock, and drop.
func TestTableLifecycle(t *testing.T) {
	t.Run("postgres", func(t *testing.T) { testTableLifecycle(t, srv) })
	t.Run("derby", func(t *testing.T) { testTableLifecycle(t, ForTest(t)) })
}

func testTableLifecycle(t *testing.T, hms *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	cat := open(t, hms)

	ns := icetable.Identifier{"lifecycle"}
	ident := icetable.Identifier{"lifecycle", "events"}
	if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"owner": "hmstest"}); err != nil {
		t.Fatal(err)
	}
	props, err := cat.LoadNamespaceProperties(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if props["owner"] != "hmstest" {
		t.Errorf("namespace properties = %v, want owner=hmstest", props)
	}

	location := hms.WarehouseLocation + "/custom/events"
	created, err := cat.CreateTable(ctx, ident, schema, icecatalog.WithLocation(location))
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Location(); got != location {
		t.Errorf("created table location = %q, want %q", got, location)
	}

	var listed []icetable.Identifier
	for id, err := range cat.ListTables(ctx, ns) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, id)
	}
	if !slices.ContainsFunc(listed, func(id icetable.Identifier) bool { return slices.Equal(id, ident) }) {
		t.Errorf("ListTables(%v) = %v, want it to hold %v", ns, listed, ident)
	}

	loaded, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Schema().Equals(schema) {
		t.Errorf("loaded schema = %v, want %v", loaded.Schema(), schema)
	}
	if loaded.CurrentSnapshot() != nil {
		t.Errorf("new table has snapshot %v", loaded.CurrentSnapshot())
	}

	rec := rows(t, mem, 1, 2, 3)
	defer rec.Release()
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	tx := loaded.NewTransaction()
	if err := tx.Append(ctx, rdr, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	reloaded, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	snap := reloaded.CurrentSnapshot()
	if snap == nil {
		t.Fatal("no snapshot after the append")
	}
	if snap.Summary == nil || snap.Summary.Properties["added-records"] != "3" {
		t.Errorf("snapshot summary = %v, want added-records=3", snap.Summary)
	}
	if reloaded.MetadataLocation() == loaded.MetadataLocation() {
		t.Errorf("metadata location unchanged by the commit: %s", reloaded.MetadataLocation())
	}
	// The metadata and data files are in our warehouse directory.
	meta := localPath(t, reloaded.MetadataLocation())
	if !strings.HasPrefix(meta, filepath.Join(hms.Warehouse, "custom", "events", "metadata")+string(filepath.Separator)) {
		t.Errorf("metadata file %s is not under the table's location in %s", meta, hms.Warehouse)
	}
	data, err := filepath.Glob(filepath.Join(hms.Warehouse, "custom", "events", "data", "*.parquet"))
	if err != nil || len(data) == 0 {
		t.Errorf("no data files under the table's location (%v)", err)
	}
	got, err := reloaded.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.NumRows() != 3 {
		t.Errorf("scan after the append: %d rows, want 3", got.NumRows())
	}

	if err := cat.DropTable(ctx, ident); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.LoadTable(ctx, ident); !errors.Is(err, icecatalog.ErrNoSuchTable) {
		t.Errorf("LoadTable after drop: err = %v, want ErrNoSuchTable", err)
	}
	// A drop without purge leaves the files.
	if _, err := os.Stat(meta); err != nil {
		t.Errorf("metadata file after drop: %v", err)
	}
	if err := cat.DropNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
}

// TestNotBuilt: without the fixture's jars Start fails at once, naming
// the script that builds them.
func TestNotBuilt(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	_, err := Start(t.TempDir())
	if !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "internal/hmstest/fixture/build.sh") {
		t.Fatalf("Start without jars: err = %v, want ErrNotBuilt naming build.sh", err)
	}
}
