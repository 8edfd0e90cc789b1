//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/lakeflight/lakeflight/catalog"
)

// fakeTables serves fixed table states.
type fakeTables map[catalog.Ident]*catalog.TableState

func (f fakeTables) ListTables(context.Context) ([]catalog.Ident, error) {
	var ids []catalog.Ident
	for id := range f {
		ids = append(ids, id)
	}
	return ids, nil
}

func (f fakeTables) TableState(_ context.Context, id catalog.Ident) (*catalog.TableState, error) {
	st, ok := f[id]
	if !ok {
		return nil, catalog.ErrNoSuchTable
	}
	return st, nil
}

func (f fakeTables) MetadataLocation(_ context.Context, id catalog.Ident) (string, error) {
	st, ok := f[id]
	if !ok {
		return "", catalog.ErrNoSuchTable
	}
	return st.MetadataLocation, nil
}

var _ TableSource = fakeTables(nil)

// TestViewFieldIDsAndDeletes binds a table whose files disagree on column
// names (a rename) and miss a column (added later), with position deletes.
func TestViewFieldIDsAndDeletes(t *testing.T) {
	tables := fakeTables{}
	e, wh := openTest(t, tables)
	f1 := filepath.Join(wh, "data", "f 1.parquet")
	f2 := filepath.Join(wh, "data", "f2.parquet")
	del := filepath.Join(wh, "data", "del.parquet")
	if err := os.MkdirAll(filepath.Join(wh, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	for _, q := range []string{
		"COPY (SELECT range::BIGINT AS id, 'old' || range AS old_name FROM range(5)) TO '" + f1 + "' (FIELD_IDS {id: 1, old_name: 2})",
		"COPY (SELECT range::BIGINT + 100 AS id, 'new' || range AS name, range::INTEGER AS extra FROM range(3)) TO '" + f2 + "' (FIELD_IDS {id: 1, name: 2, extra: 3})",
		"COPY (SELECT 'file://' || replace('" + f1 + "', ' ', '%20') AS file_path, pos::BIGINT AS pos FROM (VALUES (1), (3)) v(pos) UNION ALL SELECT '" + f2 + "', 0) TO '" + del + "'",
	} {
		if err := execSQL(e.admin, q); err != nil {
			e.mu.Unlock()
			t.Fatalf("%s: %v", q, err)
		}
	}
	e.mu.Unlock()
	id := catalog.Ident{Namespace: "bronze", Name: "renamed"}
	tables[id] = &catalog.TableState{
		Ident:            id,
		MetadataLocation: "m1",
		SnapshotID:       1,
		Schema: iceberg.NewSchema(0,
			iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
			iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
			iceberg.NestedField{ID: 3, Name: "extra", Type: iceberg.PrimitiveTypes.Int32},
		),
		DataFiles:   []catalog.DataFile{{Path: f1}, {Path: f2}},
		DeleteFiles: []catalog.DataFile{{Path: del}},
	}
	s := newSession(t, e)
	got := mustQuery(t, s, "SELECT id, name, extra FROM bronze.renamed ORDER BY id")
	want := "[[0 old0 ] [2 old2 ] [4 old4 ] [101 new1 1] [102 new2 2]]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	// A commit elsewhere: new metadata location, the view follows without
	// Refresh.
	tables[id] = &catalog.TableState{Ident: id, MetadataLocation: "m2", SnapshotID: 2,
		Schema: tables[id].Schema, DataFiles: []catalog.DataFile{{Path: f2}}}
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.renamed"); got[0][0] != "3" {
		t.Errorf("after commit: %v", got)
	}
	// Dropped from the catalog: the view goes on next use.
	delete(tables, id)
	if _, _, err := queryAll(t, s, "SELECT count(*) FROM bronze.renamed", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("dropped table: %v", err)
	}
}

// fileList renders any list of paths as an expression DuckDB folds back
// into exactly that list, in order.
func TestFileList(t *testing.T) {
	e, _ := openTest(t, nil)
	many := func(f func(i int) string) []string {
		out := make([]string, 40)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	for name, paths := range map[string][]string{
		"few":        {"/w/a.parquet", "/w/b.parquet"},
		"one dir":    many(func(i int) string { return fmt.Sprintf("/w/ns.db/t/data/%05d.parquet", i) }),
		"many dirs":  many(func(i int) string { return fmt.Sprintf("/w/ns.db/t/data/p=%d/%05d.parquet", i%3, i) }),
		"quotes":     many(func(i int) string { return fmt.Sprintf("/w/it's/%d'.parquet", i) }),
		"separator":  many(func(i int) string { return fmt.Sprintf("/w/a\x1fb/%d.parquet", i) }),
		"no dir":     many(func(i int) string { return fmt.Sprintf("%d.parquet", i) }),
		"root files": many(func(i int) string { return fmt.Sprintf("/%d.parquet", i) }),
	} {
		rows, err := queryStrings(e.admin, "SELECT unnest("+fileList(paths)+")")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := make([]string, len(rows))
		for i, r := range rows {
			got[i] = r[0]
		}
		if !slices.Equal(got, paths) {
			t.Errorf("%s: got %q, want %q", name, got, paths)
		}
	}
}

// An engine over a catalog that is only a TableSource reads its tables and
// refuses, clearly, what the missing roles would do.
func TestMissingRolesRefuse(t *testing.T) {
	id := catalog.Ident{Namespace: "bronze", Name: "only"}
	tables := fakeTables{id: &catalog.TableState{Ident: id, MetadataLocation: "m1", SnapshotID: 1,
		Schema: iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "x", Type: iceberg.PrimitiveTypes.Int64})}}
	e, _ := openTest(t, tables)
	s := newSession(t, e)
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.only"); got[0][0] != "0" {
		t.Fatalf("count: %q", got)
	}
	for _, c := range []struct{ sql, msg string }{
		{"INSERT INTO bronze.only VALUES (1)", "takes no SQL writes"},
		{"SELECT * FROM bronze.only AT (VERSION => 1)", "time travel needs a catalog"},
		{"SELECT * FROM iceberg_snapshots('bronze.only')", "needs a catalog with snapshot metadata"},
		{"CALL iceberg_create_tag('bronze.only', 'v1')", "needs an Iceberg catalog"},
	} {
		if _, err := s.Exec(context.Background(), c.sql); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want unsupported containing %q", c.sql, err, c.msg)
		}
	}
}
