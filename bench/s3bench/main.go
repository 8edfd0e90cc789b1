// Command s3bench measures an s3:// warehouse on a real S3-compatible
// server (versitygw on this machine's disk, so network cost is loopback
// only), in process (catalog + engine, no Flight): writing a table with SQL
// into the bucket against into a local directory (MB/s of Parquet), and a
// full scan of it with a cold cache (every file fetched), a warm cache
// (the copies of a previous run, another engine), and from the local
// warehouse. It prints the figures and their ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/internal/s3test"
	"github.com/lakeflight/lakeflight/objstore"
)

func main() {
	rows := flag.Int("rows", 10_000_000, "rows of the table")
	files := flag.Int("files", 20, "INSERTs, each one data file")
	runs := flag.Int("runs", 3, "runs of each scan (the best is kept)")
	flag.Parse()
	if err := run(*rows, *files, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "s3bench:", err)
		os.Exit(1)
	}
}

const scan = "SELECT count(*), sum(id), sum(length(h)) FROM silver.t"

func run(rows, files, runs int) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "s3bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	srv, err := s3test.Start(work)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	store, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: "lake", Prefix: "wh",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true, PathStyle: true})
	if err != nil {
		return err
	}
	if err := store.MakeBucket(ctx); err != nil {
		return err
	}
	props := srv.IcebergProps()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	s3cat, err := catalog.Open(ctx, catalog.Config{Driver: "sqlite", URI: filepath.Join(work, "s3.db"), Warehouse: "s3://lake/wh", Props: props}, log)
	if err != nil {
		return err
	}
	defer func() { _ = s3cat.Close() }()
	localCat, err := catalog.Open(ctx, catalog.Config{Driver: "sqlite", URI: filepath.Join(work, "local.db"), Warehouse: filepath.Join(work, "local")}, log)
	if err != nil {
		return err
	}
	defer func() { _ = localCat.Close() }()

	engineOn := func(cat *catalog.Catalog, cacheDir string) (*engine.Engine, func(), error) {
		cfg := engine.Config{Warehouse: cat.WarehouseDir()}
		if cacheDir != "" {
			cache, err := objstore.OpenCache(cacheDir, 64<<30, store, objstore.Scope(store))
			if err != nil {
				return nil, nil, err
			}
			f := objstore.NewFiles(store, cache, 8)
			cfg.Warehouse, cfg.Files = f.Dir(), f
		}
		e, err := engine.Open(ctx, cfg, cat, log)
		if err != nil {
			return nil, nil, err
		}
		return e, func() {
			_ = e.Close()
			if cfg.Files != nil {
				_ = cfg.Files.(*objstore.Files).Cache().Close()
			}
		}, nil
	}
	exec := func(e *engine.Engine, sql string) (time.Duration, error) {
		s, err := e.NewSession(ctx)
		if err != nil {
			return 0, err
		}
		defer func() { _ = s.Close() }()
		start := time.Now()
		_, err = s.Exec(ctx, sql)
		return time.Since(start), err
	}
	write := func(e *engine.Engine, cat *catalog.Catalog) (time.Duration, int64, error) {
		per := rows / files
		var total time.Duration
		for k := range files {
			sql := fmt.Sprintf("INSERT INTO silver.t SELECT range AS id, md5(range::VARCHAR) AS h FROM range(%d, %d)", k*per, (k+1)*per)
			if k == 0 {
				sql = fmt.Sprintf("CREATE TABLE silver.t AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range(0, %d)", per)
			}
			d, err := exec(e, sql)
			if err != nil {
				return 0, 0, err
			}
			total += d
		}
		st, err := cat.TableState(ctx, catalog.Ident{Namespace: "silver", Name: "t"})
		if err != nil {
			return 0, 0, err
		}
		var bytes int64
		for _, f := range st.DataFiles {
			bytes += f.SizeBytes
		}
		return total, bytes, nil
	}
	best := func(e *engine.Engine) (time.Duration, error) {
		var b time.Duration
		for range runs {
			d, err := exec(e, scan)
			if err != nil {
				return 0, err
			}
			if b == 0 || d < b {
				b = d
			}
		}
		return b, nil
	}
	for _, c := range []*catalog.Catalog{s3cat, localCat} {
		if err := c.EnsureNamespace(ctx, "silver"); err != nil {
			return err
		}
	}

	fmt.Printf("s3bench: %d rows (id BIGINT, h VARCHAR md5) in %d files; versitygw on loopback\n", rows, files)
	eLocal, closeLocal, err := engineOn(localCat, "")
	if err != nil {
		return err
	}
	defer closeLocal()
	localWrite, localBytes, err := write(eLocal, localCat)
	if err != nil {
		return err
	}
	eS3, closeS3, err := engineOn(s3cat, filepath.Join(work, "cache-write"))
	if err != nil {
		return err
	}
	s3Write, s3Bytes, err := write(eS3, s3cat)
	closeS3()
	if err != nil {
		return err
	}
	mbps := func(b int64, d time.Duration) float64 { return float64(b) / 1e6 / d.Seconds() }
	fmt.Printf("write (SQL, %d INSERTs): local %.1f MB/s (%v), s3 %.1f MB/s (%v): s3 at %.2f× local\n",
		files, mbps(localBytes, localWrite), localWrite.Round(time.Millisecond), mbps(s3Bytes, s3Write), s3Write.Round(time.Millisecond),
		mbps(s3Bytes, s3Write)/mbps(localBytes, localWrite))

	localScan, err := best(eLocal)
	if err != nil {
		return err
	}
	// Cold: a new engine on an empty cache, first scan only (it fetches).
	// The engine binds (and so fetches) a table's files when it opens:
	// a first query's time is the open plus the scan.
	cacheDir := filepath.Join(work, "cache-read")
	first := func() (time.Duration, error) {
		start := time.Now()
		e, closeE, err := engineOn(s3cat, cacheDir)
		if err != nil {
			return 0, err
		}
		defer closeE()
		if _, err := exec(e, scan); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	cold, err := first() // an empty cache: every file fetched
	if err != nil {
		return err
	}
	warmFirst, err := first() // a restart on the same cache: no fetch
	if err != nil {
		return err
	}
	eWarm, closeWarm, err := engineOn(s3cat, cacheDir)
	if err != nil {
		return err
	}
	defer closeWarm()
	warm, err := best(eWarm)
	if err != nil {
		return err
	}
	fmt.Printf("first query after start (open + full scan of %.0f MB): cold cache %v, warm cache %v: cold/warm %.1f×\n",
		float64(s3Bytes)/1e6, cold.Round(time.Millisecond), warmFirst.Round(time.Millisecond), cold.Seconds()/warmFirst.Seconds())
	fmt.Printf("full scan, warm: %v from the cache, %v from the local warehouse: %.2f×\n",
		warm.Round(time.Millisecond), localScan.Round(time.Millisecond), warm.Seconds()/localScan.Seconds())
	return nil
}
