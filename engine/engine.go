// Package engine runs SQL on an embedded DuckDB. Iceberg tables from the
// catalog appear as <catalog>.<namespace>.<table> views over read_parquet of
// the current snapshot's data files (columns mapped by Iceberg field id).
// Results leave as large, coalesced Arrow record batches, streamed while
// DuckDB is still executing. engine sits between flightsql/web (above) and
// catalog (below); it knows nothing of Flight or HTTP.
//
// CONTRACT (written before the implementation; keep the exported API below
// stable, flightsql and cmd/lakeflight are coded against it).
package engine

// The API (signatures; bodies live in the files of this package):
//
//   type Config struct {
//       Warehouse     string // absolute local dir: the only place client SQL may read
//       CatalogName   string // DuckDB catalog holding the Iceberg views, default "lakehouse"
//       MemoryLimit   string // DuckDB memory_limit, "" = DuckDB default
//       Threads       int    // DuckDB threads, 0 = DuckDB default
//       TempDirectory string // DuckDB temp_directory, "" = DuckDB default
//       BatchRows     int    // target rows per outgoing Arrow batch, default 65536
//   }
//
//   // Tables is what engine needs from the catalog (*catalog.Catalog satisfies it).
//   type Tables interface {
//       ListTables(ctx context.Context) ([]catalog.Ident, error)
//       TableState(ctx context.Context, id catalog.Ident) (*catalog.TableState, error)
//       MetadataLocation(ctx context.Context, id catalog.Ident) (string, error)
//   }
//
//   func Open(ctx context.Context, cfg Config, tables Tables, log *slog.Logger) (*Engine, error)
//   func (e *Engine) Close() error
//   func (e *Engine) Ping(ctx context.Context) error
//   func (e *Engine) Refresh(ctx context.Context, id catalog.Ident) error // rebind after a commit
//   func (e *Engine) NewSession(ctx context.Context) (*Session, error)    // one DuckDB connection
//
//   func (s *Session) Prepare(ctx context.Context, sql string) (*Statement, error)
//   func (s *Session) Exec(ctx context.Context, sql string) (rowsAffected int64, err error)
//   func (s *Session) CurrentCatalog() string
//   func (s *Session) CurrentSchema() string
//   func (s *Session) SetCatalog(ctx context.Context, name string) error // USE <name>
//   func (s *Session) SetSchema(ctx context.Context, name string) error  // USE <catalog>.<name>
//   func (s *Session) Close() error
//
//   func (st *Statement) SQL() string
//   func (st *Statement) Schema() *arrow.Schema          // result schema; zero fields when not a query
//   func (st *Statement) ParameterSchema() *arrow.Schema // one field per $n / ? parameter
//   func (st *Statement) IsQuery() bool
//   // Query streams the result. params may be nil, or a batch whose each row
//   // is one binding (results of all rows are streamed one after another).
//   // Cancelling ctx interrupts DuckDB and ends the stream with ErrCanceled.
//   func (st *Statement) Query(ctx context.Context, params arrow.RecordBatch, mem memory.Allocator) (array.RecordReader, error)
//   // Exec runs a non-query once per parameter row (once when params is nil).
//   func (st *Statement) Exec(ctx context.Context, params arrow.RecordBatch) (int64, error)
//   func (st *Statement) Close() error
//
// Errors (errors.go) are sentinels to test with errors.Is, wrapped with
// DuckDB's own message: ErrInvalidSQL (parser/binder), ErrNotFound (unknown
// table, schema, catalog, function), ErrPermission (sandbox), ErrUnsupported
// (statement kinds lakeflight refuses, e.g. COPY, writes to Iceberg tables),
// ErrCanceled (interrupted), ErrConstraint, ErrInternal.
