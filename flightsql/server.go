//go:build duckdb_arrow

// Package flightsql is lakeflight's protocol boundary: an Arrow Flight SQL
// server (arrow-go's flightsql.BaseServer) in front of the engine. It turns
// Flight SQL commands into engine sessions, prepared statements and Arrow
// streams, keeps per-client state (sessions, tickets, prepared statements)
// behind opaque random handles, answers the metadata calls BI tools and
// drivers make at connect time, and maps domain errors to gRPC codes in one
// place (errors.go). It knows nothing of DuckDB beyond the SQL it sends for
// metadata; the engine owns execution, the sandbox and Iceberg.
//
// cmd/lakeflight owns the grpc.Server: it creates it with ServerOptions(),
// calls Register, serves, and on shutdown stops gRPC (with a deadline)
// before Server.Close.
package flightsql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// Options configure a Server. Engine is required; the rest have defaults.
type Options struct {
	Engine     *engine.Engine
	Logger     *slog.Logger          // default: discard
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	Allocator  memory.Allocator      // default: memory.DefaultAllocator
	Version    string                // reported as FLIGHT_SQL_SERVER_VERSION

	// IcebergCatalog is the DuckDB catalog holding the Iceberg views
	// (engine.Config.CatalogName); its views are listed as tables.
	// Default: the engine's.
	IcebergCatalog string
	// SessionIdleTimeout closes prepared statements unused this long, and
	// sessions that no open connection uses once unused this long (an open
	// connection keeps its sessions however idle). Default 30 minutes.
	SessionIdleTimeout time.Duration
	// MaxSessions bounds the open sessions; a connection that would open
	// one more is refused with ResourceExhausted. Default 2048.
	MaxSessions int
	// TicketTTL is how long a ticket from GetFlightInfo stays valid.
	// Default 5 minutes.
	TicketTTL time.Duration
	// MaxBatchBytes caps the Arrow buffer bytes of one streamed batch;
	// bigger engine batches are sliced. Default 3 MiB, under grpc-go's
	// 4 MiB default receive limit.
	MaxBatchBytes int64
	// MaxRowBytes caps one result row as sent (its Arrow message body): a
	// bigger row cannot be sliced into a message clients accept, and is
	// refused with ResourceExhausted. Default 16 MiB, the receive limit of
	// the ADBC and Go Flight SQL drivers.
	MaxRowBytes int64
	// Auth, when set, authenticates every call (auth.go); nil serves
	// anyone.
	Auth *auth.Authenticator
	// Ingest commits bulk ingests (DoPut CommandStatementIngest); nil
	// answers them Unimplemented.
	Ingest *ingest.Writer
	// MaxIngestBytes caps the Arrow bytes of one bulk ingest stream
	// (DoPut), all its batches together. Default 64 GiB.
	MaxIngestBytes int64
	// MaxRecvBytes caps one incoming gRPC message (an ingest batch, bound
	// parameters). Default 256 MiB.
	MaxRecvBytes int
	// MaxHeavyQueries bounds the heavy queries (admission.go) streaming at
	// once; 0 (the default) means no bound.
	MaxHeavyQueries int
	// MaxQueuedHeavyQueries bounds the heavy queries waiting for a slot;
	// one more is refused with ResourceExhausted. Default 64.
	MaxQueuedHeavyQueries int
	// HeavyQueryThreshold: a query whose SQL text last ran at least this
	// long is heavy. Default 500 ms.
	HeavyQueryThreshold time.Duration
	// QueryTimeout bounds a query's run, from its DoGet to its last batch
	// (waiting for a heavy-query turn included): DuckDB is interrupted and
	// the client gets DEADLINE_EXCEEDED. Writes are not bounded by it. 0:
	// no bound.
	QueryTimeout time.Duration
	// MaxQueries bounds the queries streaming at once (DoGet to the last
	// batch); more wait in line, up to MaxQueuedQueries, and past that
	// are refused with ResourceExhausted. 0: no bound.
	MaxQueries       int
	MaxQueuedQueries int
}

// Defaults of Options.
const (
	// DefaultMaxQueuedQueries: queries waiting for a slot under MaxQueries.
	DefaultMaxQueuedQueries = 256
	DefaultMaxSessions      = 2048
	DefaultMaxRowBytes      = 16 << 20
	// DefaultMaxIngestBytes is lakeflight serve's default
	// --max-ingest-decompressed-bytes (64 × 1 GiB).
	DefaultMaxIngestBytes = 64 << 30
	// DefaultMaxQueuedHeavyQueries and DefaultHeavyQueryThreshold: see
	// Options.
	DefaultMaxQueuedHeavyQueries = 64
	DefaultHeavyQueryThreshold   = 500 * time.Millisecond
)

