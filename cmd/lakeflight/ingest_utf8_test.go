package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// writeTextParquet writes rows (id int64, name utf8, tags list<utf8>,
// s struct<k: utf8>) to path; row i's name, its tags' second element and
// s.k are all names[i], stored byte for byte (pqarrow does not check them).
func writeTextParquet(t *testing.T, path string, names ...string) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	tags := b.Field(2).(*array.ListBuilder)
	s := b.Field(3).(*array.StructBuilder)
	for i, n := range names {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		b.Field(1).(*array.StringBuilder).Append(n)
		tags.Append(true)
		tags.ValueBuilder().(*array.StringBuilder).Append("t")
		tags.ValueBuilder().(*array.StringBuilder).Append(n)
		s.Append(true)
		s.FieldBuilder(0).(*array.StringBuilder).Append(n)
	}
	writeRecord(t, path, b.NewRecordBatch())
}

// onlyNestedParquet writes a Parquet file whose only text is nested: id, and
// tags list<utf8> holding names[i].
func onlyNestedParquet(t *testing.T, path string, names ...string) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	tags := b.Field(1).(*array.ListBuilder)
	for i, n := range names {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		tags.Append(true)
		tags.ValueBuilder().(*array.StringBuilder).Append(n)
	}
	writeRecord(t, path, b.NewRecordBatch())
}

// tableMissing reports whether a query of table fails because it does not
// exist (so that a failed ingest can be shown to have created nothing).
func tableMissing(t *testing.T, server, table string) bool {
	t.Helper()
	code, _, errOut := cli(t, "query", "--server", server, "SELECT count(*) FROM "+table)
	return code == 1 && strings.Contains(errOut, "NotFound")
}

