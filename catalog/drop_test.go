package catalog

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// A dropped table takes its directory with it, renamed or not, and leaves
// every other table's files alone; DropIfEmpty does the same for a table
// taken back after a failed create.
func TestDropRemovesTheTablesFiles(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	dirOf := func(id Ident) string {
		t.Helper()
		tbl, err := c.LoadTable(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return LocalPath(tbl.Location())
	}
	exists := func(dir string) bool {
		_, err := os.Stat(dir)
		return err == nil
	}

	// A table renamed away keeps its directory; a new table under the old
	// name gets another. Dropping the renamed one removes only its own.
	id := peopleTable(t, c, mem, 1)
	moved := Ident{"silver", "moved"}
	if err := c.RenameTable(ctx, id, moved); err != nil {
		t.Fatal(err)
	}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 100)
	movedDir, newDir := dirOf(moved), dirOf(id)
	if !exists(movedDir) || !exists(newDir) {
		t.Fatalf("directories before the drop: %s %v, %s %v", movedDir, exists(movedDir), newDir, exists(newDir))
	}
	if err := c.DropTable(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if exists(movedDir) {
		t.Errorf("the dropped table's directory %s is still there", movedDir)
	}
	if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{100}) {
		t.Errorf("the other table after the drop: %v", got)
	}
	if err := c.DropTable(ctx, id); err != nil {
		t.Fatal(err)
	}
	if exists(newDir) {
		t.Errorf("the dropped table's directory %s is still there", newDir)
	}

	// A table with no snapshot, taken back by DropIfEmpty.
	empty := Ident{"silver", "empty"}
	mustCreate(ctx, t, c, empty, deltaSchema)
	emptyDir := dirOf(empty)
	if !exists(emptyDir) {
		t.Fatalf("a created table has no directory at %s", emptyDir)
	}
	if dropped, err := c.DropIfEmpty(ctx, empty); err != nil || !dropped {
		t.Fatalf("DropIfEmpty: %v %v", dropped, err)
	}
	if exists(emptyDir) {
		t.Errorf("the taken-back table's directory %s is still there", emptyDir)
	}
	// The namespace directory stays for the next table.
	entries, err := os.ReadDir(c.WarehouseDir())
	if err != nil || len(entries) == 0 {
		t.Fatalf("warehouse after the drops: %v %v", entries, err)
	}
}

// A schema change that would take a table past MaxColumns is refused before
// it is staged, and so is a replacement schema that wide; the table is
// unchanged.
func TestSchemaChangesKeepTheColumnLimit(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	id := Ident{"silver", "wide"}
	fields := make([]arrow.Field, MaxColumns-1)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.PrimitiveTypes.Int32, Nullable: true}
	}
	mustCreate(ctx, t, c, id, arrow.NewSchema(fields, nil))

	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	err = txn.EvolveSchema(func(u *table.UpdateSchema) error {
		u.AddColumn([]string{"one"}, iceberg.PrimitiveTypes.Int64, "", false, nil)
		u.AddColumn([]string{"two"}, iceberg.PrimitiveTypes.Int64, "", false, nil)
		return nil
	})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "10001 columns") {
		t.Fatalf("adding two columns to %d: %v", MaxColumns-1, err)
	}
	txn.Abort()
	txn, err = c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	if err := txn.EvolveSchema(func(u *table.UpdateSchema) error {
		u.AddColumn([]string{"one"}, iceberg.PrimitiveTypes.Int64, "", false, nil)
		return nil
	}); err != nil {
		t.Fatalf("adding one column, up to the limit: %v", err)
	}
	wide := make([]iceberg.NestedField, MaxColumns+1)
	for i := range wide {
		wide[i] = iceberg.NestedField{ID: i + 1, Name: fmt.Sprintf("w%d", i), Type: iceberg.PrimitiveTypes.Int32}
	}
	err = txn.ReplaceSchema(iceberg.NewSchema(0, wide...))
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "10001 columns") {
		t.Fatalf("a replacement of %d columns: %v", MaxColumns+1, err)
	}
	txn.Abort()
	st, err := c.TableState(ctx, id)
	if err != nil || len(st.Schema.Fields()) != MaxColumns-1 {
		t.Fatalf("the table after the refusals: %d columns, %v", len(st.Schema.Fields()), err)
	}
}

