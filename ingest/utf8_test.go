package ingest

import (
	"bytes"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver

	"github.com/lakeflight/lakeflight/catalog"
)

func TestValidUTF8(t *testing.T) {
	for _, s := range []string{"", "a", "abcdefgh", "abcdefghé", "é", "\xff", "abcdefgh\xff", "abc\xc3", "\xed\xa0\x80", "😀abcdefghijk"} {
		if got, want := validUTF8([]byte(s)), utf8.ValidString(s); got != want {
			t.Errorf("validUTF8(%q) = %v, want %v", s, got, want)
		}
	}
	if got := escapeInvalidUTF8("a\xffé\xc3"); got != `a\xffé\xc3` {
		t.Errorf("escapeInvalidUTF8: %q", got)
	}
	if got := string(appendValidUTF8(nil, []byte("a\xff\xfeb"))); got != "a\uFFFD\uFFFDb" {
		t.Errorf("appendValidUTF8: %q", got)
	}
}

// FuzzUTF8: valid text passes every check unchanged; invalid text is
// reported, repaired into valid text and escaped into valid text.
func FuzzUTF8(f *testing.F) {
	for _, s := range []string{"", "plain", "é中😀", "\xff\xfe", "abcdefgh\xc3", "\xed\xa0\x80", `\x41`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		valid := utf8.Valid(b)
		if validUTF8(b) != valid {
			t.Fatalf("validUTF8(%q) = %v", b, !valid)
		}
		fixed := appendValidUTF8(nil, b)
		esc := escapeInvalidUTF8(string(b))
		if !utf8.Valid(fixed) || !utf8.ValidString(esc) {
			t.Fatalf("%q: repaired %q, escaped %q", b, fixed, esc)
		}
		if valid && (!bytes.Equal(fixed, b) || esc != string(b)) {
			t.Fatalf("valid %q changed: %q, %q", b, fixed, esc)
		}
	})
}

func TestCSVInvalidUTF8(t *testing.T) {
	cases := []struct {
		name, data string
	}{
		{"start", "a,b\n1,\xffok\n2,fine\n"},
		{"middle", "a,b\n1,o\xfek\n2,fine\n"},
		{"end", "a,b\n1,ok\xc3\n2,fine\n"},
		{"quoted", "a,b\n1,\"o,k\xff\"\n2,fine\n"},
		{"quoted doubled quote", "a,b\n1,\"o\"\"k\xff\"\n2,fine\n"},
		{"tsv", "a\tb\n1\t\xff\xfe\n2\tfine\n"},
		{"long field", "a,b\n1," + strings.Repeat("é", 20) + "\xff\n2,fine\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, fast := range []bool{true, false} {
				noFastPath = !fast
				out := parseCSVBytes(t, []byte(c.data), Options{Policy: PolicySkip}, true)
				noFastPath = false
				if out.err != nil || len(out.rows) != 2 {
					t.Fatalf("fast=%v: %v %v", fast, out.err, out.rows)
				}
				if r := out.rows[0]; r.line != 2 || !strings.Contains(r.text, `column "b": invalid UTF-8`) {
					t.Errorf("fast=%v: bad row: %+v", fast, r)
				}
				if !strings.Contains(out.rows[1].text, "fine") {
					t.Errorf("fast=%v: good row: %+v", fast, out.rows[1])
				}
			}
			out := parseCSVBytes(t, []byte(c.data), Options{InvalidUTF8: UTF8Replace}, true)
			if out.err != nil || len(out.rows) != 2 || !strings.Contains(out.rows[0].text, "\uFFFD") {
				t.Fatalf("replace: %v %+v", out.err, out.rows)
			}
		})
	}
}

// TestCSVInvalidUTF8Binary: binary columns take any bytes.
func TestCSVInvalidUTF8Binary(t *testing.T) {
	out := parseCSVBytes(t, []byte("a,b\n1,\xff\n"), Options{ColumnTypes: map[string]arrow.DataType{"b": arrow.BinaryTypes.Binary}}, true)
	if out.err != nil || len(out.rows) != 1 || strings.Contains(out.rows[0].text, "invalid") {
		t.Fatalf("%v %+v", out.err, out.rows)
	}
}

func TestJSONInvalidUTF8(t *testing.T) {
	cases := []struct {
		name, line string
	}{
		{"raw byte start", "{\"a\":1,\"b\":\"\xffok\"}"},
		{"raw byte end", "{\"a\":1,\"b\":\"ok\xc3\"}"},
		{"raw byte after escape", "{\"a\":1,\"b\":\"\\n\xff\"}"},
		{"lone low surrogate", `{"a":1,"b":"x\udc80"}`},
		{"lone high surrogate", `{"a":1,"b":"\ud800"}`},
		{"in a nested string", "{\"a\":1,\"b\":\"ok\",\"c\":[\"\xff\"]}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := `{"a":0,"b":"fine","c":["x"]}` + "\n" + c.line + "\n"
			for _, pol := range []Policy{PolicyStrict, PolicySkip} {
				rd, err := Open(t.Context(), strings.NewReader(data), Options{Format: FormatJSON, Policy: pol})
				if err != nil {
					t.Fatal(err)
				}
				rows := int64(0)
				for rd.Next() {
					rows += rd.RecordBatch().NumRows()
				}
				err, st := rd.Err(), rd.Stats()
				rd.Close()
				switch pol {
				case PolicyStrict:
					if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), ":2: column") || !strings.Contains(err.Error(), "invalid UTF-8") {
						t.Errorf("strict: %v", err)
					}
				case PolicySkip:
					if err != nil || rows != 1 || st.Skipped != 1 || !strings.Contains(st.SkipSummary(), "invalid UTF-8") {
						t.Errorf("skip: %v rows=%d %s", err, rows, st.SkipSummary())
					}
				}
			}
			rd, err := Open(t.Context(), strings.NewReader(data), Options{Format: FormatJSON, InvalidUTF8: UTF8Replace})
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			var got []string
			for rd.Next() {
				b := rd.RecordBatch()
				for r := range int(b.NumRows()) {
					got = append(got, b.Column(1).ValueStr(r)+" "+b.Column(2).ValueStr(r))
				}
			}
			if rd.Err() != nil || len(got) != 2 || !strings.Contains(got[1], "\uFFFD") {
				t.Fatalf("replace: %v %q", rd.Err(), got)
			}
		})
	}
}

