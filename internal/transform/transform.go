// Package transform runs dbt builds for the sidecar's /transform routes:
// one at a time, in the order they were asked for, each in its own process
// group so that a cancel stops dbt and, as its connections close, the
// statements it has running in lakeflight. Every run is a JSON file in the
// state directory, rewritten at each change, so the history survives a
// restart; a run a restart cut off is marked failed.
package transform

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Status is where a run is.
type Status string

// The statuses of a run.
const (
	Queued   Status = "queued"
	Running  Status = "running"
	Success  Status = "success"
	Failed   Status = "failed"
	Canceled Status = "canceled"
)

// Command is the dbt command a run executes.
type Command string

// The dbt commands a run may execute: build models, seeds, snapshots and
// tests; run only the tests (a quality gate after a build); or check the
// sources' freshness.
const (
	Build     Command = "build"
	Test      Command = "test"
	Freshness Command = "source freshness"
)

// Commands are the commands POST /transform takes.
var Commands = []Command{Build, Test, Freshness}

// Check says why a request cannot run, or nil.
func (q Request) Check() error {
	if q.Command != "" && !slices.Contains(Commands, q.Command) {
		return fmt.Errorf("command %q is not one lakeflight runs: build, test or source freshness", q.Command)
	}
	if q.FullRefresh && q.Command != "" && q.Command != Build {
		return fmt.Errorf("full_refresh applies to build only, not to %s", q.Command)
	}
	return nil
}

// Done reports whether a run in this status is over.
func (s Status) Done() bool { return s == Success || s == Failed || s == Canceled }

// Request is what POST /transform may ask for.
type Request struct {
	// Command is the dbt command: build (the default, also when empty),
	// test, or source freshness.
	Command     Command        `json:"command,omitempty"`
	Select      []string       `json:"select,omitempty"`
	Exclude     []string       `json:"exclude,omitempty"`
	FullRefresh bool           `json:"full_refresh,omitempty"`
	Vars        map[string]any `json:"vars,omitempty"`
	Target      string         `json:"target,omitempty"`
}

// Node is one model, test, seed or snapshot of a run, from dbt's
// run_results.json.
type Node struct {
	UniqueID string  `json:"unique_id"`
	Status   string  `json:"status"`
	Seconds  float64 `json:"seconds"`
	Message  string  `json:"message,omitempty"`
	Failures *int    `json:"failures,omitempty"`
	// Relation is the table or view the node builds ("gold.orders").
	Relation string `json:"relation,omitempty"`
	// Snapshots are the Iceberg snapshots the node committed in this run
	// (tagged with its unique id), oldest first; none for a view, a test,
	// or a seed (bulk ingest carries no tag).
	Snapshots []int64 `json:"snapshots,omitempty"`
	// SnapshotsError says why Snapshots could not be looked up.
	SnapshotsError string `json:"snapshots_error,omitempty"`
}

