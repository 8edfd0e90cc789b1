//go:build duckdb_arrow

// Package engine runs SQL on an embedded DuckDB. Iceberg tables from the
// catalog appear as <catalog>.<namespace>.<table> views over read_parquet of
// the current snapshot's data files (columns mapped by Iceberg field id).
// Queries read pinned views of one snapshot each (time travel included);
// SQL writes to Iceberg tables run in DuckDB against a TEMP stand-in and
// commit one snapshot through the catalog. Results leave as large,
// coalesced Arrow record batches, streamed while DuckDB is still executing.
// engine sits between flightsql/web (above) and catalog (below); it knows
// nothing of Flight or HTTP.
//
// It has three parts, each with the catalog role it needs (engine.go):
//
//   - the DuckDB runtime: engine.go (Open, Config, the DuckDB instance and
//     its sandbox), session.go (one DuckDB connection per client session,
//     scripts, transactions), statement.go (prepare, schema, exec),
//     stream.go (the streaming, coalescing reader), params.go (Arrow
//     parameters → DuckDB bindings), policy.go (which client statements are
//     allowed), listing.go (catalogs, schemas, tables and their columns for
//     metadata calls), errors.go (sentinels), duck.go (C API helpers);
//   - snapshot pinning (TableSource, TimeTravel, Metadata): tables.go,
//     views.go and binds.go (binding Iceberg tables, noticing commits,
//     outside the engine's lock), rewrite.go, pins.go and asof.go (pinning
//     and time travel, the as-of guard), metatables.go (iceberg_snapshots
//     and friends);
//   - the Iceberg write engine (TableWriter, SnapshotManager):
//     write_parse.go, write_exec.go, write_changes.go, write_prefilter.go,
//     write_cow.go, write_ddl.go and write_schema.go (SQL writes, DDL,
//     schemas), procedures.go (CALL iceberg_rollback_to_snapshot and
//     friends).
//
// The SQL text itself (tokens, statements, classification, references)
// is internal/sqltext's.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/catalog"
)

// Config configures one Engine (one DuckDB database).
type Config struct {
	Warehouse string // absolute local dir: the only place client SQL may read (the cache's, with Files)
	// Files, for an object-store warehouse, makes its files local (the
	// cache); nil: the warehouse is the local directory Warehouse.
	Files         Localizer
	CatalogName   string // DuckDB catalog holding the Iceberg views, default "lakehouse"
	MemoryLimit   string // DuckDB memory_limit, "" = DuckDB default
	Threads       int    // DuckDB threads, 0 = DuckDB default
	TempDirectory string // DuckDB temp_directory, "" = DuckDB default
	BatchRows     int    // target rows per outgoing Arrow batch, default 65536
	MaxSQLBytes   int    // longest SQL text a client may send, default 1 MiB
	// MaxSetOperations bounds UNION/INTERSECT/EXCEPT in one statement and
	// MaxConditions its AND/OR terms: DuckDB's time on both grows with the
	// square of their count and cannot be interrupted (policy.go).
	MaxSetOperations int // default 1,000
	MaxConditions    int // default 20,000
	// MaxResultColumns bounds the columns of a statement's result, default
	// 10,000 (as for a table).
	MaxResultColumns int
}

// DefaultBatchRows is the default Config.BatchRows.
const DefaultBatchRows = 65536

// Defaults of the Config limits.
const (
	DefaultMaxSQLBytes      = 1 << 20
	DefaultMaxSetOperations = 1000
	DefaultMaxConditions    = 20000
	DefaultMaxResultColumns = 10000
)

// baseSchemas always exist in the lakehouse catalog, tables or not.
var baseSchemas = []string{"bronze", "silver", "gold"}

// The engine's needs of the catalog are small interfaces, one per role,
// each beside the part of the engine that uses it: TableSource (binding
// and pinning tables), TimeTravel (asof.go), Metadata (metatables.go),
// TableWriter (write_exec.go) and SnapshotManager (procedures.go). Open
// takes a TableSource and uses whichever other roles it also has; a part
// whose role is missing refuses its statements. *catalog.Catalog has them
// all.

// TableSource lists tables and reads their states: all binding and
// pinning needs (views.go, binds.go, pins.go, tables.go).
type TableSource interface {
	ListTables(ctx context.Context) ([]catalog.Ident, error)
	TableState(ctx context.Context, id catalog.Ident) (*catalog.TableState, error)
	MetadataLocation(ctx context.Context, id catalog.Ident) (string, error)
	TableStateAt(ctx context.Context, id catalog.Ident, snapshotID int64) (*catalog.TableState, error)
}

