package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
)

// ingestServer is the sidecar over a real ingest writer and catalog.
func ingestServer(t *testing.T, maxBytes int64) (http.Handler, *catalog.Catalog) {
	t.Helper()
	return ingestServerWith(t, Options{MaxIngestBytes: maxBytes})
}

// ingestServerWith is ingestServer with more options (Ingest is set here).
func ingestServerWith(t *testing.T, opts Options) (http.Handler, *catalog.Catalog) {
	t.Helper()
	dir := t.TempDir()
	cat, err := catalog.Open(t.Context(), catalog.Config{Driver: "sqlite", URI: filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	for _, ns := range []string{"bronze", "silver"} {
		if err := cat.EnsureNamespace(t.Context(), ns); err != nil {
			t.Fatal(err)
		}
	}
	opts.Ingest = ingest.NewWriter(cat, slog.New(slog.DiscardHandler), nil)
	s := New(opts)
	s.SetReady(true)
	return s.Handler(), cat
}

// parquetBytes encodes rows of (id int64, name utf8) given as JSON.
func parquetBytes(t *testing.T, fields []arrow.Field, rowsJSON string) []byte {
	t.Helper()
	sc := arrow.NewSchema(fields, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(rowsJSON))
	if err != nil {
		t.Fatal(err)
	}
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

var idName = []arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}

// idNameRows makes n rows starting at id from.
func idNameRows(t *testing.T, from, n int) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		id := from + i
		b.WriteString(`{"id": ` + strconv.Itoa(id) + `, "name": "n` + strconv.Itoa(id%7) + `"}`)
	}
	b.WriteString("]")
	return parquetBytes(t, idName, b.String())
}

type part struct {
	name, filename, ctype string
	body                  []byte
}

func multipartBody(t *testing.T, parts ...part) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			disp += `; filename="` + p.filename + `"`
		}
		h.Set("Content-Disposition", disp)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(p.body)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// post sends body to path and decodes the answer: an ingestResponse on 200,
// else a problem (checked to be problem+json).
func post(t *testing.T, h http.Handler, path, ctype string, body io.Reader) (int, ingestResponse, problem) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var res ingestResponse
	var p problem
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("200 body %s: %v", rec.Body, err)
		}
		return rec.Code, res, p
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d with Content-Type %q: %s", rec.Code, ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %s: %v", rec.Body, err)
	}
	if p.Status != rec.Code || p.Title != http.StatusText(rec.Code) || p.Type != "about:blank" || p.Detail == "" {
		t.Fatalf("problem %+v for status %d", p, rec.Code)
	}
	return rec.Code, res, p
}

// tableRows reads the table's rows as "id name" lines in id order, nil
// when the table does not exist.
func tableRows(t *testing.T, cat *catalog.Catalog, name string) []string {
	t.Helper()
	id, err := ingest.ParseTable(name)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.LoadTable(t.Context(), id)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1<<20)
	defer tr.Release()
	out := []string{}
	for tr.Next() {
		b := tr.RecordBatch()
		for r := range int(b.NumRows()) {
			var cells []string
			for _, col := range b.Columns() {
				cells = append(cells, col.ValueStr(r))
			}
			out = append(out, strings.Join(cells, " "))
		}
	}
	return out
}

func snapshots(t *testing.T, cat *catalog.Catalog, name string) int {
	t.Helper()
	id, _ := ingest.ParseTable(name)
	s, err := cat.Snapshots(t.Context(), id)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(s)
}

