package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/objstore"
)

// objectWarehouse is what an s3:// warehouse brings: the bucket (checked
// at start and by /ready), the local cache DuckDB reads, and the s3.*
// properties iceberg-go's IO writes and reads the table files with.
type objectWarehouse struct {
	store *objstore.Store
	files *objstore.Files
	props map[string]string
}

// cacheFetchers bounds the objects one table's bind fetches at once.
const cacheFetchers = 8

func openObjectWarehouse(ctx context.Context, cfg config.Config) (*objectWarehouse, error) {
	loc := strings.TrimPrefix(cfg.Catalog.Warehouse, "s3://")
	bucket, prefix, _ := strings.Cut(loc, "/")
	region := cmp.Or(cfg.S3.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		if cfg.S3.Endpoint == "" {
			return nil, fmt.Errorf("warehouse %s: give the bucket's region (s3.region, --s3-region or AWS_REGION)", cfg.Catalog.Warehouse)
		}
		region = "us-east-1" // what S3-compatible servers answer to
	}
	store, err := objstore.New(objstore.Config{Endpoint: cfg.S3.Endpoint, Region: region, Bucket: bucket, Prefix: prefix,
		AccessKey: cfg.S3.AccessKeyID, SecretKey: cfg.S3.SecretAccessKey, Insecure: cfg.S3.Insecure, PathStyle: cfg.S3.Endpoint != ""})
	if err != nil {
		return nil, err
	}
	if err := store.Check(ctx); err != nil {
		return nil, fmt.Errorf("warehouse %s: %w", cfg.Catalog.Warehouse, err)
	}
	cacheDir, err := filepath.Abs(cfg.CacheDir())
	if err != nil {
		return nil, err
	}
	cache, err := objstore.OpenCache(cacheDir, int64(cfg.Cache.MaxBytes), store, objstore.Scope(store))
	if err != nil {
		return nil, fmt.Errorf("object cache %s: %w", cacheDir, err)
	}
	props := map[string]string{"s3.region": region}
	if cfg.S3.Endpoint != "" {
		scheme := "https://"
		if cfg.S3.Insecure {
			scheme = "http://"
		}
		props["s3.endpoint"] = scheme + cfg.S3.Endpoint
	}
	if cfg.S3.AccessKeyID != "" {
		props["s3.access-key-id"], props["s3.secret-access-key"] = cfg.S3.AccessKeyID, cfg.S3.SecretAccessKey
	}
	return &objectWarehouse{store: store, files: objstore.NewFiles(store, cache, cacheFetchers), props: props}, nil
}

// localizer is the engine's view of the warehouse's files: nil (a real nil
// interface) for a local warehouse.
func (w *objectWarehouse) localizer() engine.Localizer {
	if w == nil {
		return nil
	}
	return w.files
}

func (w *objectWarehouse) ioProps() map[string]string {
	if w == nil {
		return nil
	}
	return w.props
}

// register exports the cache's counters.
func (w *objectWarehouse) register(reg prometheus.Registerer) {
	if w == nil {
		return
	}
	c := w.files.Cache()
	stat := func(f func(objstore.CacheStats) int64) func() float64 {
		return func() float64 { return float64(f(c.Stats())) }
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lakeflight_object_cache_hits_total",
			Help: "Reads of warehouse files served by a local copy."}, stat(func(s objstore.CacheStats) int64 { return s.Hits })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lakeflight_object_cache_misses_total",
			Help: "Reads of warehouse files that fetched the object."}, stat(func(s objstore.CacheStats) int64 { return s.Misses })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lakeflight_object_cache_fetched_bytes_total",
			Help: "Bytes fetched from the object store into the cache."}, stat(func(s objstore.CacheStats) int64 { return s.FetchedBytes })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lakeflight_object_cache_evictions_total",
			Help: "Local copies removed to stay within cache.max_bytes."}, stat(func(s objstore.CacheStats) int64 { return s.Evictions })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lakeflight_object_cache_bytes",
			Help: "Bytes of the local copies now."}, stat(func(s objstore.CacheStats) int64 { return s.Bytes })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lakeflight_object_cache_max_bytes",
			Help: "The cache's bound (cache.max_bytes)."}, stat(func(s objstore.CacheStats) int64 { return s.MaxBytes })),
	)
}
