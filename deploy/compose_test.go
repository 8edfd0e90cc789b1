package deploy

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/internal/config"
)

const exampleEnv = "deploy/compose/example.env"

// warnings collects what compose-go logs at warning level or above (an
// unset variable, an obsolete attribute, a YAML 1.1 boolean).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (w *warnings) Fire(e *logrus.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, e.Message)
	return nil
}

// composeProject loads compose.yaml the way `docker compose` does, with the
// example env file as its .env and nothing from the test's environment.
// Any warning fails the test.
func composeProject(t *testing.T) *types.Project {
	t.Helper()
	root := repoRoot(t)
	w := &warnings{}
	std := logrus.StandardLogger()
	old := std.ReplaceHooks(logrus.LevelHooks{})
	std.AddHook(w)
	defer std.ReplaceHooks(old)

	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose.yaml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnvFiles(filepath.Join(root, filepath.FromSlash(exampleEnv))),
		cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml with %s: %v", exampleEnv, err)
	}
	for _, m := range w.msgs {
		t.Errorf("compose.yaml: compose warns: %s", m)
	}
	return p
}

// oneShot are the jobs that run to completion; every other service runs
// for good.
var oneShot = []string{"minio-init", "airflow-init"}

func TestComposeServices(t *testing.T) {
	p := composeProject(t)
	want := []string{
		"lakeflight1", "lakeflight2", "postgres", "minio", "minio-init",
		"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
		"prometheus", "alertmanager", "grafana",
	}
	if got := p.ServiceNames(); !equalSets(got, want) {
		t.Fatalf("compose.yaml services %v; want %v", slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
	}
	for name, s := range p.Services {
		if !imageTagPinned(s.Image) {
			t.Errorf("%s: image %q: pin a tag (not latest)", name, s.Image)
		}
		if slices.Contains(oneShot, name) {
			if s.Restart != types.RestartPolicyNo {
				t.Errorf("%s: a one-shot job with restart %q; want \"no\"", name, s.Restart)
			}
			continue
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s: a long-running service without a healthcheck", name)
		}
		if s.Restart == "" || s.Restart == types.RestartPolicyNo {
			t.Errorf("%s: a long-running service without a restart policy", name)
		}
	}
}

func TestComposeDependencies(t *testing.T) {
	p := composeProject(t)
	const healthy, done = types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully
	airflow := map[string]string{"postgres": healthy, "airflow-init": done}
	withAPI := map[string]string{"postgres": healthy, "airflow-init": done, "airflow-apiserver": healthy}
	want := map[string]map[string]string{
		"lakeflight1":           {"postgres": healthy, "minio-init": done},
		"lakeflight2":           {"postgres": healthy, "minio-init": done},
		"postgres":              {},
		"minio":                 {},
		"minio-init":            {"minio": healthy},
		"airflow-init":          {"postgres": healthy},
		"airflow-apiserver":     airflow,
		"airflow-scheduler":     withAPI,
		"airflow-dag-processor": airflow,
		"airflow-triggerer":     withAPI,
		"alertmanager":          {},
		"prometheus":            {"alertmanager": healthy},
		"grafana":               {"prometheus": healthy},
	}
	for name, s := range p.Services {
		got := map[string]string{}
		for dep, d := range s.DependsOn {
			got[dep] = d.Condition
			switch d.Condition {
			case healthy:
				if hc := p.Services[dep].HealthCheck; hc == nil || hc.Disable {
					t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
				}
			case done:
				if !slices.Contains(oneShot, dep) {
					t.Errorf("%s waits for %s to complete, which is no one-shot job", name, dep)
				}
			}
		}
		if !maps.Equal(got, want[name]) {
			t.Errorf("%s depends on %v; want %v", name, got, want[name])
		}
	}
}

// TestComposeHostPaths: every bind mount, build context and Dockerfile is
// in the repository (for a missing bind source Docker would make an empty
// directory and start the service without its configuration).
func TestComposeHostPaths(t *testing.T) {
	p := composeProject(t)
	root := repoRoot(t)
	inRepo := func(service, what, path string) {
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Errorf("%s: %s %s is outside the repository", service, what, path)
			return
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %s %s does not exist", service, what, filepath.ToSlash(rel))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				inRepo(name, "bind mount", v.Source)
			}
		}
		if s.Build != nil {
			inRepo(name, "build context", s.Build.Context)
			inRepo(name, "Dockerfile", filepath.Join(s.Build.Context, s.Build.Dockerfile))
		}
	}
}

