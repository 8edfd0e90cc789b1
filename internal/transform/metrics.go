package transform

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics is what the runner reports to Prometheus: enough to alert on a
// failing or overdue transform without reading run files.
type metrics struct {
	runs        *prometheus.CounterVec // finished runs by command and status
	duration    *prometheus.HistogramVec
	queued      prometheus.Gauge
	running     prometheus.Gauge
	lastSuccess prometheus.Gauge // unix seconds of the last successful build's end
	nodes       *prometheus.CounterVec
	// nodeSeconds is each model's, seed's and snapshot's time in the last
	// run that built it, by dbt node id: which model got slow. The label set
	// is the project's nodes, bounded by the project.
	nodeSeconds *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "transform", Name: "runs_total",
			Help: "Transform runs finished, by dbt command (build, test, source freshness) and status (success, failed, canceled).",
		}, []string{"command", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lakeflight", Subsystem: "transform", Name: "run_duration_seconds",
			Help:    "Time from a run's start to its end, by dbt command and status.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 s … ~2.3 h
		}, []string{"command", "status"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lakeflight", Subsystem: "transform", Name: "queued_runs",
			Help: "Transform runs waiting for the one before them.",
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lakeflight", Subsystem: "transform", Name: "running_runs",
			Help: "Transform runs executing now (0 or 1).",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lakeflight", Subsystem: "transform", Name: "last_success_timestamp_seconds",
			Help: "When the last successful build (command build) ended (unix seconds; 0 before the first).",
		}),
		nodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "transform", Name: "nodes_total",
			Help: "Models, tests, seeds and snapshots of finished runs, by resource type and dbt status.",
		}, []string{"resource_type", "status"}),
		nodeSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "lakeflight", Subsystem: "transform", Name: "node_duration_seconds",
			Help: "Time of each model, seed and snapshot in the last run that built it, by dbt node id.",
		}, []string{"node"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.runs, m.duration, m.queued, m.running, m.lastSuccess, m.nodes, m.nodeSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering transform metrics: %w", err)
		}
	}
	return m, nil
}

// gauges sets the queued and running gauges. The caller holds r.mu.
func (r *Runner) gauges() {
	r.m.queued.Set(float64(len(r.queue)))
	r.m.running.Set(float64(len(r.cancel)))
}

// observe counts a finished run and its nodes. The caller holds r.mu.
func (r *Runner) observe(run *Run) {
	command := string(cmp.Or(run.Request.Command, Build))
	r.m.runs.WithLabelValues(command, string(run.Status)).Inc()
	if run.StartedAt != nil && run.FinishedAt != nil {
		r.m.duration.WithLabelValues(command, string(run.Status)).Observe(run.FinishedAt.Sub(*run.StartedAt).Seconds())
	}
	if run.Status == Success && run.FinishedAt != nil && command == string(Build) {
		r.m.lastSuccess.Set(float64(run.FinishedAt.Unix()))
	}
	for _, n := range run.Nodes {
		kind, _, _ := strings.Cut(n.UniqueID, ".")
		r.m.nodes.WithLabelValues(kind, n.Status).Inc()
		if builds(n.UniqueID) && n.Status == "success" {
			r.m.nodeSeconds.WithLabelValues(n.UniqueID).Set(n.Seconds)
		}
	}
}
