package web

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRequestsCountedByRouteAndStatus: each answer is counted under its
// route pattern and the status the client got (an error's too); a path no
// route has is "unmatched", not a label of its own.
func TestRequestsCountedByRouteAndStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Options{Gatherer: reg, Registerer: reg})
	h := s.Handler()
	for _, p := range []string{"/health", "/health", "/no/such/path", "/no/other/path", "/v1/tables/bronze/orders/snapshots"} {
		get(t, h, p)
	}
	if code, _, _ := do(t, h, http.MethodPost, "/transform", "{}"); code != http.StatusNotImplemented {
		t.Fatalf("POST /transform without a runner: %d", code)
	}
	for _, tt := range []struct {
		route, method, code string
		want                float64
	}{
		{"/health", "GET", "200", 2},
		{"unmatched", "GET", "404", 2},
		{"/v1/tables/:ns/:table/snapshots", "GET", "501", 1},
		{"/transform", "POST", "501", 1},
	} {
		if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues(tt.route, tt.method, tt.code)); got != tt.want {
			t.Errorf("requests_total{%s %s %s} = %v, want %v", tt.route, tt.method, tt.code, got, tt.want)
		}
	}
	if n := testutil.CollectAndCount(s.metrics.requests); n != 4 {
		t.Errorf("%d request series, want 4", n)
	}
}

// TestReadyGauge: lakeflight_ready is 1 exactly when /ready would answer
// 200.
func TestReadyGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	var catalogErr error
	s := New(Options{Gatherer: reg, Registerer: reg, Checks: []Check{
		{Name: "catalog", Pinger: pingFunc(func(context.Context) error { return catalogErr })},
	}})
	ready := func() float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "lakeflight_ready" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no lakeflight_ready")
		return -1
	}
	if got := ready(); got != 0 {
		t.Errorf("starting: %v, want 0", got)
	}
	s.SetReady(true)
	if got := ready(); got != 1 {
		t.Errorf("ready: %v, want 1", got)
	}
	catalogErr = errors.New("connection refused")
	if got := ready(); got != 0 {
		t.Errorf("catalog unreachable: %v, want 0", got)
	}
}