// exampleEnvVars reads deploy/compose/example.env.
func exampleEnvVars(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.GetEnvFromFile(nil, []string{filepath.Join(repoRoot(t), filepath.FromSlash(exampleEnv))})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestComposeExampleEnv: the example names exactly the variables
// compose.yaml uses, and its placeholder tokens hash to the hashes beside
// them, so the copied file starts a working stack.
func TestComposeExampleEnv(t *testing.T) {
	env := exampleEnvVars(t)
	var text strings.Builder
	for line := range strings.Lines(readFile(t, "compose.yaml")) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			text.WriteString(line)
		}
	}
	var used []string
	for _, m := range regexp.MustCompile(`(?:^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(text.String(), -1) {
		used = append(used, m[1])
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+environment: ([A-Za-z_][A-Za-z0-9_]*)\s*$`).FindAllStringSubmatch(text.String(), -1) {
		used = append(used, m[1]) // secrets read from the environment
	}
	if !equalSets(slices.Collect(maps.Keys(env)), used) {
		t.Errorf("%s defines %v; compose.yaml uses %v", exampleEnv, slices.Sorted(maps.Keys(env)), slices.Sorted(slices.Values(used)))
	}
	for name, v := range env {
		sum, ok := env[name+"_SHA256"]
		if !strings.HasSuffix(name, "_TOKEN") || !ok {
			continue
		}
		if !strings.HasPrefix(v, auth.APITokenPrefix) {
			t.Errorf("%s: %s does not start with %q, as lakeflight's API tokens do", exampleEnv, name, auth.APITokenPrefix)
		}
		if h := sha256.Sum256([]byte(v)); hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: %s_SHA256 is not the SHA-256 of %s", exampleEnv, name, name)
		}
	}
}

// composeServerConfig is the configuration a lakeflight service runs with:
// the image's defaults, the service's environment, and the config file
// compose mounts where LAKEFLIGHT_CONFIG points.
func composeServerConfig(t *testing.T, p *types.Project, name string) config.Config {
	t.Helper()
	s := p.Services[name]
	env := imageEnv(t)
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	checkServerEnv(t, name, env)
	var file string
	for _, c := range s.Configs {
		if c.Target == env["LAKEFLIGHT_CONFIG"] {
			file = p.Configs[c.Source].Content
		}
	}
	if file == "" {
		t.Fatalf("%s: no config mounted at LAKEFLIGHT_CONFIG (%q)", name, env["LAKEFLIGHT_CONFIG"])
	}
	return serverConfig(t, name, env, file)
}

