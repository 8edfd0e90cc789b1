package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lakeflight/lakeflight/internal/demo"
)

const demoUsage = `Usage: lakeflight demo [flags]

Generates the demo shop's raw files (customers as CSV, products as Parquet,
orders as newline-delimited JSON) and loads them into bronze.customers,
bronze.products and bronze.orders through the normal ingest path. Step 0 is
the first load (30 days of orders); each later step is one more day. The
files are deterministic, so running a step again is a replay, not a second
load.

Flags:
`

// runDemo is `lakeflight demo`.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	defServer := defaultQueryServer
	if s := os.Getenv("LAKEFLIGHT_SERVER"); s != "" {
		defServer = s
	}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", defServer, "lakeflight Flight SQL address `HOST:PORT` (env LAKEFLIGHT_SERVER)")
	scale := fs.Int("scale", 1, "size `N`: N × 500 customers, N × 60 products, N × 120 orders a day")
	step := fs.Int("step", 0, "`step` to load: 0 the first 30 days, k > 0 the k-th day after them")
	steps := fs.Int("steps", 1, "load `N` steps, from --step on")
	out := fs.String("out", "", "keep the generated files in `DIR` (default: a temporary directory, removed after)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			_, _ = io.WriteString(stdout, demoUsage)
			fs.PrintDefaults()
			return err
		}
		return fmt.Errorf("%w: demo: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: demo takes no arguments, got %q", errUsage, fs.Args())
	}
	switch {
	case *scale < 1:
		return fmt.Errorf("%w: demo: --scale %d: want 1 or more", errUsage, *scale)
	case *step < 0:
		return fmt.Errorf("%w: demo: --step %d: want 0 or more", errUsage, *step)
	case *steps < 1:
		return fmt.Errorf("%w: demo: --steps %d: want 1 or more", errUsage, *steps)
	}
	dir := *out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "lakeflight-demo-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		dir = tmp
	}
	for s := *step; s < *step+*steps; s++ {
		files, err := demo.Generate(filepath.Join(dir, fmt.Sprintf("step%03d", s)), *scale, s)
		if err != nil {
			return err
		}
		for _, f := range files {
			// The key names the data, not the file: a step loaded again is
			// replayed wherever its files were written.
			key := fmt.Sprintf("demo/scale=%d/step=%d/%s", *scale, s, f.Table)
			args := []string{"--server", *server, "--table", f.Table, "--key", key, "--progress", "none", f.Path}
			if err := runIngest(ctx, args, stdout, stderr); err != nil {
				return fmt.Errorf("demo step %d, %s: %w", s, filepath.Base(f.Path), err)
			}
		}
	}
	return nil
}
