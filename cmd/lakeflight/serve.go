package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/flightsql"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/internal/transform"
	"github.com/lakeflight/lakeflight/web"
)

// layers are the namespaces every lakehouse starts with.
var layers = []string{"bronze", "silver", "gold"}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := newLogger(cfg, stderr)
	served := make(chan struct{})
	defer close(served)
	go watchShutdown(ctx, served, shutdownBound(cfg.ShutdownTimeout), log, os.Exit)
	return serve(ctx, cfg, log, nil)
}

// shutdownBound is how long an ordered stop may take in all: Flight calls
// and the HTTP drain get a shutdown timeout each, closing gets a grace.
func shutdownBound(timeout time.Duration) time.Duration { return 2*timeout + 10*time.Second }

// watchShutdown makes a stop always end: once ctx is done (SIGTERM), it
// waits bound for served to close and otherwise exits the process with
// status 3. A statement DuckDB cannot interrupt, or a stuck close, must not
// keep the process alive after it was told to stop.
func watchShutdown(ctx context.Context, served <-chan struct{}, bound time.Duration, log *slog.Logger, exit func(int)) {
	select {
	case <-served:
		return
	case <-ctx.Done():
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-served:
	case <-t.C:
		log.Error("stopping took longer than its bound: exiting without finishing (a statement DuckDB cannot interrupt may be running)",
			"bound", bound)
		exit(3)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// listening reports the bound addresses once both listeners are up; tests
// pass it to learn ports chosen for ":0".
type listening func(flightAddr, httpAddr string)

// serve runs the server until ctx ends, then shuts down in order: not ready,
// stop Flight (bounded), drain HTTP, close DuckDB, close the catalog.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, onListen listening) error {
	started := time.Now()
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("resolving data dir: %w", err)
	}
	cfg.DataDir = dataDir
	var objWH *objectWarehouse
	warehouse, engineDir := cfg.Catalog.Warehouse, ""
	if cfg.S3Warehouse() {
		// The bucket holds the table files; DuckDB reads local copies.
		if objWH, err = openObjectWarehouse(ctx, cfg); err != nil {
			return err
		}
		engineDir = objWH.files.Dir()
	} else {
		if warehouse, err = filepath.Abs(cfg.WarehouseDir()); err != nil {
			return fmt.Errorf("resolving warehouse: %w", err)
		}
		engineDir = warehouse
	}
	for _, dir := range []string{dataDir, engineDir, cfg.TempDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lakeflight_build_info",
		Help: "Build of the running lakeflight: version, commit and Go version; always 1.",
	}, []string{"version", "commit", "goversion"})
	buildInfo.WithLabelValues(version, commit, runtime.Version()).Set(1)
	reg.MustRegister(buildInfo)
	objWH.register(reg)

	authn, err := openAuth(cfg)
	if err != nil {
		return err
	}
	// Fail closed: without authentication only loopback addresses are
	// served unless the operator says otherwise.
	if exposed := cfg.Exposed(); len(exposed) > 0 && authn == nil {
		if !cfg.Insecure {
			return fmt.Errorf("refusing to listen on %s: not a loopback address, and no users are configured (auth.users), "+
				"so anyone who reaches it could read and change every table; configure users, listen on 127.0.0.1, or pass --insecure "+
				"(LAKEFLIGHT_INSECURE=true) to serve it anyway behind a network or proxy you trust", strings.Join(exposed, " and "))
		}
		log.Warn("serving without authentication on a non-loopback address (--insecure): anyone who reaches it can read and change every table",
			"addresses", strings.Join(exposed, ", "))
	}

	tlsSrv, err := openTLS(cfg, log)
	if err != nil {
		return err
	}

	// Listeners first: a port clash should fail before anything is opened.
	flightLn, err := net.Listen("tcp", cfg.FlightAddr)
	if err != nil {
		return fmt.Errorf("listening for Flight SQL on %s: %w", cfg.FlightAddr, err)
	}
	defer func() { _ = flightLn.Close() }() // already closed by gRPC on a clean stop
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening for HTTP on %s: %w", cfg.HTTPAddr, err)
	}
	defer func() { _ = httpLn.Close() }() // already closed by net/http on a clean stop
	if tlsSrv != nil {
		httpLn = tls.NewListener(httpLn, tlsSrv.httpConfig())
	}

	// The sidecar answers /health at once and /ready 503 while starting.
	var cat *catalog.Catalog
	var eng *engine.Engine
	checks := []web.Check{
		{Name: "catalog", Pinger: pingerFunc(func(ctx context.Context) error { return cat.Ping(ctx) })},
		{Name: "duckdb", Pinger: pingerFunc(func(ctx context.Context) error { return eng.Ping(ctx) })},
	}
	if objWH != nil {
		checks = append(checks, web.Check{Name: "object store", Pinger: pingerFunc(objWH.store.Check)})
	}
	// POST /ingest answers 503 until the writer exists (after the catalog),
	// the snapshot endpoints until the catalog is open.
	var ingestLate atomic.Pointer[ingest.Writer]
	lateIngest := lateWriter{&ingestLate}
	var catalogLate atomic.Pointer[catalog.Catalog]
	// /transform answers 503 until the server is ready (dbt connects to it).
	var transformLate atomic.Pointer[transform.Runner]
	var transformOff atomic.Bool
	var readsLate atomic.Pointer[tableReader] // the REST reads: 503 until the engine is open
	httpSrv := web.New(web.Options{Logger: log.With("component", "web"), Gatherer: reg, Registerer: reg, Checks: checks,
		Ingest: lateIngest, MaxIngestBytes: int64(cfg.MaxIngestBytes),
		MaxIngestDecompressedBytes: int64(cfg.IngestDecompressedLimit()), MaxIngestRatio: ingestRatio(cfg.MaxIngestRatio), Snapshots: lateCatalog{&catalogLate},
		Transform: lateTransform{&transformLate, &transformOff}, Reader: lateReads{&readsLate}, Compactor: lateReads{&readsLate}, MaxReadRows: int64(cfg.MaxReadRows),
		Auth: authn, Tokens: tokensFor(authn, &catalogLate, cfg.Auth.APITokens)})
	httpErr := make(chan error, 1)
	go func() { httpErr <- httpSrv.Serve(httpLn) }()

	cat, err = catalog.Open(ctx, catalog.Config{
		Name:      cfg.Catalog.Name,
		Driver:    cfg.Catalog.Driver,
		URI:       cfg.CatalogURI(),
		Warehouse: warehouse,
		Props:     objWH.ioProps(),
		REST: catalog.RESTConfig{Token: cfg.Catalog.REST.Token, Credential: cfg.Catalog.REST.Credential,
			Scope: cfg.Catalog.REST.Scope, Warehouse: cfg.Catalog.REST.Warehouse, Prefix: cfg.Catalog.REST.Prefix,
			SigV4: cfg.Catalog.REST.SigV4, SigningRegion: cfg.Catalog.REST.SigningRegion, SigningName: cfg.Catalog.REST.SigningName},
		Glue: catalog.GlueConfig{Region: cmp.Or(cfg.Catalog.Glue.Region, cfg.S3.Region), CatalogID: cfg.Catalog.Glue.CatalogID},
	}, log.With("component", "catalog"))
	if err != nil {
		return shutdownHTTP(httpSrv, fmt.Errorf("opening catalog: %w", err))
	}
	defer closeLogged(log, "catalog", cat)
	for _, ns := range layers {
		if err := cat.EnsureNamespace(ctx, ns); err != nil {
			return shutdownHTTP(httpSrv, fmt.Errorf("creating namespace %s: %w", ns, err))
		}
	}
	// Tables whose creating write died with its process (kill -9 during an
	// ingest into a new table) go before anything can see them.
	if dropped, err := cat.SweepPending(ctx); err != nil {
		log.Warn("sweeping the tables of writes that never committed", "err", err, "dropped", len(dropped))
	}
	if authn != nil {
		authn.SetTokenStore(catalogTokens{cat}) // API tokens made at run time
	}
	catalogLate.Store(cat)
	cacheRole := "warehouse"
	if objWH != nil {
		cacheRole = "object cache"
	}
	reg.MustRegister(newTableCollector(cat, log.With("component", "metrics")),
		newDiskCollector([2]string{"data", dataDir}, [2]string{"temp", cfg.TempDir()}, [2]string{cacheRole, engineDir}))

	eng, err = engine.Open(ctx, engine.Config{
		Warehouse:     engineDir,
		Files:         objWH.localizer(),
		CatalogName:   cfg.Catalog.Name,
		MemoryLimit:   cfg.DuckDB.MemoryLimit,
		Threads:       cfg.DuckDB.Threads,
		TempDirectory: cfg.TempDir(),
		BatchRows:     cfg.DuckDB.BatchRows,
		MaxSQLBytes:   int(cfg.MaxSQLBytes),

		MaxSetOperations: cfg.MaxSQLSetOperations,
		MaxConditions:    cfg.MaxSQLConditions,
		MaxResultColumns: cfg.MaxResultColumns,
	}, cat, log.With("component", "engine"))
	if err != nil {
		return shutdownHTTP(httpSrv, fmt.Errorf("starting DuckDB: %w", err))
	}
	defer closeLogged(log, "duckdb", eng)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lakeflight_scan_prunings_total",
			Help: "Table references a query's WHERE pinned to fewer data files (partition values, column bounds)."},
			func() float64 { return float64(eng.Stats().Prunings) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lakeflight_scan_pruned_files_total",
			Help: "Data files those references skipped."},
			func() float64 { return float64(eng.Stats().PrunedFiles) }))
	readsLate.Store(&tableReader{cat: cat, eng: eng})

	ingestWriter := ingest.NewWriter(cat, log.With("component", "ingest"), nil)
	if err := ingestWriter.Register(reg); err != nil {
		return shutdownHTTP(httpSrv, err)
	}
	ingestWriter.OnCommit(eng.Notice) // a table ingest creates is queryable, and listed, at once
	ingestLate.Store(ingestWriter)
	fsrv, err := flightsql.New(flightsql.Options{
		Auth:        authn,
		Engine:      eng,
		Ingest:      ingestWriter,
		Logger:      log.With("component", "flightsql"),
		Registerer:  reg,
		Allocator:   mallocator.NewMallocator(), // C memory: no GC pressure from 64K-row batches
		Version:     version,
		MaxSessions: cfg.MaxSessions,

		MaxRowBytes:        int64(cfg.MaxResultRowBytes),
		SessionIdleTimeout: cfg.SessionIdleTimeout,
		MaxIngestBytes:     int64(cfg.IngestDecompressedLimit()),

		MaxHeavyQueries:       cfg.MaxHeavyQueries,
		MaxQueuedHeavyQueries: cfg.MaxQueuedHeavyQueries,
		HeavyQueryThreshold:   cfg.HeavyQueryThreshold,
		QueryTimeout:          cfg.QueryTimeout,
		MaxQueries:            cfg.MaxQueries,
		MaxQueuedQueries:      cfg.MaxQueuedQueries,
	})
	if err != nil {
		return shutdownHTTP(httpSrv, fmt.Errorf("building Flight SQL server: %w", err))
	}
	defer closeLogged(log, "flight sql sessions", fsrv)
	grpcOpts := fsrv.ServerOptions()
	if tlsSrv != nil {
		grpcOpts = append(grpcOpts, grpc.Creds(credentials.NewTLS(tlsSrv.srv.Config)))
	}
	grpcSrv := grpc.NewServer(grpcOpts...)
	fsrv.Register(grpcSrv)
	grpcErr := make(chan error, 1)
	go func() { grpcErr <- grpcSrv.Serve(flightLn) }()

	runner, err := openTransform(cfg, dataDir, flightLn.Addr().String(), tlsSrv, cat, authn, reg, log.With("component", "transform"))
	if err != nil {
		grpcSrv.Stop()
		return shutdownHTTP(httpSrv, fmt.Errorf("transforms: %w", err))
	}
	if runner != nil {
		transformLate.Store(runner)
	} else {
		transformOff.Store(true)
	}

	httpSrv.SetReady(true)
	log.Info("lakeflight ready",
		"flight", flightLn.Addr().String(), "http", httpLn.Addr().String(), "tls", tlsSrv.describe(),
		"data_dir", dataDir, "version", version, "startup", time.Since(started).Round(time.Millisecond))
	if onListen != nil {
		onListen(flightLn.Addr().String(), httpLn.Addr().String())
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	case err := <-grpcErr:
		runErr = fmt.Errorf("flight sql server stopped: %w", err)
	case err := <-httpErr:
		runErr = fmt.Errorf("http server stopped: %w", err)
	}

	httpSrv.SetReady(false)
	if runner != nil {
		// Before the Flight server stops: a running dbt is canceled while
		// its statements can still be interrupted.
		closeLogged(log, "transforms", runner)
	}
	stopGRPC(grpcSrv, cfg.ShutdownTimeout, log)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http drain incomplete", "err", err)
	}
	// Deferred: flight sessions, DuckDB, then the catalog close in that order.
	log.Info("stopped")
	return runErr
}