// ingestText runs one ingest of data through Open and the Writer, as POST
// /ingest does.
func ingestText(t *testing.T, w *Writer, id catalog.Ident, data []byte, o Options) (Result, error) {
	t.Helper()
	rd, err := Open(t.Context(), bytes.NewReader(data), o)
	if err != nil {
		return Result{}, err
	}
	defer rd.Close()
	return w.Write(t.Context(), Request{Table: id, Records: rd, InvalidUTF8: o.InvalidUTF8, After: func() ([]RowError, int64, int64) {
		st := rd.Stats()
		return rd.TakeRejects(), st.Bytes, st.Skipped
	}})
}

// duckRows reads a table's data files with DuckDB, which refuses invalid
// UTF-8 in Parquet strings, and returns its rows as text.
func duckRows(t *testing.T, c *catalog.Catalog, id catalog.Ident) []string {
	t.Helper()
	tbl, err := c.LoadTable(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimPrefix(tbl.Location(), "file://")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT * FROM read_parquet('"+filepath.Join(dir, "data", "**", "*.parquet")+"') ORDER BY ALL")
	if err != nil {
		t.Fatalf("DuckDB reading %s: %v", id, err)
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
		var parts []string
		for _, v := range vals {
			parts = append(parts, v.String)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("DuckDB reading %s: %v", id, err)
	}
	return out
}

func TestIngestInvalidUTF8(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	data := []byte("a,b\n1,ok\n3,\xff\xfe\n4,x\xc3\n")
	ctx := t.Context()

	strict := catalog.Ident{Namespace: "bronze", Name: "strict"}
	if _, err := ingestText(t, w, strict, data, Options{Format: FormatCSV}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `:3: column "b": invalid UTF-8`) {
		t.Fatalf("strict: %v", err)
	}
	if _, err := c.LoadTable(ctx, strict); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("strict failure left a table: %v", err)
	}

	skip := catalog.Ident{Namespace: "bronze", Name: "skip"}
	res, err := ingestText(t, w, skip, data, Options{Format: FormatCSV, Policy: PolicySkip})
	if err != nil || res.Rows != 1 || res.Skipped != 2 {
		t.Fatalf("skip: %v %+v", err, res)
	}
	if got := duckRows(t, c, skip); len(got) != 1 || got[0] != "1|ok" {
		t.Fatalf("skip rows: %q", got)
	}

	rej := catalog.Ident{Namespace: "bronze", Name: "rej"}
	res, err = ingestText(t, w, rej, data, Options{Format: FormatCSV, Policy: PolicyRejects})
	if err != nil || res.Rows != 1 || res.Rejected != 2 {
		t.Fatalf("rejects: %v %+v", err, res)
	}
	duckRows(t, c, rej)
	got := strings.Join(duckRows(t, c, catalog.Ident{Namespace: "bronze", Name: "rej" + RejectsSuffix}), "\n")
	for _, want := range []string{`3,\xff\xfe`, `4,x\xc3`, reasonInvalidUTF8} {
		if !strings.Contains(got, want) {
			t.Errorf("rejects table lacks %q:\n%s", want, got)
		}
	}

	repl := catalog.Ident{Namespace: "bronze", Name: "repl"}
	if _, err := ingestText(t, w, repl, data, Options{Format: FormatCSV, InvalidUTF8: UTF8Replace}); err != nil {
		t.Fatal(err)
	}
	if got := duckRows(t, c, repl); len(got) != 3 || got[1] != "3|\uFFFD\uFFFD" || got[2] != "4|x\uFFFD" {
		t.Fatalf("replace rows: %q", got)
	}
}

// TestWriterInvalidUTF8: Arrow batches from any door (a Flight client) are
// checked by the Writer.
func TestWriterInvalidUTF8(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	id := catalog.Ident{Namespace: "bronze", Name: "arrow"}
	_, err := w.Write(t.Context(), Request{Table: id, Records: batchOf(t, []string{"s"}, []string{"ok", "b\xffad"})})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `batch 1, row 2, column "s": invalid UTF-8`) {
		t.Fatalf("strict: %v", err)
	}
	if _, err := c.LoadTable(t.Context(), id); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("failed ingest left a table: %v", err)
	}
	_, err = w.Write(t.Context(), Request{Table: id, InvalidUTF8: UTF8Replace,
		Records: batchOf(t, []string{"s"}, []string{"ok", "b\xffad"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := duckRows(t, c, id); len(got) != 2 || got[0] != "b\uFFFDad" {
		t.Fatalf("replace: %q", got)
	}
}
