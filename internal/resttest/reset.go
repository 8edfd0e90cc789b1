package resttest

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

// EnvCatalog is the variable that picks the catalog of the suites that run
// on several (see pgtest.EnvCatalog); "rest" asks for this server.
const EnvCatalog = "LAKEFLIGHT_TEST_CATALOG"

// Wanted reports whether EnvCatalog asks for a REST catalog.
func Wanted() bool { return os.Getenv(EnvCatalog) == "rest" }

// Reset empties the catalog: every view, table and namespace is dropped
// (their files stay; each test has a warehouse of its own). A suite that
// shares one server runs it before each test.
func (s *Server) Reset(ctx context.Context) error {
	cat, err := rest.NewCatalog(ctx, "reset", s.URI)
	if err != nil {
		return fmt.Errorf("resetting the REST catalog: %w", err)
	}
	defer func() { _ = cat.Close() }()
	namespaces, err := cat.ListNamespaces(ctx, nil)
	if err != nil {
		return fmt.Errorf("resetting the REST catalog: %w", err)
	}
	for _, ns := range namespaces {
		var views, tables []table.Identifier
		for id, err := range cat.ListViews(ctx, ns) {
			if err != nil {
				return fmt.Errorf("resetting the REST catalog: listing views of %v: %w", ns, err)
			}
			views = append(views, id)
		}
		for id, err := range cat.ListTables(ctx, ns) {
			if err != nil {
				return fmt.Errorf("resetting the REST catalog: listing tables of %v: %w", ns, err)
			}
			tables = append(tables, id)
		}
		for _, id := range views {
			if err := cat.DropView(ctx, id); err != nil {
				return fmt.Errorf("resetting the REST catalog: dropping view %v: %w", id, err)
			}
		}
		for _, id := range tables {
			if err := cat.DropTable(ctx, id); err != nil {
				return fmt.Errorf("resetting the REST catalog: dropping table %v: %w", id, err)
			}
		}
		// A namespace only tables named (the JDBC catalog lets a table
		// make its namespace) is gone with them.
		if err := cat.DropNamespace(ctx, ns); err != nil && !errors.Is(err, catalog.ErrNoSuchNamespace) {
			return fmt.Errorf("resetting the REST catalog: dropping namespace %v: %w", ns, err)
		}
	}
	return nil
}
