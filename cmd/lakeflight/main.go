// Command lakeflight is the lakehouse server and its client in one binary:
// `lakeflight serve` runs the Flight SQL server and HTTP sidecar,
// `lakeflight query` asks a running server a question, `lakeflight ingest`
// loads files into one of its tables, `lakeflight demo` loads the demo
// shop's raw data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lakeflight/lakeflight/internal/initgc"
)

// Set by the Makefile through -ldflags.
var (
	version = "dev"
	commit  = "unknown"
)

const usage = `lakeflight: a lakehouse server speaking Arrow Flight SQL over Iceberg tables and DuckDB

Usage:
  lakeflight serve [flags]                 run the server (lakeflight serve -h for flags)
  lakeflight query [flags] "SQL"           run one query against a server (lakeflight query -h)
  lakeflight ingest --table T [flags] FILE...
                                           load CSV, JSON or Parquet files into a table (lakeflight ingest -h)
  lakeflight demo [--scale N] [--step K]   load the demo shop's raw data into bronze tables (lakeflight demo -h)
  lakeflight maintain TABLE...|--all expire|orphans|compact|rewrite-manifests [flags]
                                           expire old snapshots, remove orphan files, compact small files, merge manifests (lakeflight maintain -h)
  lakeflight hash-password < FILE          the bcrypt hash of the password on stdin, for auth.users[].password_hash
  lakeflight token create NAME ROLE        a new API token and its auth.api_tokens entry (reader, writer or admin)
  lakeflight version                       print the version
`

func main() {
	initgc.Restore()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lakeflight:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "query":
		return runQuery(ctx, args[1:], stdout, stderr)
	case "ingest":
		return runIngest(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(args[1:], stdout, stderr)
	case "hash-password":
		return runHashPassword(args[1:], os.Stdin, stdout, stderr)
	case "maintain":
		return runMaintain(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		_, err := fmt.Fprintf(stdout, "lakeflight %s (commit %s)\n", version, commit)
		return err
	case "help", "-h", "--help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	default:
		_, _ = fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
}
