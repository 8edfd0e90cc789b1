//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// BenchmarkGetTablesIncludeSchema200 lists 200 Iceberg tables (eight
// columns and one snapshot each) with their schemas, the call a BI tool
// makes when it opens a connection.
func BenchmarkGetTablesIncludeSchema200(b *testing.B) {
	const n = 200
	env := newTestEnv(b)
	seedTables(b, env.cat, n)
	cl := env.client(b, true)
	query(b, cl, `SELECT count(*) FROM bronze.t0`) // binds the tables created after Open
	ctx := context.Background()
	opts := &afsql.GetTablesOpts{IncludeSchema: true, DbSchemaFilterPattern: ptrTo("bronze")}
	b.ResetTimer()
	for b.Loop() {
		info, err := cl.GetTables(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		res, err := fetch(ctx, cl, info)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.rows) != n+1 { // and bronze.events
			b.Fatalf("%d tables", len(res.rows))
		}
	}
}

// seedTables creates bronze.t0 … t<n-1>, each with one row.
func seedTables(t testing.TB, cat *catalog.Catalog, n int) {
	t.Helper()
	ctx := context.Background()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	for i := 1; i < sc.NumFields(); i++ {
		b.Field(i).AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for i := range n {
		id := catalog.Ident{Namespace: "bronze", Name: fmt.Sprintf("t%d", i)}
		if err := cat.CreateTable(ctx, id, sc); err != nil {
			t.Fatalf("CreateTable: %v", err)
		}
		rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cat.Append(ctx, id, rdr, nil)
		rdr.Release()
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}
