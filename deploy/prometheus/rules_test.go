package prometheus_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// tool finds promtool (Debian's prometheus package; .ci/run installs it)
// or amtool (make amtool: go install, the Alertmanager version compose
// runs), failing with how to get it.
func tool(t *testing.T, name, how string) string {
	t.Helper()
	if name == "amtool" {
		// Debian's amtool is older than the url_file the config uses.
		if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			if p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "amtool"); fileExists(p) {
				return p
			}
		}
		t.Fatalf("amtool is not installed: %s", how)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: %s", name, how)
	}
	return p
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

// caseFiles hold the alerts' cases: by the minute, and over weeks.
var caseFiles = []string{"alerts_test.yml", "alerts_weeks_test.yml"}

const promtoolHow = "apt-get install prometheus (Debian's package has promtool)"

// TestAlertRules: promtool accepts the rules, and each one fires on the
// series of its case in alerts_test.yml and stays quiet where it should.
func TestAlertRules(t *testing.T) {
	promtool := tool(t, "promtool", promtoolHow)
	run(t, promtool, "check", "rules", "alerts.yml")
	run(t, promtool, append([]string{"test", "rules"}, caseFiles...)...)
}

// TestEveryAlertIsTested: every alert of alerts.yml has a case in which it
// fires, so that a rule cannot be added untried.
func TestEveryAlertIsTested(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	load(t, "alerts.yml", &rules)
	fired := map[string]bool{}
	for _, f := range caseFiles {
		var cases struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string           `yaml:"alertname"`
					ExpAlerts []map[string]any `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		load(t, f, &cases)
		for _, tc := range cases.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fired[a.Alertname] = true
				}
			}
		}
	}
	var n int
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if !fired[r.Alert] {
				t.Errorf("alert %s has no case in %v in which it fires", r.Alert, caseFiles)
			}
			if sev := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, sev) {
				t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, sev)
			}
		}
	}
	if n < 20 {
		t.Fatalf("alerts.yml has %d alerts; it was read wrong", n)
	}
}

// TestPrometheusConfig: the compose stack's Prometheus configuration is
// valid and loads alerts.yml. (--syntax-only: the bearer token file it
// names exists only in the container.)
func TestPrometheusConfig(t *testing.T) {
	promtool := tool(t, "promtool", promtoolHow)
	run(t, promtool, "check", "config", "--syntax-only", "prometheus.yml")
	var cfg struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	load(t, "prometheus.yml", &cfg)
	if !slices.Equal(cfg.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("rule_files %v, want [alerts.yml]", cfg.RuleFiles)
	}
}

// TestAlertmanagerConfig: amtool (the version compose runs) accepts the
// Alertmanager configuration.
func TestAlertmanagerConfig(t *testing.T) {
	amtool := tool(t, "amtool", "make amtool (go install github.com/prometheus/alertmanager/cmd/amtool@v0.28.1)")
	run(t, amtool, "check-config", filepath.Join("..", "alertmanager", "alertmanager.yml"))
}

func load(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
