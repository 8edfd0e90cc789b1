package sqltext_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/internal/sqlcorpus"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// words renders tokens compactly: kind initial and text.
func words(toks []sqltext.Token) string {
	var b []string
	for _, t := range toks {
		k := "WQSNPY"[t.Kind : t.Kind+1]
		b = append(b, k+":"+t.Text)
	}
	return strings.Join(b, " ")
}

func TestTokenize(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"SELECT a, \"B\"\"c\" FROM t", `W:select W:a Y:, Q:B"c W:from W:t`},
		{"SELECT /* a /* b */ c */ 1", "W:select N:1"},
		{"SELECT 1 -- note\n; -- after", "W:select N:1 Y:;"},
		{"SELECT 'it''s', E'a\\'b\\n', $$x 'y' $$, $tag$ $$ AT ( $tag$", "W:select S:it's Y:, S:a'b\n Y:, S:x 'y'  Y:, S: $$ AT ( "},
		{"SELECT ?, $1, $name, $", "W:select P:? Y:, P:$1 Y:, P:$name Y:, Y:$"},
		{"SELECT 1e-5, .5, 0x1F, 1_000, 3.14", "W:select N:1e-5 Y:, N:.5 Y:, N:0x1F Y:, N:1_000 Y:, N:3.14"},
		{"AT (VERSION => 3) x::INT a->>'b' c<>d", "W:at Y:( W:version Y:=> N:3 Y:) W:x Y::: W:int W:a Y:->> S:b W:c Y:<> W:d"},
		{"SELECT 'héllo' AS wört", "W:select S:héllo W:as W:wört"},
	}
	for _, c := range cases {
		if got := words(sqltext.Tokenize(c.sql)); got != c.want {
			t.Errorf("Tokenize(%q)\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
}

func TestTokenizeUnterminated(t *testing.T) {
	for _, sql := range []string{"SELECT 'abc", `SELECT "abc`, "SELECT 1 /* open /* nested */", "SELECT $$abc", "SELECT E'abc"} {
		toks := sqltext.Tokenize(sql)
		last := toks[len(toks)-1]
		if !last.Open || last.End != len(sql) {
			t.Errorf("Tokenize(%q): last token %+v, want an open token to the end", sql, last)
		}
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"SELECT 1", []string{"SELECT 1"}},
		{"  /* c */ SELECT 1 ; -- note", []string{"SELECT 1"}},
		{"DELETE FROM silver.t WHERE id = 1; -- note", []string{"DELETE FROM silver.t WHERE id = 1"}},
		{"BEGIN; INSERT INTO t VALUES (';'); ROLLBACK;;", []string{"BEGIN", "INSERT INTO t VALUES (';')", "ROLLBACK"}},
		{"SELECT $$a;b$$; SELECT /* ; */ 2", []string{"SELECT $$a;b$$", "SELECT /* ; */ 2"}},
		{"-- only a comment", nil},
	}
	for _, c := range cases {
		var got []string
		for _, st := range sqltext.Split(c.sql) {
			got = append(got, st.Text)
			if c.sql[st.Start:st.End] != st.Text {
				t.Errorf("Split(%q): span [%d,%d) is not %q", c.sql, st.Start, st.End, st.Text)
			}
			for _, tk := range st.Toks {
				if tk.Pos < 0 || tk.End > len(st.Text) {
					t.Errorf("Split(%q): token %+v outside its statement", c.sql, tk)
				}
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		sql  string
		kind sqltext.StmtKind
		ctes []string
	}{
		{"SELECT 1", sqltext.KindQuery, nil},
		{"FROM t", sqltext.KindQuery, nil},
		{"TABLE silver.t", sqltext.KindQuery, nil},
		{"PIVOT t ON k USING sum(v)", sqltext.KindQuery, nil},
		{"(SELECT 1) UNION (SELECT 2)", sqltext.KindQuery, nil},
		{"WITH x AS (SELECT 2 AS id) DELETE FROM silver.t WHERE id IN (SELECT id FROM x)", sqltext.KindDelete, []string{"x"}},
		{"WITH RECURSIVE r(n) USING KEY (n) AS (SELECT 1), y AS MATERIALIZED (SELECT 2) INSERT INTO t SELECT * FROM r", sqltext.KindInsert, []string{"r", "y"}},
		{"WITH x AS (SELECT 1) UPDATE t SET a = 1", sqltext.KindUpdate, []string{"x"}},
		{"WITH x AS (SELECT 1) MERGE INTO t USING x ON t.a = x.a WHEN MATCHED THEN DELETE", sqltext.KindMerge, []string{"x"}},
		{"WITH x AS (SELECT 1) CREATE TABLE y AS SELECT 1", sqltext.KindOther, []string{"x"}},
		{"EXPLAIN ANALYZE SELECT 1", sqltext.KindExplain, nil},
		{"DESCRIBE silver.t", sqltext.KindExplain, nil},
		{"CREATE OR REPLACE TEMP TABLE x AS SELECT 1", sqltext.KindCreate, nil},
		{"create schema if not exists \"lakehouse\".\"dbt\"", sqltext.KindCreate, nil},
		{"BEGIN TRANSACTION", sqltext.KindBegin, nil},
		{"START TRANSACTION", sqltext.KindBegin, nil},
		{"END", sqltext.KindCommit, nil},
		{"ABORT", sqltext.KindRollback, nil},
		{"SET lakeflight_as_of = '1'", sqltext.KindSet, nil},
		{"COPY t TO 'x'", sqltext.KindOther, nil},
		{"", sqltext.KindEmpty, nil},
	}
	for _, c := range cases {
		info := sqltext.Classify(sqltext.Tokenize(c.sql))
		if info.Kind != c.kind || !reflect.DeepEqual(info.CTEs, c.ctes) {
			t.Errorf("Classify(%q) = %v %q, want %v %q", c.sql, info.Kind, info.CTEs, c.kind, c.ctes)
		}
	}
	info := sqltext.Classify(sqltext.Tokenize("CREATE OR REPLACE TEMPORARY VIEW v AS SELECT 1"))
	if !info.Temp || !info.OrReplace || info.Object != "view" {
		t.Errorf("CREATE OR REPLACE TEMPORARY VIEW: %+v", info)
	}
	info = sqltext.Classify(sqltext.Tokenize("EXPLAIN (FORMAT json) SELECT 1"))
	if info.Inner != 5 {
		t.Errorf("EXPLAIN (FORMAT json): inner %d, want 5", info.Inner)
	}
}

func TestParseWrite(t *testing.T) {
	type want struct {
		kind    sqltext.WriteKind
		targets string
		alias   string
		flags   string
	}
	cases := []struct {
		sql string
		w   *want
	}{
		{"INSERT INTO silver.t VALUES (1)", &want{sqltext.WriteInsert, "silver.t", "", ""}},
		{"insert or replace into t values (1)", &want{sqltext.WriteInsert, "t", "", "or"}},
		{"WITH x AS (SELECT 2 AS id) DELETE FROM silver.t WHERE id IN (SELECT id FROM x)", &want{sqltext.WriteDelete, "silver.t", "", ""}},
		{"UPDATE lakehouse.silver.t AS u SET a = 1 RETURNING *", &want{sqltext.WriteUpdate, "lakehouse.silver.t", "u", "returning"}},
		{"MERGE INTO silver.t c USING src s ON c.id = s.id WHEN MATCHED THEN DELETE", &want{sqltext.WriteMerge, "silver.t", "c", ""}},
		{"DELETE FROM t WHERE id = 1; -- x", &want{sqltext.WriteDelete, "t", "", ""}},
		{"CREATE OR REPLACE TABLE silver.t AS SELECT 1", &want{sqltext.WriteCreateTable, "silver.t", "", "replace"}},
		{"CREATE TABLE IF NOT EXISTS silver.t (a INT)", &want{sqltext.WriteCreateTable, "silver.t", "", "ifnotexists"}},
		{"drop table if exists \"lakehouse\".\"silver\".\"m__dbt_tmp\" cascade", &want{sqltext.WriteDropTable, "lakehouse.silver.m__dbt_tmp", "", "ifexists cascade"}},
		{"DROP TABLE silver.a, silver.b", &want{sqltext.WriteDropTable, "silver.a silver.b", "", ""}},
		{"ALTER TABLE silver.t RENAME TO u", &want{sqltext.WriteAlterTable, "silver.t", "", ""}},
		{"create schema if not exists \"lakehouse\".\"dbt\"", &want{sqltext.WriteCreateSchema, "lakehouse.dbt", "", "ifnotexists"}},
		{"DROP SCHEMA IF EXISTS staging CASCADE", &want{sqltext.WriteDropSchema, "staging", "", "ifexists cascade"}},
		{"CREATE TEMP TABLE x AS SELECT 1", nil},
		{"CREATE VIEW v AS SELECT 1", nil},
		{"SELECT 1", nil},
		{"UPDATE EXTENSIONS", nil},
	}
	for _, c := range cases {
		w := sqltext.ParseWrite(sqltext.Tokenize(c.sql))
		if (w == nil) != (c.w == nil) {
			t.Errorf("ParseWrite(%q) = %v, want %v", c.sql, w, c.w)
			continue
		}
		if w == nil {
			continue
		}
		var names []string
		for _, n := range w.Targets {
			names = append(names, strings.Join(n.Parts, "."))
		}
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{w.InsertOr, "or"}, {w.Returning >= 0, "returning"}, {w.OrReplace, "replace"}, {w.IfNotExists, "ifnotexists"},
			{w.IfExists, "ifexists"}, {w.Cascade, "cascade"}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		got := want{w.Kind, strings.Join(names, " "), w.Alias, strings.Join(flags, " ")}
		if got != *c.w {
			t.Errorf("ParseWrite(%q) = %+v, want %+v", c.sql, got, *c.w)
		}
	}
}

// refsOf renders the references Refs finds: name, alias, AT unit.
func refsOf(sql string) []string {
	toks := sqltext.Tokenize(sql)
	var out []string
	for _, r := range sqltext.Refs(toks) {
		s := r.By + " " + strings.Join(r.Parts, ".")
		if r.Func {
			s += "()"
		}
		if r.Alias != "" {
			s += " AS " + r.Alias
		}
		if r.At != nil {
			s += " AT " + r.At.Unit + " " + sql[toks[r.At.ExprStart].Pos:toks[r.At.ExprEnd-1].End]
		}
		out = append(out, s)
	}
	return out
}

func TestRefs(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"INSERT INTO silver.t SELECT * FROM silver.t AT (VERSION => 8123) WHERE id NOT IN (SELECT id FROM silver.t)",
			[]string{"into silver.t", "from silver.t AT version 8123", "from silver.t"}},
		{"DELETE FROM silver.t AS d USING bronze.a, bronze.b AS b WHERE d.id = b.id",
			[]string{"from silver.t AS d", "using bronze.a", ", bronze.b AS b"}},
		{"UPDATE t SET v = (SELECT max(v) FROM u) FROM w, x WHERE t.id = w.id",
			[]string{"update t", "from u", "from w", ", x"}},
		{"MERGE INTO silver.t AS c USING bronze.s AS s ON c.id = s.id WHEN MATCHED THEN UPDATE SET v = CASE WHEN s.id > 0 THEN 1 ELSE 2 END",
			[]string{"into silver.t AS c", "using bronze.s AS s"}},
		{"SELECT extract(year FROM ts), substring(s FROM 1 FOR 2) FROM t", []string{"from t"}},
		{"SELECT * FROM a JOIN b USING (id) JOIN c ON a.id = c.id, d", []string{"from a", "join b", "join c", ", d"}},
		{"PIVOT silver.t ON k USING sum(v)", []string{"pivot silver.t"}},
		{"SELECT * FROM (PIVOT silver.t ON k USING sum(v)) p", []string{"pivot silver.t"}},
		{"TABLE silver.t", []string{"table silver.t"}},
		{"SELECT * FROM t AS e AT (TIMESTAMP => TIMESTAMP '2026-01-01') JOIN u x(a, b) AT (VERSION => 'v1') ON true",
			[]string{"from t AS e AT timestamp TIMESTAMP '2026-01-01'", "join u AS x AT version 'v1'"}},
		{"SELECT * FROM iceberg_snapshots('silver.t') s, LATERAL (SELECT 1)", []string{"from iceberg_snapshots() AS s"}},
		{"SELECT * FROM t USING SAMPLE 10%", []string{"from t"}},
		{"CREATE TEMP TABLE x AS SELECT * FROM silver.t AT (VERSION => 1)", []string{"from silver.t AT version 1"}},
		{"SELECT \"at\", \"version\" FROM silver.t at", []string{"from silver.t AS at"}},
	}
	for _, c := range cases {
		if got := refsOf(c.sql); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Refs(%q)\n got %q\nwant %q", c.sql, got, c.want)
		}
	}
}

