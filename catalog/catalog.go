// Package catalog is lakeflight's storage layer: an Apache Iceberg SQL catalog
// (SQLite by default, PostgreSQL later) over a warehouse of Parquet files on
// local disk (S3 later). It sits under engine (which reads tables) and under
// the ingest writer (which commits snapshots); it knows nothing of SQL
// sessions or Flight.
//
// CONTRACT (written before the implementation; keep the exported API below
// stable, other packages are coded against it).
package catalog

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// warehouses
	pgxstdlib "github.com/jackc/pgx/v5/stdlib"
)

// Ident names one table: namespace (one level, e.g. "bronze") and table name.
type Ident struct {
	Namespace string
	Name      string
}

// String renders "namespace.name".
func (id Ident) String() string { return id.Namespace + "." + id.Name }

// Config says where the catalog database and the warehouse live.
// Shaped so that a PostgreSQL catalog and an S3 warehouse are configuration:
// Driver "sqlite" | "postgres"; Warehouse a local path or later "s3://bucket/prefix".
type Config struct {
	Name      string            // catalog name, "lakehouse"
	Driver    string            // "sqlite" (default), "postgres", "rest", "glue" or "hive"
	URI       string            // DSN; for sqlite a file path; for rest the catalog's base URL; for hive thrift://host:port
	Warehouse string            // absolute local directory or s3://bucket/prefix
	Props     map[string]string // extra iceberg-go properties (s3.*, ...)
	REST      RESTConfig        // credentials and options of a rest catalog
	Glue      GlueConfig        // where AWS Glue's catalog is
}

// DataFile is one Parquet data file of the current snapshot.
type DataFile struct {
	Path        string // local filesystem path DuckDB can read
	Location    string // the file's location as recorded in the manifest (file:///…)
	RecordCount int64
	SizeBytes   int64
}

// TableState is everything a reader needs to bind one table at one snapshot.
type TableState struct {
	Ident            Ident
	MetadataLocation string
	SnapshotID       int64 // 0 when the table has no snapshot yet
	Schema           *iceberg.Schema
	DataFiles        []DataFile
	// DeleteFiles are the position-delete files that apply to DataFiles,
	// each once (empty until lakeflight writes deletes). Added after the
	// contract; readers that ignore it see deleted rows.
	DeleteFiles []DataFile
	// FilesMatchSchema: every data file was written with Schema's column
	// names and types, so a reader may match columns by name instead of by
	// field id (state.go, filesMatch).
	FilesMatchSchema bool
}

// Snapshot describes one Iceberg snapshot of a table.
type Snapshot struct {
	SnapshotID     int64
	ParentID       int64 // 0 for none
	SequenceNumber int64
	Timestamp      time.Time
	Operation      string
	ManifestList   string
	Summary        map[string]string
}

