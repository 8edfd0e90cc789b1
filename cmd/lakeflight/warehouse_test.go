package main

import (
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/internal/config"
)

// An AWS warehouse (no endpoint) needs its bucket's region: lakeflight
// does not guess one.
func TestObjectWarehouseNeedsARegionOnAWS(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	cfg := config.Default()
	cfg.Catalog.Warehouse = "s3://lake/wh"
	if _, err := openObjectWarehouse(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("no region: %v", err)
	}
}
