//go:build duckdb_arrow

package flightsql

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// GetTables reports persistent views as VIEW (tables stay TABLE), with
// their columns, and the table_types filter tells them apart; their DDL
// errors reach the wire with the right codes.
func TestGetTablesViews(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	if _, err := cl.ExecuteUpdate(ctx, `CREATE VIEW bronze.recent AS SELECT id, id * 2 AS twice FROM bronze.events`); err != nil {
		t.Fatal(err)
	}
	list := func(types []string) map[string]string {
		t.Helper()
		info, err := cl.GetTables(ctx, &afsql.GetTablesOpts{Catalog: ptrTo("lakehouse"), DbSchemaFilterPattern: ptrTo("bronze"), TableTypes: types})
		if err != nil {
			t.Fatal(err)
		}
		res, err := fetch(ctx, cl, info)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range res.rows {
			out[r[2]] = r[3]
		}
		return out
	}
	if got := list(nil); got["recent"] != "VIEW" || got["events"] != "TABLE" {
		t.Fatalf("GetTables = %v", got)
	}
	if got := list([]string{"VIEW"}); len(got) != 1 || got["recent"] != "VIEW" {
		t.Fatalf("VIEW filter = %v", got)
	}
	if got := list([]string{"TABLE"}); got["recent"] != "" || got["events"] != "TABLE" {
		t.Fatalf("TABLE filter = %v", got)
	}

	info, err := cl.GetTables(ctx, &afsql.GetTablesOpts{IncludeSchema: true, TableNameFilterPattern: ptrTo("recent")})
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	rows := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			rows++
			sc, err := flight.DeserializeSchema(rec.Column(4).(interface{ Value(int) []byte }).Value(i), memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			if sc.NumFields() != 2 || sc.Field(0).Name != "id" || sc.Field(1).Name != "twice" {
				t.Fatalf("view schema = %s", sc)
			}
			md := colMD(sc.Field(0).Metadata)
			if ro, ok := md.IsReadOnly(); !ok || !ro {
				t.Errorf("view column IS_READ_ONLY = %v, %v", ro, ok)
			}
		}
	}
	if err := rdr.Err(); err != nil || rows != 1 {
		t.Fatalf("include_schema rows %d, %v", rows, err)
	}

	for _, tc := range []struct {
		sql  string
		code codes.Code
	}{
		{`CREATE VIEW bronze.recent AS SELECT 1 AS x`, codes.AlreadyExists},
		{`CREATE VIEW bronze.events AS SELECT 1 AS x`, codes.AlreadyExists},
		{`DROP VIEW bronze.nope`, codes.NotFound},
		{`DROP TABLE bronze.recent`, codes.InvalidArgument},
		{`DROP VIEW bronze.events`, codes.InvalidArgument},
		{`CREATE VIEW bronze.bad AS SELECT nope`, codes.InvalidArgument},
	} {
		_, err := cl.ExecuteUpdate(ctx, tc.sql)
		if status.Code(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.sql, err, tc.code)
		}
	}
	if _, err := cl.ExecuteUpdate(ctx, `DROP VIEW bronze.recent`); err != nil {
		t.Fatal(err)
	}
	if got := list(nil); got["recent"] != "" || !slices.Contains([]string{got["events"]}, "TABLE") {
		t.Fatalf("dropped view listed: %v", got)
	}
}
