package catalog

import (
	"errors"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// Errors callers test with errors.Is. Where iceberg-go already has the
// concept, lakeflight reuses its sentinel rather than inventing a twin.
var (
	// ErrNoSuchTable: the table is not in the catalog.
	ErrNoSuchTable = icecat.ErrNoSuchTable
	// ErrNoSuchNamespace: the namespace is not in the catalog.
	ErrNoSuchNamespace = icecat.ErrNoSuchNamespace
	// ErrTableAlreadyExists: CreateTable on a name already taken.
	ErrTableAlreadyExists = icecat.ErrTableAlreadyExists
	// ErrInvalidArgument: a malformed identifier, config or schema.
	ErrInvalidArgument = iceberg.ErrInvalidArgument
	// ErrNoSuchSnapshot: a snapshot id or timestamp that names no snapshot
	// of the table.
	ErrNoSuchSnapshot = table.ErrSnapshotNotFound
	// ErrRefExists: creating a tag or branch under a name the table already
	// uses for one.
	ErrRefExists = errors.New("a tag or branch of that name exists")
	// ErrNotSupported: configuration that names a backend not built yet
	// (PostgreSQL catalog, S3 warehouse).
	ErrNotSupported = errors.New("not supported yet")
	// ErrConflict: another writer committed to the table first; re-run the statement.
	ErrConflict = errors.New("another writer committed to the table first")
)
