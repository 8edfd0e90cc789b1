//go:build duckdb_arrow

package flightsql

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func ptrTo[T any](v T) *T { return &v }

// every SqlInfo id Flight SQL defines.
func allSqlInfoIDs() []afsql.SqlInfo {
	var ids []afsql.SqlInfo
	for v := range pb.SqlInfo_name {
		ids = append(ids, afsql.SqlInfo(v))
	}
	slices.Sort(ids)
	return ids
}

func TestSqlInfoRegistersEveryID(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, false)
	ctx := context.Background()
	ids := allSqlInfoIDs()
	if len(ids) < 85 {
		t.Fatalf("only %d ids known", len(ids))
	}
	info, err := cl.GetSqlInfo(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatalf("GetSqlInfo(every id): %v", err)
	}
	if len(res.rows) != len(ids) {
		t.Fatalf("got %d values for %d ids", len(res.rows), len(ids))
	}
	got := map[string]string{}
	for _, r := range res.rows {
		got[r[0]] = r[1]
	}
	for _, c := range []struct {
		id   afsql.SqlInfo
		want string
	}{
		{afsql.SqlInfoFlightSqlServerName, `[0,"lakeflight"]`},
		{afsql.SqlInfoFlightSqlServerVersion, `[0,"test"]`},
		{afsql.SqlInfoFlightSqlServerTransaction, `[3,0]`},
		{afsql.SqlInfoFlightSqlServerCancel, `[1,true]`},
		{afsql.SqlInfoFlightSqlServerSubstrait, `[1,false]`},
		{afsql.SqlInfoFlightSqlServerIngestTransactionsSupported, `[1,false]`},
		{afsql.SqlInfoTransactionsSupported, `[1,false]`},
		{afsql.SqlInfoMaxColumnNameLen, `[2,0]`},
		{afsql.SqlInfoDefaultTransactionIsolation, `[2,0]`},
		{afsql.SqlInfoIdentifierQuoteChar, `[0,"\""]`},
	} {
		if g := got[itoa(uint32(c.id))]; g != c.want {
			t.Errorf("%s = %s, want %s", c.id, g, c.want)
		}
	}
	// Keywords and function lists come from DuckDB.
	for _, id := range []afsql.SqlInfo{afsql.SqlInfoKeywords, afsql.SqlInfoNumericFunctions, afsql.SqlInfoStringFunctions, afsql.SqlInfoDateTimeFunctions, afsql.SqlInfoSystemFunctions} {
		if v := got[itoa(uint32(id))]; len(v) < 40 {
			t.Errorf("%s is short: %s", id, v)
		}
	}
	// No ids: everything.
	info, err = cl.GetSqlInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = fetch(ctx, cl, info); err != nil || len(res.rows) != len(ids) {
		t.Errorf("GetSqlInfo(): %d rows, %v", len(res.rows), err)
	}
}

func itoa(v uint32) string {
	return string(appendUint(nil, v))
}

