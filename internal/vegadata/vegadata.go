// Package vegadata gives tests real-world data files: the data/ folder of
// the vega-datasets npm package (CSV, JSON, Parquet and Arrow files of
// flights, weather, airports, movies…), fetched once with `npm pack` and
// kept in a cache directory shared by test runs and worktrees.
package vegadata

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Package is the npm package and version the tests are written against.
const Package = "vega-datasets@3.2.1"

// cacheName is the directory, under the test-data root, that holds the
// extracted package (its files without the tarball's "package/" prefix).
const cacheName = "vega-datasets-3.2.1"

// EnvDir names the test-data root; the default is <repo root>/.cache/testdata.
const EnvDir = "LAKEFLIGHT_TESTDATA"

var mu sync.Mutex // one fetch at a time within a test process

// Dir returns the directory holding the package's data files
// (airports.csv, flights-3m.parquet, …), fetching the package on first use.
// It fails the test when npm is missing or the fetch fails: CI must provide
// npm and the registry.
func Dir(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	root, err := cacheRoot()
	if err != nil {
		tb.Fatalf("vegadata: %v", err)
	}
	dir := filepath.Join(root, cacheName)
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(data); err == nil {
		return data
	}
	if err := fetch(root, dir); err != nil {
		tb.Fatalf("vegadata: fetching %s into %s: %v", Package, dir, err)
	}
	return data
}

// cacheRoot is $LAKEFLIGHT_TESTDATA, else .cache/testdata in the repository
// root (the nearest directory above the working directory with a go.mod).
func cacheRoot() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".cache", "testdata"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s; set %s", wd, EnvDir)
		}
	}
}

// fetch packs the package with npm into a temporary directory beside dir,
// extracts it there and renames it into place, so that a concurrent test
// process sees either nothing or the whole package. When another process
// wins the race its copy is kept.
func fetch(root, dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm is not installed (the tests need it to fetch real data files): %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(root, cacheName+".tmp-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "pack", Package, "--pack-destination", tmp, "--silent")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm pack %s: %w\n%s", Package, err, strings.TrimSpace(string(out)))
	}
	tgzs, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgzs) != 1 {
		return fmt.Errorf("npm pack left %d tarballs in %s", len(tgzs), tmp)
	}
	staged := filepath.Join(tmp, "pkg")
	if err := extract(tgzs[0], staged); err != nil {
		return fmt.Errorf("extracting %s: %w", filepath.Base(tgzs[0]), err)
	}
	if _, err := os.Stat(filepath.Join(staged, "data")); err != nil {
		return fmt.Errorf("the package has no data folder: %w", err)
	}
	if err := os.Rename(staged, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "data")); statErr == nil {
			return nil // another process put it there first
		}
		return err
	}
	return nil
}

// extract unpacks the gzipped tarball path into dir, dropping the leading
// "package/" of npm tarballs. Only regular files and directories are kept.
func extract(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer func() { _ = gz.Close() }()
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(filepath.ToSlash(hdr.Name), "package/")
		if !fs.ValidPath(name) {
			return fmt.Errorf("unsafe path %q in the tarball", hdr.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr); err != nil {
				return err
			}
		}
	}
}

func writeFile(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
