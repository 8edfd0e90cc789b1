package main

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/lakeflight/lakeflight/web"
)

// rowsBody is GET …/rows as JSON.
type rowsBody struct {
	Table      string `json:"table"`
	SnapshotID *int64 `json:"snapshot_id"`
	Columns    []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows      [][]any `json:"rows"`
	RowCount  int     `json:"row_count"`
	Truncated bool    `json:"truncated"`
}

type schemaBody struct {
	Table             string `json:"table"`
	SnapshotID        *int64 `json:"snapshot_id"`
	CurrentSnapshotID *int64 `json:"current_snapshot_id"`
	Columns           []struct {
		ID        int    `json:"id"`
		Name      string `json:"name"`
		Type      string `json:"type"`
		ArrowType string `json:"arrow_type"`
		Nullable  bool   `json:"nullable"`
	} `json:"columns"`
}

// answer is a response read to its end (trailers are set only then).
type answer struct {
	StatusCode      int
	Header, Trailer http.Header
}

// getAccept GETs url with an Accept header.
func getAccept(t *testing.T, u, accept string) (answer, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", u, err)
	}
	return answer{resp.StatusCode, resp.Header, resp.Trailer}, body
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, body := getAccept(t, u, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", u, err, body)
	}
}

// ids is the first column of JSON rows, as integers.
func ids(t *testing.T, rows [][]any) []int64 {
	t.Helper()
	out := make([]int64, len(rows))
	for i, r := range rows {
		f, ok := r[0].(float64)
		if !ok {
			t.Fatalf("row %d: id %v is not a number", i, r[0])
		}
		out[i] = int64(f)
	}
	return out
}