// Run is one dbt build and what became of it.
type Run struct {
	ID         string     `json:"id"`
	Status     Status     `json:"status"`
	Request    Request    `json:"request"`
	Command    []string   `json:"command,omitempty"`
	QueuedAt   time.Time  `json:"queued_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	Error      string     `json:"error,omitempty"`
	Nodes      []Node     `json:"nodes,omitempty"`
	LogTail    []string   `json:"log_tail,omitempty"`
}

// Config says how to run dbt.
type Config struct {
	// Command is dbt's executable and any leading arguments, e.g.
	// ["/opt/lakeflight/venv/bin/dbt"].
	Command []string
	// ProjectDir is the dbt project; ProfilesDir holds its profiles.yml.
	ProjectDir, ProfilesDir string
	// StateDir keeps one JSON file per run and each run's dbt target and
	// log directories.
	StateDir string
	// Env is added to the process environment of every run.
	Env []string
	// RunEnv, when set, is called at the start of each run for more
	// environment (a token of the run's own, say); done is called once
	// the run's dbt has exited (to revoke that token).
	RunEnv func() (env []string, done func())
	// KillGrace is how long a canceled dbt gets after SIGTERM before
	// SIGKILL; default 10 s.
	KillGrace time.Duration
	// LogTailLines is how many lines of dbt's output a run keeps; default 50.
	LogTailLines int
	// Snapshots, when set, finds the snapshots each model committed.
	Snapshots SnapshotFinder
	// Registerer takes the runner's metrics (none when nil).
	Registerer prometheus.Registerer
}

// Errors, with their kinds for the transports.
var (
	// ErrNotFound: no run has this id. Runs live in the server that
	// accepted them, so the message says so for a poll another replica got.
	ErrNotFound = errkind.New(errkind.NotFound, "no such transform run on this server (a run is kept by the server that accepted it: "+
		"with several replicas, send /transform to one of them)")
	// ErrDone: the run is over and cannot be canceled.
	ErrDone = errkind.New(errkind.FailedPrecondition, "the transform run is already over")
	// ErrBadRequest: the request names no command dbt runs here, or
	// options its command does not take.
	ErrBadRequest = errkind.New(errkind.InvalidArgument, "bad transform request")
	// ErrClosed: the runner is stopping.
	ErrClosed = errkind.New(errkind.Unavailable, "the transform runner is stopping")
)

// Runner queues and runs dbt builds.
type Runner struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	runs    map[string]*Run
	queue   []string // ids, oldest first
	cancel  map[string]context.CancelFunc
	wake    chan struct{}
	closed  bool
	stopped chan struct{}
}

// Open loads the runs in cfg.StateDir (a run that was queued or running
// when the process stopped is marked failed) and starts the worker.
func Open(cfg Config, log *slog.Logger) (*Runner, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = 10 * time.Second
	}
	if cfg.LogTailLines <= 0 {
		cfg.LogTailLines = 50
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "runs"), 0o755); err != nil {
		return nil, fmt.Errorf("transform state: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, log: log, m: m, runs: map[string]*Run{}, cancel: map[string]context.CancelFunc{},
		wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	paths, err := filepath.Glob(filepath.Join(cfg.StateDir, "runs", "*.json"))
	if err != nil {
		return nil, err
	}
	var lastSuccess time.Time
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("transform state: %w", err)
		}
		var run Run
		if err := json.Unmarshal(b, &run); err != nil {
			log.Warn("transform run file unreadable, skipped", "file", p, "err", err)
			continue
		}
		if !run.Status.Done() {
			now := time.Now().UTC()
			was := run.Status
			run.Status, run.FinishedAt = Failed, &now
			run.Error = fmt.Sprintf("lakeflight stopped while the run was %s", was)
			if err := r.save(&run); err != nil {
				return nil, err
			}
		}
		r.runs[run.ID] = &run
		if run.Status == Success && run.FinishedAt != nil && run.FinishedAt.After(lastSuccess) {
			lastSuccess = *run.FinishedAt
		}
	}
	if !lastSuccess.IsZero() {
		r.m.lastSuccess.Set(float64(lastSuccess.Unix()))
	}
	go r.work()
	return r, nil
}

// Submit queues a build and returns the run as queued.
func (r *Runner) Submit(req Request) (Run, error) {
	if err := req.Check(); err != nil {
		return Run{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	req.Command = cmp.Or(req.Command, Build)
	run := &Run{ID: newID(), Status: Queued, Request: req, QueuedAt: time.Now().UTC()}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Run{}, ErrClosed
	}
	if err := r.save(run); err != nil {
		return Run{}, err
	}
	r.runs[run.ID] = run
	r.queue = append(r.queue, run.ID)
	r.gauges()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return *run, nil
}

// Get returns the run with this id.
func (r *Runner) Get(id string) (Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.runs[id]
	if !ok {
		return Run{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return clone(run), nil
}

// List returns every run, newest first.
func (r *Runner) List() []Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Run, 0, len(r.runs))
	for _, run := range r.runs {
		out = append(out, clone(run))
	}
	slices.SortFunc(out, func(a, b Run) int {
		if c := b.QueuedAt.Compare(a.QueuedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

// Active reports how many runs are queued or running.
func (r *Runner) Active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.queue)
	n += len(r.cancel)
	return n
}

// State is the runner's state for /ready: idle, or what runs and waits.
func (r *Runner) State() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch running, queued := len(r.cancel), len(r.queue); {
	case r.closed:
		return "stopping"
	case running == 0 && queued == 0:
		return "ready: idle"
	default:
		return fmt.Sprintf("ready: %d running, %d queued", running, queued)
	}
}

// Cancel stops a queued or running build. A running dbt gets SIGTERM, then
// SIGKILL after the grace period; the run is canceled once it has exited.
func (r *Runner) Cancel(id string) (Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.runs[id]
	if !ok {
		return Run{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	switch {
	case run.Status.Done():
		return clone(run), fmt.Errorf("%w (%s)", ErrDone, run.Status)
	case run.Status == Queued:
		r.queue = slices.DeleteFunc(r.queue, func(q string) bool { return q == id })
		now := time.Now().UTC()
		run.Status, run.FinishedAt, run.Error = Canceled, &now, "canceled before it started"
		r.gauges()
		r.m.runs.WithLabelValues(string(cmp.Or(run.Request.Command, Build)), string(Canceled)).Inc()
		if err := r.save(run); err != nil {
			return Run{}, err
		}
	default:
		if stop := r.cancel[id]; stop != nil {
			stop()
		}
	}
	return clone(run), nil
}

// Close cancels the running build, waits for it to end and stops the
// worker; runs still queued stay queued on disk and are marked failed at the
// next Open.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, stop := range r.cancel {
		stop()
	}
	close(r.wake)
	r.mu.Unlock()
	<-r.stopped
	return nil
}

func (r *Runner) work() {
	defer close(r.stopped)
	for range r.wake {
		for {
			r.mu.Lock()
			if r.closed || len(r.queue) == 0 {
				r.mu.Unlock()
				break
			}
			id := r.queue[0]
			r.queue = r.queue[1:]
			run := r.runs[id]
			ctx, stop := context.WithCancel(context.Background())
			r.cancel[id] = stop
			now := time.Now().UTC()
			run.Status, run.StartedAt = Running, &now
			run.Command = r.command(run)
			r.gauges()
			err := r.save(run)
			r.mu.Unlock()
			if err != nil {
				r.log.Error("transform run state not saved", "run", id, "err", err)
			}
			r.execute(ctx, run)
			stop()
		}
	}
}

// command is the dbt invocation of a run.
func (r *Runner) command(run *Run) []string {
	dir := r.runDir(run.ID)
	cmd := slices.Clone(r.cfg.Command)
	cmd = append(cmd, strings.Fields(string(cmp.Or(run.Request.Command, Build)))...) // a run saved before commands is a build
	cmd = append(cmd, "--project-dir", r.cfg.ProjectDir, "--profiles-dir", r.cfg.ProfilesDir,
		"--target-path", filepath.Join(dir, "target"), "--log-path", filepath.Join(dir, "logs"))
	q := run.Request
	if len(q.Select) > 0 {
		cmd = append(cmd, "--select", strings.Join(q.Select, " "))
	}
	if len(q.Exclude) > 0 {
		cmd = append(cmd, "--exclude", strings.Join(q.Exclude, " "))
	}
	if q.FullRefresh {
		cmd = append(cmd, "--full-refresh")
	}
	if len(q.Vars) > 0 {
		b, _ := json.Marshal(q.Vars)
		cmd = append(cmd, "--vars", string(b))
	}
	if q.Target != "" {
		cmd = append(cmd, "--target", q.Target)
	}
	return cmd
}

func (r *Runner) runDir(id string) string { return filepath.Join(r.cfg.StateDir, "runs", id) }

// execute runs dbt for run and records the outcome.
func (r *Runner) execute(ctx context.Context, run *Run) {
	tail := newTail(r.cfg.LogTailLines)
	code, err := r.runProcess(ctx, run, tail)
	nodes, rerr := readResults(filepath.Join(r.runDir(run.ID), "target", resultsFile(run.Request.Command)))
	if r.cfg.Snapshots != nil {
		attachSnapshots(r.cfg.Snapshots, nodes, *run.StartedAt)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.cancel, run.ID)
	now := time.Now().UTC()
	run.FinishedAt, run.LogTail, run.Nodes = &now, tail.lines(), nodes
	if code >= 0 {
		run.ExitCode = &code
	}
	switch {
	case ctx.Err() != nil:
		run.Status, run.Error = Canceled, "canceled while running"
	case err != nil:
		run.Status, run.Error = Failed, err.Error()
	case code != 0:
		run.Status, run.Error = Failed, failure(code, nodes, tail.lines())
	default:
		run.Status = Success
	}
	if rerr != nil && run.Status == Success {
		run.Status, run.Error = Failed, "dbt succeeded but its run_results.json is unreadable: "+rerr.Error()
	}
	r.gauges()
	r.observe(run)
	if err := r.save(run); err != nil {
		r.log.Error("transform run state not saved", "run", run.ID, "err", err)
	}
	r.log.Info("transform run ended", "run", run.ID, "status", run.Status, "nodes", len(nodes),
		"took", now.Sub(*run.StartedAt).Round(time.Millisecond))
}

// runProcess starts dbt in its own process group and waits for it; a
// canceled ctx sends SIGTERM to the group, then SIGKILL after the grace.
// It returns the exit code (-1 when dbt did not start or was killed).
func (r *Runner) runProcess(ctx context.Context, run *Run, tail *tailWriter) (int, error) {
	if len(run.Command) == 0 {
		return -1, errors.New("no dbt command is configured (lakeflight serve --dbt-command)")
	}
	cmd := exec.Command(run.Command[0], run.Command[1:]...)
	cmd.Dir = r.cfg.ProjectDir
	// The server's own settings stay out of dbt's environment: models and
	// macros can read it (env_var), and some are secrets (the token secret,
	// a catalog URI's password, a client's LAKEFLIGHT_PASSWORD).
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "LAKEFLIGHT_") })
	cmd.Env = append(append(env, "DO_NOT_TRACK=1", "DBT_SEND_ANONYMOUS_USAGE_STATS=false", "DBT_USE_COLORS=false"), r.cfg.Env...)
	if r.cfg.RunEnv != nil {
		more, done := r.cfg.RunEnv()
		if done != nil {
			defer done()
		}
		cmd.Env = append(cmd.Env, more...)
	}
	cmd.Stdout, cmd.Stderr = tail, tail
	cmd.SysProcAttr = procAttr()
	defer lockThread()()
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("starting dbt: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitCode(cmd, err)
	case <-ctx.Done():
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-done:
		return exitCode(cmd, err)
	case <-time.After(r.cfg.KillGrace):
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return exitCode(cmd, <-done)
}

func exitCode(cmd *exec.Cmd, err error) (int, error) {
	if cmd.ProcessState == nil {
		return -1, err
	}
	if exitErr := (*exec.ExitError)(nil); err == nil || errors.As(err, &exitErr) {
		return cmd.ProcessState.ExitCode(), nil
	}
	return cmd.ProcessState.ExitCode(), err
}

// failure says why a build failed: the nodes that errored or failed, else
// dbt's last output lines.
func failure(code int, nodes []Node, tail []string) string {
	var bad []string
	for _, n := range nodes {
		switch n.Status {
		case "error", "fail", "runtime error":
			msg := n.UniqueID + " " + n.Status
			if n.Message != "" {
				msg += ": " + n.Message
			}
			bad = append(bad, msg)
		}
	}
	if len(bad) > 0 {
		return fmt.Sprintf("dbt exited with %d: %s", code, strings.Join(bad, "; "))
	}
	last := tail
	if len(last) > 5 {
		last = last[len(last)-5:]
	}
	return fmt.Sprintf("dbt exited with %d: %s", code, strings.Join(last, " | "))
}

// resultsFile is where dbt writes a command's results in the target
// directory: source freshness has a file of its own, of the same shape.
func resultsFile(c Command) string {
	if c == Freshness {
		return "sources.json"
	}
	return "run_results.json"
}

// readResults reads dbt's run_results.json (or sources.json); a missing
// file is no nodes.
func readResults(path string) ([]Node, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rr struct {
		Results []struct {
			UniqueID      string  `json:"unique_id"`
			Status        string  `json:"status"`
			ExecutionTime float64 `json:"execution_time"`
			Message       *string `json:"message"`
			Failures      *int    `json:"failures"`
			RelationName  *string `json:"relation_name"`
			Error         *string `json:"error"` // sources.json's runtime errors
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &rr); err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, len(rr.Results))
	for _, x := range rr.Results {
		n := Node{UniqueID: x.UniqueID, Status: x.Status, Seconds: x.ExecutionTime, Failures: x.Failures}
		if x.Message != nil {
			n.Message = *x.Message
		} else if x.Error != nil {
			n.Message = *x.Error
		}
		if x.RelationName != nil {
			n.Relation = relationTable(*x.RelationName)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// save writes the run's file atomically. The caller holds r.mu or owns run.
func (r *Runner) save(run *Run) error {
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(r.cfg.StateDir, "runs", run.ID+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("saving transform run %s: %w", run.ID, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("saving transform run %s: %w", run.ID, err)
	}
	return nil
}

func clone(run *Run) Run {
	c := *run
	c.Nodes = slices.Clone(run.Nodes)
	c.LogTail = slices.Clone(run.LogTail)
	c.Command = slices.Clone(run.Command)
	return c
}

// newID is a run id that sorts by time: the UTC timestamp and a random
// suffix.
func newID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405.000") + "-" + hex.EncodeToString(b[:])
}

// tailWriter keeps the last lines written to it.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	buf   []string
	split []byte
}

func newTail(n int) *tailWriter { return &tailWriter{max: n} }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.split = append(t.split, p...)
	for {
		i := bytes.IndexByte(t.split, '\n')
		if i < 0 {
			break
		}
		t.push(string(t.split[:i]))
		t.split = t.split[i+1:]
	}
	if len(t.split) > 64<<10 { // a line without end: keep its start
		t.push(string(t.split[:64<<10]))
		t.split = t.split[:0]
	}
	return len(p), nil
}

func (t *tailWriter) push(line string) {
	t.buf = append(t.buf, strings.TrimRight(line, "\r"))
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
}

func (t *tailWriter) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.buf)
	if len(t.split) > 0 {
		out = append(out, string(t.split))
	}
	return out
}