// The methods the rest of the code relies on (signatures only here):
//
//   func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Catalog, error)
//   func (c *Catalog) Close() error
//   func (c *Catalog) Ping(ctx context.Context) error
//   func (c *Catalog) EnsureNamespace(ctx context.Context, ns string) error
//   func (c *Catalog) Namespaces(ctx context.Context) ([]string, error)
//   func (c *Catalog) ListTables(ctx context.Context) ([]Ident, error)  // every namespace
//   func (c *Catalog) CreateTable(ctx context.Context, id Ident, schema *arrow.Schema) error
//   func (c *Catalog) Append(ctx context.Context, id Ident, rdr array.RecordReader, summary map[string]string) (snapshotID int64, err error)
//   func (c *Catalog) TableState(ctx context.Context, id Ident) (*TableState, error)
//   func (c *Catalog) MetadataLocation(ctx context.Context, id Ident) (string, error) // cheap change check
//   func (c *Catalog) Snapshots(ctx context.Context, id Ident) ([]Snapshot, error)
//
// Added by the implementation:
//
//   func (c *Catalog) LoadTable(ctx context.Context, id Ident) (*table.Table, error)
//   func (c *Catalog) DropTable(ctx context.Context, id Ident) error
//   func (c *Catalog) TableStateAt(ctx context.Context, id Ident, snapshotID int64) (*TableState, error)
//   func (c *Catalog) SnapshotAsOf(ctx context.Context, id Ident, ts time.Time) (int64, error)
//   func (c *Catalog) Name() string; Warehouse() string; WarehouseDir() string
//   func IcebergSchema(*arrow.Schema) (*iceberg.Schema, error); func LocalPath(location string) string
//
// Snapshot management (refs.go) and metadata listings (inspect.go):
//
//   func (c *Catalog) Refs(ctx context.Context, id Ident) ([]Ref, error)  // "main" first, then by name
//   func (c *Catalog) ResolveRef(ctx context.Context, id Ident, name string) (int64, error)
//   func (c *Catalog) CreateTag(ctx context.Context, id Ident, name string, snapshotID int64) (int64, error)
//   func (c *Catalog) CreateBranch(ctx context.Context, id Ident, name string, snapshotID int64) (int64, error)
//   func (c *Catalog) DropRef(ctx context.Context, id Ident, name string) error
//   func (c *Catalog) Rollback(ctx context.Context, id Ident, snapshotID int64) error
//   func (c *Catalog) History(ctx context.Context, id Ident) ([]HistoryEntry, error)
//   func (c *Catalog) Files(ctx context.Context, id Ident, snapshotID int64) ([]FileInfo, error)
//   func (c *Catalog) Manifests(ctx context.Context, id Ident, snapshotID int64) ([]ManifestInfo, error)
//
// Renames and properties (tables.go, properties.go), and the row-level
// writes of a Txn (delta.go: merge-on-read; cow.go: copy-on-write):
//
//   func (c *Catalog) RenameTable(ctx context.Context, from, to Ident) error
//   func (c *Catalog) Properties(ctx context.Context, id Ident) (map[string]string, error)
//   func (c *Catalog) SetProperty(ctx context.Context, id Ident, key, value string) error // "" removes
//   func (t *Txn) Delta(ctx, rows, deletes []PositionDeletes, summary, writers) error
//   func (t *Txn) Replace(ctx, rows, replaced []string, summary, writers) error
//   func (t *Txn) ReplaceAll(ctx, rows, summary, writers) error; func (t *Txn) ReplaceSchema(*iceberg.Schema) error
//
// Errors: unknown table/namespace wrap iceberg-go's catalog.ErrNoSuchTable /
// ErrNoSuchNamespace; creating an existing table wraps ErrTableAlreadyExists;
// unknown snapshots, tags and branches wrap ErrNoSuchSnapshot; creating a
// tag or branch under a name in use wraps ErrRefExists.

// DefaultName is the catalog name used when Config.Name is empty. The SQL
// catalog stores it on every row, so every process (and pyiceberg) sharing a
// catalog database must use the same one.
const DefaultName = "lakehouse"

const (
	driverSQLite   = "sqlite"
	driverPostgres = "postgres"
)

// Catalog is an Iceberg SQL catalog plus the warehouse it writes to. It is
// safe for concurrent use; commits to one table are serialised inside the
// process, and commits from other processes are detected by the catalog's
// compare-and-swap on the metadata location (and retried, except for
// row-level deletes, which fail with ErrConflict).
type Catalog struct {
	log       *slog.Logger
	name      string
	driver    string
	warehouse string  // iceberg "warehouse" property, e.g. file:///var/lib/lakeflight/warehouse
	db        *sql.DB // nil for a rest catalog
	ice       backend

	locksMu sync.Mutex
	locks   map[Ident]*sync.Mutex // per-table commit locks

	plans *planCache        // planned files per snapshot (plan.go)
	props map[string]string // extra IO properties (s3.*), for lakeflight's own IO
}

