package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// snapshotServer is the sidecar over a real catalog holding bronze.events
// (two appends) and the empty bronze.empty; it returns the two snapshot ids.
func snapshotServer(t *testing.T) (http.Handler, *catalog.Catalog, int64, int64) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	cat, err := catalog.Open(ctx, catalog.Config{Driver: "sqlite", URI: filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	if err := cat.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatal(err)
	}
	sc := arrow.NewSchema(idName, nil)
	for _, name := range []string{"events", "empty"} {
		if err := cat.CreateTable(ctx, catalog.Ident{Namespace: "bronze", Name: name}, sc); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	for _, rows := range []string{`[{"id": 1, "name": "a"}]`, `[{"id": 2, "name": "b"}, {"id": 3, "name": "c"}]`} {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(rows))
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		id, err := cat.Append(ctx, catalog.Ident{Namespace: "bronze", Name: "events"}, rdr, nil)
		rdr.Release()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	s := New(Options{Snapshots: cat})
	s.SetReady(true)
	return s.Handler(), cat, ids[0], ids[1]
}

// call sends one request and returns the status and body; an error status
// must come as problem+json, whose detail is returned as the body.
func call(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code < 400 {
		return rec.Code, rec.Body.String()
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s %s: %d with Content-Type %q: %s", method, path, rec.Code, ct, rec.Body)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Detail == "" {
		t.Fatalf("%s %s: problem %s (%v)", method, path, rec.Body, err)
	}
	return rec.Code, p.Detail
}

// callJSON is call for a 2xx answer decoded into out.
func callJSON(t *testing.T, h http.Handler, method, path, body string, want int, out any) {
	t.Helper()
	code, res := call(t, h, method, path, body)
	if code != want {
		t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, code, res, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(res), out); err != nil {
			t.Fatalf("%s %s: body %s: %v", method, path, res, err)
		}
	}
}