// Localizer makes the files of an object-store warehouse local for DuckDB
// (objstore.Files).
type Localizer interface {
	// Acquire returns local paths of the files at locations, held until
	// release is called.
	Acquire(ctx context.Context, locations []string, sizes []int64) (paths []string, release func(), err error)
	// PathSQL turns the location in the SQL expression col into the
	// local path of its copy.
	PathSQL(col string) string
}

// Tables is every role at once, as *catalog.Catalog has them.
type Tables interface {
	TableSource
	TimeTravel
	Metadata
	TableWriter
	SnapshotManager
	ViewSource
	ViewWriter
}

var _ Tables = (*catalog.Catalog)(nil)

// Engine owns the DuckDB database. It is safe for concurrent use; each
// client session gets its own connection through NewSession.
type Engine struct {
	cfg Config
	log *slog.Logger
	// The catalog, by role (nil: the engine has no Iceberg tables, or
	// refuses what the missing role would do).
	source TableSource
	travel TimeTravel
	meta   Metadata
	writer TableWriter
	snaps  SnapshotManager
	// Persistent views (storedviews.go, write_view.go); viewMu serialises
	// their binds.
	viewSrc    ViewSource
	viewWriter ViewWriter
	viewMu     sync.Mutex

	db bindings.Database

	// mu guards the fields below it, in short critical sections: catalog
	// I/O and view DDL run outside it, in flights (binds.go).
	mu        sync.Mutex
	admin     bindings.Connection // the engine's own connection: setup, schemas, Ping
	views     map[catalog.Ident]boundView
	stored    map[catalog.Ident]storedView // persistent views (storedviews.go)
	schema    map[string]bool              // schemas created in the lakehouse catalog
	dropEpoch uint64                       // moves when a lakehouse schema is dropped (with its views)
	closed    bool
	pins      map[string]*pin     // pinned snapshot and metadata views (pins.go)
	unpruned  map[string]scanNote // pruning keys whose filters skip no file, and why (prune.go)
	pinTick   uint64              // orders pin use, for eviction

	binding   map[catalog.Ident]*flight // the bind in progress per table
	pinning   map[string]*flight        // the pin creation or drop in progress per pin key
	flightSeq uint64                    // numbers flights in start order
	ddlConns  []bindings.Connection     // idle connections for flights' DDL
	flights   sync.WaitGroup            // flights in progress: Close waits for them

	open     map[*Session]struct{} // guarded by mu
	pool     []*dconn              // clean connections for new sessions; guarded by mu
	sessions sync.WaitGroup        // open connections besides admin
	stats    counters
	upkeep   *upkeeper     // automatic upkeep after commits (upkeep.go)
	gen      atomic.Uint64 // moves when names change (a table or view bound anew or dropped, a schema made): cached plans are stale
}

// counters are cheap running totals for Stats.
type counters struct {
	statements atomic.Int64
	rows       atomic.Int64
	batches    atomic.Int64
	rebinds    atomic.Int64
	sessions   atomic.Int64
	cacheHits  atomic.Int64
	running    atomic.Int64
	pruned     atomic.Int64
	prunings   atomic.Int64
}

// Stats is a snapshot of the engine's running totals.
type Stats struct {
	Statements   int64 // statements prepared
	CacheHits    int64 // of those, served from a connection's prepared-statement cache
	RowsStreamed int64 // rows sent through Query readers
	Batches      int64 // batches sent through Query readers
	Rebinds      int64 // Iceberg views (re)bound
	Sessions     int64 // sessions currently open
	Running      int64 // statements DuckDB is executing right now
	Tables       int   // Iceberg tables currently bound
	Prunings     int64 // table references pinned to fewer files by their query's filters (prune.go)
	PrunedFiles  int64 // data files those references skipped
}