// Open connects to the catalog database, creates the catalog tables if they
// are missing, and makes sure the warehouse exists.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Catalog, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	name := cfg.Name
	if name == "" {
		name = DefaultName
	}
	driver := strings.ToLower(cfg.Driver)
	if driver == "" {
		driver = driverSQLite
	}

	warehouse, err := prepareWarehouse(cfg.Warehouse)
	if err != nil {
		return nil, fmt.Errorf("preparing warehouse: %w", err)
	}

	if driver == driverREST || driver == driverGlue || driver == driverHive {
		return openRemote(ctx, name, driver, warehouse, cfg, log)
	}

	var (
		dsn       string
		dialect   sqlcat.SupportedDialect
		sqlDriver = driver // the database/sql driver's name
	)
	switch driver {
	case driverSQLite:
		if cfg.URI == "" {
			return nil, fmt.Errorf("opening catalog: %w: sqlite catalog needs a URI (database file path)", ErrInvalidArgument)
		}
		dsn, err = sqliteDSN(cfg.URI)
		if err != nil {
			return nil, fmt.Errorf("opening catalog: %w", err)
		}
		dialect = sqlcat.SQLite
	case driverPostgres:
		if cfg.URI == "" {
			return nil, fmt.Errorf("opening catalog: %w: postgres catalog needs a URI (postgres://user:password@host:5432/db)", ErrInvalidArgument)
		}
		dsn, dialect, sqlDriver = cfg.URI, sqlcat.Postgres, "pgx"
	default:
		return nil, fmt.Errorf("opening catalog: %w: unknown catalog driver %q (sqlite, postgres, rest, glue or hive)", ErrInvalidArgument, cfg.Driver)
	}

	var db *sql.DB
	if driver == driverPostgres {
		var conn sqldriver.Connector
		if conn, err = pgxstdlib.GetDefaultDriver().(sqldriver.DriverContext).OpenConnector(dsn); err != nil {
			return nil, fmt.Errorf("opening catalog database: %w", redactDSN(err, dsn))
		}
		db = sql.OpenDB(reachConnector{Connector: conn, dsn: dsn})
	} else if db, err = sql.Open(sqlDriver, dsn); err != nil {
		return nil, fmt.Errorf("opening catalog database: %w", redactDSN(err, dsn))
	}
	if driver == driverPostgres {
		// A pool per process: replicas share the server's connections.
		db.SetMaxOpenConns(postgresMaxConns)
		db.SetMaxIdleConns(postgresMaxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to catalog database: %w", redactDSN(err, dsn))
	}

	props := iceberg.Properties{}
	maps.Copy(props, cfg.Props)
	props["warehouse"] = warehouse
	props[sqlcat.DriverKey] = driver
	props[sqlcat.DialectKey] = string(dialect)
	props["init_catalog_tables"] = "true"

	// Replicas starting at once on an empty PostgreSQL database would race
	// to create the catalog's tables (PostgreSQL's CREATE TABLE IF NOT
	// EXISTS is not safe against a concurrent one): one at a time.
	unlock, err := initLock(ctx, db, driver)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialising sql catalog: %w", redactDSN(err, dsn))
	}
	// NewCatalog creates iceberg_tables / iceberg_namespace_properties if
	// missing. It takes no ctx, so run it in a goroutine we can abandon.
	ice, err := newSQLCatalog(ctx, name, db, dialect, props)
	if err != nil {
		unlock()
		_ = db.Close()
		return nil, fmt.Errorf("initialising sql catalog: %w", err)
	}

	log.Info("catalog open", "name", name, "driver", driver, "warehouse", warehouse)
	c := newCatalog(log, name, driver, warehouse, ice, cfg.Props)
	c.db = db
	err = c.ensureTokenTable(ctx)
	unlock()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// initLockKey is the PostgreSQL advisory lock that serialises creating the
// catalog's tables (any constant; "lakeflig" in ASCII).
const initLockKey = 0x6c616b65666c6967

