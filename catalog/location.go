package catalog

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// prepareWarehouse creates a local warehouse directory and returns the
// location Iceberg should use for it.
func prepareWarehouse(wh string) (string, error) {
	if wh == "" {
		return "", fmt.Errorf("%w: empty warehouse location", ErrInvalidArgument)
	}
	if scheme, _, ok := strings.Cut(wh, "://"); ok && scheme != "file" {
		return "", fmt.Errorf("%w: %s:// warehouse", ErrNotSupported, scheme)
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