// Server is the Flight SQL service. Create it with New, put it on a
// grpc.Server built with ServerOptions via Register, and Close it after the
// grpc.Server has stopped.
type Server struct {
	afsql.BaseServer

	q       querier
	log     *slog.Logger
	mem     memory.Allocator
	metrics *metrics
	opts    Options
	ingest  ingester
	// icebergCatalog is where ingests go (Options.IcebergCatalog).
	icebergCatalog string

	sessions *sessionStore
	handles  *handleTable
	gate     *admission  // nil: no heavy-query gate
	limit    *queryLimit // nil: no bound on queries at once

	streams   sync.WaitGroup // producer goroutines
	stop      chan struct{}
	reaper    sync.WaitGroup
	closeOnce sync.Once
}

var _ afsql.Server = (*Server)(nil)

// New builds a Server over the engine. It opens one engine session briefly
// to read DuckDB's keywords and function lists for GetSqlInfo.
func New(opts Options) (*Server, error) {
	if opts.Engine == nil {
		return nil, errors.New("flightsql: Options.Engine is required")
	}
	if opts.IcebergCatalog == "" {
		opts.IcebergCatalog = opts.Engine.CatalogName()
	}
	return newServer(engineQuerier{opts.Engine}, opts)
}

func newServer(q querier, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	if opts.IcebergCatalog == "" {
		opts.IcebergCatalog = "lakehouse"
	}
	if opts.SessionIdleTimeout <= 0 {
		opts.SessionIdleTimeout = 30 * time.Minute
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.TicketTTL <= 0 {
		opts.TicketTTL = 5 * time.Minute
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = 3 << 20
	}
	if opts.MaxIngestBytes <= 0 {
		opts.MaxIngestBytes = DefaultMaxIngestBytes
	}
	if opts.MaxRowBytes <= 0 {
		opts.MaxRowBytes = DefaultMaxRowBytes
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.MaxRecvBytes <= 0 {
		opts.MaxRecvBytes = 256 << 20
	}
	if opts.MaxQueuedHeavyQueries <= 0 {
		opts.MaxQueuedHeavyQueries = DefaultMaxQueuedHeavyQueries
	}
	if opts.HeavyQueryThreshold <= 0 {
		opts.HeavyQueryThreshold = DefaultHeavyQueryThreshold
	}
	if opts.MaxQueuedQueries <= 0 {
		opts.MaxQueuedQueries = DefaultMaxQueuedQueries
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		q:       q,
		log:     opts.Logger,
		mem:     opts.Allocator,
		metrics: m,
		opts:    opts,
		stop:    make(chan struct{}),
		gate:    newAdmission(opts.MaxHeavyQueries, opts.MaxQueuedHeavyQueries, opts.HeavyQueryThreshold),
		limit:   newQueryLimit(opts.MaxQueries, opts.MaxQueuedQueries, "queries", "--max-queries, --max-queued-queries"),

		icebergCatalog: opts.IcebergCatalog,
	}
	if opts.Ingest != nil {
		s.ingest = opts.Ingest
	}
	s.Alloc = opts.Allocator
	s.sessions = newSessionStore(q, s.log, m, opts.SessionIdleTimeout, opts.MaxSessions)
	s.handles = newHandleTable(opts.TicketTTL, opts.SessionIdleTimeout)
	s.sessions.onClose = s.handles.releaseSession

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.registerSqlInfo(ctx); err != nil {
		return nil, fmt.Errorf("flightsql: registering sql info: %w", err)
	}

	s.reaper.Add(1)
	go s.reap()
	return s, nil
}

// ServerOptions returns what the grpc.Server must be built with: the
// stats handler that tags connections (session_calls.go), then metrics and
// panic recovery, each call's session, and the stream batch guard.
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(s.opts.MaxRecvBytes),
		grpc.StatsHandler(connTracker{s.sessions}),
		grpc.ChainUnaryInterceptor(s.metrics.unary(s.log), s.authUnary, s.sessionUnary),
		grpc.ChainStreamInterceptor(s.metrics.stream(s.log), s.authStream, s.sessionStream, guardStream),
	}
}

// Register puts the Flight service on gs (built with ServerOptions).
func (s *Server) Register(gs *grpc.Server) {
	flight.RegisterFlightServiceServer(gs, afsql.NewFlightServerWithAllocator(s, s.mem))
}

// Close interrupts running streams, waits for them, then releases every
// handle and closes every session. Call it after the grpc.Server stopped.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.reaper.Wait()
		s.handles.cancelAll()
		s.streams.Wait()
		s.handles.releaseAll()
		s.sessions.closeAll()
	})
	return nil
}

// reap expires idle handles and sessions.
func (s *Server) reap() {
	defer s.reaper.Done()
	every := min(s.opts.SessionIdleTimeout, s.opts.TicketTTL) / 4
	every = max(every, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.handles.expire(now)
			s.sessions.expire(now)
		}
	}
}
