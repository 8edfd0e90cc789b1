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
	"time"

	"github.com/apache/iceberg-go"
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
	Driver    string            // "sqlite" (default) or "postgres"
	URI       string            // DSN; for sqlite a file path
	Warehouse string            // absolute local directory (or URL later)
	Props     map[string]string // extra iceberg-go properties (s3.*, ...)
}

// DataFile is one Parquet data file of the current snapshot.
type DataFile struct {
	Path        string // local filesystem path DuckDB can read
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
// Errors: unknown table/namespace wrap iceberg-go's catalog.ErrNoSuchTable /
// ErrNoSuchNamespace; creating an existing table wraps ErrTableAlreadyExists.
