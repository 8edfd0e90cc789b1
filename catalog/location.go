package catalog

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// prepareWarehouse creates a local warehouse directory and returns the
// location Iceberg should use for it; an s3:// warehouse is taken as it is
// (without a trailing slash).
func prepareWarehouse(wh string) (string, error) {
	if wh == "" {
		return "", fmt.Errorf("%w: empty warehouse location", ErrInvalidArgument)
	}
	if scheme, rest, ok := strings.Cut(wh, "://"); ok && scheme != "file" {
		if scheme != "s3" {
			return "", fmt.Errorf("%w: %s:// warehouse (a local directory or s3://bucket/prefix)", ErrNotSupported, scheme)
		}
		if bucket, _, _ := strings.Cut(rest, "/"); bucket == "" {
			return "", fmt.Errorf("%w: warehouse %s names no bucket", ErrInvalidArgument, wh)
		}
		return strings.TrimRight(wh, "/"), nil
	}
	dir := wh
	if strings.HasPrefix(wh, "file://") {
		dir = LocalPath(wh)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String(), nil
}

// LocalPath turns an Iceberg file location into a local filesystem path:
// "file:///a/b%20c" becomes "/a/b c"; a plain path is returned unchanged; a
// location in object storage (s3://…) gives "".
func LocalPath(location string) string {
	// The common case needs no URL parser: a file:/// location without
	// escapes, query, fragment or control characters is its path.
	if rest, ok := strings.CutPrefix(location, "file://"); ok && strings.HasPrefix(rest, "/") && plainURLPath(rest) {
		return filepath.FromSlash(rest)
	}
	if !strings.Contains(location, "://") {
		if rest, ok := strings.CutPrefix(location, "file:"); ok {
			return filepath.FromSlash(rest)
		}
		return location
	}
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(u.Path)
}

// plainURLPath reports whether url.Parse would return p unchanged as a
// URL's path.
func plainURLPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '%' || c == '?' || c == '#' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
