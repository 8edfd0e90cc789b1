// Package web is lakeflight's HTTP sidecar (echo): liveness, readiness and
// Prometheus metrics, POST /ingest (file uploads into tables), the
// /v1/tables/{ns}/{table}/… endpoints for snapshots, tags, branches,
// rollback and reads of rows and schema, the /transform routes, and
// /openapi.json describing them all. It sits beside flightsql at the top
// of the stack and talks to lower packages only through the small
// interfaces it declares here.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lakeflight/lakeflight/ingest"
)

// Pinger is a dependency whose reachability decides readiness.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Check is one named readiness check.
type Check struct {
	Name   string
	Pinger Pinger
}

// Options configure the sidecar.
type Options struct {
	Logger   *slog.Logger
	Gatherer prometheus.Gatherer
	Checks   []Check
	// CheckTimeout bounds each readiness check; default 2s.
	CheckTimeout time.Duration
	// Ingest commits uploads to POST /ingest; nil answers 501.
	Ingest Ingester
	// MaxIngestBytes bounds one upload's body; default 1 GiB.
	MaxIngestBytes int64
	// MaxIngestDecompressedBytes bounds what the compressed files of one
	// upload decompress to, together; default 64 × MaxIngestBytes.
	MaxIngestDecompressedBytes int64
	// MaxIngestRatio fails a compressed file that decompresses to more
	// than this many times its size (after its first ingest.RatioGrace
	// bytes); default ingest.DefaultMaxRatio, negative: no check.
	MaxIngestRatio float64
	// UploadIdleTimeout drops an upload that sends nothing for this long;
	// default 2 minutes.
	UploadIdleTimeout time.Duration
	// Snapshots serves the /v1/tables/{ns}/{table}/… snapshot endpoints;
	// nil answers 501.
	Snapshots Snapshotter
	// Transform runs dbt builds for the /transform routes; nil answers 501.
	Transform Transformer
	// Reader serves GET /v1/tables/{ns}/{table}/rows and …/schema; nil
	// answers 501.
	Reader Reader
	// Compactor serves POST /v1/tables/{ns}/{table}/compact; nil answers
	// 501.
	Compactor Compactor
	// MaxReadRows bounds ?limit= of a rows read; default DefaultMaxReadRows.
	MaxReadRows int64
	// Allocator allocates what the reads build (filter values, Arrow IPC
	// frames); default memory.DefaultAllocator.
	Allocator memory.Allocator
}

// Server is the HTTP sidecar.
type Server struct {
	jobs  *jobs // maintenance run with ?async=true (jobs.go)
	echo  *echo.Echo
	opts  Options
	ready atomic.Bool // false while starting and once stopping
	srv   *http.Server
}

// New builds the sidecar; it answers 503 on /ready until SetReady(true).
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 2 * time.Second
	}
	if opts.MaxIngestBytes <= 0 {
		opts.MaxIngestBytes = DefaultMaxIngestBytes
	}
	if opts.MaxIngestDecompressedBytes <= 0 {
		opts.MaxIngestDecompressedBytes = DefaultDecompressedFactor * opts.MaxIngestBytes
	}
	if opts.MaxIngestRatio == 0 {
		opts.MaxIngestRatio = ingest.DefaultMaxRatio
	}
	if opts.UploadIdleTimeout <= 0 {
		opts.UploadIdleTimeout = DefaultUploadIdle
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{echo: e, opts: opts, jobs: newJobs()}
	e.HTTPErrorHandler = s.handleError
	e.GET("/health", s.health)
	e.GET("/ready", s.readiness)
	e.POST("/ingest", s.ingestUpload)
	e.POST("/transform", s.startTransform)
	e.GET("/transform", s.listTransforms)
	e.GET("/transform/:id", s.getTransform)
	e.DELETE("/transform/:id", s.cancelTransform)
	tables := e.Group("/v1/tables/:ns/:table")
	tables.GET("/snapshots", s.listSnapshots)
	tables.GET("/history", s.listHistory)
	tables.GET("/refs", s.listRefs)
	tables.DELETE("/refs/:name", s.dropRef)
	tables.POST("/tags", s.createTag)
	tables.POST("/branches", s.createBranch)
	tables.POST("/rollback", s.rollback)
	tables.POST("/expire-snapshots", s.expireSnapshots)
	tables.POST("/remove-orphan-files", s.removeOrphanFiles)
	tables.POST("/compact", s.compact)
	tables.POST("/rewrite-manifests", s.rewriteManifests)
	e.GET("/v1/maintenance", s.listJobs)
	e.GET("/v1/maintenance/:id", s.getJob)
	tables.GET("/rows", s.tableRows)
	tables.GET("/schema", s.tableSchema)
	// The same reads by qualified name, as the brief spells them.
	e.GET("/query/:qualified", s.tableRows)
	e.GET("/schema/:qualified", s.tableSchema)
	e.GET("/openapi.json", s.openAPI)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})))
	s.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Handler exposes the routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// SetReady flips readiness: true once serving, false when shutdown begins.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Serve answers HTTP on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown drains in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.SetReady(false)
	err := s.srv.Shutdown(ctx)
	s.jobs.stop() // maintenance jobs still running are cancelled
	return err
}
