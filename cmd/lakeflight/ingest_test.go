package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeIDs writes a Parquet file of ids from..from+n-1 with a name and a
// price column (price NULL for every seventh row).
func writeIDs(t *testing.T, path string, from, n int) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("item %d", i%13))
		if i%7 == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float64Builder).Append(float64(i) / 4)
		}
	}
	writeRecord(t, path, b.NewRecordBatch())
}

func writeRecord(t *testing.T, path string, rec arrow.RecordBatch) {
	t.Helper()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(1000)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// cli runs one lakeflight command in-process and returns its exit status,
// stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	code := 0
	if err != nil {
		code = exitCode(err)
		errOut.WriteString("lakeflight: " + err.Error() + "\n")
	}
	return code, out.String(), errOut.String()
}

// sqlLines runs a query through the server and returns its CSV lines
// (header first).
func sqlLines(t *testing.T, server, sql string) []string {
	t.Helper()
	code, out, errOut := cli(t, "query", "--server", server, "--format", "csv", sql)
	if code != 0 {
		t.Fatalf("%s: %s", sql, errOut)
	}
	return strings.Split(strings.TrimSpace(out), "\n")
}

func count(t *testing.T, server, table string) string {
	t.Helper()
	return sqlLines(t, server, "SELECT count(*) FROM "+table)[1]
}

// summaries decodes --json output: one object per snapshot.
func summaries(t *testing.T, out string) []ingestJSON {
	t.Helper()
	var res []ingestJSON
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var s ingestJSON
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("summary line %q: %v", line, err)
		}
		res = append(res, s)
	}
	return res
}