func TestIngestParquetUploads(t *testing.T) {
	h, cat := ingestServer(t, 0)

	// Raw body.
	code, res, p := post(t, h, "/ingest?table=raw", "application/vnd.apache.parquet", bytes.NewReader(idNameRows(t, 0, 100)))
	if code != http.StatusOK {
		t.Fatalf("raw: %d %+v", code, p)
	}
	if res.Table != "bronze.raw" || res.Rows != 100 || res.SnapshotID == 0 || res.Bytes != int64(len(idNameRows(t, 0, 100))) || res.Replayed ||
		res.Timings == nil || res.Timings.CommitMS <= 0 {
		t.Fatalf("raw: %+v (timings %+v)", res, res.Timings)
	}
	if n := len(tableRows(t, cat, "bronze.raw")); n != 100 {
		t.Fatalf("raw: %d rows in the table", n)
	}

	// partition_by partitions the table it creates.
	code, _, p = post(t, h, "/ingest?table=parted&partition_by="+url.QueryEscape("bucket(2, id)"), "application/vnd.apache.parquet",
		bytes.NewReader(idNameRows(t, 0, 100)))
	if code != http.StatusOK {
		t.Fatalf("partition_by: %d %+v", code, p)
	}
	if files, err := cat.Files(t.Context(), catalog.Ident{Namespace: "bronze", Name: "parted"}, 0); err != nil || len(files) != 2 ||
		!strings.Contains(files[0].Partition, "id_bucket") {
		t.Fatalf("partition_by: files %+v (%v)", files, err)
	}
	code, _, p = post(t, h, "/ingest?table=parted&partition_by=id", "application/vnd.apache.parquet", bytes.NewReader(idNameRows(t, 0, 1)))
	if code != http.StatusBadRequest || !strings.Contains(p.Detail, "is partitioned by (bucket(2, id)), not (id)") {
		t.Fatalf("another partitioning: %d %+v", code, p)
	}

	// Two multipart files: one snapshot; octet-stream parts are detected.
	body, ctype := multipartBody(t,
		part{"file", "a.parquet", "application/octet-stream", idNameRows(t, 0, 10)},
		part{"file", "b.parquet", "", idNameRows(t, 10, 5)})
	code, res, p = post(t, h, "/ingest?table=silver.multi&mode=create&metadata_columns=true", ctype, body)
	if code != http.StatusOK {
		t.Fatalf("multipart: %d %+v", code, p)
	}
	if res.Table != "silver.multi" || res.Rows != 15 {
		t.Fatalf("multipart: %+v", res)
	}
	if n := snapshots(t, cat, "silver.multi"); n != 1 {
		t.Fatalf("multipart made %d snapshots, want 1", n)
	}
	rows := tableRows(t, cat, "silver.multi")
	// The two files' rows come back in no fixed file order: by id.
	slices.SortFunc(rows, func(a, b string) int {
		ia, _ := strconv.Atoi(strings.Fields(a)[0])
		ib, _ := strconv.Atoi(strings.Fields(b)[0])
		return ia - ib
	})
	if len(rows) != 15 || !strings.HasSuffix(rows[0], " a.parquet 1") || !strings.HasSuffix(rows[14], " b.parquet 5") {
		t.Fatalf("multipart rows (with metadata columns): %q", rows)
	}

	// The same upload with a key twice: the second is replayed.
	for i, want := range []bool{false, true} {
		code, res, p = post(t, h, "/ingest?table=keyed&key=load-1", "application/x-parquet", bytes.NewReader(idNameRows(t, 0, 7)))
		if code != http.StatusOK || res.Replayed != want || res.Rows != 7 {
			t.Fatalf("keyed upload %d: %d %+v %+v", i, code, res, p)
		}
	}
	if n := len(tableRows(t, cat, "keyed")); n != 7 {
		t.Fatalf("after a replay the table has %d rows, want 7", n)
	}
}