// stopGRPC lets in-flight calls finish for up to timeout, then cuts them.
func stopGRPC(s *grpc.Server, timeout time.Duration, log *slog.Logger) {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		log.Warn("graceful stop timed out; cancelling remaining streams", "timeout", timeout)
		s.Stop()
		<-done
	}
}

func shutdownHTTP(s *web.Server, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
	return err
}

type pingerFunc func(ctx context.Context) error

func (f pingerFunc) Ping(ctx context.Context) error { return f(ctx) }

// closeLogged closes c at shutdown; a failure is worth a log line, not a
// different exit status.
func closeLogged(log *slog.Logger, what string, c io.Closer) {
	if err := c.Close(); err != nil {
		log.Warn("closing "+what+" failed", "err", err)
	}
}

// lateWriter is the sidecar's ingester before and after the catalog opens:
// 503 "starting" until the writer exists.
type lateWriter struct {
	w *atomic.Pointer[ingest.Writer]
}

func (l lateWriter) Write(ctx context.Context, req ingest.Request) (ingest.Result, error) {
	w := l.w.Load()
	if w == nil {
		return ingest.Result{}, web.ErrStarting
	}
	return w.Write(ctx, req)
}

func (l lateWriter) TableTypes(ctx context.Context, id catalog.Ident) map[string]arrow.DataType {
	if w := l.w.Load(); w != nil {
		return w.TableTypes(ctx, id)
	}
	return nil
}