func TestIngestCommand(t *testing.T) {
	flightAddr, _, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet"), filepath.Join(dir, "c.parquet")
	writeIDs(t, a, 0, 2500)
	writeIDs(t, b, 2500, 500)
	writeIDs(t, c, 3000, 10)
	ingestCmd := func(args ...string) (int, string, string) {
		return cli(t, append([]string{"ingest", "--server", flightAddr}, args...)...)
	}

	t.Run("one file", func(t *testing.T) {
		code, out, errOut := ingestCmd("--table", "one", a)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.HasPrefix(out, "bronze.one: 2500 rows, 0 rejected, ") || !strings.Contains(out, "snapshot ") {
			t.Fatalf("summary %q", out)
		}
		if n := count(t, flightAddr, "bronze.one"); n != "2500" {
			t.Fatalf("count %s", n)
		}
		// Progress off a terminal is a log: one line per file at least.
		if !strings.Contains(errOut, "lakeflight ingest: "+a+": read ") || !strings.Contains(errOut, "2500 rows") {
			t.Fatalf("no progress log in %q", errOut)
		}
	})

	t.Run("several files, one snapshot, then replayed", func(t *testing.T) {
		args := []string{"--table", "silver.many", "--json", "--progress", "none", a, b, c}
		code, out, errOut := ingestCmd(args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if errOut != "" {
			t.Fatalf("--progress none printed %q", errOut)
		}
		s := summaries(t, out)
		if len(s) != 1 || s[0].Table != "silver.many" || s[0].Rows != 3010 || s[0].SnapshotID == 0 || s[0].Replayed ||
			!strings.HasPrefix(s[0].Key, "cli-") || len(s[0].Files) != 3 || s[0].Bytes <= 0 {
			t.Fatalf("summary %+v", s)
		}
		// The server's phases: each measured, none longer than the whole.
		if tm := s[0].Timings; tm == nil || tm.ReceiveMS <= 0 || tm.CommitMS <= 0 || tm.OpenMS < 0 || tm.FlushMS < 0 ||
			tm.OpenMS+tm.ReceiveMS+tm.FlushMS+tm.CommitMS > float64(s[0].DurationMS)+1 {
			t.Fatalf("timings %+v of a %d ms ingest", s[0].Timings, s[0].DurationMS)
		}
		// The same command again: the derived key makes it a no-op.
		code, out, errOut = ingestCmd(args...)
		if code != 0 {
			t.Fatalf("re-run exit %d: %s", code, errOut)
		}
		again := summaries(t, out)
		if len(again) != 1 || !again[0].Replayed || again[0].SnapshotID != s[0].SnapshotID || again[0].Key != s[0].Key || again[0].Timings != nil {
			t.Fatalf("re-run %+v, first %+v", again, s)
		}
		if n := count(t, flightAddr, "silver.many"); n != "3010" {
			t.Fatalf("count after re-run %s", n)
		}
		code, out, _ = ingestCmd("--table", "silver.many", "--progress", "none", a, b, c)
		if code != 0 || !strings.Contains(out, "replayed (already ingested with key "+s[0].Key) {
			t.Fatalf("text summary of a replay: %q", out)
		}
		// A touched file is a new ingest.
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(c, later, later); err != nil {
			t.Fatal(err)
		}
		code, out, _ = ingestCmd("--table", "silver.many", "--json", "--progress", "none", c)
		if s := summaries(t, out); code != 0 || s[0].Replayed || s[0].Rows != 10 {
			t.Fatalf("touched file: %+v", s)
		}
		// --no-key appends every time.
		for range 2 {
			if code, _, errOut := ingestCmd("--table", "silver.many", "--no-key", "--progress", "none", c); code != 0 {
				t.Fatal(errOut)
			}
		}
		if n := count(t, flightAddr, "silver.many"); n != "3040" {
			t.Fatalf("count after --no-key runs %s", n)
		}
	})

	t.Run("each file its own snapshot", func(t *testing.T) {
		code, out, errOut := ingestCmd("--table", "each", "--each", "--json", "--key", "k1", a, c)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		s := summaries(t, out)
		if len(s) != 2 || s[0].Rows != 2500 || s[1].Rows != 10 || s[0].SnapshotID == s[1].SnapshotID ||
			s[0].Key != "k1/"+a || s[1].Key != "k1/"+c {
			t.Fatalf("summaries %+v", s)
		}
		if n := count(t, flightAddr, "bronze.each"); n != "2510" {
			t.Fatalf("count %s", n)
		}
	})

	t.Run("metadata columns and stdin", func(t *testing.T) {
		f, err := os.Open(c)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		old := os.Stdin
		os.Stdin = f
		code, out, errOut := ingestCmd("--table", "meta", "--metadata-columns", "--json", "-")
		os.Stdin = old
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if s := summaries(t, out); s[0].Rows != 10 || s[0].Key != "" {
			t.Fatalf("stdin summary %+v (stdin has no default key)", s)
		}
		got := sqlLines(t, flightAddr, "SELECT min(_source_file), max(_source_line), count(DISTINCT _ingested_at) FROM bronze.meta")
		if got[1] != "stdin,10,1" {
			t.Fatalf("metadata columns: %q", got)
		}
	})

	t.Run("different columns fail, nothing committed", func(t *testing.T) {
		other := filepath.Join(dir, "other.parquet")
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		}, nil), strings.NewReader(`[{"id": "x"}]`))
		if err != nil {
			t.Fatal(err)
		}
		writeRecord(t, other, rec)
		code, out, errOut := ingestCmd("--table", "one", "--progress", "none", b, other)
		if code != 1 || out != "" {
			t.Fatalf("exit %d, stdout %q", code, out)
		}
		for _, want := range []string{"nothing was committed", other + " does not match " + b, `column "id" is utf8, not int64`, `column "name" is missing`} {
			if !strings.Contains(errOut, want) {
				t.Errorf("error %q lacks %q", errOut, want)
			}
		}
		if strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("error is not one line: %q", errOut)
		}
		if n := count(t, flightAddr, "bronze.one"); n != "2500" {
			t.Fatalf("a failed ingest changed the table: %s rows", n)
		}
	})

	t.Run("mode errors", func(t *testing.T) {
		code, _, errOut := ingestCmd("--table", "one", "--mode", "create", "--no-key", "--progress", "none", c)
		if code != 1 || !strings.Contains(errOut, "AlreadyExists") {
			t.Fatalf("create over a table: %d %q", code, errOut)
		}
		code, _, errOut = ingestCmd("--table", "nope", "--mode", "append", "--progress", "none", c)
		if code != 1 || !strings.Contains(errOut, "NotFound") || !strings.Contains(errOut, "nothing was committed") {
			t.Fatalf("append to a missing table: %d %q", code, errOut)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{a},                                       // no --table
			{"--table", "t"},                          // no file
			{"--table", "t", "--mode", "upsert", a},   // bad mode
			{"--table", "t", "--on-bad", "maybe", a},  // bad policy
			{"--table", "t", "--bogus", a},            // unknown flag
			{"--table", "t", "--column-type", "x", a}, // bad column type
			{"--table", "t", "--key", "k", "--no-key", a},
			{"--table", "t", "--header", "--no-header", a},
			{"--table", "t", "--delimiter", "ab", a},
			{"--table", "a.b.c", a},
		} {
			code, _, errOut := ingestCmd(args...)
			if code != 2 || !strings.Contains(errOut, "ingest") {
				t.Errorf("%v: exit %d, %q", args, code, errOut)
			}
		}
		code, _, errOut := ingestCmd("--table", "t", filepath.Join(dir, "missing.csv"))
		if code != 1 || !strings.Contains(errOut, "missing.csv") {
			t.Errorf("missing file: exit %d, %q", code, errOut)
		}
		code, out, _ := cli(t, "ingest", "-h")
		if code != 0 || !strings.Contains(out, "idempotency key") || !strings.Contains(out, "-column-type") {
			t.Errorf("help: %d %q", code, out)
		}
	})

	t.Run("partition by", func(t *testing.T) {
		code, _, errOut := ingestCmd("--table", "parted", "--partition-by", "bucket(2, id)", "--progress", "none", a)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		files := sqlLines(t, flightAddr, "SELECT DISTINCT partition FROM iceberg_files('bronze.parted') ORDER BY 1")
		if len(files) != 3 || files[1] != `"{""id_bucket"":0}"` || files[2] != `"{""id_bucket"":1}"` { // CSV-quoted
			t.Fatalf("partitions %q", files)
		}
		code, _, errOut = ingestCmd("--table", "parted", "--partition-by", "truncate(10, id)", "--progress", "none", b)
		if code != 1 || !strings.Contains(errOut, "bronze.parted is partitioned by (bucket(2, id)), not (truncate(10, id))") {
			t.Fatalf("another partitioning: exit %d: %s", code, errOut)
		}
		if n := count(t, flightAddr, "bronze.parted"); n != "2500" {
			t.Fatalf("count %s after the refused ingest", n)
		}
	})

	t.Run("flags after files", func(t *testing.T) {
		code, out, errOut := ingestCmd(c, "--table", "late", "--json")
		if code != 0 || summaries(t, out)[0].Rows != 10 {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
}

func TestIngestCommandCSV(t *testing.T) {
	flightAddr, _, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("id,price\n1,1.5\n2,abc\n3,3.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Inference would read the bad column as text: its type is pinned.
	code, out, errOut := cli(t, "ingest", "--server", flightAddr, "--table", "prices", "--column-type", "price=float64", "--progress", "none", bad)
	if code != 1 || out != "" {
		t.Fatalf("strict: exit %d %q", code, out)
	}
	for _, want := range []string{"nothing was committed", bad + ":3", `column "price"`, `"abc"`, "float64"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("strict error %q lacks %q", errOut, want)
		}
	}
	code, out, errOut = cli(t, "ingest", "--server", flightAddr, "--table", "prices", "--column-type", "price=float64", "--on-bad", "rejects", "--json", "--progress", "none", bad)
	if code != 0 {
		t.Fatalf("rejects: %s", errOut)
	}
	if s := summaries(t, out); s[0].Rows != 2 || s[0].Rejected != 1 || s[0].RejectsTable != "bronze.prices__rejects" {
		t.Fatalf("rejects summary %+v", s)
	}
	if got := sqlLines(t, flightAddr, "SELECT line, column_name, value FROM bronze.prices__rejects"); len(got) != 2 || got[1] != "3,price,abc" {
		t.Fatalf("rejects table %q", got)
	}
	// Appending to the existing table needs no pin: its column types are
	// used, so the bad value is a bad row named by line (not a text column
	// the table refuses).
	code, _, errOut = cli(t, "ingest", "--server", flightAddr, "--table", "prices", "--no-key", "--progress", "none", bad)
	if code != 1 || !strings.Contains(errOut, bad+":3") || !strings.Contains(errOut, `column "price"`) {
		t.Fatalf("append with the table's types: exit %d, %q", code, errOut)
	}
	code, out, _ = cli(t, "ingest", "--server", flightAddr, "--table", "skipped", "--column-type", "price=float64", "--on-bad", "skip", "--progress", "none", bad)
	if code != 0 || !strings.Contains(out, "1 skipped") || !strings.Contains(out, `1 bad rows skipped: 1 × column "price"`) {
		t.Fatalf("skip summary %q", out)
	}
}

// TestCLIAndUploadAgree loads the same files through `lakeflight ingest`
// and through POST /ingest and compares the tables row for row.
func TestCLIAndUploadAgree(t *testing.T) {
	flightAddr, httpAddr, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	files := map[string][]byte{}
	add := func(name string, data []byte) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	pq := filepath.Join(dir, "items.parquet")
	writeIDs(t, pq, 0, 3000)
	data, err := os.ReadFile(pq)
	if err != nil {
		t.Fatal(err)
	}
	files["items.parquet"] = data
	cases := []struct {
		name, file string
		cliArgs    []string
		query      string
	}{{name: "parquet", file: "items.parquet"}}
	add("items.csv", []byte("id,name,price,day\n1,\"a, quoted\",1.50,2024-01-02\n2,,NA,2024-02-29\n3,b,-0.25,\n"))
	cases = append(cases, struct {
		name, file string
		cliArgs    []string
		query      string
	}{"csv", "items.csv", []string{"--null", "NA", "--column-type", "price=decimal(10,2)"}, "null=NA&column_type=price:decimal(10,2)"})
	add("items.ndjson", []byte(`{"id": 1, "name": "a", "price": 1.5, "tags": ["x"]}
{"id": 2, "name": null, "price": 2}
{"id": 3, "name": "c\u00e9", "price": -0.25, "tags": []}
`))
	cases = append(cases, struct {
		name, file string
		cliArgs    []string
		query      string
	}{name: "json", file: "items.ndjson"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"ingest", "--server", flightAddr, "--table", "via_cli_" + tc.name, "--progress", "none"}, tc.cliArgs...)
			if code, _, errOut := cli(t, append(args, filepath.Join(dir, tc.file))...); code != 0 {
				t.Fatal(errOut)
			}
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			w, _ := mw.CreateFormFile("file", tc.file)
			_, _ = w.Write(files[tc.file])
			_ = mw.Close()
			url := "http://" + httpAddr + "/ingest?table=via_http_" + tc.name
			if tc.query != "" {
				url += "&" + tc.query
			}
			resp, err := http.Post(url, mw.FormDataContentType(), &body)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("upload: %d %s", resp.StatusCode, msg)
			}
			viaCLI := sqlLines(t, flightAddr, "SELECT * FROM bronze.via_cli_"+tc.name+" ORDER BY ALL")
			viaHTTP := sqlLines(t, flightAddr, "SELECT * FROM bronze.via_http_"+tc.name+" ORDER BY ALL")
			if len(viaCLI) < 2 || strings.Join(viaCLI, "\n") != strings.Join(viaHTTP, "\n") {
				t.Fatalf("tables differ:\nCLI:\n%s\nHTTP:\n%s", strings.Join(viaCLI, "\n"), strings.Join(viaHTTP, "\n"))
			}
		})
	}
}