func TestIngestErrors(t *testing.T) {
	h, cat := ingestServer(t, 4096)
	pq := idNameRows(t, 0, 3)
	if code, _, p := post(t, h, "/ingest?table=t&mode=create", "application/vnd.apache.parquet", bytes.NewReader(pq)); code != http.StatusOK {
		t.Fatalf("setup: %d %+v", code, p)
	}
	big := idNameRows(t, 0, 5000)
	if len(big) <= 4096 {
		t.Fatalf("test file is only %d bytes", len(big))
	}
	wrongType := parquetBytes(t, []arrow.Field{{Name: "name", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, `[{"name": 1}]`)
	otherCols := parquetBytes(t, []arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, `[{"x": 1}]`)
	mixed, mixedType := multipartBody(t, part{"file", "a.parquet", "", pq}, part{"file", "b.parquet", "", otherCols})
	stray, strayType := multipartBody(t, part{"table", "", "", []byte("x")}, part{"file", "a.parquet", "", pq})
	none, noneType := multipartBody(t)

	cases := []struct {
		name, path, ctype string
		body              io.Reader
		code              int
		detail            string
	}{
		{"too large, length known", "/ingest?table=big", "application/vnd.apache.parquet", bytes.NewReader(big), 413, "limit of 4096 bytes"},
		{"too large, chunked", "/ingest?table=big", "application/vnd.apache.parquet", io.MultiReader(bytes.NewReader(big)), 413, "limit of 4096 bytes"},
		{"too large, multipart", "/ingest?table=big", "", nil, 413, "limit of 4096 bytes"},
		{"unknown content type", "/ingest?table=t", "image/png", bytes.NewReader(pq), 415, "image/png"},
		{"unknown encoding", "/ingest?table=t", "application/x-parquet", bytes.NewReader(pq), 415, "br"},
		{"append to a missing table", "/ingest?table=missing&mode=append", "application/x-parquet", bytes.NewReader(pq), 404, "bronze.missing"},
		{"create over an existing table", "/ingest?table=t&mode=create", "application/x-parquet", bytes.NewReader(pq), 409, "bronze.t"},
		{"type mismatch", "/ingest?table=t", "application/x-parquet", bytes.NewReader(wrongType), 422, `"name"`},
		{"files with different columns", "/ingest?table=mixed", mixedType, mixed, 422, "b.parquet does not match a.parquet"},
		{"no table", "/ingest", "application/x-parquet", bytes.NewReader(pq), 400, "table"},
		{"unknown parameter", "/ingest?table=t&on-bad=skip", "application/x-parquet", bytes.NewReader(pq), 400, `"on-bad"`},
		{"bad mode", "/ingest?table=t&mode=upsert", "application/x-parquet", bytes.NewReader(pq), 400, "upsert"},
		{"bad column type", "/ingest?table=t&column_type=id:int128", "application/x-parquet", bytes.NewReader(pq), 400, "int128"},
		{"stray form field", "/ingest?table=t", strayType, stray, 400, `"table"`},
		{"no file part", "/ingest?table=t", noneType, none, 400, `no part named "file"`},
		{"broken parquet", "/ingest?table=t", "application/x-parquet", strings.NewReader("PAR1 not really"), 400, "Parquet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := tc.body, tc.ctype
			if tc.name == "too large, multipart" {
				body, ctype = multipartBody(t, part{"file", "a.parquet", "", pq}, part{"file", "big.parquet", "", big})
			}
			req := httptest.NewRequest(http.MethodPost, tc.path, body)
			req.Header.Set("Content-Type", ctype)
			if tc.name == "unknown encoding" {
				req.Header.Set("Content-Encoding", "br")
			}
			if strings.Contains(tc.name, "chunked") {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var p problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %q: %s (%v)", rec.Code, rec.Header().Get("Content-Type"), rec.Body, err)
			}
			if rec.Code != tc.code || p.Status != tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("got %d %+v, want %d with %q", rec.Code, p, tc.code, tc.detail)
			}
		})
	}
	// Nothing of the failed uploads was committed.
	if rows := tableRows(t, cat, "big"); len(rows) != 0 {
		t.Fatalf("an oversized upload committed %d rows", len(rows))
	}
	if n := snapshots(t, cat, "mixed"); n != 0 {
		t.Fatalf("a mismatched multipart upload committed %d snapshots", n)
	}
	if n := snapshots(t, cat, "t"); n != 1 {
		t.Fatalf("table t has %d snapshots, want 1", n)
	}
}

