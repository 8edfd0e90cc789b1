package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Maintenance jobs. A maintenance POST with ?async=true answers 202 with a
// job at once and runs in the background; GET /v1/maintenance/{id} tells
// how it went (running, succeeded with its report, failed with the error),
// GET /v1/maintenance lists the recent ones. Jobs live in memory: the last
// maxJobs are kept, and Shutdown cancels the ones still running.

// maxJobs bounds the finished jobs kept.
const maxJobs = 100

// Job is one maintenance action run in the background.
type Job struct {
	ID       string                     `json:"id"`
	Table    string                     `json:"table"`
	Action   string                     `json:"action"` // expire_snapshots, remove_orphan_files, compact
	Status   string                     `json:"status"` // running, succeeded, failed
	Started  string                     `json:"started"`
	Finished string                     `json:"finished,omitempty"`
	Report   *catalog.MaintenanceReport `json:"report,omitempty"`
	Error    string                     `json:"error,omitempty"`
}

var errNoSuchJob = errkind.New(errkind.NotFound, "no such maintenance job on this server (a job is kept by the server that accepted it: "+
	"with several replicas, send maintenance to one of them)")

type jobs struct {
	mu     sync.Mutex
	byID   map[string]*Job
	order  []string
	ctx    context.Context // cancelled by Shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newJobs() *jobs {
	j := &jobs{byID: map[string]*Job{}}
	j.ctx, j.cancel = context.WithCancel(context.Background())
	return j
}

// start runs fn as a job and returns it (a copy).
func (j *jobs) start(table, action string, fn func(context.Context) (catalog.MaintenanceReport, error)) Job {
	var b [8]byte
	_, _ = rand.Read(b[:])
	job := &Job{ID: hex.EncodeToString(b[:]), Table: table, Action: action, Status: "running", Started: stamp(time.Now())}
	j.mu.Lock()
	j.byID[job.ID] = job
	j.order = append(j.order, job.ID)
	j.trimLocked()
	out := *job
	j.mu.Unlock()
	j.wg.Go(func() {
		rep, err := fn(j.ctx)
		j.mu.Lock()
		defer j.mu.Unlock()
		job.Finished = stamp(time.Now())
		if err != nil {
			job.Status, job.Error = "failed", err.Error()
			return
		}
		job.Status, job.Report = "succeeded", &rep
	})
	return out
}

// trimLocked forgets the oldest finished jobs past maxJobs.
func (j *jobs) trimLocked() {
	for i := 0; len(j.order) > maxJobs && i < len(j.order); {
		if id := j.order[i]; j.byID[id].Status != "running" {
			delete(j.byID, id)
			j.order = slices.Delete(j.order, i, i+1)
			continue
		}
		i++
	}
}

func (j *jobs) get(id string) (Job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.byID[id]
	if !ok {
		return Job{}, false
	}
	return *job, true
}

func (j *jobs) list() []Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Job, 0, len(j.order))
	for i := len(j.order) - 1; i >= 0; i-- { // newest first
		out = append(out, *j.byID[j.order[i]])
	}
	return out
}

// stop cancels the running jobs and waits for them.
func (j *jobs) stop() {
	j.cancel()
	j.wg.Wait()
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// maintenance answers a maintenance POST: the report when it is done, or
// with ?async=true a 202 and the job.
func (s *Server) maintenance(c echo.Context, id catalog.Ident, action string, fn func(context.Context) (catalog.MaintenanceReport, error)) error {
	switch c.QueryParam("async") {
	case "", "false":
		rep, err := fn(c.Request().Context())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, rep)
	case "true":
		job := s.jobs.start(id.String(), action, fn)
		c.Response().Header().Set("Location", "/v1/maintenance/"+job.ID)
		return c.JSON(http.StatusAccepted, job)
	}
	return fmt.Errorf("%w: async is %q: want true or false", errBadRequest, c.QueryParam("async"))
}

// getJob is GET /v1/maintenance/{id}.
func (s *Server) getJob(c echo.Context) error {
	job, ok := s.jobs.get(c.Param("id"))
	if !ok {
		return fmt.Errorf("%w: %q", errNoSuchJob, c.Param("id"))
	}
	return c.JSON(http.StatusOK, job)
}

// listJobs is GET /v1/maintenance: the jobs kept, newest first.
func (s *Server) listJobs(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"jobs": s.jobs.list()})
}
