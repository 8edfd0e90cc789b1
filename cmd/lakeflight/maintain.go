package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
)

const maintainUsage = `usage: lakeflight maintain [flags] TABLE... | --all  ACTION

Runs table maintenance on a lakeflight server (its HTTP sidecar) and prints
a report per table: snapshots, files and bytes before and after.

ACTION:
  expire    remove snapshots older than --older-than beyond the last
            --retain-last of main (the current, tagged and branch-head
            snapshots always stay), then the files only they used
  orphans   delete files under the table's location that no metadata
            references and that are older than --older-than (--dry-run:
            list them)
  rewrite-manifests
            merge the current snapshot's small manifests into fewer ones
  compact   rewrite each partition's small files (under 3/4 of
            --target-file-size) and files with deletes into new files, one
            snapshot per group; a writer committing meanwhile loses nothing
            (that group is left for the next run)

TABLE is [NAMESPACE.]NAME (namespace defaults to bronze); --all takes every
Iceberg table the server lists over Flight SQL (--server).

flags:
`

// maintainActions maps ACTION to the endpoint that runs it.
var maintainActions = map[string]string{
	"expire": "expire-snapshots", "orphans": "remove-orphan-files", "compact": "compact", "rewrite-manifests": "rewrite-manifests",
}

type maintainOptions struct {
	http, server string
	all, dryRun  bool
	json         bool
	olderThan    string
	retainLast   int
	targetSize   int64
	minFiles     int
	action       string
	tables       []catalog.Ident
}

func runMaintain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseMaintainArgs(args, stderr, os.Getenv)
	if err != nil {
		return err
	}
	if opts.all {
		if opts.tables, err = listTables(ctx, opts.server); err != nil {
			return fmt.Errorf("listing the tables of %s: %w", opts.server, err)
		}
	}
	failed := 0
	for _, id := range opts.tables {
		rep, err := maintainTable(ctx, opts, id)
		if err != nil {
			failed++
			_, _ = fmt.Fprintf(stderr, "lakeflight maintain: %s: %v\n", id, err)
			continue
		}
		if err := printMaintenance(stdout, opts.json, rep); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d tables failed", failed, len(opts.tables))
	}
	return nil
}

func parseMaintainArgs(args []string, helpOut io.Writer, getenv func(string) string) (maintainOptions, error) {
	var opts maintainOptions
	defHTTP, defServer := "127.0.0.1:8080", defaultQueryServer
	if v := getenv("LAKEFLIGHT_HTTP"); v != "" {
		defHTTP = v
	}
	if v := getenv("LAKEFLIGHT_SERVER"); v != "" {
		defServer = v
	}
	fs := flag.NewFlagSet("maintain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.http, "http", defHTTP, "the server's HTTP sidecar `HOST:PORT` (env LAKEFLIGHT_HTTP)")
	fs.StringVar(&opts.server, "server", defServer, "the server's Flight SQL `HOST:PORT`, for --all (env LAKEFLIGHT_SERVER)")
	fs.BoolVar(&opts.all, "all", false, "every Iceberg table of the server")
	fs.StringVar(&opts.olderThan, "older-than", "", "expire: snapshots younger than this stay (default 5d); orphans: only files older than this go (default 3d, at least 1h); e.g. 36h or 7d")
	fs.IntVar(&opts.retainLast, "retain-last", 1, "expire: the last N snapshots of main stay whatever their age")
	fs.BoolVar(&opts.dryRun, "dry-run", false, "orphans: list the orphan files, delete nothing")
	fs.Int64Var(&opts.targetSize, "target-file-size", 0, "compact: the target file size in `bytes` (default 128 MiB)")
	fs.IntVar(&opts.minFiles, "min-files", 0, "compact: small files a partition needs to be compacted (default 2)")
	fs.BoolVar(&opts.json, "json", false, "print each report as JSON, one object per line")
	usageErr := func(format string, a ...any) error {
		return fmt.Errorf("%w: maintain: "+format, append([]any{errUsage}, a...)...)
	}
	var positional []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				_, _ = io.WriteString(helpOut, maintainUsage)
				fs.SetOutput(helpOut)
				fs.PrintDefaults()
				return opts, err
			}
			return opts, usageErr("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0)) // flags may follow TABLE and ACTION
		rest = fs.Args()[1:]
	}
	if len(positional) == 0 {
		return opts, usageErr("no action given: want expire, orphans, compact or rewrite-manifests (lakeflight maintain -h)")
	}
	opts.action = positional[len(positional)-1]
	switch opts.action {
	case "expire", "orphans", "compact", "rewrite-manifests":
	default:
		return opts, usageErr("unknown action %q: want expire, orphans, compact or rewrite-manifests", opts.action)
	}
	names := positional[:len(positional)-1]
	switch {
	case opts.all && len(names) > 0:
		return opts, usageErr("name tables or give --all, not both")
	case !opts.all && len(names) == 0:
		return opts, usageErr("no table given: name one or more, or give --all")
	}
	for _, n := range names {
		id, err := ingest.ParseTable(n)
		if err != nil {
			return opts, usageErr("%v", err)
		}
		opts.tables = append(opts.tables, id)
	}
	if opts.action == "expire" && opts.dryRun {
		return opts, usageErr("--dry-run is for orphans; expire has none")
	}
	if opts.action != "expire" && opts.retainLast != 1 {
		return opts, usageErr("--retain-last is for expire")
	}
	if opts.action != "compact" && (opts.targetSize != 0 || opts.minFiles != 0) {
		return opts, usageErr("--target-file-size and --min-files are for compact")
	}
	if (opts.action == "compact" || opts.action == "rewrite-manifests") && opts.olderThan != "" {
		return opts, usageErr("--older-than is for expire and orphans")
	}
	return opts, nil
}

