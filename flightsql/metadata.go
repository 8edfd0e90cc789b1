//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/engine"
)

// Catalog metadata: GetCatalogs, GetDbSchemas, GetTables, GetTableTypes and
// the key calls. Answers come from DuckDB's own catalog functions run in
// the caller's session, so its temp tables are listed; DuckDB internals
// (the system and temp databases' built-ins, information_schema,
// pg_catalog) are left out, and the Iceberg views are listed as tables.
// Flight SQL filter patterns use SQL LIKE semantics (% and _, escape \).

const (
	typeTable     = "TABLE"
	typeView      = "VIEW"
	typeTemporary = "LOCAL TEMPORARY"
)

// visibleDatabases lists the catalogs clients see: the Iceberg catalog and
// any other database holding user tables or views (temp, when the session
// has temp objects). DuckDB's system database and its empty default
// in-memory database stay hidden.
func (s *Server) visibleDatabases() string {
	return `(SELECT ` + quoteString(s.opts.IcebergCatalog) + `
		UNION SELECT database_name FROM duckdb_tables() WHERE NOT internal AND database_name NOT IN ` + hiddenDatabases + `
		UNION SELECT database_name FROM duckdb_views() WHERE NOT internal AND database_name NOT IN ` + hiddenDatabases + `)`
}

const hiddenSchemas = `('information_schema', 'pg_catalog')`

// hiddenDatabases are DuckDB's system database and the engine's pinned
// snapshot views (an implementation detail of time travel).
const hiddenDatabases = `('system', '` + engine.PinCatalog + `')`

// GetFlightInfoCatalogs answers with a ticket that is the command itself.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.Catalogs, desc.Cmd, noExpiry), nil
}

// DoGetCatalogs lists the catalogs (DuckDB databases) the session can see.
func (s *Server) DoGetCatalogs(ctx context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	rows, err := s.metaQuery(ctx, `SELECT database_name FROM `+s.visibleDatabases()+` t(database_name) ORDER BY 1`)
	if err != nil {
		return nil, nil, s.status("DoGetCatalogs", err)
	}
	return s.sendRows(ctx, schema_ref.Catalogs, rows)
}

// GetFlightInfoSchemas answers with a ticket that is the command itself.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ afsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.DBSchemas, desc.Cmd, noExpiry), nil
}

// DoGetDBSchemas lists schemas, optionally of one catalog and matching a pattern.
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd afsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	rows, err := s.metaQuery(ctx, `SELECT DISTINCT database_name, schema_name FROM duckdb_schemas()
		WHERE database_name IN `+s.visibleDatabases()+` AND schema_name NOT IN `+hiddenSchemas+`
		ORDER BY 1, 2`)
	if err != nil {
		return nil, nil, s.status("DoGetDBSchemas", err)
	}
	rows = slices.DeleteFunc(rows, func(r row) bool {
		return !equalOpt(cmd.GetCatalog(), r[0].s) || !likeOpt(cmd.GetDBSchemaFilterPattern(), r[1].s)
	})
	return s.sendRows(ctx, schema_ref.DBSchemas, rows)
}

// GetFlightInfoTables answers with a ticket that is the command itself.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd afsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	return s.flightInfo(desc, sc, desc.Cmd, noExpiry), nil
}

