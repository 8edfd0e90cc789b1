package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
)

// iceLoadView is the view's metadata as the backend itself loads it.
func iceLoadView(ctx context.Context, c *Catalog, id Ident) (view.Metadata, error) {
	switch b := c.ice.(type) {
	case *sqlcat.Catalog:
		return b.LoadView(ctx, id.iceberg())
	case *rest.Catalog:
		v, err := b.LoadView(ctx, id.iceberg())
		if err != nil {
			return nil, err
		}
		return v.Metadata(), nil
	}
	return nil, fmt.Errorf("backend %T", c.ice)
}

// createForeignView stores a view as another engine would: its SQL in
// iceberg-go's default dialect.
func createForeignView(ctx context.Context, c *Catalog, id Ident, sc *iceberg.Schema, sql string) error {
	switch b := c.ice.(type) {
	case *sqlcat.Catalog:
		return b.CreateView(ctx, id.iceberg(), sc, sql, nil)
	case *rest.Catalog:
		v, err := view.NewVersion(1, 0, []view.Representation{view.NewRepresentation(sql, "default")}, table.Identifier{id.Namespace},
			view.WithTimestampMS(time.Now().UnixMilli()))
		if err != nil {
			return err
		}
		_, err = b.CreateView(ctx, id.iceberg(), v, sc)
		return err
	}
	return fmt.Errorf("backend %T", c.ice)
}