func appendUint(b []byte, v uint32) []byte {
	if v >= 10 {
		b = appendUint(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

func TestGetCatalogsAndSchemas(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()

	info, err := cl.GetCatalogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	cats := col(res, 0)
	if !slices.Equal(cats, []string{"lakehouse"}) {
		t.Errorf("catalogs = %q, want only lakehouse (no system, temp or empty memory)", cats)
	}
	if _, err := cl.ExecuteUpdate(ctx, `CREATE TEMP TABLE tmp AS SELECT 1 AS x`); err != nil {
		t.Fatal(err)
	}
	if info, err = cl.GetCatalogs(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err = fetch(ctx, cl, info); err != nil {
		t.Fatal(err)
	}
	if cats := col(res, 0); !slices.Equal(cats, []string{"lakehouse", "temp"}) {
		t.Errorf("catalogs with a temp table = %q", cats)
	}

	info, err = cl.GetDBSchemas(ctx, &afsql.GetDBSchemasOpts{Catalog: ptrTo("lakehouse")})
	if err != nil {
		t.Fatal(err)
	}
	res, err = fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	schemas := col(res, 1)
	if !slices.Contains(schemas, "bronze") || slices.Contains(schemas, "information_schema") || slices.Contains(schemas, "pg_catalog") {
		t.Errorf("schemas of lakehouse = %q", res.rows)
	}
	info, err = cl.GetDBSchemas(ctx, &afsql.GetDBSchemasOpts{DbSchemaFilterPattern: ptrTo("br%")})
	if err != nil {
		t.Fatal(err)
	}
	res, err = fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"lakehouse", "bronze"}}; !slices.EqualFunc(res.rows, want, slices.Equal[[]string]) {
		t.Errorf("schemas like br%% = %q, want %q", res.rows, want)
	}
}

func col(res result, i int) []string {
	var out []string
	for _, r := range res.rows {
		out = append(out, r[i])
	}
	return out
}

func TestGetTables(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()

	tables := func(opts *afsql.GetTablesOpts) [][]string {
		t.Helper()
		info, err := cl.GetTables(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fetch(ctx, cl, info)
		if err != nil {
			t.Fatal(err)
		}
		return res.rows
	}
	all := tables(&afsql.GetTablesOpts{})
	if !slices.ContainsFunc(all, func(r []string) bool { return slices.Equal(r, []string{"lakehouse", "bronze", "events", "TABLE"}) }) {
		t.Errorf("tables = %q, want lakehouse.bronze.events as TABLE", all)
	}
	for _, r := range all {
		if r[0] == "system" || r[1] == "information_schema" || r[1] == "pg_catalog" {
			t.Errorf("internal object listed: %q", r)
		}
	}
	if got := tables(&afsql.GetTablesOpts{Catalog: ptrTo("lakehouse"), DbSchemaFilterPattern: ptrTo("bro%"), TableNameFilterPattern: ptrTo("ev_nts")}); len(got) != 1 {
		t.Errorf("pattern match = %q", got)
	}
	if got := tables(&afsql.GetTablesOpts{TableNameFilterPattern: ptrTo("x%")}); len(got) != 0 {
		t.Errorf("x%% matched %q", got)
	}
	if got := tables(&afsql.GetTablesOpts{TableTypes: []string{"VIEW"}}); slices.ContainsFunc(got, func(r []string) bool { return r[2] == "events" }) {
		t.Errorf("VIEW filter kept events: %q", got)
	}

	// Temp tables of this session are listed too.
	if _, err := cl.ExecuteUpdate(ctx, `CREATE TEMP TABLE scratch (d DECIMAL(9,2), s VARCHAR NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if got := tables(&afsql.GetTablesOpts{TableNameFilterPattern: ptrTo("scratch")}); len(got) != 1 || got[0][0] != "temp" || got[0][3] != "LOCAL TEMPORARY" {
		t.Errorf("temp table listed as %q", got)
	}
	if _, err := cl.ExecuteUpdate(ctx, `CREATE TEMP VIEW scratch_v AS SELECT 1 AS one`); err != nil {
		t.Fatal(err)
	}

	// include_schema: Arrow schema with Flight SQL column metadata.
	info, err := cl.GetTables(ctx, &afsql.GetTablesOpts{IncludeSchema: true, TableNameFilterPattern: ptrTo("%")})
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	if !rdr.Schema().Equal(schema_ref.TablesWithIncludedSchema) {
		t.Fatalf("schema = %s", rdr.Schema())
	}
	found := map[string]bool{}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			name := rec.Column(2).ValueStr(i)
			raw := rec.Column(4).(interface{ Value(int) []byte }).Value(i)
			sc, err := flight.DeserializeSchema(raw, memory.DefaultAllocator)
			if err != nil {
				t.Fatalf("table %s: %v", name, err)
			}
			switch name {
			case "events":
				found[name] = true
				if sc.NumFields() != 3 || sc.Field(0).Name != "id" {
					t.Fatalf("events schema = %s", sc)
				}
				md := colMD(sc.Field(0).Metadata)
				if tn, _ := md.TypeName(); tn != "BIGINT" {
					t.Errorf("id TYPE_NAME = %q", tn)
				}
				if ro, ok := md.IsReadOnly(); !ok || ro { // Iceberg tables take INSERT/UPDATE/DELETE/MERGE
					t.Errorf("Iceberg column IS_READ_ONLY = %v, %v", ro, ok)
				}
				md1 := colMD(sc.Field(1).Metadata)
				if cs, ok := md1.IsCaseSensitive(); !ok || !cs {
					t.Errorf("name IS_CASE_SENSITIVE = %v, %v", cs, ok)
				}
				for _, f := range sc.Fields() {
					for _, k := range []string{afsql.TypeNameKey, afsql.IsAutoIncrementKey, afsql.IsCaseSensitiveKey, afsql.IsReadOnlyKey, afsql.IsSearchableKey, afsql.RemarksKey} {
						if f.Metadata.FindKey(k) < 0 {
							t.Errorf("events.%s lacks %s", f.Name, k)
						}
					}
				}
			case "scratch":
				found[name] = true
				md := colMD(sc.Field(0).Metadata)
				p, _ := md.Precision()
				s, _ := md.Scale()
				tn, _ := md.TypeName()
				if tn != "DECIMAL(9,2)" || p != 9 || s != 2 {
					t.Errorf("scratch.d: TYPE_NAME %q PRECISION %d SCALE %d", tn, p, s)
				}
				if sc.Field(1).Nullable {
					t.Errorf("scratch.s NOT NULL column is nullable")
				}
				if ro, ok := md.IsReadOnly(); !ok || ro {
					t.Errorf("temp table column IS_READ_ONLY = %v, %v", ro, ok)
				}
			case "scratch_v":
				found[name] = true
				md := colMD(sc.Field(0).Metadata)
				if ro, ok := md.IsReadOnly(); !ok || !ro {
					t.Errorf("view column IS_READ_ONLY = %v, %v", ro, ok)
				}
			}
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	if !found["events"] || !found["scratch"] || !found["scratch_v"] {
		t.Errorf("include_schema listing lacks tables: %v", found)
	}
}

func TestTableTypesAndKeys(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, false)
	ctx := context.Background()

	info, err := cl.GetTableTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"TABLE"}, {"VIEW"}, {"LOCAL TEMPORARY"}}; !slices.EqualFunc(res.rows, want, slices.Equal[[]string]) {
		t.Errorf("table types = %q", res.rows)
	}

	ref := afsql.TableRef{Catalog: ptrTo("lakehouse"), DBSchema: ptrTo("bronze"), Table: "events"}
	for name, get := range map[string]func() (*flight.FlightInfo, error){
		"primary keys":    func() (*flight.FlightInfo, error) { return cl.GetPrimaryKeys(ctx, ref) },
		"imported keys":   func() (*flight.FlightInfo, error) { return cl.GetImportedKeys(ctx, ref) },
		"exported keys":   func() (*flight.FlightInfo, error) { return cl.GetExportedKeys(ctx, ref) },
		"cross reference": func() (*flight.FlightInfo, error) { return cl.GetCrossReference(ctx, ref, ref) },
	} {
		info, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := fetch(ctx, cl, info)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(res.rows) != 0 {
			t.Errorf("%s: rows %q", name, res.rows)
		}
		want := schema_ref.PrimaryKeys
		if name != "primary keys" {
			want = schema_ref.ImportedKeys
		}
		if !res.schema.Equal(want) {
			t.Errorf("%s: schema %s", name, res.schema)
		}
	}
}

func TestXdbcTypeInfo(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, false)
	ctx := context.Background()
	info, err := cl.GetXdbcTypeInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	names := col(res, 0)
	for _, n := range []string{"BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "VARCHAR", "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "BLOB"} {
		if !slices.Contains(names, n) {
			t.Errorf("type %s missing from %q", n, names)
		}
	}
	info, err = cl.GetXdbcTypeInfo(ctx, ptrTo(int32(pb.XdbcDataType_XDBC_TIMESTAMP)))
	if err != nil {
		t.Fatal(err)
	}
	if res, err = fetch(ctx, cl, info); err != nil {
		t.Fatal(err)
	}
	if got := col(res, 0); !slices.Equal(got, []string{"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}) {
		t.Errorf("timestamp types = %q", got)
	}
	if res.rows[1][16] != "5" { // datetime_subcode TIMESTAMP_WITH_TIMEZONE
		t.Errorf("timestamptz row = %q", res.rows[1])
	}
}

func colMD(md arrow.Metadata) afsql.ColumnMetadata { return afsql.ColumnMetadata{Data: &md} }
