package catalog

import (
	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Errors callers test with errors.Is. Where iceberg-go already has the
// concept, lakeflight reuses its sentinel rather than inventing a twin;
// errkind.Of knows those aliases' kinds, and lakeflight's own sentinels
// carry theirs.
var (
	// ErrNoSuchTable: the table is not in the catalog.
	ErrNoSuchTable = icecat.ErrNoSuchTable
	// ErrNoSuchNamespace: the namespace is not in the catalog.
	ErrNoSuchNamespace = icecat.ErrNoSuchNamespace
	// ErrTableAlreadyExists: CreateTable on a name already taken.
	ErrTableAlreadyExists = icecat.ErrTableAlreadyExists
	// ErrNoSuchView: the view is not in the catalog (views.go).
	ErrNoSuchView = icecat.ErrNoSuchView
	// ErrViewAlreadyExists: a view already has the name (views.go).
	ErrViewAlreadyExists = icecat.ErrViewAlreadyExists
	// ErrInvalidArgument: a malformed identifier, config or schema.
	ErrInvalidArgument = iceberg.ErrInvalidArgument
	// ErrNoSuchSnapshot: a snapshot id or timestamp that names no snapshot
	// of the table.
	ErrNoSuchSnapshot = table.ErrSnapshotNotFound
	// ErrRefExists: creating a tag or branch under a name the table already
	// uses for one.
	ErrRefExists = errkind.New(errkind.AlreadyExists, "a tag or branch of that name exists")
	// ErrNotSupported: configuration that names a backend not built yet
	// (PostgreSQL catalog, S3 warehouse).
	ErrNotSupported = errkind.New(errkind.Unsupported, "not supported yet")
	// ErrConflict: another writer committed to the table first; re-run the statement.
	ErrConflict = errkind.New(errkind.Conflict, "another writer committed to the table first")
)

// ErrSchemaMoved: the schema a filter was written against is not the
// snapshot's (PlanFiltered): its column names may mean other fields there.
var ErrSchemaMoved = errkind.New(errkind.FailedPrecondition, "the table's schema changed after the snapshot")
