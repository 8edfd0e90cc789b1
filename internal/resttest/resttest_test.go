package resttest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
)

// srv is the suite's server. Without the built fixture TestMain fails the
// package with the build instruction: these tests never skip.
var srv *Server

func TestMain(m *testing.M) {
	os.Exit(Run(m, func(s *Server) { srv = s }))
}

var schema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
)

func open(t *testing.T, s *Server) *rest.Catalog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cat, err := rest.NewCatalog(ctx, "fixture", s.URI)
	if err != nil {
		t.Fatalf("connecting to %s: %v", s.URI, err)
	}
	return cat
}

// localPath turns the fixture's locations (file:/a/b, file:///a/b) into
// a path.
func localPath(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("location %q is not a local file URL", location)
	}
	return filepath.FromSlash(u.Path)
}

func TestTableLifecycle(t *testing.T) {
	ctx := context.Background()
	cat := open(t, srv)
	ns := icetable.Identifier{"lifecycle"}
	ident := icetable.Identifier{"lifecycle", "events"}
	if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"owner": "resttest"}); err != nil {
		t.Fatal(err)
	}

	location := srv.WarehouseLocation + "/custom/events"
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
	// The server wrote the metadata file into our warehouse directory.
	meta := localPath(t, loaded.MetadataLocation())
	if !strings.HasPrefix(meta, filepath.Join(srv.Warehouse, "custom", "events", "metadata")+string(filepath.Separator)) {
		t.Errorf("metadata file %s is not under the table's location in %s", meta, srv.Warehouse)
	}
	if _, err := os.Stat(meta); err != nil {
		t.Errorf("metadata file: %v", err)
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

// TestDefaultLocation shows where a table without a location goes: the
// warehouse property, then namespace and table.
func TestDefaultLocation(t *testing.T) {
	ctx := context.Background()
	cat := open(t, srv)
	if err := cat.CreateNamespace(ctx, icetable.Identifier{"defaults"}, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, icetable.Identifier{"defaults", "t"}, schema)
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.WarehouseLocation + "/defaults/t"; tbl.Location() != want {
		t.Errorf("default location = %q, want %q", tbl.Location(), want)
	}
	if err := cat.PurgeTable(ctx, icetable.Identifier{"defaults", "t"}); err != nil {
		t.Fatal(err)
	}
}

// TestViews: the JDBC catalog keeps views (the fixture's default
// jdbc.schema-version=V1).
func TestViews(t *testing.T) {
	ctx := context.Background()
	cat := open(t, srv)
	ns := icetable.Identifier{"views"}
	ident := icetable.Identifier{"views", "recent"}
	if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	version, err := view.NewVersion(1, 0, []view.Representation{view.NewRepresentation("SELECT 1 AS id", "duckdb")}, ns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateView(ctx, ident, version, schema); err != nil {
		t.Fatal(err)
	}
	loaded, err := cat.LoadView(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.CurrentVersion().Representations; len(got) != 1 || got[0].Sql != "SELECT 1 AS id" {
		t.Errorf("loaded view representations = %v", got)
	}
	if err := cat.DropView(ctx, ident); err != nil {
		t.Fatal(err)
	}
	if ok, err := cat.CheckViewExists(ctx, ident); err != nil || ok {
		t.Errorf("view after drop: exists=%v err=%v", ok, err)
	}
}

// TestCommitConflict: a commit whose requirement no longer holds is a 409,
// which the client reports as ErrCommitFailed.
func TestCommitConflict(t *testing.T) {
	ctx := context.Background()
	cat := open(t, srv)
	ident := icetable.Identifier{"conflicts", "t"}
	if err := cat.CreateNamespace(ctx, icetable.Identifier{"conflicts"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateTable(ctx, ident, schema); err != nil {
		t.Fatal(err)
	}
	set := []icetable.Update{icetable.NewSetPropertiesUpdate(iceberg.Properties{"k": "v"})}

	_, err := cat.UpdateTable(ctx, ident, []icetable.Requirement{icetable.AssertCurrentSchemaID(7)}, set)
	if !errors.Is(err, rest.ErrCommitFailed) {
		t.Errorf("commit on a stale schema id: err = %v, want ErrCommitFailed", err)
	}
	tbl, err := cat.UpdateTable(ctx, ident, []icetable.Requirement{icetable.AssertCurrentSchemaID(0)}, set)
	if err != nil {
		t.Fatal(err)
	}
	if got := tbl.Properties()["k"]; got != "v" {
		t.Errorf("property k = %q after the commit, want v", got)
	}
}

// TestPauseResume: the catalog outlives an outage, on the same URI.
func TestPauseResume(t *testing.T) {
	ctx := context.Background()
	s := ForTest(t)
	cat := open(t, s)
	if err := cat.CreateNamespace(ctx, icetable.Identifier{"kept"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CheckNamespaceExists(ctx, icetable.Identifier{"kept"}); err == nil {
		t.Error("the paused server still answers")
	}
	uri := s.URI
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if s.URI != uri {
		t.Errorf("URI after Resume = %s, want %s", s.URI, uri)
	}
	ok, err := cat.CheckNamespaceExists(ctx, icetable.Identifier{"kept"})
	if err != nil || !ok {
		t.Errorf("namespace after Resume: exists=%v err=%v", ok, err)
	}
}
