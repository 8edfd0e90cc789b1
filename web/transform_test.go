package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lakeflight/lakeflight/internal/transform"
)

// runsFake records what the routes ask of the runner (the runner itself is
// tested in internal/transform, dbt end to end in e2e).
type runsFake struct {
	got  []transform.Request
	runs map[string]transform.Run
}

func (f *runsFake) Submit(r transform.Request) (transform.Run, error) {
	f.got = append(f.got, r)
	run := transform.Run{ID: fmt.Sprintf("run%d", len(f.got)), Status: transform.Queued, Request: r, QueuedAt: time.Now()}
	f.runs[run.ID] = run
	return run, nil
}

func (f *runsFake) Get(id string) (transform.Run, error) {
	run, ok := f.runs[id]
	if !ok {
		return run, fmt.Errorf("%w: %q", transform.ErrNotFound, id)
	}
	return run, nil
}

func (f *runsFake) List() []transform.Run {
	var out []transform.Run
	for _, r := range f.runs {
		out = append(out, r)
	}
	return out
}

func (f *runsFake) Cancel(id string) (transform.Run, error) {
	run, err := f.Get(id)
	if err != nil {
		return run, err
	}
	if run.Status.Done() {
		return run, transform.ErrDone
	}
	run.Status = transform.Canceled
	f.runs[id] = run
	return run, nil
}

func (f *runsFake) State() string { return "enabled: fake" }

func do(t *testing.T, h http.Handler, method, path, body string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Header()
}

func TestTransformRoutes(t *testing.T) {
	f := &runsFake{runs: map[string]transform.Run{}}
	h := New(Options{Transform: f}).Handler()

	code, body, hdr := do(t, h, http.MethodPost, "/transform", `{"select": ["stg_orders+", "tag:daily"], "full_refresh": true, "vars": {"day": "2026-01-02"}}`)
	if code != http.StatusAccepted || hdr.Get("Location") != "/transform/run1" {
		t.Fatalf("POST: %d %s %v", code, body, hdr)
	}
	var run transform.Run
	if err := json.Unmarshal([]byte(body), &run); err != nil || run.ID != "run1" || run.Status != transform.Queued {
		t.Fatalf("body %s: %v", body, err)
	}
	if r := f.got[0]; len(r.Select) != 2 || !r.FullRefresh || r.Vars["day"] != "2026-01-02" {
		t.Fatalf("request %+v", r)
	}
	if code, _, _ := do(t, h, http.MethodPost, "/transform", ``); code != http.StatusAccepted || len(f.got[1].Select) != 0 {
		t.Fatalf("empty body: %d", code)
	}
	if code, body, _ := do(t, h, http.MethodPost, "/transform", `{"command": "source freshness"}`); code != http.StatusAccepted || f.got[2].Command != transform.Freshness {
		t.Fatalf("source freshness: %d %s", code, body)
	}

	for _, tt := range []struct{ body, want string }{
		{`{"selct": ["a"]}`, `"selct"`},
		{`{"select": "a"}`, "select"},
		{`{"select": ["--project-dir=/etc"]}`, `select[0] "--project-dir=/etc"`},
		{`{"exclude": ["a b"]}`, `exclude[0] "a b"`},
		{`{"target": "../prod"}`, `target "../prod"`},
		{`{"full_refresh": "yes"}`, "full_refresh"},
		{`{"select": ["a"], "select": ["b"]}`, "select"},
		{`{"command": "run-operation"}`, `command "run-operation"`},
		{`{"command": "test", "full_refresh": true}`, "full_refresh applies to build only"},
	} {
		code, body, _ := do(t, h, http.MethodPost, "/transform", tt.body)
		var p problem
		_ = json.Unmarshal([]byte(body), &p)
		if code != http.StatusBadRequest || !strings.Contains(p.Detail, tt.want) || p.Status != 400 {
			t.Errorf("%s: %d %s; want 400 naming %s", tt.body, code, body, tt.want)
		}
	}
	if len(f.got) != 3 {
		t.Fatalf("bad bodies reached the runner: %d submits", len(f.got))
	}

	if code, body, _ := do(t, h, http.MethodGet, "/transform/run1", ""); code != http.StatusOK || !strings.Contains(body, `"id":"run1"`) {
		t.Fatalf("GET run: %d %s", code, body)
	}
	if code, body, _ := do(t, h, http.MethodGet, "/transform/nope", ""); code != http.StatusNotFound || !strings.Contains(body, "no such transform run") {
		t.Fatalf("GET unknown: %d %s", code, body)
	}
	if code, body, _ := do(t, h, http.MethodGet, "/transform", ""); code != http.StatusOK || strings.Count(body, `"id"`) != 3 {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _, _ := do(t, h, http.MethodGet, "/transform?status=x", ""); code != http.StatusBadRequest {
		t.Fatalf("list with a parameter: %d", code)
	}
	if code, body, _ := do(t, h, http.MethodDelete, "/transform/run1", ""); code != http.StatusAccepted || !strings.Contains(body, `"status":"canceled"`) {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if code, body, _ := do(t, h, http.MethodDelete, "/transform/run1", ""); code != http.StatusConflict || !strings.Contains(body, "already over") {
		t.Fatalf("DELETE of a finished run: %d %s", code, body)
	}

	off := New(Options{}).Handler()
	if code, body, _ := do(t, off, http.MethodPost, "/transform", "{}"); code != http.StatusNotImplemented || !strings.Contains(body, "not enabled") {
		t.Fatalf("without a runner: %d %s", code, body)
	}
}

func TestReadyShowsTheTransformState(t *testing.T) {
	s := New(Options{Transform: &runsFake{runs: map[string]transform.Run{}}})
	s.SetReady(true)
	code, body, _ := get(t, s.Handler(), "/ready")
	if code != http.StatusOK || !strings.Contains(body, `"transform":"enabled: fake"`) {
		t.Fatalf("ready: %d %s", code, body)
	}
}
