package catalog

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var viewCols = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// A view's life: create, load (its SQL in the duckdb dialect, its schema),
// list, replace (a new version of the same view), drop (its files too).
func TestViewLifecycle(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	skipWithoutViews(t, c)
	if err := c.EnsureNamespace(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	id := Ident{Namespace: "gold", Name: "v"}
	if err := c.CreateView(ctx, id, viewCols, "SELECT 1 AS id, 'a' AS name"); err != nil {
		t.Fatal(err)
	}
	v, err := c.LoadView(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.SQL != "SELECT 1 AS id, 'a' AS name" || v.VersionID != 1 || len(v.Schema.Fields()) != 2 || v.Schema.Field(1).Name != "name" {
		t.Fatalf("loaded %+v, schema %v", v, v.Schema)
	}
	// iceberg-go's own reader agrees, and the representation is duckdb's.
	md, err := iceLoadView(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	reps := md.CurrentVersion().Representations
	if len(reps) != 1 || reps[0].Dialect != ViewDialect || reps[0].Type != "sql" {
		t.Fatalf("representations %+v", reps)
	}
	if got := md.CurrentVersion().DefaultNamespace; len(got) != 1 || got[0] != "gold" {
		t.Fatalf("default namespace %v", got)
	}
	views, err := c.ListViews(ctx)
	if err != nil || len(views) != 1 || views[0] != id {
		t.Fatalf("ListViews %v %v", views, err)
	}
	tables, err := c.ListTables(ctx)
	if err != nil || len(tables) != 0 {
		t.Fatalf("ListTables %v %v: a view is no table", tables, err)
	}
	if ok, err := c.ViewExists(ctx, id); !ok || err != nil {
		t.Fatalf("ViewExists %v %v", ok, err)
	}

	first := v.MetadataLocation
	one := arrow.NewSchema(viewCols.Fields()[:1], nil)
	if err := c.CreateOrReplaceView(ctx, id, one, "SELECT 2 AS id"); err != nil {
		t.Fatal(err)
	}
	v2, err := c.LoadView(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v2.SQL != "SELECT 2 AS id" || v2.VersionID != 2 || len(v2.Schema.Fields()) != 1 || v2.MetadataLocation == first {
		t.Fatalf("replaced: %+v", v2)
	}
	md2, err := iceLoadView(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	if md2.ViewUUID() != md.ViewUUID() || len(md2.Versions()) != 2 {
		t.Fatalf("replace kept uuid %v→%v, versions %d", md.ViewUUID(), md2.ViewUUID(), len(md2.Versions()))
	}
	// The old metadata file stays readable for readers that read its location.
	if _, err := os.Stat(LocalPath(first)); err != nil {
		t.Fatalf("old metadata file gone after replace: %v", err)
	}

	dir := LocalPath(v2.Location)
	if err := c.DropView(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("view directory %s still there: %v", dir, err)
	}
	if _, err := c.LoadView(ctx, id); !errors.Is(err, ErrNoSuchView) {
		t.Fatalf("LoadView after drop: %v", err)
	}
	if err := c.DropView(ctx, id); !errors.Is(err, ErrNoSuchView) {
		t.Fatalf("second DropView: %v", err)
	}
	// CREATE OR REPLACE of a missing view creates it.
	if err := c.CreateOrReplaceView(ctx, id, one, "SELECT 3 AS id"); err != nil {
		t.Fatal(err)
	}
	if v3, err := c.LoadView(ctx, id); err != nil || v3.VersionID != 1 || v3.SQL != "SELECT 3 AS id" {
		t.Fatalf("created by replace: %+v %v", v3, err)
	}
}

// A name is a table or a view: each refuses the other, and the namespace
// must exist.
func TestViewNameClashes(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	skipWithoutViews(t, c)
	if err := c.EnsureNamespace(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	tbl := Ident{Namespace: "gold", Name: "t"}
	vw := Ident{Namespace: "gold", Name: "v"}
	if err := c.CreateTable(ctx, tbl, viewCols); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateView(ctx, vw, viewCols, "SELECT 1 AS id, 'a' AS name"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateView(ctx, tbl, viewCols, "SELECT 1"); !errors.Is(err, ErrTableAlreadyExists) {
		t.Errorf("view over a table: %v", err)
	}
	if err := c.CreateOrReplaceView(ctx, tbl, viewCols, "SELECT 1"); !errors.Is(err, ErrTableAlreadyExists) {
		t.Errorf("replace a table by a view: %v", err)
	}
	if err := c.CreateView(ctx, vw, viewCols, "SELECT 1"); !errors.Is(err, ErrViewAlreadyExists) {
		t.Errorf("view twice: %v", err)
	}
	if err := c.CreateTable(ctx, vw, viewCols); !errors.Is(err, ErrViewAlreadyExists) {
		t.Errorf("table over a view: %v", err)
	}
	if err := c.DropView(ctx, tbl); !errors.Is(err, ErrNoSuchView) {
		t.Errorf("DropView of a table: %v", err)
	}
	if err := c.DropTable(ctx, vw); !errors.Is(err, ErrNoSuchTable) {
		t.Errorf("DropTable of a view: %v", err)
	}
	if _, err := c.LoadTable(ctx, tbl); err != nil {
		t.Errorf("the table suffered: %v", err)
	}
	if err := c.CreateView(ctx, Ident{Namespace: "nope", Name: "v"}, viewCols, "SELECT 1"); !errors.Is(err, ErrNoSuchNamespace) {
		t.Errorf("view in a missing namespace: %v", err)
	}
	if err := c.CreateView(ctx, Ident{Namespace: "gold", Name: "e"}, arrow.NewSchema(nil, nil), "SELECT"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("view of no columns: %v", err)
	}
	if err := c.DropNamespace(ctx, "gold"); !errors.Is(err, ErrNamespaceNotEmpty) {
		t.Errorf("DropNamespace with a view: %v", err)
	}
}

// A view created by another engine without duckdb SQL is listed but not
// loaded as lakeflight SQL.
func TestViewOtherDialect(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	if err := c.EnsureNamespace(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	id := Ident{Namespace: "gold", Name: "spark"}
	sc, err := IcebergSchema(viewCols)
	if err != nil {
		t.Fatal(err)
	}
	if err := createForeignView(ctx, c, id, sc, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoadView(ctx, id); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "default") {
		t.Fatalf("LoadView of a default-dialect view: %v", err)
	}
	if err := c.CreateOrReplaceView(ctx, id, viewCols, "SELECT 1 AS id, 'a' AS name"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("replacing its dialect away: %v", err)
	}
}

// Two catalogs (two processes) replacing one view concurrently: every
// replace lands as its own version, none is lost.
func TestViewConcurrentReplace(t *testing.T) {
	ctx := t.Context()
	env := newEnv(t)
	a, b := env.open(t), env.open(t)
	skipWithoutViews(t, a)
	if err := a.EnsureNamespace(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	id := Ident{Namespace: "gold", Name: "v"}
	if err := a.CreateView(ctx, id, viewCols, "SELECT 0 AS id, 'a' AS name"); err != nil {
		t.Fatal(err)
	}
	const each = 4 // 1 + 2×4 versions: under the 10 a view keeps by default
	var wg sync.WaitGroup
	var landed atomic.Int64
	errs := make(chan error, 2*each)
	for i, c := range []*Catalog{a, b} {
		wg.Go(func() {
			for j := range each {
				sql := fmt.Sprintf("SELECT %d AS id, 'a' AS name", 10*(i+1)+j)
				err := c.CreateOrReplaceView(ctx, id, viewCols, sql)
				switch {
				case err == nil:
					landed.Add(1)
				case !errors.Is(err, ErrConflict): // lost every retry: reported, not lost silently
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	md, err := iceLoadView(ctx, a, id)
	if err != nil {
		t.Fatal(err)
	}
	if n, want := len(md.Versions()), 1+int(landed.Load()); n != want || landed.Load() == 0 {
		t.Fatalf("%d versions, want %d (1 + the replaces that returned success)", n, want)
	}
}

// Replacing a view with the definition it has changes nothing (dbt replaces
// its views on every run); going back to an earlier definition makes that
// version current again instead of adding it twice.
func TestViewReplaceWithAKnownDefinition(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	skipWithoutViews(t, c)
	if err := c.EnsureNamespace(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	id := Ident{Namespace: "gold", Name: "again"}
	a, b := "SELECT 1 AS id, 'a' AS name", "SELECT 2 AS id, 'b' AS name"
	if err := c.CreateView(ctx, id, viewCols, a); err != nil {
		t.Fatal(err)
	}
	loc, err := c.ViewMetadataLocation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateOrReplaceView(ctx, id, viewCols, a); err != nil {
		t.Fatalf("replace with the same definition: %v", err)
	}
	if again, _ := c.ViewMetadataLocation(ctx, id); again != loc {
		t.Errorf("the same definition wrote new metadata: %s → %s", loc, again)
	}
	if err := c.CreateOrReplaceView(ctx, id, viewCols, b); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateOrReplaceView(ctx, id, viewCols, a); err != nil {
		t.Fatalf("back to the first definition: %v", err)
	}
	v, err := c.LoadView(ctx, id)
	if err != nil || v.SQL != a || v.VersionID != 1 {
		t.Fatalf("after going back: %+v %v", v, err)
	}
	md, err := iceLoadView(ctx, c, id)
	if err != nil || len(md.Versions()) != 2 {
		t.Fatalf("versions after A, A, B, A: %v %v", md.Versions(), err)
	}
}