// TestComposeLakeflight: both replicas run a configuration the server
// accepts, on the shared catalog and bucket, with authentication on, and
// the tokens Airflow and Prometheus present are ones it takes.
func TestComposeLakeflight(t *testing.T) {
	p := composeProject(t)
	env := exampleEnvVars(t)
	var first config.Config
	for i, name := range []string{"lakeflight1", "lakeflight2"} {
		cfg := composeServerConfig(t, p, name)
		if !cfg.AuthOn() || cfg.Insecure {
			t.Errorf("%s: listens on %v without authentication", name, cfg.Exposed())
		}
		if cfg.Catalog.Driver != "postgres" || !cfg.S3Warehouse() {
			t.Errorf("%s: catalog %s, warehouse %s; want the shared postgres catalog and s3 bucket", name, cfg.Catalog.Driver, cfg.Catalog.Warehouse)
		}
		if i == 0 {
			first = cfg
		} else if cfg.Catalog != first.Catalog || cfg.S3 != first.S3 || cfg.Auth.TokenSecret != first.Auth.TokenSecret {
			t.Errorf("%s: catalog, bucket or token secret differ from lakeflight1's", name)
		}
		if u, err := url.Parse(cfg.Catalog.URI); err != nil || p.Services[u.Hostname()].Name == "" {
			t.Errorf("%s: catalog URI host is not a compose service", name)
		}
		if host, _, _ := strings.Cut(cfg.S3.Endpoint, ":"); p.Services[host].Name == "" {
			t.Errorf("%s: s3 endpoint %s is not a compose service", name, cfg.S3.Endpoint)
		}
		if stop := p.Services[name].StopGracePeriod; stop == nil || time.Duration(*stop) < 2*cfg.ShutdownTimeout+10*time.Second {
			t.Errorf("%s: stop_grace_period %v is shorter than the server's bound on stopping, 2 × %s + 10s", name, stop, cfg.ShutdownTimeout)
		}
	}

	roleOf := func(token string) string {
		h := sha256.Sum256([]byte(token))
		for _, tk := range first.Auth.APITokens {
			if tk.TokenSHA256 == hex.EncodeToString(h[:]) {
				return tk.Role
			}
		}
		return ""
	}
	// Airflow's connection: the admin token, lakeflight1's HTTP and Flight ports.
	conn := airflowConnection(t, *p.Services["airflow-scheduler"].Environment["AIRFLOW_CONN_LAKEFLIGHT_DEFAULT"])
	if r := roleOf(conn.Password); r != "admin" {
		t.Errorf("AIRFLOW_CONN_LAKEFLIGHT_DEFAULT: its token has role %q in lakeflight's config; the DAGs need admin", r)
	}
	if p.Services[conn.Host].Name == "" || conn.Port != port(t, first.HTTPAddr) || conn.FlightURI != "grpc://"+conn.Host+":"+port(t, first.FlightAddr) {
		t.Errorf("AIRFLOW_CONN_LAKEFLIGHT_DEFAULT: host %s port %s flight_uri %s do not name a lakeflight service's ports",
			conn.Host, conn.Port, conn.FlightURI)
	}
	// Prometheus's token (a compose secret from the environment).
	if r := roleOf(env[p.Secrets["lakeflight_metrics_token"].Environment]); r == "" {
		t.Error("lakeflight_metrics_token: lakeflight's config does not take Prometheus's token")
	}
}

// conn is the part of an Airflow connection (JSON form) the DAGs use.
type conn struct {
	ConnType  string
	Host      string
	Port      string
	Password  string
	FlightURI string
}

func airflowConnection(t *testing.T, js string) conn {
	t.Helper()
	var c struct {
		ConnType string          `json:"conn_type"`
		Host     string          `json:"host"`
		Port     json.RawMessage `json:"port"`
		Password string          `json:"password"`
		Extra    struct {
			FlightURI string `json:"flight_uri"`
		} `json:"extra"`
	}
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("Airflow connection %s: %v", js, err)
	}
	if c.ConnType != "http" || c.Host == "" || c.Password == "" || c.Extra.FlightURI == "" {
		t.Errorf("Airflow connection: want conn_type http, a host, a password (the token) and extra.flight_uri: %s", js)
	}
	return conn{ConnType: c.ConnType, Host: c.Host, Port: strings.Trim(string(c.Port), `"`), Password: c.Password, FlightURI: c.Extra.FlightURI}
}

// TestComposeAirflow: the Airflow services share one configuration, the
// LocalExecutor, the repository's DAGs and a landing volume no other
// service mounts.
func TestComposeAirflow(t *testing.T) {
	p := composeProject(t)
	var airflow []string
	for _, name := range p.ServiceNames() {
		if strings.HasPrefix(name, "airflow-") {
			airflow = append(airflow, name)
		}
	}
	for _, name := range airflow {
		s := p.Services[name]
		if s.Build == nil || s.Image != p.Services["airflow-init"].Image {
			t.Errorf("%s: not the image built from deploy/airflow/Dockerfile", name)
		}
		if e := s.Environment["AIRFLOW__CORE__EXECUTOR"]; e == nil || *e != "LocalExecutor" {
			t.Errorf("%s: executor is not LocalExecutor", name)
		}
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeBind && strings.HasSuffix(filepath.ToSlash(v.Source), "/dags") && v.Target == "/opt/airflow/dags"
		}) {
			t.Errorf("%s: the repository's dags/ is not mounted at /opt/airflow/dags", name)
		}
	}
	for name, s := range p.Services {
		mounts := slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Source == "airflow-landing" })
		if mounts != strings.HasPrefix(name, "airflow-") {
			t.Errorf("%s: airflow-landing mounted: %v; want it on every Airflow service and nowhere else", name, mounts)
		}
	}
	for _, v := range []string{"LANDING", "ARCHIVE", "QUARANTINE"} {
		dir := p.Services["airflow-scheduler"].Environment["AIRFLOW_VAR_LAKEFLIGHT_"+v+"_DIR"]
		if dir == nil || !strings.HasPrefix(*dir, "/opt/airflow/lakeflight/") {
			t.Errorf("AIRFLOW_VAR_LAKEFLIGHT_%s_DIR is not on the airflow-landing volume", v)
		}
	}
}

