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

	"github.com/lakeflight/lakeflight/auth"
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
	// Registerer, when set, takes the sidecar's own metrics (requests by
	// route and status, lakeflight_ready); usually the registry Gatherer
	// serves.
	Registerer prometheus.Registerer
	Checks     []Check
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
	// Tokens manages API tokens at run time (/v1/auth/api-tokens); nil
	// answers 501.
	Tokens TokenManager
	// Compactor serves POST /v1/tables/{ns}/{table}/compact; nil answers
	// 501.
	Compactor Compactor
	// MaxReadRows bounds ?limit= of a rows read; default DefaultMaxReadRows.
	MaxReadRows int64
	// Allocator allocates what the reads build (filter values, Arrow IPC
	// frames); default memory.DefaultAllocator.
	Allocator memory.Allocator
	// Auth, when set, authenticates every route but /health and /ready
	// (auth.go); nil serves anyone.
	Auth *auth.Authenticator
}

// Server is the HTTP sidecar.
type Server struct {
	jobs    *jobs // maintenance run with ?async=true (jobs.go)
	echo    *echo.Echo
	metrics *httpMetrics // nil without a Registerer
	opts    Options
	ready   atomic.Bool // false while starting and once stopping
	srv     *http.Server
}

// New builds the sidecar; it answers 503 on /ready until SetReady(true).
// It panics if opts.Registerer already holds metrics of the same names.
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
	if opts.Registerer != nil {
		if err := s.register(opts.Registerer); err != nil {
			panic(err)
		}
		e.Use(s.count)
	}
	reader, writer, admin := s.need(auth.Reader), s.need(auth.Writer), s.need(auth.Admin)
	e.GET("/health", s.health)
	e.GET("/ready", s.readiness)
	e.POST("/v1/auth/token", s.issueToken, reader)
	e.POST("/v1/auth/api-tokens", s.createAPIToken, admin)
	e.GET("/v1/auth/api-tokens", s.listAPITokens, admin)
	e.DELETE("/v1/auth/api-tokens/:name", s.revokeAPIToken, admin)
	e.POST("/ingest", s.ingestUpload, writer)
	e.POST("/transform", s.startTransform, admin)
	e.GET("/transform", s.listTransforms, reader)
	e.GET("/transform/:id", s.getTransform, reader)
	e.DELETE("/transform/:id", s.cancelTransform, admin)
	tables := e.Group("/v1/tables/:ns/:table")
	tables.GET("/snapshots", s.listSnapshots, reader)
	tables.GET("/history", s.listHistory, reader)
	tables.GET("/refs", s.listRefs, reader)
	tables.DELETE("/refs/:name", s.dropRef, writer)
	tables.POST("/tags", s.createTag, writer)
	tables.POST("/branches", s.createBranch, writer)
	tables.POST("/rollback", s.rollback, writer)
	tables.POST("/expire-snapshots", s.expireSnapshots, admin)
	tables.POST("/remove-orphan-files", s.removeOrphanFiles, admin)
	tables.POST("/compact", s.compact, admin)
	tables.POST("/rewrite-manifests", s.rewriteManifests, admin)
	e.GET("/v1/maintenance", s.listJobs, admin)
	e.GET("/v1/maintenance/:id", s.getJob, admin)
	tables.GET("/rows", s.tableRows, reader)
	tables.GET("/schema", s.tableSchema, reader)
	// The same reads by qualified name, as the brief spells them.
	e.GET("/query/:qualified", s.tableRows, reader)
	e.GET("/schema/:qualified", s.tableSchema, reader)
	e.GET("/openapi.json", s.openAPI, reader)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})), reader)
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