func TestSnapshotEndpoints(t *testing.T) {
	h, _, s1, s2 := snapshotServer(t)
	const base = "/v1/tables/bronze/events"

	var empty snapshotsResponse
	callJSON(t, h, http.MethodGet, "/v1/tables/bronze/empty/snapshots", "", http.StatusOK, &empty)
	if empty.Table != "bronze.empty" || empty.CurrentSnapshotID != nil || empty.Snapshots == nil || len(empty.Snapshots) != 0 {
		t.Errorf("snapshots of an empty table = %+v", empty)
	}

	var snaps snapshotsResponse
	callJSON(t, h, http.MethodGet, base+"/snapshots", "", http.StatusOK, &snaps)
	if snaps.Table != "bronze.events" || snaps.CurrentSnapshotID == nil || *snaps.CurrentSnapshotID != s2 || len(snaps.Snapshots) != 2 {
		t.Fatalf("snapshots = %+v, want 2 with %d current", snaps, s2)
	}
	first, second := snaps.Snapshots[0], snaps.Snapshots[1]
	if first.SnapshotID != s1 || first.ParentID != nil || second.SnapshotID != s2 || second.ParentID == nil || *second.ParentID != s1 {
		t.Errorf("snapshots %+v, %+v: want %d then %d (child of the first)", first, second, s1, s2)
	}
	for _, sn := range snaps.Snapshots {
		ts, err := time.Parse(time.RFC3339, sn.Timestamp)
		if err != nil || ts.UnixMilli() != sn.TimestampMS || !strings.HasSuffix(sn.Timestamp, "Z") || len(sn.Timestamp) != len("2006-01-02T15:04:05.000Z") {
			t.Errorf("timestamp %q (%v), timestamp_ms %d", sn.Timestamp, err, sn.TimestampMS)
		}
		if sn.Operation != "append" || sn.ManifestList == "" || sn.SequenceNumber < 1 || sn.Summary["added-records"] == "" {
			t.Errorf("snapshot %+v", sn)
		}
	}
	if second.Summary["total-records"] != "3" {
		t.Errorf("summary %v", second.Summary)
	}

	creates := []struct {
		path, body, name, typ string
		want                  int64
	}{
		{"/tags", fmt.Sprintf(`{"name": "v1", "snapshot_id": %d}`, s1), "v1", "tag", s1},
		{"/tags", `{"name": "latest"}`, "latest", "tag", s2},
		{"/branches", `{"name": "feature/x", "snapshot_id": 0}`, "feature/x", "branch", s2},
	}
	for _, cr := range creates {
		var res createRefResponse
		callJSON(t, h, http.MethodPost, base+cr.path, cr.body, http.StatusCreated, &res)
		if res != (createRefResponse{Table: "bronze.events", Name: cr.name, Type: cr.typ, SnapshotID: cr.want}) {
			t.Errorf("POST %s %s = %+v", cr.path, cr.body, res)
		}
	}
	refNames := func() string {
		var refs refsResponse
		callJSON(t, h, http.MethodGet, base+"/refs", "", http.StatusOK, &refs)
		var got []string
		for _, r := range refs.Refs {
			got = append(got, fmt.Sprintf("%s:%s:%t", r.Name, r.Type, r.SnapshotID == s1))
		}
		return strings.Join(got, ",")
	}
	if got := refNames(); got != "main:branch:false,feature/x:branch:false,latest:tag:false,v1:tag:true" {
		t.Errorf("refs = %s", got)
	}
	if code, body := call(t, h, http.MethodDelete, base+"/refs/feature%2Fx", ""); code != http.StatusNoContent || body != "" {
		t.Errorf("DELETE feature%%2Fx: %d %q", code, body)
	}
	if code, _ := call(t, h, http.MethodDelete, base+"/refs/latest", ""); code != http.StatusNoContent {
		t.Errorf("DELETE latest: %d", code)
	}
	if got := refNames(); got != "main:branch:false,v1:tag:true" {
		t.Errorf("refs after drops = %s", got)
	}

	var rb rollbackResponse
	callJSON(t, h, http.MethodPost, base+"/rollback", fmt.Sprintf(`{"snapshot_id": %d}`, s1), http.StatusOK, &rb)
	if rb != (rollbackResponse{Table: "bronze.events", SnapshotID: s1}) {
		t.Errorf("rollback = %+v", rb)
	}
	callJSON(t, h, http.MethodGet, base+"/snapshots", "", http.StatusOK, &snaps)
	if *snaps.CurrentSnapshotID != s1 || len(snaps.Snapshots) != 2 {
		t.Errorf("after rollback: current %d of %d snapshots, want %d of 2", *snaps.CurrentSnapshotID, len(snaps.Snapshots), s1)
	}

	var hist historyResponse
	callJSON(t, h, http.MethodGet, base+"/history", "", http.StatusOK, &hist)
	if hist.Table != "bronze.events" || len(hist.History) != 3 {
		t.Fatalf("history = %+v, want 3 entries", hist)
	}
	want := []struct {
		id       int64
		parent   int64
		ancestor bool
	}{{s1, 0, true}, {s2, s1, false}, {s1, 0, true}}
	for i, w := range want {
		got := hist.History[i]
		parent := int64(0)
		if got.ParentID != nil {
			parent = *got.ParentID
		}
		ts, err := time.Parse(time.RFC3339, got.MadeCurrentAt)
		if got.SnapshotID != w.id || parent != w.parent || got.IsCurrentAncestor != w.ancestor || err != nil || ts.UnixMilli() != got.MadeCurrentAtMS {
			t.Errorf("history %d = %+v, want snapshot %d parent %d ancestor %v", i, got, w.id, w.parent, w.ancestor)
		}
	}
}