// TestComposeMonitoring holds the lead's Prometheus and Alertmanager
// configuration to what compose gives them: the scrape targets are the
// lakeflight services' HTTP ports, the token file and the webhook URL file
// are the compose secrets' paths, the Alertmanager address is the service.
func TestComposeMonitoring(t *testing.T) {
	p := composeProject(t)
	secretPath := func(service, secret string) string {
		for _, s := range p.Services[service].Secrets {
			if s.Source == secret {
				if strings.HasPrefix(s.Target, "/") {
					return s.Target
				}
				return "/run/secrets/" + cmp.Or(s.Target, s.Source)
			}
		}
		return ""
	}
	var prom struct {
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []struct{ Targets []string } `json:"static_configs"`
			}
		}
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			Authorization struct {
				CredentialsFile string `json:"credentials_file"`
			}
			StaticConfigs []struct{ Targets []string } `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	unmarshalYAML(t, "deploy/prometheus/prometheus.yml", &prom)
	var scraped []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				if host, _, _ := strings.Cut(target, ":"); strings.HasPrefix(host, "lakeflight") {
					scraped = append(scraped, target)
					if want := secretPath("prometheus", "lakeflight_metrics_token"); sc.Authorization.CredentialsFile != want {
						t.Errorf("prometheus.yml job %s: credentials_file %q; compose mounts the token at %q", sc.JobName, sc.Authorization.CredentialsFile, want)
					}
				}
			}
		}
	}
	httpPort := port(t, imageEnv(t)["LAKEFLIGHT_HTTP_ADDR"])
	if want := []string{"lakeflight1:" + httpPort, "lakeflight2:" + httpPort}; !equalSets(scraped, want) {
		t.Errorf("prometheus.yml scrapes %v; want %v", scraped, want)
	}
	var am []string
	for _, a := range prom.Alerting.Alertmanagers {
		for _, st := range a.StaticConfigs {
			am = append(am, st.Targets...)
		}
	}
	if !slices.Contains(am, "alertmanager:9093") {
		t.Errorf("prometheus.yml sends alerts to %v; the compose service is alertmanager:9093", am)
	}

	var amCfg struct {
		Receivers []struct {
			WebhookConfigs []struct {
				URLFile string `json:"url_file"`
			} `json:"webhook_configs"`
		}
	}
	unmarshalYAML(t, "deploy/alertmanager/alertmanager.yml", &amCfg)
	want := secretPath("alertmanager", "alert_webhook_url")
	for _, r := range amCfg.Receivers {
		for _, w := range r.WebhookConfigs {
			if w.URLFile != want {
				t.Errorf("alertmanager.yml: webhook url_file %q; compose mounts the URL at %q", w.URLFile, want)
			}
		}
	}
}

func equalSets(a, b []string) bool {
	return slices.Equal(slices.Compact(slices.Sorted(slices.Values(a))), slices.Compact(slices.Sorted(slices.Values(b))))
}

// TestComposeGrafana: the provisioned Prometheus datasource is the compose
// service.
func TestComposeGrafana(t *testing.T) {
	p := composeProject(t)
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "grafana", "provisioning", "datasources", "*.y*ml"))
	if len(files) == 0 {
		t.Fatal("deploy/grafana/provisioning/datasources: no datasource file")
	}
	found := false
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot(t), f)
		var ds struct {
			Datasources []struct{ Type, URL string }
		}
		unmarshalYAML(t, filepath.ToSlash(rel), &ds)
		for _, d := range ds.Datasources {
			if d.Type != "prometheus" {
				continue
			}
			found = true
			u, err := url.Parse(d.URL)
			if err != nil || p.Services[u.Hostname()].Name != "prometheus" || u.Port() != "9090" {
				t.Errorf("%s: Prometheus datasource %q is not the compose service (http://prometheus:9090)", rel, d.URL)
			}
		}
	}
	if !found {
		t.Error("deploy/grafana/provisioning/datasources: no Prometheus datasource")
	}
}