// DoGetTables lists tables and views; with include_schema each row carries
// the table's Arrow schema, its fields annotated with Flight SQL column
// metadata (type name, precision, scale, ...).
func (s *Server) DoGetTables(ctx context.Context, cmd afsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	_, c, err := s.conn(ctx)
	if err != nil {
		return nil, nil, s.status("DoGetTables", err)
	}
	ice := quoteString(s.opts.IcebergCatalog)
	rows, err := queryRows(ctx, c, s.mem, `
		SELECT database_name, schema_name, table_name,
			CASE WHEN temporary THEN '`+typeTemporary+`' ELSE '`+typeTable+`' END, coalesce(comment, '')
		FROM duckdb_tables()
		WHERE NOT internal AND database_name IN `+s.visibleDatabases()+` AND schema_name NOT IN `+hiddenSchemas+`
		UNION ALL
		SELECT database_name, schema_name, view_name,
			CASE WHEN database_name = `+ice+` THEN '`+typeTable+`'
				WHEN temporary THEN '`+typeTemporary+`' ELSE '`+typeView+`' END, coalesce(comment, '')
		FROM duckdb_views()
		WHERE NOT internal AND database_name IN `+s.visibleDatabases()+` AND schema_name NOT IN `+hiddenSchemas+`
		ORDER BY 1, 2, 3, 4`)
	if err != nil {
		return nil, nil, s.status("DoGetTables", err)
	}
	types := cmd.GetTableTypes()
	rows = slices.DeleteFunc(rows, func(r row) bool {
		return !equalOpt(cmd.GetCatalog(), r[0].s) ||
			!likeOpt(cmd.GetDBSchemaFilterPattern(), r[1].s) ||
			!likeOpt(cmd.GetTableNameFilterPattern(), r[2].s) ||
			(len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, r[3].s) }))
	})
	if !cmd.GetIncludeSchema() {
		for i := range rows {
			rows[i] = rows[i][:4]
		}
		return s.sendRows(ctx, schema_ref.Tables, rows)
	}
	cols, err := s.columns(ctx, c)
	if err != nil {
		return nil, nil, s.status("DoGetTables", err)
	}
	for i, r := range rows {
		sc := s.tableSchema(ctx, c, r, cols[tableKey(r[0].s, r[1].s, r[2].s)])
		rows[i] = append(r[:4], cell{s: string(flight.SerializeSchema(sc, s.mem))})
	}
	return s.sendRows(ctx, schema_ref.TablesWithIncludedSchema, rows)
}

// column is one row of duckdb_columns().
type column struct {
	name, typeName, comment string
	precision, scale        *int32
	nullable                bool
}

// columns reads every visible column, keyed by table.
func (s *Server) columns(ctx context.Context, c conn) (map[string][]column, error) {
	rows, err := queryRows(ctx, c, s.mem, `
		SELECT database_name, schema_name, table_name, column_name, data_type,
			CAST(coalesce(numeric_precision, character_maximum_length) AS VARCHAR),
			CAST(numeric_scale AS VARCHAR), coalesce(comment, ''), CAST(is_nullable AS VARCHAR)
		FROM duckdb_columns()
		WHERE NOT internal AND database_name IN `+s.visibleDatabases()+` AND schema_name NOT IN `+hiddenSchemas+`
		ORDER BY database_name, schema_name, table_name, column_index`)
	if err != nil {
		return nil, err
	}
	out := map[string][]column{}
	for _, r := range rows {
		k := tableKey(r[0].s, r[1].s, r[2].s)
		out[k] = append(out[k], column{name: r[3].s, typeName: r[4].s, precision: r[5].int32(), scale: r[6].int32(), comment: r[7].s,
			nullable: r[8].s != "false"})
	}
	return out, nil
}

