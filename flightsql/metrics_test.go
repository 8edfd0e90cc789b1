//go:build duckdb_arrow

package flightsql

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestMetrics(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	query(t, cl, `SELECT i FROM range(1000) t(i)`)
	_, _ = cl.Execute(t.Context(), `SELEKT`)
	if _, err := cl.ExecuteUpdate(t.Context(), `CREATE TEMP TABLE m AS SELECT 1 AS x`); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ExecuteUpdate(t.Context(), `INSERT INTO no_such_table VALUES (1)`); err == nil {
		t.Fatal("an insert into no table succeeded")
	}
	prep, err := cl.Prepare(t.Context(), `SELECT x FROM m`)
	if err != nil {
		t.Fatal(err)
	}
	if err := prep.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	families, gerr := env.reg.Gather()
	if gerr != nil {
		t.Fatal(gerr)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	counter := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := byName[name]
		if f == nil {
			t.Fatalf("metric %s not registered", name)
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
		return 0
	}
	if n := counter("lakeflight_flightsql_rpcs_total", map[string]string{"method": "DoGet", "code": "OK"}); n < 1 {
		t.Errorf("DoGet OK count = %v", n)
	}
	if n := counter("lakeflight_flightsql_rpcs_total", map[string]string{"method": "GetFlightInfo", "code": "InvalidArgument"}); n != 1 {
		t.Errorf("GetFlightInfo InvalidArgument count = %v", n)
	}
	if n := counter("lakeflight_flightsql_streamed_rows_total", nil); n != 1000 {
		t.Errorf("streamed rows = %v", n)
	}
	if n := counter("lakeflight_flightsql_streamed_bytes_total", nil); n < 8000 {
		t.Errorf("streamed bytes = %v", n)
	}
	if n := counter("lakeflight_flightsql_query_duration_seconds", map[string]string{"outcome": "ok"}); n != 1 {
		t.Errorf("query durations observed = %v", n)
	}
	if n := counter("lakeflight_flightsql_update_duration_seconds", map[string]string{"outcome": "ok"}); n != 1 {
		t.Errorf("updates observed ok = %v", n)
	}
	if n := counter("lakeflight_flightsql_update_duration_seconds", map[string]string{"outcome": "error"}); n != 1 {
		t.Errorf("updates observed failed = %v", n)
	}
	if n := counter("lakeflight_flightsql_prepare_duration_seconds", map[string]string{"outcome": "ok"}); n != 1 {
		t.Errorf("prepares observed = %v", n)
	}
	if n := counter("lakeflight_flightsql_open_sessions", nil); n < 1 {
		t.Errorf("open sessions = %v", n)
	}
}
