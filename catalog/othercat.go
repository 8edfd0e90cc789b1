package catalog

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/glue"
	"github.com/apache/iceberg-go/catalog/hive"
	"github.com/apache/iceberg-go/table"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// Catalogs of other systems, through iceberg-go's packages: AWS Glue's
// Data Catalog and a Hive Metastore. Like a rest catalog they keep no
// database of lakeflight's (no run-time API tokens), and every table and
// view lakeflight makes is placed in its own warehouse.

const (
	driverGlue = "glue"
	driverHive = "hive"
)

// GlueConfig reaches AWS Glue's Data Catalog. Credentials come from the
// AWS environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile,
// an instance or pod role), as for any AWS client; so does an endpoint of
// Glue's own (AWS_ENDPOINT_URL_GLUE, a VPC endpoint). There is no endpoint
// setting here: one on the AWS configuration would also send the tables'
// S3 requests to it.
type GlueConfig struct {
	Region string
	// CatalogID is the account whose catalog is used (default: the
	// caller's).
	CatalogID string
}

// openGlue opens AWS Glue's catalog. iceberg-go's Glue catalog has no
// views: lakeflight's CREATE VIEW is refused there, plainly.
func openGlue(ctx context.Context, cfg GlueConfig, props iceberg.Properties) (backend, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	aws, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening glue catalog: loading the AWS configuration: %w", err)
	}
	if aws.Region == "" {
		return nil, fmt.Errorf("opening glue catalog: %w: no AWS region (catalog.glue.region, or AWS_REGION)", ErrInvalidArgument)
	}
	awsProps := glue.AwsProperties{}
	for k, v := range props {
		awsProps[k] = v
	}
	if cfg.CatalogID != "" {
		awsProps[glue.CatalogIdKey] = cfg.CatalogID
	}
	cat, err := glue.NewCatalog(glue.WithAwsConfig(aws), glue.WithAwsProperties(awsProps))
	if err != nil {
		return nil, fmt.Errorf("opening glue catalog: %w", err)
	}
	return viewless{cat}, nil
}

// openHive connects to the Hive Metastore at uri (thrift://host:9083;
// plain binary transport, no SASL or Kerberos).
func openHive(uri, warehouse string, props iceberg.Properties) (backend, error) {
	if !strings.HasPrefix(uri, "thrift://") {
		return nil, fmt.Errorf("opening catalog: %w: hive catalog URI %q is not thrift://host:port", ErrInvalidArgument, uri)
	}
	pool, err := newHivePool(func() (*hive.Catalog, error) {
		cat, err := hive.NewCatalog(props, hive.WithURI(uri), hive.WithWarehouse(warehouse))
		if err != nil {
			return nil, fmt.Errorf("connecting to hive metastore %s: %w", uri, err)
		}
		return cat, nil
	})
	if err != nil {
		return nil, err
	}
	return pool, nil
}

// The Hive catalog (hivePool) has no CreateView: iceberg-go's writes every
// view's SQL under the dialect "default" whatever the version says
// (v0.7.0), and it has no way to commit a new version, so lakeflight
// creates no views there (refused, viewCreator). Views other engines made
// are listed, loaded (and refused for want of duckdb SQL) and dropped.

// viewless is a catalog without views: it lists none and has none to
// drop; creating one is refused (viewCreator).
type viewless struct {
	icecat.Catalog
}

func (viewless) ListViews(context.Context, table.Identifier) iter.Seq2[table.Identifier, error] {
	return func(func(table.Identifier, error) bool) {}
}

func (viewless) CheckViewExists(context.Context, table.Identifier) (bool, error) { return false, nil }

func (viewless) DropView(_ context.Context, id table.Identifier) error {
	return fmt.Errorf("%w: %s", ErrNoSuchView, strings.Join(id, "."))
}

func (v viewless) Close() error {
	if c, ok := v.Catalog.(icecat.Closer); ok {
		return c.Close()
	}
	return nil
}
