package web

import (
	"bytes"
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
)

// rawParquet writes (id int64, name utf8) rows whose names are given as
// raw bytes, valid UTF-8 or not: pqarrow stores them as they are.
func rawParquet(t *testing.T, names ...string) []byte {
	t.Helper()
	sc := arrow.NewSchema(idName, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, n := range names {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		b.Field(1).(*array.StringBuilder).Append(n)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// duckSQL runs a query with DuckDB, which refuses a Parquet file holding a
// string that is not valid UTF-8, over the data files of the table, seen as
// the view t; it returns the rows as "a|b" lines.
func duckSQL(t *testing.T, cat *catalog.Catalog, table, query string) []string {
	t.Helper()
	id, err := ingest.ParseTable(table)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files := filepath.Join(strings.TrimPrefix(tbl.Location(), "file://"), "data", "**", "*.parquet")
	if _, err := db.ExecContext(t.Context(), "CREATE VIEW t AS SELECT * FROM read_parquet('"+files+"')"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatalf("DuckDB on %s: %s: %v", table, query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("DuckDB on %s: %s: %v", table, query, err)
	}
	return out
}

// TestIngestParquetInvalidUTF8: a Parquet upload with a string that is not
// valid UTF-8, under each policy: strict refuses it naming file, row and
// column and commits nothing; skip and rejects commit the good rows (the
// rejects table shows the bytes escaped); invalid_utf8=replace commits
// U+FFFD. Every committed table reads with SQL.
func TestIngestParquetInvalidUTF8(t *testing.T) {
	h, cat := ingestServer(t, 0)
	pq := rawParquet(t, "ok", "b\xffad", "fine")
	const pqType = "application/vnd.apache.parquet"

	code, _, p := post(t, h, "/ingest?table=pq_strict&filename=bad.parquet", pqType, bytes.NewReader(pq))
	if code != http.StatusBadRequest || !strings.Contains(p.Detail, `bad.parquet:2: column "name": invalid UTF-8`) {
		t.Fatalf("strict: %d %+v", code, p)
	}
	// The listed value shows the invalid byte as the rejects table does.
	if len(p.Errors) != 1 || p.Errors[0].Line != 2 || p.Errors[0].Column != "name" || p.Errors[0].Source != "bad.parquet" ||
		p.Errors[0].Value != `b\xffad` {
		t.Fatalf("strict: listed errors %+v", p.Errors)
	}
	// A multipart part is named by its file name.
	body, ctype := multipartBody(t, part{"file", "part.parquet", "", pq})
	code, _, p = post(t, h, "/ingest?table=pq_strict", ctype, body)
	if code != http.StatusBadRequest || !strings.Contains(p.Detail, `part.parquet:2: column "name": invalid UTF-8`) {
		t.Fatalf("strict multipart: %d %+v", code, p)
	}
	if n := snapshots(t, cat, "pq_strict"); n != 0 {
		t.Fatalf("a refused upload committed %d snapshots", n)
	}

	code, res, p := post(t, h, "/ingest?table=pq_skip&on_bad=skip", pqType, bytes.NewReader(pq))
	if code != http.StatusOK || res.Rows != 2 || res.Skipped != 1 || !strings.Contains(res.SkipSummary, `1 × column "name": invalid UTF-8`) {
		t.Fatalf("skip: %d %+v %+v", code, res, p)
	}
	if got := duckSQL(t, cat, "pq_skip", "SELECT id, name FROM t ORDER BY id"); strings.Join(got, ",") != "1|ok,3|fine" {
		t.Fatalf("skip rows: %q", got)
	}

	code, res, p = post(t, h, "/ingest?table=pq_rej&on_bad=rejects&filename=bad.parquet", pqType, bytes.NewReader(pq))
	if code != http.StatusOK || res.Rows != 2 || res.Rejected != 1 || res.RejectsTable != "bronze.pq_rej__rejects" {
		t.Fatalf("rejects: %d %+v %+v", code, res, p)
	}
	if got := duckSQL(t, cat, "pq_rej", "SELECT id, name FROM t ORDER BY id"); strings.Join(got, ",") != "1|ok,3|fine" {
		t.Fatalf("rejects: good rows %q", got)
	}
	rj := duckSQL(t, cat, res.RejectsTable, "SELECT source, line, column_name, value, reason FROM t")
	if len(rj) != 1 || rj[0] != `bad.parquet|2|name|b\xffad|invalid UTF-8` {
		t.Fatalf("rejects table: %q", rj)
	}

	code, res, p = post(t, h, "/ingest?table=pq_repl&invalid_utf8=replace", pqType, bytes.NewReader(pq))
	if code != http.StatusOK || res.Rows != 3 {
		t.Fatalf("replace: %d %+v %+v", code, res, p)
	}
	if got := duckSQL(t, cat, "pq_repl", "SELECT id, name FROM t ORDER BY id"); strings.Join(got, ",") != "1|ok,2|b\uFFFDad,3|fine" {
		t.Fatalf("replace rows: %q", got)
	}
}

// TestIngestInvalidUTF8Param: invalid_utf8 through POST /ingest for each
// text format, with nested JSON strings; an unknown value is a precise 400.
func TestIngestInvalidUTF8Param(t *testing.T) {
	h, cat := ingestServer(t, 0)
	cases := []struct {
		name, ctype, body, sql, want string
	}{
		{"csv", "text/csv", "id,s\n1,ok\n2,\xff\xfe\n", "SELECT id, s FROM t ORDER BY id", "1|ok,2|\uFFFD\uFFFD"},
		{"tsv", "text/tab-separated-values", "id\ts\n1\tx\xc3\n", "SELECT id, s FROM t", "1|x\uFFFD"},
		{"ndjson nested", "application/x-ndjson", "{\"id\":1,\"v\":{\"k\":[\"a\xffb\"]}}\n{\"id\":2,\"v\":{\"k\":[\"x\\udc80\"]}}\n",
			"SELECT id, v.k[1] FROM t ORDER BY id", "1|a\uFFFDb,2|x\uFFFD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table := strings.ReplaceAll(tc.name, " ", "_")
			code, _, p := post(t, h, "/ingest?table="+table+"&invalid_utf8=error", tc.ctype, strings.NewReader(tc.body))
			if code != http.StatusBadRequest || !strings.Contains(p.Detail, "invalid UTF-8") {
				t.Fatalf("error: %d %+v", code, p)
			}
			if n := snapshots(t, cat, table); n != 0 {
				t.Fatalf("a refused upload committed %d snapshots", n)
			}
			code, res, p := post(t, h, "/ingest?table="+table+"&invalid_utf8=replace", tc.ctype, strings.NewReader(tc.body))
			if code != http.StatusOK || res.Skipped != 0 || res.Rejected != 0 {
				t.Fatalf("replace: %d %+v %+v", code, res, p)
			}
			if got := duckSQL(t, cat, table, tc.sql); strings.Join(got, ",") != tc.want {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
		})
	}

	for _, v := range []string{"maybe", "REPLACE", "skip"} {
		code, _, p := post(t, h, "/ingest?table=opt&invalid_utf8="+v, "text/csv", strings.NewReader("a\n1\n"))
		if code != http.StatusBadRequest || !strings.Contains(p.Detail, `unknown invalid-UTF-8 policy "`+v+`" (want error or replace)`) {
			t.Errorf("invalid_utf8=%s: %d %+v", v, code, p)
		}
	}
	if n := snapshots(t, cat, "opt"); n != 0 {
		t.Fatalf("a refused upload committed %d snapshots", n)
	}
}

// TestIngestInvalidUTF8Names: a column name that is not valid UTF-8 (CSV
// header, JSON key, Parquet field) is a 400 naming the column's position,
// whatever the policies, and nothing is committed.
func TestIngestInvalidUTF8Names(t *testing.T) {
	h, cat := ingestServer(t, 0)
	badField := parquetBytes(t, []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "n\xe4me", Type: arrow.BinaryTypes.String, Nullable: true},
	}, `[{"id": 1}]`)
	cases := []struct {
		name, file, ctype string
		body              []byte
		want              string
	}{
		{"csv header", "h.csv", "text/csv", []byte("id,pr\xefx\n1,2\n"), `h.csv: malformed input: column 2: the name "pr\xefx" is not valid UTF-8`},
		{"ndjson key", "k.ndjson", "application/x-ndjson", []byte("{\"id\":1,\"\xff\":2}\n"), `k.ndjson: malformed input: column 2: the name "\xff" is not valid UTF-8`},
		{"ndjson nested key", "k.ndjson", "application/x-ndjson", []byte("{\"id\":1,\"s\":{\"k\xfe\":2}}\n"),
			`k.ndjson: malformed input: column 2 ("s"): the name "k\xfe" of a field inside it is not valid UTF-8`},
		{"parquet field", "f.parquet", "application/vnd.apache.parquet", badField, `f.parquet: malformed input: column 2: the name "n\xe4me" is not valid UTF-8`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, q := range []string{"", "&on_bad=skip", "&on_bad=rejects", "&invalid_utf8=replace"} {
				code, _, p := post(t, h, "/ingest?table=names&filename="+tc.file+q, tc.ctype, bytes.NewReader(tc.body))
				if code != http.StatusBadRequest || !strings.Contains(p.Detail, tc.want) {
					t.Fatalf("%q: %d %+v, want 400 with %q", q, code, p, tc.want)
				}
			}
		})
	}
	if n := snapshots(t, cat, "names"); n != 0 {
		t.Fatalf("refused uploads committed %d snapshots", n)
	}
	if n := snapshots(t, cat, "names__rejects"); n != 0 {
		t.Fatalf("refused uploads committed %d rejects snapshots", n)
	}
}
