package hmstest

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hive"
	"github.com/apache/iceberg-go/table"
)

// EnvCatalog is the variable that picks the catalog of the suites that run
// on several (see pgtest.EnvCatalog); "hive" asks for this server.
const EnvCatalog = "LAKEFLIGHT_TEST_CATALOG"

// Wanted reports whether EnvCatalog asks for a Hive Metastore.
func Wanted() bool { return os.Getenv(EnvCatalog) == "hive" }

// Reset empties the metastore of everything but its "default" database:
// every view, table and database is dropped (their files stay; each test
// has a warehouse of its own). A suite that shares one server runs it
// before each test.
func (s *Server) Reset(ctx context.Context) error {
	cat, err := hive.NewCatalog(iceberg.Properties{}, hive.WithURI(s.URI))
	if err != nil {
		return fmt.Errorf("resetting the metastore: %w", err)
	}
	defer func() { _ = cat.Close() }()
	namespaces, err := cat.ListNamespaces(ctx, nil)
	if err != nil {
		return fmt.Errorf("resetting the metastore: %w", err)
	}
	for _, ns := range namespaces {
		var views, tables []table.Identifier
		for id, err := range cat.ListViews(ctx, ns) {
			if err != nil {
				return fmt.Errorf("resetting the metastore: listing views of %v: %w", ns, err)
			}
			views = append(views, id)
		}
		for id, err := range cat.ListTables(ctx, ns) {
			if err != nil {
				return fmt.Errorf("resetting the metastore: listing tables of %v: %w", ns, err)
			}
			tables = append(tables, id)
		}
		for _, id := range views {
			if err := cat.DropView(ctx, id); err != nil && !errors.Is(err, catalog.ErrNoSuchView) {
				return fmt.Errorf("resetting the metastore: dropping view %v: %w", id, err)
			}
		}
		for _, id := range tables {
			if err := cat.DropTable(ctx, id); err != nil && !errors.Is(err, catalog.ErrNoSuchTable) {
				return fmt.Errorf("resetting the metastore: dropping table %v: %w", id, err)
			}
		}
		if len(ns) == 1 && ns[0] == "default" {
			continue // the metastore's own, which cannot be dropped
		}
		if err := cat.DropNamespace(ctx, ns); err != nil && !errors.Is(err, catalog.ErrNoSuchNamespace) {
			return fmt.Errorf("resetting the metastore: dropping database %v: %w", ns, err)
		}
	}
	return nil
}