// TestIngestCommandInvalidUTF8: `lakeflight ingest` of Parquet, CSV and
// NDJSON files holding text that is not valid UTF-8, at the top level and
// nested: refused by default (file, row, column; nothing committed), or
// handled by --on-bad skip/rejects, or stored as U+FFFD with --invalid-utf8
// replace; every committed table answers SQL through the server.
func TestIngestCommandInvalidUTF8(t *testing.T) {
	flightAddr, httpAddr, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.parquet")
	writeTextParquet(t, bad, "ok", "b\xffad", "fine")
	nested := filepath.Join(dir, "nested.parquet")
	onlyNestedParquet(t, nested, "ok", "x\xc3")
	ingestCmd := func(args ...string) (int, string, string) {
		return cli(t, append([]string{"ingest", "--server", flightAddr, "--progress", "none"}, args...)...)
	}

	t.Run("strict", func(t *testing.T) {
		code, out, errOut := ingestCmd("--table", "u_strict", bad)
		if code != 1 || out != "" {
			t.Fatalf("exit %d, stdout %q", code, out)
		}
		for _, want := range []string{"nothing was committed", bad + `:2: column "name": invalid UTF-8`} {
			if !strings.Contains(errOut, want) {
				t.Errorf("error %q lacks %q", errOut, want)
			}
		}
		// Text only inside a list is found as well.
		code, _, errOut = ingestCmd("--table", "u_strict", nested)
		if code != 1 || !strings.Contains(errOut, nested+`:2: column "tags": invalid UTF-8`) {
			t.Fatalf("nested: exit %d, %q", code, errOut)
		}
		if !tableMissing(t, flightAddr, "bronze.u_strict") {
			t.Fatal("a refused ingest left a table")
		}
	})

	t.Run("skip, then replace under another key", func(t *testing.T) {
		code, out, errOut := ingestCmd("--table", "u_skip", "--on-bad", "skip", bad)
		if code != 0 || !strings.Contains(out, "2 rows") || !strings.Contains(out, "1 skipped") || !strings.Contains(out, `1 × column "name": invalid UTF-8`) {
			t.Fatalf("exit %d: %q %q", code, out, errOut)
		}
		if got := sqlLines(t, flightAddr, "SELECT id, name FROM bronze.u_skip ORDER BY id"); strings.Join(got, "|") != "id,name|1,ok|3,fine" {
			t.Fatalf("rows %q", got)
		}
		// The same file and flags with --invalid-utf8 replace is another
		// ingest (the derived key covers it), not a replay of the first.
		code, out, errOut = ingestCmd("--table", "u_skip", "--on-bad", "skip", "--invalid-utf8", "replace", "--json", bad)
		if s := summaries(t, out); code != 0 || s[0].Replayed || s[0].Rows != 3 || s[0].Skipped != 0 {
			t.Fatalf("exit %d: %+v %s", code, s, errOut)
		}
		if got := sqlLines(t, flightAddr, "SELECT count(*), count(*) FILTER (name = 'b\uFFFDad') FROM bronze.u_skip"); got[1] != "5,1" {
			t.Fatalf("after the replace run %q", got)
		}
	})

	t.Run("rejects", func(t *testing.T) {
		code, out, errOut := ingestCmd("--table", "u_rej", "--on-bad", "rejects", "--json", bad, nested)
		if code != 1 || !strings.Contains(errOut, nested+" does not match "+bad) {
			t.Fatalf("files of different columns: exit %d %q %q", code, out, errOut)
		}
		code, out, errOut = ingestCmd("--table", "u_rej", "--on-bad", "rejects", "--json", bad)
		if s := summaries(t, out); code != 0 || s[0].Rows != 2 || s[0].Rejected != 1 || s[0].RejectsTable != "bronze.u_rej__rejects" {
			t.Fatalf("exit %d: %+v %s", code, s, errOut)
		}
		got := sqlLines(t, flightAddr, "SELECT source, line, column_name, value, reason FROM bronze.u_rej__rejects")
		if len(got) != 2 || got[1] != bad+`,2,name,b\xffad,invalid UTF-8` {
			t.Fatalf("rejects table %q", got)
		}
	})

	t.Run("replace", func(t *testing.T) {
		code, out, errOut := ingestCmd("--table", "u_repl", "--invalid-utf8", "replace", "--json", bad)
		if s := summaries(t, out); code != 0 || s[0].Rows != 3 || s[0].Skipped != 0 || s[0].Rejected != 0 {
			t.Fatalf("exit %d: %+v %s", code, s, errOut)
		}
		got := sqlLines(t, flightAddr, "SELECT id, name, tags[2], s.k FROM bronze.u_repl ORDER BY id")
		if strings.Join(got, "|") != "id,name,tags[2],k|1,ok,ok,ok|2,b\uFFFDad,b\uFFFDad,b\uFFFDad|3,fine,fine,fine" {
			t.Fatalf("rows %q", got)
		}
		code, _, errOut = ingestCmd("--table", "u_repl_nested", "--invalid-utf8", "replace", nested)
		if code != 0 {
			t.Fatalf("nested: exit %d %s", code, errOut)
		}
		if got := sqlLines(t, flightAddr, "SELECT tags[1] FROM bronze.u_repl_nested ORDER BY id"); strings.Join(got, "|") != "tags[1]|ok|x\uFFFD" {
			t.Fatalf("nested rows %q", got)
		}
	})

	t.Run("csv and nested ndjson", func(t *testing.T) {
		csv := filepath.Join(dir, "bad.csv")
		nd := filepath.Join(dir, "bad.ndjson")
		if err := os.WriteFile(csv, []byte("id,name\n1,ok\n2,\xfe\xff\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(nd, []byte("{\"id\":1,\"v\":{\"l\":[\"ok\"]}}\n{\"id\":2,\"v\":{\"l\":[\"a\\udc80\",\"\xff\"]}}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := ingestCmd("--table", "u_csv", csv)
		if code != 1 || !strings.Contains(errOut, csv+`:3: column "name": invalid UTF-8`) {
			t.Fatalf("csv strict: exit %d %q", code, errOut)
		}
		code, _, errOut = ingestCmd("--table", "u_nd", nd)
		if code != 1 || !strings.Contains(errOut, nd+`:2: column "v.l[]": invalid UTF-8`) {
			t.Fatalf("ndjson strict: exit %d %q", code, errOut)
		}
		for _, f := range []string{csv, nd} {
			if code, _, errOut := ingestCmd("--table", "u_"+filepath.Ext(f)[1:], "--invalid-utf8", "replace", f); code != 0 {
				t.Fatalf("%s replace: %s", f, errOut)
			}
		}
		if got := sqlLines(t, flightAddr, "SELECT name FROM bronze.u_csv ORDER BY id"); strings.Join(got, "|") != "name|ok|\uFFFD\uFFFD" {
			t.Fatalf("csv rows %q", got)
		}
		if got := sqlLines(t, flightAddr, "SELECT v.l[1], v.l[2] FROM bronze.u_ndjson ORDER BY id"); strings.Join(got[1:], "|") != "ok,|a\uFFFD,\uFFFD" {
			t.Fatalf("ndjson rows %q", got)
		}
	})

	t.Run("bad flag value", func(t *testing.T) {
		for _, v := range []string{"maybe", "Replace", ""} {
			code, _, errOut := ingestCmd("--table", "u_flag", "--invalid-utf8", v, bad)
			if v == "" { // the empty value is the default, error
				if code != 1 || !strings.Contains(errOut, "invalid UTF-8") {
					t.Errorf("--invalid-utf8 '': exit %d %q", code, errOut)
				}
				continue
			}
			if code != 2 || !strings.Contains(errOut, `--invalid-utf8: `) || !strings.Contains(errOut, `unknown invalid-UTF-8 policy "`+v+`" (want error or replace)`) {
				t.Errorf("--invalid-utf8 %s: exit %d %q", v, code, errOut)
			}
		}
		if !tableMissing(t, flightAddr, "bronze.u_flag") {
			t.Fatal("a refused ingest left a table")
		}
	})

	t.Run("column names", func(t *testing.T) {
		csv := filepath.Join(dir, "names.csv")
		if err := os.WriteFile(csv, []byte("id,pri\xe9\n1,2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		pq := filepath.Join(dir, "names.parquet")
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "\xffk", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), Nullable: true},
		}, nil), strings.NewReader(`[{"id": 1}]`))
		if err != nil {
			t.Fatal(err)
		}
		writeRecord(t, pq, rec)
		for _, c := range []struct{ file, want string }{
			{csv, csv + `: malformed input: column 2: the name "pri\xe9" is not valid UTF-8`},
			{pq, pq + `: malformed input: column 2 ("s"): the name "\xffk" of a field inside it is not valid UTF-8`},
		} {
			for _, extra := range [][]string{nil, {"--on-bad", "rejects", "--invalid-utf8", "replace"}} {
				code, _, errOut := ingestCmd(append(append([]string{"--table", "u_names"}, extra...), c.file)...)
				if code != 1 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "nothing was committed") {
					t.Errorf("%s %v: exit %d %q", c.file, extra, code, errOut)
				}
			}
		}
		if !tableMissing(t, flightAddr, "bronze.u_names") {
			t.Fatal("a refused ingest left a table")
		}
	})

	// POST /ingest on the same server: the upload's replace option, then
	// SQL through Flight.
	t.Run("http upload", func(t *testing.T) {
		data, err := os.ReadFile(bad)
		if err != nil {
			t.Fatal(err)
		}
		post := func(query string) (int, string) {
			resp, err := http.Post("http://"+httpAddr+"/ingest?table=u_http&filename=bad.parquet"+query, "application/vnd.apache.parquet", bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			msg, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(msg)
		}
		if code, msg := post(""); code != http.StatusBadRequest || !strings.Contains(msg, `bad.parquet:2: column \"name\": invalid UTF-8`) {
			t.Fatalf("strict: %d %s", code, msg)
		}
		if !tableMissing(t, flightAddr, "bronze.u_http") {
			t.Fatal("a refused upload left a table")
		}
		if code, msg := post("&invalid_utf8=replace"); code != http.StatusOK {
			t.Fatalf("replace: %d %s", code, msg)
		}
		got := sqlLines(t, flightAddr, "SELECT id, name, tags[2], s.k FROM bronze.u_http ORDER BY id")
		if strings.Join(got, "|") != "id,name,tags[2],k|1,ok,ok,ok|2,b\uFFFDad,b\uFFFDad,b\uFFFDad|3,fine,fine,fine" {
			t.Fatalf("rows %q", got)
		}
	})
}
