//go:build duckdb_arrow

package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Listing the catalog for clients' metadata calls (Flight SQL GetCatalogs,
// GetDbSchemas, GetTables). DuckDB's catalog functions run on the session's
// connection, so its temp tables and views are listed; DuckDB internals
// (the system database, built-ins, information_schema, pg_catalog) and the
// pinned snapshot views are left out; the views that stand for Iceberg
// tables are tables, and persistent views (Iceberg views) are views.
//
// Column types come from duckdb_columns(), which reads the types stored
// with each table or view without binding it: an Iceberg view is described
// as its current schema whatever the session's lakeflight_as_of, and no
// Parquet footer is read. The type names go through one prepared query of
// typed NULLs and DuckDB's own Arrow conversion, the one a query's result
// schema takes, so a listed column has the Arrow type a SELECT returns.

// Table kinds a listing reports (the Flight SQL / JDBC table types).
const (
	KindTable     = "TABLE"
	KindView      = "VIEW"
	KindTemporary = "LOCAL TEMPORARY"
)

// hiddenDatabases and hiddenSchemas are never listed.
var (
	hiddenDatabases = []string{"system", PinCatalog}
	hiddenSchemas   = []string{"information_schema", "pg_catalog"}
)

// CatalogFilter selects what Session.Catalog lists. Patterns are SQL LIKE
// patterns (% any run, _ one character, \ escapes the next one); a nil
// field matches everything.
type CatalogFilter struct {
	Catalog       *string  // exact catalog name of schemas and tables ("" matches none)
	SchemaPattern *string  // schemas and tables
	TablePattern  *string  // tables
	Kinds         []string // table kinds, case-insensitive; empty: all
	Columns       bool     // describe each listed table's columns
}

// CatalogListing is what a session can see, ordered by name. Catalogs are
// never filtered; schemas and tables are.
type CatalogListing struct {
	Catalogs []string
	Schemas  []SchemaName
	Tables   []TableEntry
}

// SchemaName is one schema of a catalog.
type SchemaName struct{ Catalog, Schema string }

// TableEntry is one table or view.
type TableEntry struct {
	Catalog, Schema, Name string
	Kind                  string // KindTable, KindView or KindTemporary
	Comment               string
	// Iceberg: a table of the Iceberg catalog.
	Iceberg bool
	// Writable: INSERT, UPDATE, DELETE and MERGE apply (DuckDB and Iceberg
	// tables; not views).
	Writable bool
	// Columns, when the filter asked for them; nil for a table that
	// could not be described.
	Columns []Column
}

// Column is one column of a listed table. Field carries the name, the
// Arrow type a query of the table returns, and the column's nullability.
type Column struct {
	Field            arrow.Field
	TypeName         string // DuckDB's name of the type, e.g. DECIMAL(9,2)
	Precision, Scale *int32 // numeric precision (or text length) and scale, when DuckDB knows them
	Comment          string
}

