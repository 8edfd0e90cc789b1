// Package sqlcorpus is the shared corpus of tricky SQL inputs: comments
// around semicolons, nested comments, dollar-quoted and escaped strings
// that contain "AT (", quoted identifiers named at and version, CTE names
// shadowing tables, CASE … THEN inside MERGE actions, (subquery) aliases,
// multi-byte text, and every query shape time travel must pin (TABLE,
// FROM-first, PIVOT, UNPIVOT, set operations, subqueries, CTEs). The SQL
// text layer's unit tests read what each case says about its text; the
// engine's and the Flight SQL server's tests run the queries and writes
// end to end and compare the answers with DuckDB's own on plain tables
// built from the same fixture.
package sqlcorpus

// Case is one input.
type Case struct {
	Name string
	SQL  string
	// N is the number of statements in SQL (0 means 1).
	N int
	// Kind is the first statement's kind as sqltext names it ("" = not checked).
	Kind string
	// Refs are the table references sqltext's token scan finds in the first
	// statement, in order (nil = not checked).
	Refs []string
	// Use is a schema of the lakehouse catalog to USE before the case.
	Use string
	// Query: the case answers rows that must equal DuckDB's on the plain
	// fixture (and, under time travel, on the fixture as of its first
	// snapshot). Ordered: compare the rows in order.
	Query, Ordered bool
	// Write: the case changes silver.w, which is reset from silver.t
	// before it; silver.w's rows afterwards must equal DuckDB's after the
	// same statement on a plain copy. Returning: the write answers rows
	// (a RETURNING clause) that must equal DuckDB's too.
	Write, Returning bool
	// Refused: lakeflight refuses the case with an error containing this
	// (DuckDB runs it as a script, which a prepared statement cannot be).
	Refused string
}

// Statements is how many statements SQL holds.
func (c Case) Statements() int {
	if c.N == 0 {
		return 1
	}
	return c.N
}

// The fixture, in this order: CreateT, CreateU, then GrowT. As of a time
// between CreateU and GrowT, silver.t holds its first three rows and
// silver.u its only snapshot.
const (
	CreateT = "CREATE TABLE silver.t AS SELECT * FROM (VALUES (1, 'a', 10), (2, 'b', 20), (3, 'a', 30)) v(id, k, v)"
	CreateU = "CREATE TABLE silver.u AS SELECT * FROM (VALUES (1, 'x'), (3, 'y'), (5, 'z')) v(id, name)"
	GrowT   = "INSERT INTO silver.t VALUES (4, 'b', 40), (5, 'c', 50)"
	// ResetW makes silver.w a copy of silver.t before each write case
	// (DropW first, on engines whose CREATE OR REPLACE differs).
	DropW  = "DROP TABLE IF EXISTS silver.w"
	ResetW = "CREATE TABLE silver.w AS SELECT * FROM silver.t"
	ReadW  = "SELECT * FROM silver.w ORDER BY ALL"
)