func TestIngestUnavailable(t *testing.T) {
	// Not configured: not implemented here, as Flight's DoPut says too.
	s := New(Options{})
	s.SetReady(true)
	if code, _, p := post(t, s.Handler(), "/ingest?table=t", "text/csv", strings.NewReader("a\n1\n")); code != 501 || !strings.Contains(p.Detail, "not enabled") {
		t.Fatalf("no ingester: %d %+v", code, p)
	}
	// Configured but starting: the late-bound writer is not there yet.
	s = New(Options{Ingest: IngesterFunc(func(context.Context, ingest.Request) (ingest.Result, error) {
		return ingest.Result{}, ErrStarting
	})})
	if code, _, p := post(t, s.Handler(), "/ingest?table=t", "text/csv", strings.NewReader("a\n1\n")); code != 503 || !strings.Contains(p.Detail, "starting") {
		t.Fatalf("not ready: %d %+v", code, p)
	}
	s.SetReady(true)
	pq := idNameRows(t, 0, 1)
	if code, _, p := post(t, s.Handler(), "/ingest?table=t", "application/x-parquet", bytes.NewReader(pq)); code != 503 || !strings.Contains(p.Detail, "starting") {
		t.Fatalf("writer not bound yet: %d %+v", code, p)
	}
}

func TestIngestCSV(t *testing.T) {
	h, cat := ingestServer(t, 0)
	good := "id,price\n1,1.5\n2,2.5\n3,3.5\n"
	bad := "id,price\n1,1.5\n2,abc\n3,3.5\n4,x\n"

	code, res, p := post(t, h, "/ingest?table=prices", "text/csv", strings.NewReader(good))
	if code != 200 || res.Rows != 3 {
		t.Fatalf("good csv: %d %+v %+v", code, res, p)
	}

	// Strict (the default): the bad line is named, with every error listed
	// up to max_errors, and nothing is committed.
	// (Inference would read the bad column as text: the type is pinned.)
	code, _, p = post(t, h, "/ingest?table=prices&filename=bad.csv&max_errors=10&column_type=price:float64", "text/csv", strings.NewReader(bad))
	if code != 400 || len(p.Errors) != 2 || p.Errors[0].Line != 3 || p.Errors[0].Column != "price" || p.Errors[0].Value != "abc" || p.Errors[1].Line != 5 {
		t.Fatalf("strict: %d %+v", code, p)
	}
	if !strings.Contains(p.Detail, "bad.csv:3") {
		t.Fatalf("strict detail %q does not name bad.csv:3", p.Detail)
	}
	if n := len(tableRows(t, cat, "prices")); n != 3 {
		t.Fatalf("a failed strict upload changed the table: %d rows", n)
	}

	// An append needs no pin: the table's own column types are used.
	code, _, p = post(t, h, "/ingest?table=prices&filename=bad.csv", "text/csv", strings.NewReader(bad))
	if code != 400 || len(p.Errors) == 0 || p.Errors[0].Line != 3 || p.Errors[0].Column != "price" {
		t.Fatalf("append with the table's types: %d %+v", code, p)
	}

	// Rejects: the good rows commit, every bad row lands in prices__rejects.
	code, res, p = post(t, h, "/ingest?table=prices&on_bad=rejects&filename=bad.csv&column_type=price:float64", "text/csv", strings.NewReader(bad))
	if code != 200 || res.Rows != 2 || res.Rejected != 2 || res.RejectsTable != "bronze.prices__rejects" {
		t.Fatalf("rejects: %d %+v %+v", code, res, p)
	}
	rj := tableRows(t, cat, "bronze.prices__rejects")
	if len(rj) != 2 || !strings.HasPrefix(rj[0], "bad.csv 3 price abc") || !strings.HasPrefix(rj[1], "bad.csv 5 price x") {
		t.Fatalf("rejects table: %q", rj)
	}

	// Skip: counted and summarised.
	code, res, p = post(t, h, "/ingest?table=prices&on_bad=skip&column_type=price:float64", "text/csv", strings.NewReader(bad))
	if code != 200 || res.Rows != 2 || res.Skipped != 2 || !strings.Contains(res.SkipSummary, "2 bad rows skipped") {
		t.Fatalf("skip: %d %+v %+v", code, res, p)
	}

	// Several CSV parts: later ones take the first one's types (alone, b.csv's
	// price would be int64); a part without the first one's columns is 422.
	body, ctype := multipartBody(t,
		part{"file", "a.csv", "text/csv", []byte("id,price\n10,1.5\n")},
		part{"file", "b.csv", "application/vnd.ms-excel", []byte("price,id\n3,11\n")})
	code, res, p = post(t, h, "/ingest?table=parts", ctype, body)
	if code != 200 || res.Rows != 2 {
		t.Fatalf("csv parts: %d %+v %+v", code, res, p)
	}
	if rows := tableRows(t, cat, "parts"); len(rows) != 2 || !slices.Contains(rows, "11 3") || !slices.Contains(rows, "10 1.5") { // files in no fixed order
		t.Fatalf("csv parts rows: %q", rows)
	}
	body, ctype = multipartBody(t,
		part{"file", "a.csv", "", []byte("id,price\n10,1.5\n")},
		part{"file", "c.csv", "", []byte("id,cost\n3,11\n")})
	code, _, p = post(t, h, "/ingest?table=parts", ctype, body)
	if code != 422 || !strings.Contains(p.Detail, "c.csv cannot be read with the columns of a.csv") {
		t.Fatalf("csv parts with other columns: %d %+v", code, p)
	}

	// TSV by content type, NULL tokens, a header flag and a column type.
	tsv := "1\tNA\n2\t7\n"
	code, res, p = post(t, h, "/ingest?table=tsv&header=false&null=NA&column_type=column2:decimal(10,2)",
		"text/tab-separated-values", strings.NewReader(tsv))
	if code != 200 || res.Rows != 2 {
		t.Fatalf("tsv: %d %+v %+v", code, res, p)
	}
	if rows := tableRows(t, cat, "tsv"); len(rows) != 2 || rows[0] != "1 (null)" || rows[1] != "2 7" {
		t.Fatalf("tsv rows: %q", rows)
	}
	tbl, err := cat.LoadTable(t.Context(), catalog.Ident{Namespace: "bronze", Name: "tsv"})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := tbl.Schema().FindFieldByName("column2"); !ok || f.Type.String() != "decimal(10, 2)" {
		t.Fatalf("column2 is %v, want decimal(10, 2)", f.Type)
	}
}