// Catalog lists the catalogs, schemas and tables the session can see.
func (s *Session) Catalog(ctx context.Context, f CatalogFilter) (*CatalogListing, error) {
	if ctx.Err() != nil {
		return nil, canceled(ctx)
	}
	dc, release, err := s.acquire(false)
	if err != nil {
		return nil, err
	}
	defer release()
	objs, err := listObjects(ctx, dc)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	ice := s.e.cfg.CatalogName
	visible := map[string]bool{ice: true}
	for _, o := range objs {
		visible[o.Catalog] = true
	}
	out := &CatalogListing{}
	for db := range visible {
		out.Catalogs = append(out.Catalogs, db)
	}
	slices.Sort(out.Catalogs)

	if out.Schemas, err = listSchemas(ctx, dc, visible, f); err != nil {
		return nil, fmt.Errorf("listing schemas: %w", err)
	}
	// A session with namespace grants sees only its namespaces of the
	// lakehouse (and its own temp objects).
	grants, _ := s.grantsOf()
	hidden := func(catalog, schema string) bool {
		return grants != nil && catalog == ice && !granted(grants, schema)
	}
	out.Schemas = slices.DeleteFunc(out.Schemas, func(n SchemaName) bool { return hidden(n.Catalog, n.Schema) })

	for _, o := range objs {
		if slices.Contains(hiddenSchemas, o.Schema) || !f.keepTable(o) || hidden(o.Catalog, o.Schema) {
			continue
		}
		if o.Catalog == ice && o.Kind != KindTable && !s.e.isStoredView(o.Schema, o.Name) {
			o.Kind = KindTable // the views standing for Iceberg tables
			_, o.Iceberg = s.e.boundTable(o.Schema, o.Name)
			o.Writable = o.Iceberg
		}
		if len(f.Kinds) > 0 && !slices.ContainsFunc(f.Kinds, func(k string) bool { return strings.EqualFold(k, o.Kind) }) {
			continue
		}
		out.Tables = append(out.Tables, o)
	}
	slices.SortFunc(out.Tables, func(a, b TableEntry) int {
		return cmp.Or(cmp.Compare(a.Catalog, b.Catalog), cmp.Compare(a.Schema, b.Schema),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	if f.Columns && len(out.Tables) > 0 {
		if err := s.describeTables(ctx, dc, out.Tables); err != nil {
			return nil, fmt.Errorf("listing columns: %w", err)
		}
	}
	return out, nil
}

func (f CatalogFilter) keepSchema(catalog, schema string) bool {
	return (f.Catalog == nil || *f.Catalog == catalog) && (f.SchemaPattern == nil || like(*f.SchemaPattern, schema))
}

func (f CatalogFilter) keepTable(t TableEntry) bool {
	return f.keepSchema(t.Catalog, t.Schema) && (f.TablePattern == nil || like(*f.TablePattern, t.Name))
}

// notHidden is the WHERE clause of the catalog queries: no built-ins, no
// hidden database.
func notHidden() string {
	q := make([]string, len(hiddenDatabases))
	for i, db := range hiddenDatabases {
		q[i] = quoteString(db)
	}
	return "NOT internal AND database_name NOT IN (" + strings.Join(q, ", ") + ")"
}

// listObjects reads every user table and view of the visible databases,
// hidden schemas included (they still make their database visible).
func listObjects(ctx context.Context, dc *dconn) ([]TableEntry, error) {
	q := `SELECT database_name, schema_name, table_name, CASE WHEN temporary THEN '` + KindTemporary + `' ELSE '` + KindTable + `' END,
			comment, true
		FROM duckdb_tables() WHERE ` + notHidden() + `
		UNION ALL
		SELECT database_name, schema_name, view_name, CASE WHEN temporary THEN '` + KindTemporary + `' ELSE '` + KindView + `' END,
			comment, false
		FROM duckdb_views() WHERE ` + notHidden()
	var out []TableEntry
	err := scanRows(ctx, dc, q, func(c []arrow.Array, i int) {
		out = append(out, TableEntry{Catalog: textAt(c[0], i), Schema: textAt(c[1], i), Name: textAt(c[2], i),
			Kind: textAt(c[3], i), Comment: textAt(c[4], i), Writable: c[5].(*array.Boolean).Value(i)})
	})
	return out, err
}

// listSchemas reads the schemas of the visible databases that f keeps.
func listSchemas(ctx context.Context, dc *dconn, visible map[string]bool, f CatalogFilter) ([]SchemaName, error) {
	var out []SchemaName
	err := scanRows(ctx, dc, `SELECT DISTINCT database_name, schema_name FROM duckdb_schemas()`, func(c []arrow.Array, i int) {
		sn := SchemaName{Catalog: textAt(c[0], i), Schema: textAt(c[1], i)}
		if visible[sn.Catalog] && !slices.Contains(hiddenSchemas, sn.Schema) && f.keepSchema(sn.Catalog, sn.Schema) {
			out = append(out, sn)
		}
	})
	slices.SortFunc(out, func(a, b SchemaName) int {
		return cmp.Or(cmp.Compare(a.Catalog, b.Catalog), cmp.Compare(a.Schema, b.Schema))
	})
	return out, err
}

// describeTables fills in the columns of tables. The Iceberg tables and
// persistent views among them are first checked for changes by other
// writers, as a statement naming them would be, so their current schema is
// described.
func (s *Session) describeTables(ctx context.Context, dc *dconn, tables []TableEntry) error {
	var names []string
	for _, t := range tables {
		if t.Iceberg || t.Kind == KindView && t.Catalog == s.e.cfg.CatalogName {
			names = append(names, quoteIdent(t.Schema)+"."+quoteIdent(t.Name))
		}
	}
	if len(names) > 0 {
		if err := s.e.syncTables(ctx, sqltext.Tokenize("SELECT * FROM "+strings.Join(names, ", "))); err != nil {
			return err
		}
	}
	type key struct{ catalog, schema, name string }
	cols := map[key][]Column{}
	var typeNames []string
	err := scanRows(ctx, dc, `SELECT database_name, schema_name, table_name, column_name, data_type,
			coalesce(numeric_precision, character_maximum_length), numeric_scale, comment, is_nullable
		FROM duckdb_columns() WHERE `+notHidden()+`
		ORDER BY database_name, schema_name, table_name, column_index`, func(c []arrow.Array, i int) {
		k := key{textAt(c[0], i), textAt(c[1], i), textAt(c[2], i)}
		col := Column{Field: arrow.Field{Name: textAt(c[3], i), Nullable: !c[8].IsNull(i) && c[8].(*array.Boolean).Value(i)},
			TypeName: textAt(c[4], i), Precision: int32At(c[5], i), Scale: int32At(c[6], i), Comment: textAt(c[7], i)}
		cols[k] = append(cols[k], col)
		typeNames = append(typeNames, col.TypeName)
	})
	if err != nil {
		return err
	}
	types := arrowTypes(dc, typeNames)
	for i := range tables {
		t := &tables[i]
		cs := cols[key{t.Catalog, t.Schema, t.Name}]
		ok := true
		for j := range cs {
			cs[j].Field.Type, ok = types[cs[j].TypeName]
			if !ok {
				break
			}
		}
		if !ok {
			ok = s.describeByQuery(dc, t, cs)
		}
		if ok {
			t.Columns = cs
		}
	}
	return nil
}

// arrowTypes converts DuckDB type names to the Arrow types DuckDB gives
// their values: one prepared SELECT of a typed NULL per distinct name. A
// name that does not parse back (a user type out of the search path) is
// left out of the result.
func arrowTypes(dc *dconn, names []string) map[string]arrow.DataType {
	slices.Sort(names)
	names = slices.Compact(names)
	out := make(map[string]arrow.DataType, len(names))
	convert := func(names []string) bool {
		sel := make([]string, len(names))
		for i, n := range names {
			sel[i] = "CAST(NULL AS " + n + ")"
		}
		sc, err := textSchema(dc, "SELECT "+strings.Join(sel, ", "))
		if err != nil || sc.NumFields() != len(names) {
			return false
		}
		for i, n := range names {
			out[n] = sc.Field(i).Type
		}
		return true
	}
	if len(names) == 0 || convert(names) {
		return out
	}
	for _, n := range names {
		convert([]string{n})
	}
	return out
}

// describeByQuery types t's columns from a prepared SELECT * of it: the
// fallback for type names that do not parse back. Only non-Iceberg tables
// get here (Iceberg types are DuckDB built-ins), so the statement is
// prepared as it is, without pinning. It reports whether it succeeded.
func (s *Session) describeByQuery(dc *dconn, t *TableEntry, cols []Column) bool {
	fail := func(err error) bool {
		s.e.log.Warn("cannot describe table", "table", t.Catalog+"."+t.Schema+"."+t.Name, "err", err)
		return false
	}
	if t.Iceberg {
		return fail(fmt.Errorf("a column type does not parse back: %w", ErrInternal))
	}
	sc, err := textSchema(dc, "SELECT * FROM "+quoteIdent(t.Catalog)+"."+quoteIdent(t.Schema)+"."+quoteIdent(t.Name))
	if err != nil {
		return fail(err)
	}
	if sc.NumFields() != len(cols) {
		return fail(fmt.Errorf("%d columns listed, %d selected: %w", len(cols), sc.NumFields(), ErrInternal))
	}
	for i := range cols {
		cols[i].Field.Type = sc.Field(i).Type
	}
	return true
}

// scanRows runs one of the engine's catalog queries on dc and calls row
// for each result row with the batch's columns.
func scanRows(ctx context.Context, dc *dconn, q string, row func(cols []arrow.Array, i int)) error {
	recs, _, err := queryRecords(ctx, dc, q)
	if err != nil {
		return err
	}
	defer releaseAll(recs)
	for _, rec := range recs {
		for i := range int(rec.NumRows()) {
			row(rec.Columns(), i)
		}
	}
	return nil
}

// textAt is a VARCHAR value, copied out of its batch ("" for NULL).
func textAt(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	return strings.Clone(a.(interface{ Value(int) string }).Value(i))
}

// int32At is an INTEGER value (nil for NULL).
func int32At(a arrow.Array, i int) *int32 {
	if a.IsNull(i) {
		return nil
	}
	v := a.(*array.Int32).Value(i)
	return &v
}

// like matches s against a SQL LIKE pattern: % any run, _ one character,
// \ escapes the next character (a trailing \ matches itself).
func like(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	// Iterative matching with backtracking to the last %.
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		if pi < len(p) {
			switch {
			case p[pi] == '\\' && pi+1 < len(p):
				if p[pi+1] == t[ti] {
					pi, ti = pi+2, ti+1
					continue
				}
			case p[pi] == '%':
				star, mark = pi, ti
				pi++
				continue
			case p[pi] == '_' || p[pi] == t[ti]:
				pi, ti = pi+1, ti+1
				continue
			}
		}
		if star < 0 {
			return false
		}
		pi, mark = star+1, mark+1
		ti = mark
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}
