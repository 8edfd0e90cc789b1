package transform

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRelationTable(t *testing.T) {
	for in, want := range map[string]string{
		`"lakehouse"."gold"."orders"`:  "gold.orders",
		`lakehouse.gold.orders`:        "gold.orders",
		`"gold"."orders"`:              "gold.orders",
		`"lakehouse"."gold"."a.b"`:     "gold.a.b",
		`"lakehouse"."go""ld"."x"`:     `go"ld.x`,
		`orders`:                       "",
		`"lakehouse"."gold"."unclosed`: "",
		`"lakehouse".""."x"`:           "",
	} {
		if got := relationTable(in); got != want {
			t.Errorf("relationTable(%s) = %q, want %q", in, got, want)
		}
	}
}

// finder is a stand-in catalog for the runner's lookups (the end-to-end
// tests look them up in a real server's catalog).
type finder struct {
	calls []string
	since time.Time
	err   error
}

func (f *finder) TaggedSnapshots(_ context.Context, table, tag string, since time.Time) ([]int64, error) {
	f.calls = append(f.calls, table+" "+tag)
	f.since = since
	return []int64{42}, f.err
}

func TestRunNamesTheSnapshotsEachModelCommitted(t *testing.T) {
	f := &finder{}
	r := openWith(t, t.TempDir(), "ok", func(c *Config) { c.Snapshots = f })
	run, _ := r.Submit(Request{})
	done := wait(t, r, run.ID, Success)
	model, test := done.Nodes[0], done.Nodes[1]
	if model.Relation != "gold.orders" || !slices.Equal(model.Snapshots, []int64{42}) {
		t.Errorf("model node %+v", model)
	}
	if test.Relation != "" || test.Snapshots != nil {
		t.Errorf("test node %+v", test)
	}
	// Only the model was looked up, by its table and tag, from the run's start.
	if !slices.Equal(f.calls, []string{"gold.orders model.shop.orders"}) || !f.since.Equal(*done.StartedAt) {
		t.Errorf("lookups %q since %v (run started %v)", f.calls, f.since, done.StartedAt)
	}
}

func TestAFailedLookupIsReportedAndTheRunStillSucceeds(t *testing.T) {
	f := &finder{err: errors.New("catalog unreachable")}
	r := openWith(t, t.TempDir(), "ok", func(c *Config) { c.Snapshots = f })
	run, _ := r.Submit(Request{})
	done := wait(t, r, run.ID, Success)
	if n := done.Nodes[0]; n.Snapshots != nil || !strings.Contains(n.SnapshotsError, "catalog unreachable") {
		t.Errorf("model node %+v", n)
	}
}

func TestMetricsCountRunsAndNodes(t *testing.T) {
	reg := prometheus.NewRegistry()
	state := t.TempDir()
	r := openWith(t, state, "ok", func(c *Config) { c.Registerer = reg })
	run, _ := r.Submit(Request{})
	done := wait(t, r, run.ID, Success)
	if got := testutil.ToFloat64(r.m.runs.WithLabelValues("build", "success")); got != 1 {
		t.Errorf("runs_total{success} = %v", got)
	}
	if got := testutil.ToFloat64(r.m.nodes.WithLabelValues("model", "success")); got != 1 {
		t.Errorf("nodes_total{model,success} = %v", got)
	}
	if got := testutil.ToFloat64(r.m.nodes.WithLabelValues("test", "pass")); got != 1 {
		t.Errorf("nodes_total{test,pass} = %v", got)
	}
	if got := testutil.ToFloat64(r.m.lastSuccess); got != float64(done.FinishedAt.Unix()) {
		t.Errorf("last_success = %v, want %d", got, done.FinishedAt.Unix())
	}
	// The model's time names the model; tests have none.
	if got := testutil.ToFloat64(r.m.nodeSeconds.WithLabelValues("model.shop.orders")); got != 0.5 {
		t.Errorf("node_duration_seconds{model.shop.orders} = %v", got)
	}
	if n := testutil.CollectAndCount(r.m.nodeSeconds); n != 1 {
		t.Errorf("node_duration_seconds has %d series, want the model's only", n)
	}
	if got := testutil.ToFloat64(r.m.running) + testutil.ToFloat64(r.m.queued); got != 0 {
		t.Errorf("running+queued after the run = %v", got)
	}
	_ = r.Close()

	// After a restart the last success is known again from the run files.
	again, err := Open(Config{Command: []string{"true"}, StateDir: state, Registerer: prometheus.NewRegistry()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := testutil.ToFloat64(again.m.lastSuccess); got != float64(done.FinishedAt.Unix()) {
		t.Errorf("last_success after a restart = %v", got)
	}
}

func TestGaugesFollowTheQueue(t *testing.T) {
	r := openWith(t, t.TempDir(), "sleep", func(c *Config) { c.Registerer = prometheus.NewRegistry() })
	first, _ := r.Submit(Request{})
	second, _ := r.Submit(Request{})
	wait(t, r, first.ID, Running)
	if q, run := testutil.ToFloat64(r.m.queued), testutil.ToFloat64(r.m.running); q != 1 || run != 1 {
		t.Errorf("queued %v running %v, want 1 and 1", q, run)
	}
	if _, err := r.Cancel(second.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Cancel(first.ID); err != nil {
		t.Fatal(err)
	}
	wait(t, r, first.ID, Canceled)
	if q, run := testutil.ToFloat64(r.m.queued), testutil.ToFloat64(r.m.running); q != 0 || run != 0 {
		t.Errorf("queued %v running %v after both were canceled", q, run)
	}
	if got := testutil.ToFloat64(r.m.runs.WithLabelValues("build", "canceled")); got != 2 {
		t.Errorf("runs_total{canceled} = %v", got)
	}
}