// Names a location would have to escape get a directory of safe characters
// of their own: the table is created, written, read and dropped like any.
func TestNamesNeedingEscapes(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	for _, name := range []string{"a%b", "a%zz", "été", "a b", "x#y?z", "100%"} {
		id := Ident{"silver", name}
		if c.checkRemoteName(id) != nil {
			// Refused up front: REST servers do not all route %25, a Hive
			// Metastore takes plain names only.
			if err := c.CreateTable(ctx, id, deltaSchema); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.driver) &&
				!strings.Contains(err.Error(), "Hive") {
				t.Errorf("%q on a %s catalog: %v, want a refusal", name, c.driver, err)
			}
			if ids, err := c.ListTables(ctx); len(ids) != 0 || err != nil {
				t.Errorf("%q: tables %v, %v after the refusal", name, ids, err)
			}
			continue
		}
		mustCreate(ctx, t, c, id, deltaSchema)
		appendIDs(t, c, mem, id, 7)
		if got := idsOf(t, c, id, 0); !slices.Equal(got, []int64{7}) {
			t.Errorf("%q: ids %v", name, got)
		}
		tbl, err := c.LoadTable(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		loc := tbl.Location()
		rest := strings.TrimPrefix(loc, "file://")
		if strings.ContainsAny(rest, "% #?") || !isASCII(rest) {
			t.Errorf("%q: location %s needs escaping", name, loc)
		}
		dir := LocalPath(loc)
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%q: %v", name, err)
		}
		if err := c.DropTable(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%q: directory %s left after the drop", name, dir)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// The nesting limits hold for every way a schema is made: a create, a
// schema change and a replacement; Arrow and Iceberg types count alike.
func TestSchemasKeepTheNestingLimits(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	if err := c.EnsureNamespace(ctx, "silver"); err != nil {
		t.Fatal(err)
	}
	deepStruct := func(n int) arrow.DataType {
		typ := arrow.PrimitiveTypes.Int64
		for range n {
			typ = arrow.StructOf(arrow.Field{Name: "a", Type: typ, Nullable: true})
		}
		return typ
	}
	deepList := func(n int) arrow.DataType {
		typ := arrow.PrimitiveTypes.Int64
		for range n {
			typ = arrow.ListOf(typ)
		}
		return typ
	}
	for _, tt := range []struct {
		typ  arrow.DataType
		want string // "" when the type is kept
	}{
		{deepStruct(MaxNesting), ""},
		{deepStruct(MaxNesting + 1), "nests 33 types deep; at most 32"},
		{deepList(MaxListDepth), ""},
		{deepList(MaxListDepth + 1), "nests lists 17 deep; at most 16"},
		{arrow.MapOf(arrow.BinaryTypes.String, deepList(MaxListDepth)), "nests lists 17 deep"},
		{arrow.MapOf(arrow.BinaryTypes.String, deepList(MaxListDepth-1)), ""},
	} {
		lists, depth := Nesting(tt.typ)
		id := Ident{"silver", fmt.Sprintf("n%d_%d", lists, depth)}
		err := c.CreateTable(ctx, id, arrow.NewSchema([]arrow.Field{{Name: "v", Type: tt.typ, Nullable: true}}, nil))
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.typ, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("create with %s: %v; want %q", tt.typ, err, tt.want)
		}
		if _, err := c.TableState(ctx, id); !errors.Is(err, ErrNoSuchTable) {
			t.Errorf("a refused create left %s (%v)", id, err)
		}
	}

	id := Ident{"silver", "flat"}
	mustCreate(ctx, t, c, id, deltaSchema)
	deep, err := IcebergSchema(arrow.NewSchema([]arrow.Field{{Name: "v", Type: deepStruct(MaxNesting + 1), Nullable: true}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	err = txn.EvolveSchema(func(u *table.UpdateSchema) error {
		u.AddColumn([]string{"v"}, deep.Field(0).Type, "", false, nil)
		return nil
	})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "nests 33 types deep") {
		t.Fatalf("adding a column 33 deep: %v", err)
	}
	txn.Abort()
	txn, err = c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Abort()
	if err := txn.ReplaceSchema(deep); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "nests 33 types deep") {
		t.Fatalf("a replacement 33 deep: %v", err)
	}
}