func TestSnapshotEndpointErrors(t *testing.T) {
	h, _, s1, _ := snapshotServer(t)
	const base = "/v1/tables/bronze/events"
	cases := []struct {
		name, method, path, body string
		want                     int
		detail                   string
	}{
		{"unknown table", "GET", "/v1/tables/bronze/nope/snapshots", "", 404, "bronze.nope"},
		{"unknown namespace", "GET", "/v1/tables/nowhere/t/refs", "", 404, "nowhere.t"},
		{"history of unknown table", "GET", "/v1/tables/bronze/nope/history", "", 404, "bronze.nope"},
		{"bad namespace", "GET", "/v1/tables/a.b/t/snapshots", "", 400, `namespace name "a.b"`},
		{"rollback unknown snapshot", "POST", base + "/rollback", `{"snapshot_id": 42}`, 404, "no snapshot 42"},
		{"rollback no id", "POST", base + "/rollback", `{}`, 400, `missing field "snapshot_id"`},
		{"rollback empty body", "POST", base + "/rollback", ``, 400, `missing field "snapshot_id"`},
		{"rollback null body", "POST", base + "/rollback", `null`, 400, `missing field "snapshot_id"`},
		{"rollback id a string", "POST", base + "/rollback", `{"snapshot_id": "1"}`, 400, `field "snapshot_id" must be an integer, not string`},
		{"rollback id a fraction", "POST", base + "/rollback", `{"snapshot_id": 1.5}`, 400, `field "snapshot_id" must be an integer`},
		{"rollback unknown field", "POST", base + "/rollback", `{"snapshot_id": 1, "force": true}`, 400, `unknown field "force" (known: snapshot_id)`},
		{"rollback malformed", "POST", base + "/rollback", `{"snapshot_id": `, 400, "malformed JSON"},
		{"rollback bad syntax", "POST", base + "/rollback", `{snapshot_id: 1}`, 400, "malformed JSON body at byte 2"},
		{"rollback trailing data", "POST", base + "/rollback", `{"snapshot_id": 1} {}`, 400, "unexpected data after the JSON object"},
		{"rollback array", "POST", base + "/rollback", `[1]`, 400, "must be a JSON object, not array"},
		{"rollback too large", "POST", base + "/rollback", `{"snapshot_id": 1` + strings.Repeat(" ", maxJSONBody) + `}`, 413, "the JSON body is larger than 1048576 bytes"},
		{"rollback unknown table", "POST", "/v1/tables/bronze/nope/rollback", `{"snapshot_id": 1}`, 404, "bronze.nope"},
		{"rollback with GET", "GET", base + "/rollback", "", 405, "Method Not Allowed"},
		{"tag exists", "POST", base + "/tags", `{"name": "main"}`, 409, `"main" is a branch`},
		{"tag without name", "POST", base + "/tags", fmt.Sprintf(`{"snapshot_id": %d}`, s1), 400, `missing field "name"`},
		{"tag blank name", "POST", base + "/tags", `{"name": " "}`, 400, "empty tag or branch name"},
		{"tag unknown field", "POST", base + "/tags", `{"name": "v1", "type": "tag"}`, 400, `unknown field "type" (known: name, snapshot_id)`},
		{"tag name a number", "POST", base + "/tags", `{"name": 1}`, 400, `field "name" must be a string, not number`},
		{"tag unknown snapshot", "POST", base + "/tags", `{"name": "v2", "snapshot_id": 42}`, 404, "no snapshot 42"},
		{"tag on empty table", "POST", "/v1/tables/bronze/empty/tags", `{"name": "v1"}`, 404, "no snapshot yet"},
		{"branch exists", "POST", base + "/branches", `{"name": "main"}`, 409, "a tag or branch of that name exists"},
		{"branch unknown table", "POST", "/v1/tables/bronze/nope/branches", `{"name": "b"}`, 404, "bronze.nope"},
		{"drop main", "DELETE", base + "/refs/main", "", 400, "main branch cannot be dropped"},
		{"drop unknown ref", "DELETE", base + "/refs/v9", "", 404, `no tag or branch "v9" (it has: main)`},
		{"drop on unknown table", "DELETE", "/v1/tables/bronze/nope/refs/v1", "", 404, "bronze.nope"},
		{"drop blank", "DELETE", base + "/refs/%20", "", 400, "empty tag or branch name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, detail := call(t, h, tc.method, tc.path, tc.body)
			if code != tc.want || !strings.Contains(detail, tc.detail) {
				t.Errorf("%s %s %.60q: %d %q, want %d with %q", tc.method, tc.path, tc.body, code, detail, tc.want, tc.detail)
			}
		})
	}
}

func TestSnapshotEndpointsOff(t *testing.T) {
	h := New(Options{}).Handler()
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/tables/bronze/events/snapshots"},
		{"GET", "/v1/tables/bronze/events/refs"},
		{"GET", "/v1/tables/bronze/events/history"},
		{"POST", "/v1/tables/bronze/events/rollback"},
		{"POST", "/v1/tables/bronze/events/tags"},
		{"POST", "/v1/tables/bronze/events/branches"},
		{"DELETE", "/v1/tables/bronze/events/refs/v1"},
	} {
		code, detail := call(t, h, r.method, r.path, `{"snapshot_id": 1, "name": "x"}`)
		if code != http.StatusNotImplemented || !strings.Contains(detail, "snapshot management is not enabled") {
			t.Errorf("%s %s without a Snapshotter: %d %q", r.method, r.path, code, detail)
		}
	}
}
