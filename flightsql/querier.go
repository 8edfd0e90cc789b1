//go:build duckdb_arrow

package flightsql

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/engine"
)

// What flightsql needs from the SQL engine, declared here (by the consumer).
// *engine.Engine satisfies it through the adapter in engine.go; tests run
// against the real engine, never a mock.

// querier opens client sessions.
type querier interface {
	NewSession(ctx context.Context) (conn, error)
}

// conn is one engine session: one DuckDB connection with its own current
// catalog/schema and temp objects.
type conn interface {
	Prepare(ctx context.Context, sql string) (stmt, error)
	Exec(ctx context.Context, sql string) (int64, error)
	CurrentCatalog() string
	CurrentSchema() string
	SetCatalog(ctx context.Context, name string) error
	SetSchema(ctx context.Context, name string) error
	// AsOf and SetAsOf are the session's time travel (lakeflight_as_of):
	// "" reads current data.
	AsOf() string
	SetAsOf(ctx context.Context, v string) error
	// Stateful: the connection holds state (SET, USE, temp objects,
	// lakeflight_as_of) that closing it would lose.
	Stateful() bool
	// Catalog lists the catalogs, schemas and tables the session sees
	// (its temp objects included), with column types when asked.
	Catalog(ctx context.Context, f engine.CatalogFilter) (*engine.CatalogListing, error)
	// SetReadOnly refuses statements that change tables (why: the message).
	SetReadOnly(why string)
	// SetGrants restricts the session to namespaces (nil: all), naming
	// user in refusals.
	SetGrants(user string, namespaces []string)
	Close() error
}

// stmt is one prepared statement of a conn.
type stmt interface {
	Schema() *arrow.Schema
	// SchemaFor is the result schema once params are bound (it differs
	// from Schema only where a column's type depends on a parameter).
	SchemaFor(ctx context.Context, params arrow.RecordBatch) (*arrow.Schema, error)
	ParameterSchema() *arrow.Schema
	IsQuery() bool
	Query(ctx context.Context, params arrow.RecordBatch, mem memory.Allocator) (array.RecordReader, error)
	Exec(ctx context.Context, params arrow.RecordBatch) (int64, error)
	// Writes reports a statement that changes tables when it runs (a
	// write's RETURNING rows must not be fetched by running it again).
	Writes() bool
	// Fresh is the statement a new execution runs: the same one, or the
	// same text prepared anew when the tables it reads have moved since
	// (then the caller closes it). A ticket keeps what Fresh gave it.
	Fresh(ctx context.Context) (stmt, error)
	Close() error
}