// tableSchema is the Arrow schema a SELECT * of the table yields (the
// engine prepares it, so types match what a query returns), annotated with
// column metadata. A table that fails to prepare gets an empty schema.
func (s *Server) tableSchema(ctx context.Context, c conn, r row, cols []column) *arrow.Schema {
	cat, sch, tbl, typ := r[0].s, r[1].s, r[2].s, r[3].s
	st, err := c.Prepare(ctx, "SELECT * FROM "+quoteIdent(cat)+"."+quoteIdent(sch)+"."+quoteIdent(tbl))
	if err != nil {
		s.log.Warn("flightsql: GetTables cannot describe table", "table", cat+"."+sch+"."+tbl, "err", err)
		return arrow.NewSchema(nil, nil)
	}
	sc := st.Schema()
	_ = st.Close()
	readOnly := typ != typeTable || cat == s.opts.IcebergCatalog // views; Iceberg tables change through ingest
	fields := make([]arrow.Field, sc.NumFields())
	for i, f := range sc.Fields() {
		b := afsql.NewColumnMetadataBuilder().CatalogName(cat).SchemaName(sch).TableName(tbl).
			IsAutoIncrement(false).IsReadOnly(readOnly).IsSearchable(true).
			IsCaseSensitive(isText(f.Type))
		if i < len(cols) && cols[i].name == f.Name {
			col := cols[i]
			f.Nullable = col.nullable
			b.TypeName(col.typeName).Remarks(col.comment)
			if col.precision != nil {
				b.Precision(*col.precision)
			}
			if col.scale != nil {
				b.Scale(*col.scale)
			}
		}
		f.Metadata = b.Metadata()
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}

func isText(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

// GetFlightInfoTableTypes answers with a ticket that is the command itself.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.TableTypes, desc.Cmd, noExpiry), nil
}

// DoGetTableTypes lists the table types GetTables reports.
func (s *Server) DoGetTableTypes(ctx context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRows(ctx, schema_ref.TableTypes, []row{{{s: typeTable}}, {{s: typeView}}, {{s: typeTemporary}}})
}

// Keys: Iceberg tables have no primary or foreign keys, so the key calls
// answer empty results of the right shape (not Unimplemented, which some
// BI tools treat as a broken connection).

func (s *Server) GetFlightInfoPrimaryKeys(_ context.Context, _ afsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.PrimaryKeys, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetPrimaryKeys(ctx context.Context, _ afsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRows(ctx, schema_ref.PrimaryKeys, nil)
}

func (s *Server) GetFlightInfoImportedKeys(_ context.Context, _ afsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.ImportedKeys, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetImportedKeys(ctx context.Context, _ afsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRows(ctx, schema_ref.ImportedKeys, nil)
}

func (s *Server) GetFlightInfoExportedKeys(_ context.Context, _ afsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.ExportedKeys, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetExportedKeys(ctx context.Context, _ afsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRows(ctx, schema_ref.ExportedKeys, nil)
}

func (s *Server) GetFlightInfoCrossReference(_ context.Context, _ afsql.CrossTableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.CrossReference, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetCrossReference(ctx context.Context, _ afsql.CrossTableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRows(ctx, schema_ref.CrossReference, nil)
}

// metaQuery runs a catalog query in the caller's session.
func (s *Server) metaQuery(ctx context.Context, sql string) ([]row, error) {
	_, c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	return queryRows(ctx, c, s.mem, sql)
}

// cell is one value of a metadata row; null marks SQL NULL.
type cell struct {
	s    string
	null bool
}

func (c cell) int32() *int32 {
	if c.null {
		return nil
	}
	v, err := strconv.ParseInt(c.s, 10, 32)
	if err != nil {
		return nil
	}
	n := int32(v)
	return &n
}

type row []cell

// queryRows runs sql and returns every value as text.
func queryRows(ctx context.Context, c conn, mem memory.Allocator, sql string) ([]row, error) {
	st, err := c.Prepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	rdr, err := st.Query(ctx, nil, mem)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var out []row
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			r := make(row, rec.NumCols())
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					r[j] = cell{null: true}
				} else {
					r[j] = cell{s: strings.Clone(col.ValueStr(i))} // ValueStr may alias the batch
				}
			}
			out = append(out, r)
		}
	}
	return out, rdr.Err()
}

// sendRows streams rows (text cells; int32 and binary columns parsed)
// as one batch of schema sc.
func (s *Server) sendRows(ctx context.Context, sc *arrow.Schema, rows []row) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, sc)
	defer b.Release()
	for _, r := range rows {
		for j, fb := range b.Fields() {
			if r[j].null {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(r[j].s)
			case *array.BinaryBuilder:
				fb.Append([]byte(r[j].s))
			default:
				return nil, nil, s.status("metadata", fmt.Errorf("metadata column %s of type %s", sc.Field(j).Name, sc.Field(j).Type))
			}
		}
	}
	rec := b.NewRecordBatch()
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: trackBatch(ctx, rec)}
	close(ch)
	return sc, ch, nil
}

func tableKey(cat, sch, tbl string) string { return cat + "\x00" + sch + "\x00" + tbl }

// equalOpt: an unset catalog matches everything; "" matches nothing here
// (every DuckDB object has a catalog).
func equalOpt(want *string, got string) bool { return want == nil || *want == got }

func likeOpt(pattern *string, s string) bool { return pattern == nil || like(*pattern, s) }

// like matches s against a SQL LIKE pattern: % any run, _ one character,
// \ escapes the next character.
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

func quoteIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