// initLock takes the PostgreSQL advisory lock of catalog initialisation on
// a connection of its own, waiting for a replica that holds it; the
// returned func releases it. A process that dies holding it releases it
// with its session. SQLite needs none (one process per file).
func initLock(ctx context.Context, db *sql.DB, driver string) (unlock func(), err error) {
	if driver != driverPostgres {
		return func() {}, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(initLockKey)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("waiting for another server initialising the catalog: %w", err)
	}
	return func() {
		// Close hands the connection back to the pool, session and lock
		// alive: release the lock first, or have the pool drop the
		// connection when that fails.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(initLockKey)); err != nil {
			_ = conn.Raw(func(any) error { return sqldriver.ErrBadConn })
		}
		_ = conn.Close()
	}, nil
}

// openRemote opens a catalog on an external catalog: a REST catalog, AWS
// Glue or a Hive Metastore.
func openRemote(ctx context.Context, name, driver, warehouse string, cfg Config, log *slog.Logger) (*Catalog, error) {
	var (
		ice   backend
		err   error
		props = iceberg.Properties(maps.Clone(cfg.Props)) // the s3.* settings of the tables' IO
	)
	switch driver {
	case driverREST:
		ice, err = openREST(ctx, name, cfg.URI, warehouse, cfg.REST, props)
	case driverGlue:
		ice, err = openGlue(ctx, cfg.Glue, props)
	case driverHive:
		ice, err = openHive(cfg.URI, warehouse, props)
	}
	if err != nil {
		return nil, err
	}
	log.Info("catalog open", "name", name, "driver", driver, "uri", withoutUserinfo(cfg.URI), "warehouse", warehouse)
	if LocalPath(warehouse) != "" {
		log.Warn("the warehouse is a local directory under a shared catalog: other servers and engines on the catalog can read the tables only if they see the same directory",
			"warehouse", warehouse)
	}
	return newCatalog(log, name, driver, warehouse, ice, cfg.Props), nil
}

func newCatalog(log *slog.Logger, name, driver, warehouse string, ice backend, props map[string]string) *Catalog {
	return &Catalog{
		log:       log,
		name:      name,
		driver:    driver,
		warehouse: warehouse,
		ice:       ice,
		locks:     map[Ident]*sync.Mutex{},
		plans:     newPlanCache(planCacheFiles),
		props:     props,
	}
}

// postgresMaxConns bounds a process's connections to a PostgreSQL catalog.
const postgresMaxConns = 10

// withoutUserinfo is uri without any user and password in it.
func withoutUserinfo(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return uri
	}
	u.User = nil
	return u.String()
}

// redactDSN is err with the DSN's password, if it has one, masked.
func redactDSN(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	pw, _ := u.User.Password()
	return redactSecrets(err, pw)
}

func newSQLCatalog(ctx context.Context, name string, db *sql.DB, dialect sqlcat.SupportedDialect, props iceberg.Properties) (*sqlcat.Catalog, error) {
	type result struct {
		c   *sqlcat.Catalog
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := sqlcat.NewCatalog(name, db, dialect, props)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Name is the catalog name stored in the catalog database ("lakehouse").
func (c *Catalog) Name() string { return c.name }

// Warehouse is the warehouse location as Iceberg sees it (a file:// URL for a
// local warehouse).
func (c *Catalog) Warehouse() string { return c.warehouse }

// WarehouseDir is the local directory of the warehouse ("" when it is not
// local): the engine sandboxes DuckDB to it.
func (c *Catalog) WarehouseDir() string { return LocalPath(c.warehouse) }

// Ping checks that the catalog database answers and holds the catalog
// tables (an external catalog: that it lists its namespaces).
func (c *Catalog) Ping(ctx context.Context) error {
	if c.remote() {
		if _, err := c.ice.ListNamespaces(ctx, nil); err != nil {
			return fmt.Errorf("pinging %s catalog: %w", c.driver, err)
		}
		return nil
	}
	var n int
	if err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM iceberg_namespace_properties WHERE 1 = 0").Scan(&n); err != nil {
		return fmt.Errorf("pinging catalog database: %w", err)
	}
	return nil
}

// Close releases the catalog and its database connections.
func (c *Catalog) Close() error {
	if c.remote() {
		return c.ice.Close()
	}
	return errors.Join(c.ice.Close(), c.db.Close())
}