// Open starts an in-memory DuckDB, binds every catalog table as a view and
// applies the sandbox (client SQL may read only inside cfg.Warehouse).
func Open(ctx context.Context, cfg Config, tables TableSource, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.CatalogName == "" {
		cfg.CatalogName = "lakehouse"
	}
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = DefaultBatchRows
	}
	if cfg.MaxSQLBytes <= 0 {
		cfg.MaxSQLBytes = DefaultMaxSQLBytes
	}
	if cfg.MaxSetOperations <= 0 {
		cfg.MaxSetOperations = DefaultMaxSetOperations
	}
	if cfg.MaxConditions <= 0 {
		cfg.MaxConditions = DefaultMaxConditions
	}
	if cfg.MaxResultColumns <= 0 {
		cfg.MaxResultColumns = DefaultMaxResultColumns
	}
	if cfg.Warehouse == "" || !filepath.IsAbs(cfg.Warehouse) {
		return nil, fmt.Errorf("opening engine: warehouse %q must be an absolute path", cfg.Warehouse)
	}
	cfg.Warehouse = filepath.Clean(cfg.Warehouse)
	if err := os.MkdirAll(cfg.Warehouse, 0o755); err != nil {
		return nil, fmt.Errorf("opening engine: %w", err)
	}

	var dbcfg bindings.Config
	if bindings.CreateConfig(&dbcfg) == bindings.StateError {
		return nil, fmt.Errorf("opening engine: duckdb config: %w", ErrInternal)
	}
	defer bindings.DestroyConfig(&dbcfg)
	settings := map[string]string{
		"autoinstall_known_extensions": "false",
		"autoload_known_extensions":    "false",
	}
	if cfg.MemoryLimit != "" {
		settings["memory_limit"] = cfg.MemoryLimit
	}
	if cfg.Threads > 0 {
		settings["threads"] = strconv.Itoa(cfg.Threads)
	}
	if cfg.TempDirectory != "" {
		settings["temp_directory"] = cfg.TempDirectory
	}
	for k, v := range settings {
		if bindings.SetConfig(dbcfg, k, v) == bindings.StateError {
			return nil, fmt.Errorf("opening engine: setting %s=%q: %w", k, v, ErrInvalidSQL)
		}
	}
	e := &Engine{
		cfg:      cfg,
		source:   tables,
		log:      log,
		views:    map[catalog.Ident]boundView{},
		stored:   map[catalog.Ident]storedView{},
		schema:   map[string]bool{},
		open:     map[*Session]struct{}{},
		pins:     map[string]*pin{},
		unpruned: map[string]scanNote{},

		binding: map[catalog.Ident]*flight{},
		pinning: map[string]*flight{},
	}
	if tables != nil { // the other roles, where the source has them
		e.travel, _ = tables.(TimeTravel)
		e.meta, _ = tables.(Metadata)
		e.writer, _ = tables.(TableWriter)
		e.snaps, _ = tables.(SnapshotManager)
		e.viewSrc, _ = tables.(ViewSource)
		e.viewWriter, _ = tables.(ViewWriter)
	}
	var msg string
	if bindings.OpenExt("", &e.db, dbcfg, &msg) == bindings.StateError {
		return nil, fmt.Errorf("opening duckdb: %s: %w", msg, ErrInternal)
	}
	if bindings.Connect(e.db, &e.admin) == bindings.StateError {
		bindings.Close(&e.db)
		return nil, fmt.Errorf("opening engine: connecting: %w", ErrInternal)
	}
	if err := e.setup(ctx); err != nil {
		e.flights.Wait()
		e.closeDB()
		return nil, err
	}
	e.upkeep = newUpkeeper()
	log.Info("engine open", "duckdb", bindings.LibraryVersion(), "warehouse", cfg.Warehouse,
		"catalog", cfg.CatalogName, "tables", len(e.views))
	return e, nil
}

// setup attaches the lakehouse catalog, binds the tables and locks the
// sandbox. Runs once, before any session exists.
func (e *Engine) setup(ctx context.Context) error {
	for _, db := range []string{e.cfg.CatalogName, PinCatalog} {
		if err := execSQL(e.admin, "ATTACH ':memory:' AS "+quoteIdent(db)); err != nil {
			return fmt.Errorf("attaching %s: %w", db, err)
		}
	}
	e.mu.Lock()
	for _, s := range baseSchemas {
		if err := e.ensureSchemaLocked(s); err != nil {
			e.mu.Unlock()
			return err
		}
	}
	e.mu.Unlock()
	if e.source != nil {
		if err := e.relistTables(ctx); err != nil {
			return err
		}
		if err := e.relistViews(ctx); err != nil { // after the tables they read
			return err
		}
	}
	if err := execSQL(e.admin, "USE "+quoteIdent(e.cfg.CatalogName)); err != nil {
		return fmt.Errorf("using %s: %w", e.cfg.CatalogName, err)
	}
	// The sandbox. Once external access is off DuckDB itself refuses to
	// turn it back on or to widen allowed_directories; client SET statements
	// are further limited to a few session settings by policy.go (DuckDB's
	// lock_configuration would also lock TimeZone, search_path and the like).
	for _, q := range []string{
		// Iceberg data files never change once written: keeping their
		// Parquet footers saves reopening them on every query.
		"SET GLOBAL parquet_metadata_cache = true",
		"SET allowed_directories = [" + quoteString(e.cfg.Warehouse+"/") + "]",
		"SET enable_external_access = false",
	} {
		if err := execSQL(e.admin, q); err != nil {
			return fmt.Errorf("applying sandbox (%s): %w", q, err)
		}
	}
	return nil
}

