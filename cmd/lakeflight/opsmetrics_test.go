//go:build duckdb_arrow

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/internal/s3test"
	"github.com/lakeflight/lakeflight/objstore"
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

// opsServer starts a server with the stand-in dbt and its warehouse in a
// bucket of versitygw (so that the object cache reports too), and gives it
// some work: three uploads into bronze.m (a clean one, one with a bad row
// kept in the rejects table, one refused whole), a transform run, a query
// and a CTAS.
func opsServer(t *testing.T) (httpAddr string) {
	t.Helper()
	s3 := s3test.ForTest(t)
	bucket, err := objstore.New(objstore.Config{Endpoint: s3.Endpoint, Region: s3.Region, Bucket: "lake",
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Insecure: true, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.MakeBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	project, stub := stubProject(t)
	flightAddr, httpAddr, _ := startServeWith(t, filepath.Join(t.TempDir(), "data"), func(c *config.Config) {
		c.DBT.ProjectDir, c.DBT.Command = project, stub
		c.Catalog.Warehouse = "s3://lake/warehouse"
		c.S3 = config.S3Config{Endpoint: s3.Endpoint, Region: s3.Region, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, Insecure: true}
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
	for _, sql := range []string{"SELECT count(*) FROM bronze.m", "CREATE TABLE silver.m AS SELECT * FROM bronze.m"} {
		if err := runQuery(context.Background(), []string{"--server", flightAddr, sql}, &out, &errOut); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
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
		{"lakeflight_tables", nil, 3},
		{"lakeflight_ready", nil, 1},
		{"lakeflight_transform_runs_total", map[string]string{"command": "build", "status": "success"}, 1},
		{"lakeflight_object_cache_max_bytes", nil, float64(config.Default().Cache.MaxBytes)},
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
	for _, dir := range []string{"data", "temp", "object cache"} {
		free := value(t, m, "lakeflight_disk_free_bytes", map[string]string{"dir": dir})
		size := value(t, m, "lakeflight_disk_size_bytes", map[string]string{"dir": dir})
		if free <= 0 || size < free {
			t.Errorf("disk of %s: %v free of %v", dir, free, size)
		}
	}
}

// promqlNames are the metric names a PromQL expression selects. It is a
// lexer, not a parser (promtool has checked the syntax): strings, label
// matchers, ranges, Grafana variables and grouping clauses go first; what
// is left is names, functions (followed by '('), keywords and numbers.
func promqlNames(expr string) []string {
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`"),
		regexp.MustCompile(`\$\{[^}]*\}|\$\w+`),
		regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
	} {
		expr = re.ReplaceAllString(expr, " ")
	}
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}
	var names []string
	for _, m := range regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`).FindAllString(expr, -1) {
		if strings.HasSuffix(m, "(") || keywords[strings.ToLower(m)] {
			continue
		}
		if i := strings.IndexFunc(m, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }); i >= 0 {
			m = m[:i]
		}
		names = append(names, m)
	}
	// A number such as 1e9 or 16 * 1024: its letters are not a name.
	exponent := regexp.MustCompile(`^e\d*$`)
	return slices.DeleteFunc(names, exponent.MatchString)
}

func TestPromqlNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (job, le) (rate(a_bucket{outcome="x", instance=~"$instance"}[$__rate_interval])) / b > 0.5 and on (job) c`: {"a_bucket", "b", "c"},
		`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 10`:                                                  {"x_bucket"},
		`time() - max without (instance) (ts) > 14 * 86400 and max(n) > 10`:                                                {"ts", "n"},
		`label_values(lakeflight_build_info{job="$job"}, instance)`:                                                        {"lakeflight_build_info", "instance"},
		`delta(max without (instance) (files)[6h:5m]) > 1e9`:                                                               {"files"},
	} {
		if got := promqlNames(expr); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
	}
}

// TestAlertRulesAndDashboardUseExportedMetrics: every metric the alert
// rules and the Grafana dashboard select is one a real server's /metrics
// exports (a histogram's _bucket, _sum and _count included); only up and
// ALERTS, which Prometheus makes, are not.
func TestAlertRulesAndDashboardUseExportedMetrics(t *testing.T) {
	families := scrape(t, opsServer(t))
	exported := func(name string) bool {
		if _, ok := families[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f, ok := families[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && f.GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return name == "up" || name == "ALERTS"
	}
	exprs := map[string]string{} // expression → where
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs[r.Expr] = "alert " + r.Alert
		}
	}
	dashboards, _ := filepath.Glob("../../deploy/grafana/dashboards/*.json")
	if len(dashboards) == 0 {
		t.Fatal("no dashboards in deploy/grafana/dashboards")
	}
	for _, path := range dashboards {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
			Templating struct {
				List []struct {
					Name  string `json:"name"`
					Query struct {
						Query string `json:"query"`
					} `json:"query"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &dash); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				exprs[tg.Expr] = filepath.Base(path) + " panel " + p.Title
			}
		}
		for _, v := range dash.Templating.List {
			// label_values(metric, label): the label is no metric.
			q := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`).ReplaceAllString(v.Query.Query, "$1")
			exprs[q] = filepath.Base(path) + " variable " + v.Name
		}
	}
	if len(exprs) < 40 {
		t.Fatalf("only %d expressions found in the rules and dashboards", len(exprs))
	}
	checked := map[string]bool{}
	for expr, where := range exprs {
		names := promqlNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			checked[n] = true
			if !exported(n) {
				t.Errorf("%s uses %s, which /metrics does not export", where, n)
			}
		}
	}
	t.Logf("%d expressions, %d metric names checked", len(exprs), len(checked))
}

// BenchmarkTableStatsWalk is one walk of the catalog for the table gauges
// (list the tables, load each one's metadata) over 200 tables of a SQLite
// catalog: the cost a scrape pays at most once a minute.
func BenchmarkTableStatsWalk(b *testing.B) {
	dir := b.TempDir()
	cat, err := catalog.Open(b.Context(), catalog.Config{Driver: "sqlite", URI: filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse")}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close()
	if err := cat.EnsureNamespace(b.Context(), "bronze"); err != nil {
		b.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	const tables = 200
	for i := range tables {
		if err := cat.CreateTable(b.Context(), catalog.Ident{Namespace: "bronze", Name: fmt.Sprintf("t%03d", i)}, schema); err != nil {
			b.Fatal(err)
		}
	}
	c := newTableCollector(cat, slog.New(slog.DiscardHandler))
	b.ResetTimer()
	for b.Loop() {
		stats, err := c.walk()
		if err != nil || len(stats) != tables {
			b.Fatalf("walk: %d tables, %v", len(stats), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/tables, "µs/table")
}