// lateCatalog is the sidecar's Snapshotter before and after the catalog
// opens: 503 "starting" until it is open.
type lateCatalog struct {
	c *atomic.Pointer[catalog.Catalog]
}

var _ web.Snapshotter = lateCatalog{}

func (l lateCatalog) get() (*catalog.Catalog, error) {
	if c := l.c.Load(); c != nil {
		return c, nil
	}
	return nil, web.ErrStarting
}

func (l lateCatalog) Snapshots(ctx context.Context, id catalog.Ident) ([]catalog.Snapshot, error) {
	c, err := l.get()
	if err != nil {
		return nil, err
	}
	return c.Snapshots(ctx, id)
}

func (l lateCatalog) History(ctx context.Context, id catalog.Ident) ([]catalog.HistoryEntry, error) {
	c, err := l.get()
	if err != nil {
		return nil, err
	}
	return c.History(ctx, id)
}

func (l lateCatalog) Refs(ctx context.Context, id catalog.Ident) ([]catalog.Ref, error) {
	c, err := l.get()
	if err != nil {
		return nil, err
	}
	return c.Refs(ctx, id)
}

func (l lateCatalog) CreateTag(ctx context.Context, id catalog.Ident, name string, snapshotID int64) (int64, error) {
	c, err := l.get()
	if err != nil {
		return 0, err
	}
	return c.CreateTag(ctx, id, name, snapshotID)
}

