package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type pingFunc func(ctx context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Header()
}

func TestHealthAlwaysOK(t *testing.T) {
	s := New(Options{})
	if code, body, _ := get(t, s.Handler(), "/health"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Fatalf("health: %d %s", code, body)
	}
}

func TestReadyFollowsStateAndChecks(t *testing.T) {
	var catalogErr error
	s := New(Options{Checks: []Check{
		{Name: "catalog", Pinger: pingFunc(func(context.Context) error { return catalogErr })},
		{Name: "duckdb", Pinger: pingFunc(func(context.Context) error { return nil })},
	}})
	if code, _, _ := get(t, s.Handler(), "/ready"); code != http.StatusServiceUnavailable {
		t.Fatalf("ready before start: %d, want 503", code)
	}
	s.SetReady(true)
	code, body, _ := get(t, s.Handler(), "/ready")
	if code != http.StatusOK {
		t.Fatalf("ready: %d %s", code, body)
	}
	var rb readinessBody
	if err := json.Unmarshal([]byte(body), &rb); err != nil || len(rb.Checks) != 2 {
		t.Fatalf("body %s: %v", body, err)
	}
	catalogErr = errors.New("database is locked")
	code, body, _ = get(t, s.Handler(), "/ready")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "database is locked") || !strings.Contains(body, "catalog") {
		t.Fatalf("failing check: %d %s", code, body)
	}
	catalogErr = nil
	s.SetReady(false)
	if code, _, _ := get(t, s.Handler(), "/ready"); code != http.StatusServiceUnavailable {
		t.Fatalf("ready while stopping: %d, want 503", code)
	}
}

func TestMetricsExposesRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "lakeflight_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Add(3)
	s := New(Options{Gatherer: reg})
	code, body, _ := get(t, s.Handler(), "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "lakeflight_test_total 3") {
		t.Fatalf("metrics: %d %s", code, body)
	}
}

func TestUnknownRouteIsProblemJSON(t *testing.T) {
	s := New(Options{})
	code, body, hdr := get(t, s.Handler(), "/nope")
	if code != http.StatusNotFound || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q %s", code, hdr.Get("Content-Type"), body)
	}
	var p problem
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 404 {
		t.Fatalf("body %s: %v", body, err)
	}
}