func TestProgressLines(t *testing.T) {
	p := newProgress("bar", io.Discard, "bronze.events", 120e6)
	got := p.line(45e6, 1_234_567, 3*time.Second)
	want := "bronze.events: 45.0 MB of 120.0 MB (37%), 1234567 rows, 411522 rows/s, 15.0 MB/s, ETA 5s"
	if got != want {
		t.Fatalf("line\n got %q\nwant %q", got, want)
	}
	p = newProgress("log", io.Discard, "t", -1) // stdin: no total, no ETA
	if got := p.line(2500, 10, time.Second); got != "t: 2.5 kB, 10 rows, 10 rows/s, 0.0 MB/s" {
		t.Fatalf("line without a total: %q", got)
	}

	// A bar redraws one line in place and clears it at the end.
	var buf syncBuffer
	p = newProgress("bar", &buf, "t", 100)
	p.every = 5 * time.Millisecond
	p.start()
	for !strings.Contains(buf.String(), "\rt: 0 B of 100 B (0%)") { // the first redraw
		runtime.Gosched()
	}
	p.stop()
	out := buf.String()
	if !strings.HasPrefix(out, "\rt: 0 B of 100 B (0%)") || !strings.HasSuffix(out, "\r\x1b[K") || strings.Contains(out, "\n") {
		t.Fatalf("bar output %q", out)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestIngestCommandCSVFilesTakeTheFirstFilesTypes(t *testing.T) {
	flightAddr, _, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Alone, b.csv's price would be int64 and c.csv's columns differ.
	a := write("a.csv", "id,price,day\n1,1.5,2024-01-01\n2,2.25,2024-01-02\n")
	b := write("b.csv", "price,id,day\n3,3,2024-01-03\n")
	c := write("c.csv", "id,cost\n4,1\n")
	code, out, errOut := cli(t, "ingest", "--server", flightAddr, "--table", "typed", "--json", "--progress", "none", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if s := summaries(t, out); s[0].Rows != 3 {
		t.Fatalf("summary %+v", s)
	}
	if got := sqlLines(t, flightAddr, "SELECT id, price, day FROM bronze.typed ORDER BY id"); strings.Join(got, "|") != "id,price,day|1,1.5,2024-01-01|2,2.25,2024-01-02|3,3,2024-01-03" {
		t.Fatalf("rows %q", got)
	}
	code, _, errOut = cli(t, "ingest", "--server", flightAddr, "--table", "typed2", "--progress", "none", a, c)
	if code != 1 || !strings.Contains(errOut, c+" does not match "+a) || !strings.Contains(errOut, `column "cost" is extra`) {
		t.Fatalf("different columns: exit %d %q", code, errOut)
	}
}