// maintainTable runs the action on one table through the HTTP sidecar.
func maintainTable(ctx context.Context, opts maintainOptions, id catalog.Ident) (catalog.MaintenanceReport, error) {
	body := map[string]any{}
	if opts.olderThan != "" {
		body["older_than"] = opts.olderThan
	}
	switch opts.action {
	case "expire":
		body["retain_last"] = opts.retainLast
	case "orphans":
		body["dry_run"] = opts.dryRun
	case "compact":
		if opts.targetSize != 0 {
			body["target_file_size_bytes"] = opts.targetSize
		}
		if opts.minFiles != 0 {
			body["min_files"] = opts.minFiles
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	tlsCfg, err := cliTLS(os.Getenv)
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	scheme, client := "http", http.DefaultClient
	if tlsCfg != nil {
		scheme, client = "https", &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	}
	u := fmt.Sprintf("%s://%s/v1/tables/%s/%s/%s", scheme, opts.http, url.PathEscape(id.Namespace), url.PathEscape(id.Name), maintainActions[opts.action])
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	authz, err := cliAuthorization()
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := client.Do(req)
	if err != nil {
		return catalog.MaintenanceReport{}, fmt.Errorf("cannot reach lakeflight's HTTP sidecar at %s: %w", opts.http, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return catalog.MaintenanceReport{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var p struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(data, &p) == nil && p.Detail != "" {
			return catalog.MaintenanceReport{}, fmt.Errorf("%s (HTTP %d)", p.Detail, resp.StatusCode)
		}
		return catalog.MaintenanceReport{}, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	var rep catalog.MaintenanceReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return rep, fmt.Errorf("the server's report: %w", err)
	}
	return rep, nil
}

func printMaintenance(w io.Writer, asJSON bool, r catalog.MaintenanceReport) error {
	if asJSON {
		return writeJSONLine(w, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Table, strings.ReplaceAll(r.Action, "_", " "))
	if r.DryRun {
		b.WriteString(" (dry run)")
	}
	fmt.Fprintf(&b, ": snapshots %d → %d, files %d → %d, %s → %s", r.SnapshotsBefore, r.SnapshotsAfter,
		r.FilesBefore, r.FilesAfter, humanBytes(r.BytesBefore), humanBytes(r.BytesAfter))
	switch r.Action {
	case "remove_orphan_files":
		fmt.Fprintf(&b, "; %d orphan files (%s)", len(r.Orphans), humanBytes(r.OrphanBytes))
	case "compact":
		fmt.Fprintf(&b, "; data files %d → %d (%d rewritten in %d commits", r.DataFilesBefore, r.DataFilesAfter, r.Rewritten, r.Commits)
		if r.Conflicts > 0 {
			fmt.Fprintf(&b, ", %d groups left for the next run after other writers' commits", r.Conflicts)
		}
		b.WriteString(")")
	case "rewrite_manifests":
		fmt.Fprintf(&b, "; manifests %d merged into %d", r.ManifestsRewritten, r.ManifestsAdded)
	}
	fmt.Fprintf(&b, " in %s\n", (time.Duration(r.Seconds * float64(time.Second))).Round(time.Millisecond))
	for _, o := range r.Orphans {
		fmt.Fprintf(&b, "  %s\n", o)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// listTables is every Iceberg table the server lists (Flight SQL
// GetTables, tables of type TABLE).
func listTables(ctx context.Context, server string) ([]catalog.Ident, error) {
	client, err := dialFlightSQL(ctx, server, defaultQueryTimeout)
	if err != nil {
		return nil, err
	}
	defer func() { _ = client.Close() }()
	info, err := client.GetTables(ctx, &afsql.GetTablesOpts{TableTypes: []string{"TABLE"}})
	if err != nil {
		return nil, err
	}
	var out []catalog.Ident
	for _, ep := range info.Endpoint {
		rdr, err := client.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, err
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			ns, name := rec.Column(1).(*array.String), rec.Column(2).(*array.String)
			for i := range int(rec.NumRows()) {
				if ns.IsValid(i) {
					out = append(out, catalog.Ident{Namespace: ns.Value(i), Name: name.Value(i)})
				}
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b catalog.Ident) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}