func TestIngestReadDeadlines(t *testing.T) {
	dir := t.TempDir()
	cat, err := catalog.Open(t.Context(), catalog.Config{Driver: "sqlite", URI: filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.EnsureNamespace(t.Context(), "bronze"); err != nil {
		t.Fatal(err)
	}
	w := ingest.NewWriter(cat, slog.New(slog.DiscardHandler), nil)
	const idle = 300 * time.Millisecond
	s := New(Options{UploadIdleTimeout: idle, Ingest: IngesterFunc(func(ctx context.Context, req ingest.Request) (ingest.Result, error) {
		req.Records = &lingering{RecordReader: req.Records, delay: 3 * idle}
		return w.Write(ctx, req)
	})})
	s.SetReady(true)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	pq := idNameRows(t, 0, 100)

	// Time passing after the whole body arrived does not cut the ingest.
	resp, err := http.Post(srv.URL+"/ingest?table=slow", "application/x-parquet", bytes.NewReader(pq))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slow commit: %d %s", resp.StatusCode, msg)
	}

	// An upload that stalls is dropped and commits nothing: the client
	// sends half the file and then nothing until the server has answered
	// (dropped it), and only then the rest.
	pr, pw := io.Pipe()
	answered := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_, _ = pw.Write(pq[:len(pq)/2])
		<-answered
		_, _ = pw.Write(pq[len(pq)/2:])
		_ = pw.Close()
	}()
	resp, err = http.Post(srv.URL+"/ingest?table=stalled", "application/x-parquet", pr)
	close(answered)
	_ = pr.Close()
	<-sent
	if err == nil {
		msg, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("a stalled upload succeeded: %s", msg)
		}
	}
	if rows := tableRows(t, cat, "stalled"); len(rows) != 0 {
		t.Fatalf("a stalled upload committed %d rows", len(rows))
	}
}

// lingering waits before reporting the end of its stream.
type lingering struct {
	array.RecordReader
	delay time.Duration
}

func (l *lingering) Next() bool {
	if l.RecordReader.Next() {
		return true
	}
	time.Sleep(l.delay)
	return false
}
