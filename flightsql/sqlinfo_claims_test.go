//go:build duckdb_arrow

package flightsql

import (
	"context"
	"strings"
	"testing"

	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
)

// Every SqlInfo claim that SQL can check is checked: a capability
// announced true works through a real client, one announced false is
// refused, and the values that describe behaviour (null ordering,
// identifier case, transactions) match what the server does.
func TestSqlInfoClaimsHold(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, false)
	ctx := context.Background()
	info, err := cl.GetSqlInfo(ctx, allSqlInfoIDs())
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[afsql.SqlInfo]string{}
	for _, r := range res.rows {
		for _, id := range allSqlInfoIDs() {
			if itoa(uint32(id)) == r[0] {
				claims[id] = r[1]
			}
		}
	}
	claim := func(id afsql.SqlInfo) bool {
		v := claims[id]
		if v != "[1,true]" && v != "[1,false]" {
			t.Fatalf("%s = %s, not a boolean", id, v)
		}
		return v == "[1,true]"
	}
	// works runs sql (a query or an update) and reports whether it succeeded.
	works := func(sql string) (result, bool) {
		info, err := cl.Execute(ctx, sql)
		if err != nil {
			return result{}, false
		}
		res, err := fetch(ctx, cl, info)
		return res, err == nil
	}
	answer := func(sql string) string {
		t.Helper()
		res, ok := works(sql)
		if !ok || len(res.rows) != 1 {
			t.Fatalf("%s: %q, ok %v", sql, res.rows, ok)
		}
		return strings.Join(res.rows[0], ",")
	}
	if _, err := cl.ExecuteUpdate(ctx, "CREATE TABLE bronze.claims (id INTEGER NOT NULL, name VARCHAR)"); err != nil {
		t.Fatalf("CREATE TABLE: %v", err)
	}
	boolClaims := []struct {
		id     afsql.SqlInfo
		sql    string // succeeds exactly when the claim is true
		update bool   // sent as an update (a script), not a query
	}{
		{id: afsql.SqlInfoDDLTable, sql: "CREATE TABLE bronze.claims_ddl AS SELECT 1 AS a"},
		{id: afsql.SqlInfoDDLSchema, sql: "CREATE SCHEMA claims_schema"},
		{id: afsql.SqlInfoDDLCatalog, sql: "ATTACH ':memory:' AS claims_catalog"},
		{id: afsql.SqlInfoSupportsColumnAliasing, sql: "SELECT 1 AS aliased"},
		{id: afsql.SqlInfoSupportsTableCorrelationNames, sql: "SELECT e.id FROM bronze.events AS e"},
		{id: afsql.SqlInfoSupportsExpressionsInOrderBy, sql: "SELECT id FROM bronze.events ORDER BY id * -1"},
		{id: afsql.SqlInfoSupportsOrderByUnrelated, sql: "SELECT name FROM bronze.events ORDER BY id"},
		{id: afsql.SqlInfoSupportsLikeEscapeClause, sql: `SELECT 'a%' LIKE 'a\%' ESCAPE '\'`},
		{id: afsql.SqlInfoCorrelatedSubqueriesSupported, sql: "SELECT id FROM bronze.events e WHERE amount > (SELECT min(amount) FROM bronze.events f WHERE f.id < e.id)"},
		{id: afsql.SqlInfoSelectForUpdateSupported, sql: "SELECT id FROM bronze.events FOR UPDATE"},
		{id: afsql.SqlInfoTransactionsSupported, sql: "BEGIN TRANSACTION; INSERT INTO bronze.claims VALUES (1, 'x'); ROLLBACK", update: true},
		{id: afsql.SqlInfoFlightSqlServerReadOnly, sql: "SELECT 1 WHERE false"}, // read-only: the write below must fail instead
	}
	for _, c := range boolClaims {
		if c.id == afsql.SqlInfoFlightSqlServerReadOnly {
			_, err := cl.ExecuteUpdate(ctx, "INSERT INTO bronze.claims VALUES (1, 'one')")
			if claim(c.id) == (err == nil) {
				t.Errorf("%s = %v, but an INSERT into an Iceberg table gave %v", c.id, claim(c.id), err)
			}
			continue
		}
		_, ok := works(c.sql)
		if c.update {
			_, err := cl.ExecuteUpdate(ctx, c.sql)
			ok = err == nil
		}
		if claim(c.id) != ok {
			t.Errorf("%s = %v, but %q %s", c.id, claim(c.id), c.sql, map[bool]string{true: "works", false: "fails"}[ok])
		}
	}
	// Values that describe behaviour.
	if claim(afsql.SqlInfoNullPlusNullIsNull) != (answer("SELECT NULL + NULL IS NULL") == "true") {
		t.Errorf("NullPlusNullIsNull does not match NULL + NULL")
	}
	if claims[afsql.SqlInfoNullOrdering] != "[2,3]" { // SQL_NULLS_SORTED_AT_END
		t.Errorf("NullOrdering = %s, want sorted at end", claims[afsql.SqlInfoNullOrdering])
	}
	for _, dir := range []string{"ASC", "DESC"} {
		if got := answer("SELECT list(x ORDER BY x " + dir + ")::VARCHAR FROM (VALUES (NULL), (1), (2)) t(x)"); !strings.HasSuffix(got, "NULL]") {
			t.Errorf("NULLs sort at the end (%s), but %s", dir, got)
		}
	}
	if claims[afsql.SqlInfoIdentifierCase] != "[2,1]" || claims[afsql.SqlInfoQuotedIdentifierCase] != "[2,1]" { // SQL_CASE_SENSITIVITY_CASE_INSENSITIVE
		t.Errorf("identifier case: %s / %s", claims[afsql.SqlInfoIdentifierCase], claims[afsql.SqlInfoQuotedIdentifierCase])
	}
	for _, q := range []string{"SELECT count(*) FROM BRONZE.EVENTS", `SELECT count(*) FROM "Bronze"."Events"`, "SELECT count(*) FROM lakehouse.bronze.events"} {
		if answer(q) != "3" {
			t.Errorf("%s does not name bronze.events", q)
		}
	}
	if claims[afsql.SqlInfoOuterJoinsSupportLevel] != "[3,2]" { // full outer joins
		t.Errorf("OuterJoinsSupportLevel = %s", claims[afsql.SqlInfoOuterJoinsSupportLevel])
	}
	if answer("SELECT count(*) FROM bronze.events a FULL OUTER JOIN bronze.events b ON a.id = b.id + 1") != "4" {
		t.Error("FULL OUTER JOIN")
	}
	if answer("SELECT count(*) FROM (SELECT id FROM bronze.events UNION SELECT id FROM bronze.events UNION ALL SELECT 1)") != "4" {
		t.Error("UNION / UNION ALL")
	}
	if answer("SELECT count(*) FROM bronze.events WHERE EXISTS (SELECT 1) AND id IN (SELECT id FROM bronze.events) AND id > ANY (SELECT 1)") != "2" {
		t.Error("subqueries: EXISTS, IN, quantified")
	}
	if answer(`SELECT 1 AS "a ""quoted"" name"`) != "1" || claims[afsql.SqlInfoIdentifierQuoteChar] != `[0,"\""]` {
		t.Error("identifier quote char")
	}
	if claims[afsql.SqlInfoFlightSqlServerStatementTimeout] != "[3,0]" {
		t.Errorf("StatementTimeout = %s: lakeflight has no statement timeout", claims[afsql.SqlInfoFlightSqlServerStatementTimeout])
	}
	// NOT NULL columns are kept: a NULL is refused.
	if claim(afsql.SqlInfoSupportsNonNullableColumns) {
		if _, err := cl.ExecuteUpdate(ctx, "INSERT INTO bronze.claims VALUES (NULL, 'x')"); err == nil {
			t.Error("SupportsNonNullableColumns, but a NULL went into a NOT NULL column")
		}
	}
	// Transactions: none, and the protocol's BeginTransaction says so.
	if claims[afsql.SqlInfoFlightSqlServerTransaction] != "[3,0]" {
		t.Errorf("FlightSqlServerTransaction = %s", claims[afsql.SqlInfoFlightSqlServerTransaction])
	}
	if _, err := cl.BeginTransaction(ctx); err == nil {
		t.Error("BeginTransaction succeeded on a server that announces no transactions")
	} else {
		wantCode(t, err, codes.Unimplemented)
	}
	// Search string escape: GetTables patterns take "\".
	if claims[afsql.SqlInfoSearchStringEscape] != `[0,"\\"]` {
		t.Errorf("SearchStringEscape = %s", claims[afsql.SqlInfoSearchStringEscape])
	}
	pattern := `claims\_ddl`
	info, err = cl.GetTables(ctx, &afsql.GetTablesOpts{TableNameFilterPattern: &pattern})
	if err != nil {
		t.Fatal(err)
	}
	tables, err := fetch(ctx, cl, info)
	if err != nil || len(tables.rows) != 1 {
		t.Errorf("GetTables(%s): %q, %v", pattern, tables.rows, err)
	}
}