// TestReadsEndToEnd ingests a table in two snapshots through the CLI and
// reads it back over the sidecar in each format, filtered, ordered and as
// of the first snapshot.
func TestReadsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	flightAddr, httpAddr, _ := startServe(t, filepath.Join(dir, "data"))
	first, second := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	writeIDs(t, first, 0, 20)   // ids 0..19
	writeIDs(t, second, 20, 15) // ids 20..34
	for _, f := range []string{first, second} {
		if code, _, errOut := cli(t, "ingest", "--server", flightAddr, "--table", "bronze.items", "--progress", "none", f); code != 0 {
			t.Fatalf("ingest %s: %s", f, errOut)
		}
	}
	base := "http://" + httpAddr + "/v1/tables/bronze/items/"
	var snaps struct {
		Current   int64 `json:"current_snapshot_id"`
		Snapshots []struct {
			ID int64 `json:"snapshot_id"`
		} `json:"snapshots"`
	}
	getJSON(t, base+"snapshots", &snaps)
	if len(snaps.Snapshots) != 2 {
		t.Fatalf("snapshots: %+v", snaps)
	}
	old := snaps.Snapshots[0].ID

	t.Run("schema", func(t *testing.T) {
		var s schemaBody
		getJSON(t, base+"schema", &s)
		if s.Table != "bronze.items" || s.CurrentSnapshotID == nil || *s.CurrentSnapshotID != snaps.Current ||
			s.SnapshotID == nil || *s.SnapshotID != snaps.Current {
			t.Fatalf("schema: %+v", s)
		}
		var names []string
		for _, c := range s.Columns {
			names = append(names, c.Name+" "+c.Type+" "+c.ArrowType+" "+strconv.FormatBool(c.Nullable))
		}
		want := []string{"id long int64 true", "name string utf8 true", "price double float64 true"}
		if !slices.Equal(names, want) {
			t.Fatalf("columns %q, want %q", names, want)
		}
		getJSON(t, base+"schema?as_of="+strconv.FormatInt(old, 10), &s)
		if *s.SnapshotID != old || *s.CurrentSnapshotID != snaps.Current {
			t.Fatalf("schema as of %d: %+v", old, s)
		}
	})

	t.Run("json", func(t *testing.T) {
		var r rowsBody
		getJSON(t, base+"rows?order_by=id&limit=5", &r)
		if got := ids(t, r.Rows); !slices.Equal(got, []int64{0, 1, 2, 3, 4}) || !r.Truncated || r.RowCount != 5 || r.SnapshotID != nil {
			t.Fatalf("limit 5: ids %v, %+v", got, r)
		}
		if len(r.Columns) != 3 || r.Columns[0].Name != "id" || r.Columns[2].Name != "price" {
			t.Fatalf("columns: %+v", r.Columns)
		}
		if r.Rows[0][2] != nil || r.Rows[1][1] != "item 1" || r.Rows[1][2] != 0.25 {
			t.Fatalf("values (price of id 0 is null, of id 1 0.25): %v", r.Rows[:2])
		}
		getJSON(t, base+"rows?limit=100", &r)
		if len(r.Rows) != 35 || r.Truncated {
			t.Fatalf("all rows: %d, truncated %v", len(r.Rows), r.Truncated)
		}
		getJSON(t, base+"rows?limit=35", &r)
		if len(r.Rows) != 35 || r.Truncated {
			t.Fatalf("exactly the limit: %d, truncated %v", len(r.Rows), r.Truncated)
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, c := range []struct {
			query string
			want  []int64
		}{
			{"where=id:lt:3", []int64{0, 1, 2}},
			{"where=id:ge:32", []int64{32, 33, 34}},
			{"where=id:gt:30&where=id:ne:33", []int64{31, 32, 34}},
			{"where=id:le:1&where=id:eq:1", []int64{1}},
			{"where=id:in:4|9|400", []int64{4, 9}},
			{"where=price:is_null", []int64{0, 7, 14, 21, 28}},
			{"where=price:not_null&where=id:lt:3", []int64{1, 2}},
			{"where=name:eq:item 3&where=price:gt:5", []int64{29}},
			{"where=price:ge:8.5", []int64{34}},
			{"where=" + url.QueryEscape("name:in:item 1|x'); DROP TABLE bronze.items; --"), []int64{1, 14, 27}},
		} {
			var r rowsBody
			getJSON(t, base+"rows?order_by=id&columns=id&"+strings.ReplaceAll(c.query, " ", "%20"), &r)
			if got := ids(t, r.Rows); !slices.Equal(got, c.want) {
				t.Errorf("%s: ids %v, want %v", c.query, got, c.want)
			}
		}
		var r rowsBody
		getJSON(t, base+"rows?columns=price,id&order_by=price:desc,id&limit=3", &r)
		if len(r.Rows) != 3 || r.Rows[0][1] != 34.0 || r.Rows[0][0] != 8.5 || len(r.Rows[0]) != 2 {
			t.Fatalf("order_by price desc: %v", r.Rows)
		}
	})

	t.Run("as_of", func(t *testing.T) {
		var r rowsBody
		getJSON(t, base+"rows?columns=id&order_by=id:desc&limit=1&as_of="+strconv.FormatInt(old, 10), &r)
		if got := ids(t, r.Rows); !slices.Equal(got, []int64{19}) || r.SnapshotID == nil || *r.SnapshotID != old || !r.Truncated {
			t.Fatalf("as of the first snapshot: %v %+v", got, r)
		}
		// A tag of the first snapshot reads the same.
		req, _ := http.NewRequest(http.MethodPost, base+"tags", strings.NewReader(`{"name":"v1","snapshot_id":`+strconv.FormatInt(old, 10)+`}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("tag: %v %v", resp, err)
		}
		resp.Body.Close()
		getJSON(t, base+"rows?columns=id&limit=100&as_of=v1", &r)
		if len(r.Rows) != 20 || *r.SnapshotID != old {
			t.Fatalf("as of tag v1: %d rows, snapshot %v", len(r.Rows), r.SnapshotID)
		}
		// A time after both commits is the current snapshot.
		getJSON(t, base+"rows?columns=id&limit=100&as_of=2999-01-01T00:00:00Z", &r)
		if len(r.Rows) != 35 || *r.SnapshotID != snaps.Current {
			t.Fatalf("as of the future: %d rows, snapshot %v", len(r.Rows), r.SnapshotID)
		}
		// Fail closed: no snapshot, tag or time before the table is 404.
		for _, q := range []string{"as_of=12345", "as_of=no-such-tag", "as_of=2001-01-01T00:00:00Z"} {
			for _, route := range []string{"rows?", "schema?"} {
				resp, body := getAccept(t, base+route+q, "")
				if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
					t.Errorf("%s%s: %d %s, want 404", route, q, resp.StatusCode, body)
				}
			}
		}
	})

	t.Run("csv", func(t *testing.T) {
		resp, body := getAccept(t, base+"rows?columns=id,price&order_by=id&limit=3", "text/csv")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"id", "price"}, {"0", ""}, {"1", "0.25"}, {"2", "0.5"}}
		if !slices.EqualFunc(recs, want, slices.Equal) {
			t.Fatalf("csv %q, want %q", recs, want)
		}
		if got := resp.Trailer.Get("Lakeflight-Truncated"); got != "true" {
			t.Fatalf("truncated trailer %q", got)
		}
	})

	t.Run("arrow", func(t *testing.T) {
		resp, body := getAccept(t, base+"rows?order_by=id&limit=50&as_of="+strconv.FormatInt(old, 10), "application/vnd.apache.arrow.stream")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Lakeflight-Snapshot-Id") != strconv.FormatInt(old, 10) {
			t.Fatalf("arrow: %d %v", resp.StatusCode, resp.Header)
		}
		rdr, err := ipc.NewReader(strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		var got []int64
		for rdr.Next() {
			got = append(got, rdr.RecordBatch().Column(0).(*array.Int64).Int64Values()...)
		}
		if err := rdr.Err(); err != nil {
			t.Fatal(err)
		}
		if !arrow.TypeEqual(rdr.Schema().Field(2).Type, arrow.PrimitiveTypes.Float64) || len(got) != 20 || got[19] != 19 {
			t.Fatalf("arrow: schema %v, ids %v", rdr.Schema(), got)
		}
		if tr := resp.Trailer.Get("Lakeflight-Truncated"); tr != "false" {
			t.Fatalf("truncated trailer %q", tr)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, c := range []struct{ query, accept, want string }{
			{"limit=abc", "", "limit"},
			{"limit=100001", "", "limit"},
			{"limit=1&limit=2", "", `"limit" is given 2 times`},
			{"columns=id,nope", "", `columns: table bronze.items has no column "nope"`},
			{"columns=ID", "", `no column "ID"`},
			{"where=id:like:1", "", `where[0] "id:like:1": unknown operator "like"`},
			{"where=id:eq:abc", "", `where[0] "id:eq:abc": "abc" is not a long value for column "id"`},
			{"where=nope:eq:1", "", `where[0] "nope:eq:1": table bronze.items has no column "nope"`},
			{"where=id:is_null:x", "", "is_null takes no value"},
			{"order_by=price:up", "", `order_by "price:up"`},
			{"order_by=nope", "", `order_by: table bronze.items has no column "nope"`},
			{"as_of=2026-01-01", "", "as_of"},
			{"as_of=", "", "as_of is empty"},
			{"format=csv", "", `unknown query parameter "format"`},
			{"", "text/html", "Accept"},
		} {
			resp, body := getAccept(t, base+"rows?"+c.query, c.accept)
			wantCode := http.StatusBadRequest
			if c.accept != "" {
				wantCode = http.StatusNotAcceptable
			}
			if resp.StatusCode != wantCode || !strings.Contains(problemDetail(t, body), c.want) ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("?%s: %d %s, want %d naming %s", c.query, resp.StatusCode, body, wantCode, c.want)
			}
		}
		if resp, body := getAccept(t, base+"schema?limit=1", ""); resp.StatusCode != http.StatusBadRequest || !strings.Contains(problemDetail(t, body), `"limit"`) {
			t.Errorf("schema?limit=1: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("by qualified name", func(t *testing.T) {
		var r rowsBody
		getJSON(t, "http://"+httpAddr+"/query/bronze.items?where=id:lt:3&order_by=id:desc&as_of="+strconv.FormatInt(old, 10), &r)
		if got := ids(t, r.Rows); !slices.Equal(got, []int64{2, 1, 0}) || r.SnapshotID == nil || *r.SnapshotID != old {
			t.Fatalf("/query: ids %v, %+v", got, r)
		}
		var s schemaBody
		getJSON(t, "http://"+httpAddr+"/schema/bronze.items", &s)
		if s.Table != "bronze.items" || len(s.Columns) != 3 {
			t.Fatalf("/schema: %+v", s)
		}
		if resp, body := getAccept(t, "http://"+httpAddr+"/query/bronze.nope", ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/query/bronze.nope: %d %s, want 404", resp.StatusCode, body)
		}
	})

	t.Run("unknown table", func(t *testing.T) {
		for _, p := range []string{"/v1/tables/bronze/nope/rows", "/v1/tables/bronze/nope/schema", "/v1/tables/nons/items/rows"} {
			if resp, body := getAccept(t, "http://"+httpAddr+p, ""); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d %s, want 404", p, resp.StatusCode, body)
			}
		}
	})
	// The injection attempt above left the table as it was.
	if n := count(t, flightAddr, "bronze.items"); n != "35" {
		t.Fatalf("bronze.items has %s rows after the reads, want 35", n)
	}
}

// problemDetail is the detail of a problem+json body.
func problemDetail(t *testing.T, body []byte) string {
	t.Helper()
	var p struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem %s: %v", body, err)
	}
	return p.Detail
}

// TestLateReadsStarting: until serve stores the reader, the reads answer
// 503 "starting".
func TestLateReadsStarting(t *testing.T) {
	srv := web.New(web.Options{Reader: lateReads{new(atomic.Pointer[tableReader])}})
	srv.SetReady(true)
	for _, p := range []string{"/v1/tables/bronze/t/rows", "/v1/tables/bronze/t/schema"} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		code, body := rec.Code, rec.Body.String()
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
			t.Errorf("%s before the engine opened: %d %s", p, code, body)
		}
	}
}