func (l lateCatalog) CreateBranch(ctx context.Context, id catalog.Ident, name string, snapshotID int64) (int64, error) {
	c, err := l.get()
	if err != nil {
		return 0, err
	}
	return c.CreateBranch(ctx, id, name, snapshotID)
}

func (l lateCatalog) ExpireSnapshots(ctx context.Context, id catalog.Ident, o catalog.ExpireOptions) (catalog.MaintenanceReport, error) {
	c, err := l.get()
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	return c.ExpireSnapshots(ctx, id, o)
}

func (l lateCatalog) RemoveOrphanFiles(ctx context.Context, id catalog.Ident, olderThan time.Duration, dryRun bool) (catalog.MaintenanceReport, error) {
	c, err := l.get()
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	return c.RemoveOrphanFiles(ctx, id, olderThan, dryRun)
}

func (l lateCatalog) RewriteManifests(ctx context.Context, id catalog.Ident) (catalog.MaintenanceReport, error) {
	c, err := l.get()
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	return c.RewriteManifests(ctx, id)
}

func (l lateCatalog) DropRef(ctx context.Context, id catalog.Ident, name string) error {
	c, err := l.get()
	if err != nil {
		return err
	}
	return c.DropRef(ctx, id, name)
}

func (l lateCatalog) Rollback(ctx context.Context, id catalog.Ident, snapshotID int64) error {
	c, err := l.get()
	if err != nil {
		return err
	}
	return c.Rollback(ctx, id, snapshotID)
}

// ingestRatio turns the configured ratio (0: off) into web.Options'
// (negative: off).
func ingestRatio(n int) float64 {
	if n == 0 {
		return -1
	}
	return float64(n)
}
