//go:build duckdb_arrow

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lakeflight/lakeflight/internal/config"
)

// scrape reads the server's /metrics into its families by name.
func scrape(t *testing.T, httpAddr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := httpGet(t, "http://"+httpAddr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return families
}

// value is the sample of family name whose labels include want; it fails
// the test when there is none.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("/metrics has no %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("/metrics has no %s%v", name, want)
	return 0
}

// opsServer starts a server with the stand-in dbt and gives it some work:
// three uploads into bronze.m (a clean one, one with a bad row kept in
// the rejects table, one refused whole), a transform run and a query.
func opsServer(t *testing.T) (httpAddr string) {
	t.Helper()
	project := t.TempDir()
	if err := os.WriteFile(filepath.Join(project, "dbt_project.yml"), []byte("name: shop\nprofile: lakeflight\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(t.TempDir(), "dbt")
	if err := os.WriteFile(stub, []byte(stubDBT), 0o755); err != nil {
		t.Fatal(err)
	}
	flightAddr, httpAddr, _ := startServeWith(t, filepath.Join(t.TempDir(), "data"), func(c *config.Config) {
		c.DBT.ProjectDir, c.DBT.Command = project, stub
	})
	for _, up := range []struct {
		query, body string
		code        int
	}{
		{"", "id,name\n1,a\n2,b\n", http.StatusOK},
		{"&on_bad=rejects", "id,name\n3,c\nx,d\n", http.StatusOK},
		{"", "id,name\ny,e\n", http.StatusBadRequest},
	} {
		resp, err := http.Post("http://"+httpAddr+"/ingest?table=m"+up.query, "text/csv", strings.NewReader(up.body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != up.code {
			t.Fatalf("upload %q: %d %s, want %d", up.body, resp.StatusCode, msg, up.code)
		}
	}
	resp, err := http.Post("http://"+httpAddr+"/transform", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var run struct{ ID, Status string }
	_ = json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	for deadline := time.Now().Add(20 * time.Second); run.Status != "success"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("transform run %s still %s", run.ID, run.Status)
		}
		_, body := httpGet(t, "http://"+httpAddr+"/transform/"+run.ID)
		_ = json.Unmarshal([]byte(body), &run)
	}
	var out, errOut bytes.Buffer
	if err := runQuery(context.Background(), []string{"--server", flightAddr, "SELECT count(*) FROM bronze.m"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(t, "http://"+httpAddr+"/ready"); code != http.StatusOK {
		t.Fatalf("/ready: %d %s", code, body)
	}
	return httpAddr
}

// TestOperationalMetrics: the metrics the alert rules stand on count what
// happened: ingests by outcome and their rows, HTTP answers by route and
// status, each table's snapshots and files, readiness, free disk, and
// transform runs by command.
func TestOperationalMetrics(t *testing.T) {
	httpAddr := opsServer(t)
	m := scrape(t, httpAddr)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"lakeflight_ingest_requests_total", map[string]string{"outcome": "committed"}, 2},
		{"lakeflight_ingest_requests_total", map[string]string{"outcome": "rejected"}, 1},
		{"lakeflight_ingest_requests_total", map[string]string{"outcome": "failed"}, 0},
		{"lakeflight_ingest_rows_total", nil, 3},
		{"lakeflight_ingest_rejected_rows_total", nil, 1},
		{"lakeflight_http_requests_total", map[string]string{"route": "/ingest", "method": "POST", "code": "200"}, 2},
		{"lakeflight_http_requests_total", map[string]string{"route": "/ingest", "method": "POST", "code": "400"}, 1},
		{"lakeflight_http_requests_total", map[string]string{"route": "/ready", "code": "200"}, 1},
		{"lakeflight_table_snapshots", map[string]string{"namespace": "bronze", "table": "m"}, 2},
		{"lakeflight_table_data_files", map[string]string{"namespace": "bronze", "table": "m"}, 2},
		{"lakeflight_table_delete_files", map[string]string{"namespace": "bronze", "table": "m"}, 0},
		{"lakeflight_table_snapshots", map[string]string{"namespace": "bronze", "table": "m__rejects"}, 1},
		{"lakeflight_tables", nil, 2},
		{"lakeflight_ready", nil, 1},
		{"lakeflight_transform_runs_total", map[string]string{"command": "build", "status": "success"}, 1},
	} {
		if got := value(t, m, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if size := value(t, m, "lakeflight_table_size_bytes", map[string]string{"table": "m"}); size <= 0 {
		t.Errorf("bronze.m is %v bytes", size)
	}
	oldest := value(t, m, "lakeflight_table_oldest_snapshot_timestamp_seconds", map[string]string{"table": "m"})
	if age := time.Since(time.Unix(int64(oldest), 0)); age < 0 || age > time.Minute {
		t.Errorf("bronze.m's oldest snapshot is %v old", age)
	}
	for _, dir := range []string{"data", "temp", "warehouse"} {
		free := value(t, m, "lakeflight_disk_free_bytes", map[string]string{"dir": dir})
		size := value(t, m, "lakeflight_disk_size_bytes", map[string]string{"dir": dir})
		if free <= 0 || size < free {
			t.Errorf("disk of %s: %v free of %v", dir, free, size)
		}
	}
}