func TestApply(t *testing.T) {
	got, err := sqltext.Apply("SELECT * FROM t AT (VERSION => 1)", []sqltext.Edit{
		{Start: 16, End: 33, Text: ""}, {Start: 14, End: 15, Text: "p AS t"},
	})
	if err != nil || got != "SELECT * FROM p AS t " {
		t.Errorf("Apply = %q, %v", got, err)
	}
	if _, err := sqltext.Apply("abcdef", []sqltext.Edit{{Start: 1, End: 4}, {Start: 3, End: 5}}); err == nil {
		t.Error("overlapping edits were applied")
	}
}

// TestCorpus runs the shared corpus of tricky inputs through the text layer:
// the statement count, the kind of each and the references the token scan
// finds (cases that state them).
func TestCorpus(t *testing.T) {
	for _, c := range sqlcorpus.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			stmts := sqltext.Split(c.SQL)
			if len(stmts) != c.Statements() {
				t.Fatalf("%d statements, want %d", len(stmts), c.Statements())
			}
			if c.Kind != "" {
				if got := sqltext.Classify(stmts[0].Toks).Kind.String(); got != c.Kind {
					t.Errorf("kind %s, want %s", got, c.Kind)
				}
			}
			if c.Refs != nil {
				var got []string
				for _, r := range sqltext.Refs(stmts[0].Toks) {
					got = append(got, strings.Join(r.Parts, "."))
				}
				if !reflect.DeepEqual(got, c.Refs) {
					t.Errorf("refs %q, want %q", got, c.Refs)
				}
			}
		})
	}
}