// Cases returns the corpus.
func Cases() []Case {
	return []Case{
		{Name: "comments-around-semicolon", SQL: "/* lead */ SELECT count(*) AS n FROM silver.t; -- trailing note",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "nested-comment", SQL: "SELECT /* a /* b */ c */ count(*) AS n FROM silver.t /* x */",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "dollar-string-with-at", SQL: "SELECT $$ FROM silver.u AT (VERSION => 1) $$ AS s, count(*) AS n FROM silver.t",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "escaped-string-with-at", SQL: `SELECT E'it\'s AT (VERSION => 1)' AS s, 'x FROM silver.u' AS s2, count(*) AS n FROM silver.t`,
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "quoted-at-and-version", SQL: `SELECT "at", "version" FROM (SELECT id AS "at", v AS "version" FROM silver.t) ORDER BY 1`,
			Kind: "query", Refs: []string{"silver.t"}, Query: true, Ordered: true},
		{Name: "cte-shadows-table", SQL: "WITH t AS (SELECT 42 AS id) SELECT * FROM t", Use: "silver",
			Kind: "query", Refs: []string{"t"}, Query: true},
		{Name: "cte-reads-table", SQL: "WITH x AS (SELECT * FROM silver.t WHERE v > 10) SELECT count(*) AS n FROM x",
			Kind: "query", Refs: []string{"silver.t", "x"}, Query: true},
		{Name: "subquery-alias", SQL: "SELECT count(*) AS n FROM (SELECT * FROM silver.t WHERE v > 10) s",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "multibyte-text", SQL: "SELECT 'héllo wörld ✓' AS s, count(*) AS n FROM silver.t WHERE k <> 'ü'",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "table-statement", SQL: "TABLE silver.t", Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "table-in-union", SQL: "(TABLE silver.t) UNION ALL (SELECT * FROM silver.t WHERE id = 1)",
			Kind: "query", Refs: []string{"silver.t", "silver.t"}, Query: true},
		{Name: "from-first", SQL: "FROM silver.t SELECT k, sum(v) AS s GROUP BY k", Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "pivot-with-in", SQL: "PIVOT silver.t ON k IN ('a', 'b') USING sum(v) GROUP BY id",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "pivot-without-in", SQL: "PIVOT silver.t ON k USING sum(v) GROUP BY id",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "pivot-without-in-two-columns", SQL: "PIVOT silver.t ON k, v % 20 USING count(*)",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "pivot-without-in-cte", SQL: "WITH big AS (SELECT * FROM silver.t WHERE v > 10) PIVOT big ON k USING sum(v) GROUP BY id ORDER BY id",
			Kind: "query", Refs: []string{"silver.t", "big"}, Query: true, Ordered: true},
		{Name: "pivot-subquery", SQL: "SELECT * FROM (PIVOT silver.t ON k IN ('a', 'c') USING sum(v) GROUP BY id) p",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "pivot-subquery-without-in", SQL: "SELECT * FROM (PIVOT silver.t ON k USING sum(v) GROUP BY id) p",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "unpivot", SQL: "UNPIVOT silver.t ON v INTO NAME name VALUE value", Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "unpivot-subquery", SQL: "SELECT count(*) AS n FROM (UNPIVOT silver.t ON id, v INTO NAME name VALUE value)",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "set-operations", SQL: "SELECT id FROM silver.t UNION ALL SELECT id FROM silver.u EXCEPT SELECT 3",
			Kind: "query", Refs: []string{"silver.t", "silver.u"}, Query: true},
		{Name: "join-using", SQL: "SELECT t.id, u.name FROM silver.t JOIN silver.u USING (id) ORDER BY 1",
			Kind: "query", Refs: []string{"silver.t", "silver.u"}, Query: true, Ordered: true},
		{Name: "from-inside-functions", SQL: "SELECT extract(year FROM DATE '2024-05-06') AS y, trim(BOTH 'x' FROM 'xax') AS a, count(*) AS n FROM silver.t",
			Kind: "query", Refs: []string{"silver.t"}, Query: true},
		{Name: "lateral", SQL: "SELECT t.id, l.m FROM silver.t t, LATERAL (SELECT max(v) AS m FROM silver.t t2 WHERE t2.id <= t.id) l ORDER BY 1",
			Kind: "query", Refs: []string{"silver.t", "silver.t"}, Query: true, Ordered: true},
		{Name: "correlated-subquery", SQL: "SELECT id FROM silver.t WHERE v > (SELECT avg(v) FROM silver.t) ORDER BY id",
			Kind: "query", Refs: []string{"silver.t", "silver.t"}, Query: true, Ordered: true},
		{Name: "describe", SQL: "DESCRIBE silver.t", Kind: "explain", Query: true, Ordered: true},
		{Name: "explain", SQL: "EXPLAIN SELECT count(*) FROM silver.t", Kind: "explain", Refs: []string{"silver.t"}},
		{Name: "values", SQL: "VALUES (1, 'a'), (2, 'b')", Kind: "query", Query: true},
		{Name: "qualify", SQL: "SELECT id, k FROM silver.t QUALIFY row_number() OVER (PARTITION BY k ORDER BY id) = 1 ORDER BY id",
			Kind: "query", Refs: []string{"silver.t"}, Query: true, Ordered: true},
		{Name: "case-then-strings", SQL: "SELECT CASE WHEN k = 'a' THEN 'then' ELSE 'else' END AS c, count(*) AS n FROM silver.t GROUP BY 1 ORDER BY 1",
			Kind: "query", Refs: []string{"silver.t"}, Query: true, Ordered: true},
		{Name: "two-statements", SQL: "SELECT 1; SELECT count(*) FROM silver.t -- two", N: 2, Kind: "query"},
		{Name: "semicolon-in-strings", SQL: "SELECT ';' AS a, $x$;$x$ AS b, \";\" FROM (SELECT 1 AS \";\")", Kind: "query", Query: true},

		{Name: "delete-trailing-comment", SQL: "DELETE FROM silver.w WHERE id = 1; -- note", Kind: "delete", Refs: []string{"silver.w"}, Write: true},
		{Name: "cte-delete", SQL: "WITH x AS (SELECT 2 AS id) DELETE FROM silver.w WHERE id IN (SELECT id FROM x)",
			Kind: "delete", Refs: []string{"silver.w", "x"}, Write: true},
		{Name: "cte-insert", SQL: "WITH x AS (SELECT id + 100 AS id, k, v FROM silver.w) INSERT INTO silver.w SELECT * FROM x",
			Kind: "insert", Refs: []string{"silver.w", "silver.w", "x"}, Write: true},
		{Name: "cte-update", SQL: "WITH x AS (SELECT 3 AS id) UPDATE silver.w SET v = v + 1 WHERE id IN (SELECT id FROM x)",
			Kind: "update", Refs: []string{"silver.w", "x"}, Write: true},
		{Name: "merge-case-then", SQL: "MERGE INTO silver.w AS w USING (SELECT 1 AS id, 'z' AS k UNION ALL SELECT 9, 'n') AS s ON w.id = s.id " +
			"WHEN MATCHED THEN UPDATE SET k = CASE WHEN s.k = 'z' THEN 'then' ELSE 'else' END " +
			"WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.k, 0)", Kind: "merge", Refs: []string{"silver.w"}, Write: true},
		{Name: "update-from-alias", SQL: "UPDATE silver.w AS w SET v = u.id * 1000 FROM silver.u AS u WHERE w.id = u.id",
			Kind: "update", Refs: []string{"silver.w", "silver.u"}, Write: true},
		{Name: "delete-using", SQL: "DELETE FROM silver.w AS w USING silver.u AS u WHERE w.id = u.id",
			Kind: "delete", Refs: []string{"silver.w", "silver.u"}, Write: true},
		{Name: "insert-multibyte", SQL: "INSERT INTO silver.w VALUES (7, 'ö✓', 70) -- trailing", Kind: "insert", Refs: []string{"silver.w"}, Write: true},
		{Name: "insert-dollar-string", SQL: "INSERT INTO silver.w SELECT 8, $$;AT (VERSION => 1)$$, 80;", Kind: "insert", Refs: []string{"silver.w"}, Write: true},
		{Name: "insert-returning", SQL: "INSERT INTO silver.w VALUES (20, 'r', 200), (21, 's', 210) RETURNING id, v * 2 AS twice",
			Kind: "insert", Write: true, Returning: true},
		{Name: "delete-returning-star", SQL: "DELETE FROM silver.w WHERE v > 20 RETURNING *", Kind: "delete", Write: true, Returning: true},
		{Name: "delete-returning-exclude", SQL: "DELETE FROM silver.w AS w WHERE id = 2 RETURNING w.* EXCLUDE (k)",
			Kind: "delete", Write: true, Returning: true},
		{Name: "update-returning", SQL: "WITH a AS (SELECT 'a' AS k) UPDATE silver.w SET v = v + 1 WHERE k IN (SELECT k FROM a) RETURNING id, v",
			Kind: "update", Write: true, Returning: true},
		{Name: "merge-returning", SQL: "MERGE INTO silver.w AS w USING (SELECT 1 AS id UNION ALL SELECT 42) AS s ON w.id = s.id " +
			"WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (id, k, v) VALUES (s.id, 'new', 0) RETURNING merge_action, id",
			Kind: "merge", Write: true, Returning: true},
	}
}