// Close closes the sessions still open (stopping their streams) and the
// database.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.stopUpkeep() // before the sessions and the database go: it may be compacting
	e.mu.Lock()
	open := make([]*Session, 0, len(e.open))
	for s := range e.open {
		open = append(open, s)
	}
	e.mu.Unlock()
	for _, s := range open {
		_ = s.Close() // best effort: the database closes below regardless
	}
	e.mu.Lock()
	pooled := e.pool
	e.pool = nil
	e.mu.Unlock()
	for _, dc := range pooled {
		e.closeConn(dc)
	}
	e.sessions.Wait()
	e.flights.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeDB()
	return nil
}

// closeDB disconnects the engine's own connections and closes the database.
func (e *Engine) closeDB() {
	for i := range e.ddlConns {
		bindings.Disconnect(&e.ddlConns[i])
	}
	e.ddlConns = nil
	bindings.Disconnect(&e.admin)
	bindings.Close(&e.db)
}

// Ping checks that DuckDB answers.
func (e *Engine) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	return execSQL(e.admin, "SELECT 1")
}

// Stats returns running totals; cheap.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	n := len(e.views)
	e.mu.Unlock()
	return Stats{
		Statements:   e.stats.statements.Load(),
		CacheHits:    e.stats.cacheHits.Load(),
		RowsStreamed: e.stats.rows.Load(),
		Batches:      e.stats.batches.Load(),
		Rebinds:      e.stats.rebinds.Load(),
		Sessions:     e.stats.sessions.Load(),
		Running:      e.stats.running.Load(),
		Tables:       n,
		Prunings:     e.stats.prunings.Load(),
		PrunedFiles:  e.stats.pruned.Load(),
	}
}

// CatalogName is the DuckDB catalog that holds the Iceberg views.
func (e *Engine) CatalogName() string { return e.cfg.CatalogName }

// connect opens a DuckDB connection on the engine's database, with the
// lakehouse catalog as default. The caller must call e.disconnect.
func (e *Engine) connect() (bindings.Connection, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return bindings.Connection{}, ErrClosed
	}
	e.sessions.Add(1)
	e.mu.Unlock()
	var conn bindings.Connection
	if bindings.Connect(e.db, &conn) == bindings.StateError {
		e.sessions.Done()
		return conn, fmt.Errorf("connecting to duckdb: %w", ErrInternal)
	}
	if err := execSQL(conn, "USE "+quoteIdent(e.cfg.CatalogName)); err != nil {
		e.disconnect(&conn)
		return conn, err
	}
	return conn, nil
}

// poolSize bounds the clean connections kept for new sessions: a client
// without a session cookie opens a session per call, and a fresh DuckDB
// connection (connect + USE) is a good part of a one-row query's latency.
const poolSize = 8

// sessionConn is a connection for a new session: a pooled clean one (with
// its prepared-statement cache) or a new one.
func (e *Engine) sessionConn() (*dconn, error) {
	e.mu.Lock()
	if n := len(e.pool); n > 0 && !e.closed {
		dc := e.pool[n-1]
		e.pool = e.pool[:n-1]
		e.mu.Unlock()
		return dc, nil
	}
	e.mu.Unlock()
	c, err := e.connect()
	if err != nil {
		return nil, err
	}
	return &dconn{c: c}, nil
}

// recycle keeps a connection that only ever ran reads (no SET, USE, temp
// objects or transactions) for the next session, or closes it.
func (e *Engine) recycle(dc *dconn) {
	if dc.c.Ptr == nil {
		return
	}
	e.mu.Lock()
	if !e.closed && len(e.pool) < poolSize {
		e.pool = append(e.pool, dc)
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	e.closeConn(dc)
}

// closeConn frees a connection's cached statements and disconnects it.
func (e *Engine) closeConn(dc *dconn) {
	dc.cache.invalidate()
	e.disconnect(&dc.c)
}

func (e *Engine) disconnect(conn *bindings.Connection) {
	if conn.Ptr == nil {
		return
	}
	bindings.Disconnect(conn)
	e.sessions.Done()
}

var errNoTables = errors.New("engine has no catalog")
