//go:build duckdb_arrow

package flightsql

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/lakeflight/lakeflight/engine"
)

// Catalog metadata: GetCatalogs, GetDbSchemas, GetTables, GetTableTypes and
// the key calls. The listing is the engine's (engine.Session.Catalog, run
// in the caller's session, so its temp tables are listed); this file turns
// the Flight SQL filters into an engine.CatalogFilter and the listing into
// the result shapes of schema_ref. Filter patterns use SQL LIKE semantics
// (% and _, escape \).

// GetFlightInfoCatalogs answers with a ticket that is the command itself.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.Catalogs, desc.Cmd, noExpiry), nil
}

// DoGetCatalogs lists the catalogs (DuckDB databases) the session can see.
func (s *Server) DoGetCatalogs(ctx context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	l, err := s.listCatalog(ctx, engine.CatalogFilter{})
	if err != nil {
		return nil, nil, s.status("DoGetCatalogs", err)
	}
	return s.sendRecord(ctx, schema_ref.Catalogs, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).AppendValues(l.Catalogs, nil)
	})
}

// GetFlightInfoSchemas answers with a ticket that is the command itself.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ afsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.DBSchemas, desc.Cmd, noExpiry), nil
}

// DoGetDBSchemas lists schemas, optionally of one catalog and matching a pattern.
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd afsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	l, err := s.listCatalog(ctx, engine.CatalogFilter{Catalog: cmd.GetCatalog(), SchemaPattern: cmd.GetDBSchemaFilterPattern()})
	if err != nil {
		return nil, nil, s.status("DoGetDBSchemas", err)
	}
	return s.sendRecord(ctx, schema_ref.DBSchemas, func(b *array.RecordBuilder) {
		cat, sch := b.Field(0).(*array.StringBuilder), b.Field(1).(*array.StringBuilder)
		for _, sn := range l.Schemas {
			cat.Append(sn.Catalog)
			sch.Append(sn.Schema)
		}
	})
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
	l, err := s.listCatalog(ctx, engine.CatalogFilter{
		Catalog:       cmd.GetCatalog(),
		SchemaPattern: cmd.GetDBSchemaFilterPattern(),
		TablePattern:  cmd.GetTableNameFilterPattern(),
		Kinds:         cmd.GetTableTypes(),
		Columns:       cmd.GetIncludeSchema(),
	})
	if err != nil {
		return nil, nil, s.status("DoGetTables", err)
	}
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	return s.sendRecord(ctx, sc, func(b *array.RecordBuilder) {
		for _, t := range l.Tables {
			for i, v := range []string{t.Catalog, t.Schema, t.Name, t.Kind} {
				b.Field(i).(*array.StringBuilder).Append(v)
			}
			if cmd.GetIncludeSchema() {
				b.Field(4).(*array.BinaryBuilder).Append(flight.SerializeSchema(tableSchema(t), s.mem))
			}
		}
	})
}

// listCatalog runs the engine's listing in the caller's session.
func (s *Server) listCatalog(ctx context.Context, f engine.CatalogFilter) (*engine.CatalogListing, error) {
	_, c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.Catalog(ctx, f)
}

// tableSchema is t's Arrow schema, each field annotated with Flight SQL
// column metadata. Views are read-only; tables, Iceberg ones included,
// take SQL writes. A table the engine could not describe has no fields.
func tableSchema(t engine.TableEntry) *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, col := range t.Columns {
		f := col.Field
		b := afsql.NewColumnMetadataBuilder().CatalogName(t.Catalog).SchemaName(t.Schema).TableName(t.Name).
			TypeName(col.TypeName).Remarks(col.Comment).
			IsAutoIncrement(false).IsReadOnly(!t.Writable).IsSearchable(true).IsCaseSensitive(isText(f.Type))
		if col.Precision != nil {
			b.Precision(*col.Precision)
		}
		if col.Scale != nil {
			b.Scale(*col.Scale)
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
	return s.sendRecord(ctx, schema_ref.TableTypes, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).AppendValues([]string{engine.KindTable, engine.KindView, engine.KindTemporary}, nil)
	})
}

// Keys: Iceberg tables have no primary or foreign keys, so the key calls
// answer empty results of the right shape (not Unimplemented, which some
// BI tools treat as a broken connection).

func (s *Server) GetFlightInfoPrimaryKeys(_ context.Context, _ afsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.PrimaryKeys, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetPrimaryKeys(ctx context.Context, _ afsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRecord(ctx, schema_ref.PrimaryKeys, nil)
}

func (s *Server) GetFlightInfoImportedKeys(_ context.Context, _ afsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.ImportedKeys, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetImportedKeys(ctx context.Context, _ afsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRecord(ctx, schema_ref.ImportedKeys, nil)
}

func (s *Server) GetFlightInfoExportedKeys(_ context.Context, _ afsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.ExportedKeys, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetExportedKeys(ctx context.Context, _ afsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRecord(ctx, schema_ref.ExportedKeys, nil)
}

func (s *Server) GetFlightInfoCrossReference(_ context.Context, _ afsql.CrossTableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(desc, schema_ref.CrossReference, desc.Cmd, noExpiry), nil
}

func (s *Server) DoGetCrossReference(ctx context.Context, _ afsql.CrossTableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.sendRecord(ctx, schema_ref.CrossReference, nil)
}

// sendRecord streams one batch of schema sc that fill (nil: none) builds.
func (s *Server) sendRecord(ctx context.Context, sc *arrow.Schema, fill func(*array.RecordBuilder)) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, sc)
	defer b.Release()
	if fill != nil {
		fill(b)
	}
	rec := b.NewRecordBatch()
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: trackBatch(ctx, rec)}
	close(ch)
	return sc, ch, nil
}
