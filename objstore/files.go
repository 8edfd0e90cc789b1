package objstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Files makes the files of an object-store warehouse local for DuckDB: it
// maps Iceberg locations (s3://bucket/prefix/…) to the Store's object
// names and hands them to the Cache.
type Files struct {
	store    *Store
	cache    *Cache
	base     string // "s3://bucket/prefix/"
	parallel int
}

// NewFiles serves the locations under the store's bucket and prefix from
// cache, fetching up to parallel objects at once.
func NewFiles(store *Store, cache *Cache, parallel int) *Files {
	return &Files{store: store, cache: cache, base: Scope(store), parallel: max(parallel, 1)}
}

// Scope is the location prefix of store's objects, s3://bucket/prefix/:
// the scope of its cache (OpenCache).
func Scope(store *Store) string { return "s3://" + store.cfg.Bucket + "/" + store.cfg.Prefix }

// Dir is the directory of the local copies (DuckDB's sandbox allows it).
func (f *Files) Dir() string { return f.cache.dir }

// Cache is the cache the copies are in (its counters for metrics).
func (f *Files) Cache() *Cache { return f.cache }

// Name is the object name of location.
func (f *Files) Name(location string) (string, error) {
	name, ok := strings.CutPrefix(location, f.base)
	if !ok || name == "" {
		return "", errkind.New(errkind.FailedPrecondition, fmt.Sprintf("file %s is not in the warehouse %s", location, f.base))
	}
	return name, nil
}

// Acquire returns local paths of the files at locations (sizes from the
// metadata; -1 unknown), fetched as needed, held until release is called.
func (f *Files) Acquire(ctx context.Context, locations []string, sizes []int64) ([]string, func(), error) {
	names := make([]string, len(locations))
	for i, loc := range locations {
		n, err := f.Name(loc)
		if err != nil {
			return nil, func() {}, err
		}
		names[i] = n
	}
	return f.cache.Acquire(ctx, names, sizes, f.parallel)
}

// PathSQL is a DuckDB expression that turns the location held by the SQL
// expression col into the local path of its copy, as the cache names it
// (cacheFileName: the first 16 bytes of the SHA-256 of the full location,
// in hex, and its extension): position-delete files name the data files
// they apply to by location, and DuckDB reads the copies.
func (f *Files) PathSQL(col string) string {
	return quoteSQL(filepath.Clean(f.cache.dir)+"/") + " || left(sha256(" + col + "), 32) || " +
		"regexp_extract(" + col + ", '(\\.[^./]*)$', 1)"
}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
