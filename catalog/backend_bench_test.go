package catalog

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/internal/resttest"
)

// BenchmarkCatalogCalls sets what the catalog's own calls cost on SQLite
// against Apache Iceberg's Java REST catalog on loopback (internal/resttest):
// the change check every statement makes per table (MetadataLocation), a
// table's load, and a one-row append's commit.
func BenchmarkCatalogCalls(b *testing.B) {
	rest, err := resttest.Start(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rest.Stop() }()
	for _, backend := range []string{"sqlite", "rest"} {
		b.Run(backend, func(b *testing.B) {
			ctx := b.Context()
			dir := b.TempDir()
			cfg := Config{Driver: "sqlite", URI: dir + "/catalog.db", Warehouse: dir + "/warehouse"}
			if backend == "rest" {
				cfg.Driver, cfg.URI = "rest", rest.URI
			}
			c, err := Open(ctx, cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			id := Ident{"bronze", "calls_" + backend}
			if err := c.EnsureNamespace(ctx, id.Namespace); err != nil {
				b.Fatal(err)
			}
			if err := c.CreateTable(ctx, id, deltaSchema); err != nil {
				b.Fatal(err)
			}
			mem := memory.NewGoAllocator()
			appendIDs(b, c, mem, id, 1)
			// The JVM compiles its hot paths over the first few hundred
			// calls: measure after them.
			for range 500 {
				if _, err := c.LoadTable(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("MetadataLocation", func(b *testing.B) {
				for b.Loop() {
					if _, err := c.MetadataLocation(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("LoadTable", func(b *testing.B) {
				for b.Loop() {
					if _, err := c.LoadTable(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Append", func(b *testing.B) {
				for b.Loop() {
					appendIDs(b, c, mem, id, 2)
				}
			})
		})
	}
}
