//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/catalog"
)

// The rest of Tables for fakeTables (views_test.go), which serves only
// fixed current states: time travel, metadata and writes are not faked.
var errNotFaked = errors.New("not part of the fake catalog")

func (fakeTables) TableStateAt(context.Context, catalog.Ident, int64) (*catalog.TableState, error) {
	return nil, errNotFaked
}

func (fakeTables) SnapshotAsOf(context.Context, catalog.Ident, time.Time) (int64, error) {
	return 0, errNotFaked
}

func (fakeTables) ResolveRef(context.Context, catalog.Ident, string) (int64, error) {
	return 0, errNotFaked
}

func (fakeTables) Snapshots(context.Context, catalog.Ident) ([]catalog.Snapshot, error) {
	return nil, errNotFaked
}

func (fakeTables) History(context.Context, catalog.Ident) ([]catalog.HistoryEntry, error) {
	return nil, errNotFaked
}

func (fakeTables) Refs(context.Context, catalog.Ident) ([]catalog.Ref, error) {
	return nil, errNotFaked
}

func (fakeTables) Files(context.Context, catalog.Ident, int64) ([]catalog.FileInfo, error) {
	return nil, errNotFaked
}

func (fakeTables) Manifests(context.Context, catalog.Ident, int64) ([]catalog.ManifestInfo, error) {
	return nil, errNotFaked
}

func (fakeTables) Namespaces(context.Context) ([]string, error) { return nil, errNotFaked }

func (fakeTables) CreateTable(context.Context, catalog.Ident, *arrow.Schema) error {
	return errNotFaked
}

func (fakeTables) DropTable(context.Context, catalog.Ident) error { return errNotFaked }

func (fakeTables) DropIfEmpty(context.Context, catalog.Ident) (bool, error) {
	return false, errNotFaked
}

func (fakeTables) Begin(context.Context, catalog.Ident) (*catalog.Txn, error) {
	return nil, errNotFaked
}

func (fakeTables) Rollback(context.Context, catalog.Ident, int64) error { return errNotFaked }

func (fakeTables) CreateTag(context.Context, catalog.Ident, string, int64) (int64, error) {
	return 0, errNotFaked
}

func (fakeTables) CreateBranch(context.Context, catalog.Ident, string, int64) (int64, error) {
	return 0, errNotFaked
}

func (fakeTables) DropRef(context.Context, catalog.Ident, string) error { return errNotFaked }

func (fakeTables) LoadTable(context.Context, catalog.Ident) (*table.Table, error) {
	return nil, errNotFaked
}

func (fakeTables) SetProperty(context.Context, catalog.Ident, string, string) error {
	return errNotFaked
}

func (fakeTables) Properties(context.Context, catalog.Ident) (map[string]string, error) {
	return nil, errNotFaked
}

func (fakeTables) RenameTable(context.Context, catalog.Ident, catalog.Ident) error {
	return errNotFaked
}

func (fakeTables) EnsureNamespace(context.Context, string) error { return errNotFaked }

func (fakeTables) DropNamespace(context.Context, string) error { return errNotFaked }
