//go:build duckdb_arrow

package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakeflight/lakeflight/internal/config"
)

// stubDBT stands in for dbt in this test of the server's wiring only (which
// project, profile and command a run gets); e2e runs the real dbt. It
// copies the profile it was given into the target path and succeeds.
const stubDBT = `#!/bin/sh
prev=""; target=""; profiles=""
for a in "$@"; do
  [ "$prev" = "--target-path" ] && target="$a"
  [ "$prev" = "--profiles-dir" ] && profiles="$a"
  prev="$a"
done
mkdir -p "$target"
cp "$profiles/profiles.yml" "$target/profile-seen.yml"
pwd > "$target/cwd"
printf '{"results":[{"unique_id":"model.shop.stg","status":"success","execution_time":0.1}]}' > "$target/run_results.json"
`

// stubProject is a dbt project directory and the stand-in dbt.
func stubProject(t *testing.T) (project, stub string) {
	t.Helper()
	project = t.TempDir()
	if err := os.WriteFile(filepath.Join(project, "dbt_project.yml"), []byte("name: shop\nprofile: lakeflight\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stub = filepath.Join(t.TempDir(), "dbt")
	if err := os.WriteFile(stub, []byte(stubDBT), 0o755); err != nil {
		t.Fatal(err)
	}
	return project, stub
}

func TestServeRunsTransforms(t *testing.T) {
	project, stub := stubProject(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	flightAddr, httpAddr, _ := startServeWith(t, dataDir, func(c *config.Config) {
		c.DBT.ProjectDir, c.DBT.Command = project, stub
	})
	resp, err := http.Post("http://"+httpAddr+"/transform", "application/json", strings.NewReader(`{"select": ["stg"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var run struct {
		ID, Status, Error string
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(body, &run) != nil || run.ID == "" {
		t.Fatalf("POST /transform: %d %s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for run.Status != "success" {
		if run.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("run: %+v", run)
		}
		time.Sleep(20 * time.Millisecond)
		resp, err := http.Get("http://" + httpAddr + "/transform/" + run.ID)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&run)
		resp.Body.Close()
	}
	target := filepath.Join(dataDir, "transform", "runs", run.ID, "target")
	profile, err := os.ReadFile(filepath.Join(target, "profile-seen.yml"))
	if err != nil {
		t.Fatal(err)
	}
	port := flightAddr[strings.LastIndexByte(flightAddr, ':')+1:]
	for _, want := range []string{"lakeflight:", "type: lakeflight", `host: "127.0.0.1"`, "port: " + port, "schema: silver"} {
		if !strings.Contains(string(profile), want) {
			t.Errorf("profile lacks %q:\n%s", want, profile)
		}
	}
	if cwd, _ := os.ReadFile(filepath.Join(target, "cwd")); strings.TrimSpace(string(cwd)) != project {
		t.Errorf("dbt ran in %q, want the project %q", cwd, project)
	}
}

// Without a dbt project the routes say how to configure one; a project
// directory without dbt_project.yml stops the server from starting.
func TestServeWithoutDBTProject(t *testing.T) {
	_, httpAddr, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	resp, err := http.Post("http://"+httpAddr+"/transform", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(body), "--dbt-project-dir") {
		t.Fatalf("no project: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + httpAddr + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"transform":"disabled: no dbt project`) {
		t.Fatalf("ready without a project: %d %s", resp.StatusCode, body)
	}

	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.FlightAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DBT.ProjectDir = t.TempDir()
	err = serve(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "no dbt_project.yml") {
		t.Fatalf("serve with an empty project dir: %v", err)
	}
}
