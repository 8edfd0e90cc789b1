package transform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDBT is a stand-in for dbt in these unit tests of the runner only (the
// end-to-end tests run the real dbt): it records its arguments, writes a
// run_results.json into --target-path and exits as FAKE_DBT says: ok, fail
// (one failing test), or sleep (until killed).
const fakeDBT = `#!/bin/sh
target=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--target-path" ]; then target="$a"; fi
  prev="$a"
done
echo "args: $*"
echo "$@" > "$ARGS_FILE"
env > "$ARGS_FILE.env"
mkdir -p "$target"
case "$FAKE_DBT" in
  sleep)
    trap 'echo got TERM; exit 143' TERM
    echo started > "$ARGS_FILE.started"
    while true; do sleep 0.05; done ;;
  stale)
    printf '{"results":[{"unique_id":"source.shop.bronze.orders","status":"pass","execution_time":0.2},{"unique_id":"source.shop.bronze.customers","status":"error","execution_time":0.1,"max_loaded_at_time_ago_in_s":90000}]}' > "$target/sources.json"
    echo "Completed with 1 error"
    exit 1 ;;
  fail)
    printf '{"results":[{"unique_id":"model.shop.orders","status":"success","execution_time":0.5,"message":"OK"},{"unique_id":"test.shop.not_null_orders_id","status":"fail","execution_time":0.1,"message":"Got 3 results, configured to fail if != 0","failures":3}]}' > "$target/run_results.json"
    echo "Completed with 1 error"
    exit 1 ;;
  *)
    printf '{"results":[{"unique_id":"model.shop.orders","status":"success","execution_time":0.5,"message":"OK","relation_name":"\\"lakehouse\\".\\"gold\\".\\"orders\\""},{"unique_id":"test.shop.not_null_orders_id","status":"pass","execution_time":0.1,"relation_name":null}]}' > "$target/run_results.json"
    echo "Completed successfully"
    exit 0 ;;
esac
`

func open(t *testing.T, state string, mode string) *Runner {
	t.Helper()
	return openWith(t, state, mode, nil)
}

// openWith opens a runner on the stand-in dbt; more, when set, adds to the
// configuration.
func openWith(t *testing.T, state string, mode string, more func(*Config)) *Runner {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "dbt")
	if err := os.WriteFile(script, []byte(fakeDBT), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Command: []string{script}, ProjectDir: dir, ProfilesDir: dir, StateDir: state,
		Env: []string{"FAKE_DBT=" + mode, "ARGS_FILE=" + filepath.Join(dir, "args")}, KillGrace: 2 * time.Second,
	}
	if more != nil {
		more(&cfg)
	}
	r, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func wait(t *testing.T, r *Runner, id string, want Status) Run {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		run, err := r.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status == want {
			return run
		}
		if run.Status.Done() || time.Now().After(deadline) {
			t.Fatalf("run %s is %s (%s), want %s", id, run.Status, run.Error, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// started waits until the stand-in dbt of a sleep run has set its SIGTERM
// trap: a run is running from before its process starts.
func started(t *testing.T, r *Runner) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(r.cfg.ProjectDir, "args.started")); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the stand-in dbt did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunSucceedsWithItsArguments(t *testing.T) {
	r := open(t, t.TempDir(), "ok")
	run, err := r.Submit(Request{Select: []string{"orders+", "tag:daily"}, Exclude: []string{"big"}, FullRefresh: true,
		Vars: map[string]any{"day": "2026-01-02"}, Target: "prod"})
	if err != nil || run.Status != Queued {
		t.Fatalf("submit: %+v %v", run, err)
	}
	done := wait(t, r, run.ID, Success)
	if done.ExitCode == nil || *done.ExitCode != 0 || len(done.Nodes) != 2 || done.Nodes[0].UniqueID != "model.shop.orders" {
		t.Fatalf("run: %+v", done)
	}
	args := strings.Join(done.Command[1:], " ")
	for _, want := range []string{"build --project-dir", "--select orders+ tag:daily", "--exclude big", "--full-refresh",
		`--vars {"day":"2026-01-02"}`, "--target prod", "--target-path " + filepath.Join(r.cfg.StateDir, "runs", run.ID, "target")} {
		if !strings.Contains(args, want) {
			t.Errorf("command %q lacks %q", args, want)
		}
	}
	if len(done.LogTail) == 0 || done.LogTail[len(done.LogTail)-1] != "Completed successfully" {
		t.Errorf("log tail %q", done.LogTail)
	}
	if done.StartedAt == nil || done.FinishedAt == nil || done.FinishedAt.Before(*done.StartedAt) {
		t.Errorf("timings %v %v", done.StartedAt, done.FinishedAt)
	}
}

// TestCommands: test and source freshness run dbt's commands of those
// names, freshness's nodes come from sources.json, and a request a command
// cannot take is refused before it is queued.
func TestCommands(t *testing.T) {
	r := open(t, t.TempDir(), "ok")
	run, err := r.Submit(Request{Command: Test, Select: []string{"marts"}})
	if err != nil {
		t.Fatal(err)
	}
	done := wait(t, r, run.ID, Success)
	if args := strings.Join(done.Command[1:], " "); !strings.HasPrefix(args, "test --project-dir") || !strings.Contains(args, "--select marts") {
		t.Errorf("test: command %q", args)
	}
	if def, _ := r.Submit(Request{}); def.Request.Command != Build {
		t.Errorf("a request without a command is recorded as %q, want build", def.Request.Command)
	}

	stale := open(t, t.TempDir(), "stale")
	run, err = stale.Submit(Request{Command: Freshness})
	if err != nil {
		t.Fatal(err)
	}
	done = wait(t, stale, run.ID, Failed)
	if args := strings.Join(done.Command[1:], " "); !strings.HasPrefix(args, "source freshness --project-dir") {
		t.Errorf("freshness: command %q", args)
	}
	if len(done.Nodes) != 2 || !strings.Contains(done.Error, "source.shop.bronze.customers error") {
		t.Errorf("freshness: nodes %+v, error %q", done.Nodes, done.Error)
	}

	for _, q := range []Request{{Command: "run"}, {Command: "build --full-refresh"}, {Command: Test, FullRefresh: true}} {
		if _, err := r.Submit(q); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v, want ErrBadRequest", q, err)
		}
	}
}

func TestFailedRunNamesTheFailingNode(t *testing.T) {
	r := open(t, t.TempDir(), "fail")
	run, _ := r.Submit(Request{})
	done := wait(t, r, run.ID, Failed)
	if !strings.Contains(done.Error, "test.shop.not_null_orders_id fail: Got 3 results") || *done.ExitCode != 1 {
		t.Fatalf("run: %+v", done)
	}
	if done.Nodes[1].Failures == nil || *done.Nodes[1].Failures != 3 {
		t.Errorf("nodes %+v", done.Nodes)
	}
}

func TestMissingDBTFailsTheRunWithTheReason(t *testing.T) {
	r, err := Open(Config{Command: []string{filepath.Join(t.TempDir(), "no-such-dbt")}, StateDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	run, _ := r.Submit(Request{})
	done := wait(t, r, run.ID, Failed)
	if !strings.Contains(done.Error, "starting dbt") || !strings.Contains(done.Error, "no-such-dbt") {
		t.Fatalf("error %q", done.Error)
	}
}

// One run at a time: a second one waits, and canceling it while queued or
// running stops it; the running dbt gets SIGTERM.
func TestQueueAndCancel(t *testing.T) {
	r := open(t, t.TempDir(), "sleep")
	first, _ := r.Submit(Request{})
	second, _ := r.Submit(Request{})
	wait(t, r, first.ID, Running)
	started(t, r)
	if got, _ := r.Get(second.ID); got.Status != Queued {
		t.Fatalf("second run is %s while the first runs", got.Status)
	}
	if r.Active() != 2 {
		t.Errorf("active %d", r.Active())
	}
	if _, err := r.Cancel(second.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Get(second.ID); got.Status != Canceled {
		t.Fatalf("canceled queued run is %s", got.Status)
	}
	if _, err := r.Cancel(first.ID); err != nil {
		t.Fatal(err)
	}
	done := wait(t, r, first.ID, Canceled)
	if !strings.Contains(strings.Join(done.LogTail, "\n"), "got TERM") {
		t.Errorf("dbt was not sent SIGTERM: %q", done.LogTail)
	}
	if _, err := r.Cancel(first.ID); !errors.Is(err, ErrDone) {
		t.Errorf("cancel of a finished run: %v", err)
	}
	if _, err := r.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if list := r.List(); len(list) != 2 || list[0].ID != second.ID {
		t.Errorf("list, newest first: %+v", list)
	}
}

// The history survives a restart; a run cut off by the stop is failed.
func TestHistorySurvivesARestart(t *testing.T) {
	state := t.TempDir()
	r := open(t, state, "ok")
	ok, _ := r.Submit(Request{})
	wait(t, r, ok.ID, Success)
	_ = r.Close()

	r = open(t, state, "sleep")
	cut, _ := r.Submit(Request{})
	wait(t, r, cut.ID, Running)
	// A crash: the runner is gone without updating the file. Simulate by
	// reading the state as the next process would, while it still says
	// running.
	again, err := Open(Config{Command: []string{"true"}, StateDir: state}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, _ := again.Get(ok.ID); got.Status != Success || len(got.Nodes) != 2 {
		t.Errorf("the finished run after a restart: %+v", got)
	}
	got, _ := again.Get(cut.ID)
	if got.Status != Failed || !strings.Contains(got.Error, "lakeflight stopped while the run was running") {
		t.Errorf("the cut-off run after a restart: %+v", got)
	}
}

func TestState(t *testing.T) {
	r := open(t, t.TempDir(), "sleep")
	if got := r.State(); got != "ready: idle" {
		t.Fatalf("idle: %q", got)
	}
	first, _ := r.Submit(Request{})
	_, _ = r.Submit(Request{})
	wait(t, r, first.ID, Running)
	if got := r.State(); got != "ready: 1 running, 1 queued" {
		t.Fatalf("busy: %q", got)
	}
}

// dbt gets the run's own environment (RunEnv), never the server's
// LAKEFLIGHT_* settings, some of which are secrets.
func TestRunEnvironmentKeepsServerSettingsOut(t *testing.T) {
	t.Setenv("LAKEFLIGHT_AUTH_TOKEN_SECRET", "server-secret-0123456789abcdef0123456789")
	t.Setenv("LAKEFLIGHT_PASSWORD", "client-password")
	var ended atomic.Bool
	r := openWith(t, t.TempDir(), "ok", func(c *Config) {
		c.RunEnv = func() ([]string, func()) {
			return []string{"LAKEFLIGHT_TOKEN=run-token"}, func() { ended.Store(true) }
		}
	})
	run, err := r.Submit(Request{})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, r, run.ID, Success)
	if !ended.Load() {
		t.Error("the run's done (revoking its token) was not called when dbt ended")
	}
	env, err := os.ReadFile(filepath.Join(r.cfg.ProjectDir, "args.env"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "LAKEFLIGHT_TOKEN=run-token\n") {
		t.Errorf("the run's token is not in dbt's environment:\n%s", env)
	}
	for _, secret := range []string{"server-secret", "client-password"} {
		if strings.Contains(string(env), secret) {
			t.Errorf("dbt's environment holds %s", secret)
		}
	}
}
