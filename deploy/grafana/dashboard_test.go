package grafana_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDashboardsProvisioned: every dashboard is valid JSON with a uid and
// unique panel ids, every panel and query uses the provisioned
// Prometheus datasource, and the provider reads the directory compose
// mounts. (cmd/lakeflight checks that each metric they select is
// exported.)
func TestDashboardsProvisioned(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	load(t, "provisioning/datasources/prometheus.yml", yaml.Unmarshal, &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasources %+v", ds.Datasources)
	}
	uid := ds.Datasources[0].UID
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	load(t, "provisioning/dashboards/lakeflight.yml", yaml.Unmarshal, &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Fatalf("providers %+v", prov.Providers)
	}

	paths, _ := filepath.Glob("dashboards/*.json")
	if len(paths) == 0 {
		t.Fatal("no dashboards")
	}
	type source struct {
		UID string `json:"uid"`
	}
	for _, path := range paths {
		var dash struct {
			UID    string `json:"uid"`
			Title  string `json:"title"`
			Panels []struct {
				ID         int     `json:"id"`
				Type       string  `json:"type"`
				Title      string  `json:"title"`
				Datasource *source `json:"datasource"`
				Targets    []struct {
					Expr       string  `json:"expr"`
					Datasource *source `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		load(t, path, json.Unmarshal, &dash)
		if dash.UID == "" || dash.Title == "" {
			t.Errorf("%s: uid %q title %q", path, dash.UID, dash.Title)
		}
		ids := map[int]bool{}
		for _, p := range dash.Panels {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", path, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != uid {
				t.Errorf("%s: panel %q: datasource %+v, want uid %s", path, p.Title, p.Datasource, uid)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", path, p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" || tg.Datasource == nil || tg.Datasource.UID != uid {
					t.Errorf("%s: panel %q: query %q on %+v", path, p.Title, tg.Expr, tg.Datasource)
				}
			}
		}
	}
}

func load(t *testing.T, path string, unmarshal func([]byte, any) error, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
