package main

// lakeflight ingest: load files into a table of a running server. The files
// are parsed here, on the client, and stream to the server as Arrow batches
// over Flight SQL bulk ingest (DoPut); the server commits each ingest as one
// Iceberg snapshot, or nothing at all.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lakeflight/lakeflight/ingest"
)

const ingestUsage = `usage: lakeflight ingest [--server HOST:PORT] --table [NAMESPACE.]NAME [flags] FILE...

Parses CSV/TSV, JSON (lines or one array) and Parquet files, plain or gzip/zstd
compressed, and streams them to a lakeflight server, which commits them as one
snapshot of the table (--each: one snapshot per file). FILE "-" reads stdin.
Nothing is committed unless every file was read to its end.

All files of one snapshot need the same columns, in any order. The first file
sets them and their types; later CSV and JSON files are parsed with those types
(a value that does not fit is a bad row), later Parquet files must match
exactly. Otherwise use --each.

Text that is not valid UTF-8 makes its row bad (handled as --on-bad says; a
rejects table shows the invalid bytes as \xNN); --invalid-utf8 replace stores
each invalid byte as U+FFFD instead.

Re-running is safe: unless --key or --no-key is given, the ingest carries an
idempotency key derived from the table, mode, parsing flags and each file's
absolute path, size and modification time. Running the same command again on
unchanged files commits nothing and reports "replayed". stdin has no default
key. With --each, each file's key is derived alone (an explicit --key K
becomes K/FILE).

Exit status: 0 on success (also when replayed), 1 when the ingest failed, 2 on
a usage error.

flags:
`

type ingestOptions struct {
	server         string
	namespace      string
	table          string
	mode           ingest.Mode
	policy         ingest.Policy
	invalidUTF8    ingest.UTF8Policy
	maxErrors      int
	maxRatio       int
	format         ingest.Format
	csv            ingest.CSVOptions
	columnTypes    []string
	metadata       bool
	key            string
	noKey          bool
	partitionBy    string
	each           bool
	progress       string
	json           bool
	connectTimeout time.Duration
	files          []string

	parsed ingest.Options // the parser options the flags above make
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runIngest implements `lakeflight ingest`.
func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseIngestArgs(args, stdout, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	inputs, err := statInputs(opts.files)
	if err != nil {
		return err
	}
	target := opts.namespace + "." + opts.table
	client, err := dialFlightSQL(ctx, opts.server, opts.connectTimeout)
	if err != nil {
		return fmt.Errorf("cannot reach lakeflight at %s: %w", opts.server, err)
	}
	defer func() { _ = client.Close() }()

	mode := opts.progress
	if mode == "auto" {
		mode = "log"
		if isTerminal(stderr) {
			mode = "bar"
		}
	}
	prog := newProgress(mode, stderr, target, totalSize(inputs))
	prog.start()
	defer prog.stop()

	if opts.mode == ingest.ModeAppend || opts.mode == ingest.ModeCreateAppend {
		opts.parsed.TypeHints = tableTypes(ctx, client, opts.namespace, opts.table)
	}

	batches := [][]inputFile{inputs}
	if opts.each {
		batches = batches[:0]
		for _, in := range inputs {
			batches = append(batches, []inputFile{in})
		}
	}
	for _, files := range batches {
		key := opts.keyFor(files, len(batches) > 1)
		sum, err := ingestOnce(ctx, client, opts, files, key, prog)
		if err != nil {
			prog.stop()
			return describeIngestError(ctx, err, opts.server, target)
		}
		prog.snapshotDone(sum.stats)
		if err := printSummary(stdout, opts.json, sum); err != nil {
			return err
		}
	}
	return nil
}

func parseIngestArgs(args []string, helpOut io.Writer, getenv func(string) string) (ingestOptions, error) {
	var opts ingestOptions
	defServer := defaultQueryServer
	if s := getenv("LAKEFLIGHT_SERVER"); s != "" {
		defServer = s
	}
	var table, mode, onBad, invalidUTF8, format, delimiter, quote, progress string
	var header, noHeader bool
	var nulls, types listFlag
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.server, "server", defServer, "lakeflight Flight SQL address `HOST:PORT` (env LAKEFLIGHT_SERVER)")
	fs.StringVar(&table, "table", "", "target table `[NAMESPACE.]NAME` (required; namespace defaults to "+ingest.DefaultNamespace+")")
	fs.StringVar(&mode, "mode", string(ingest.ModeCreateAppend), "`mode`: create, append, replace or create_append")
	fs.StringVar(&opts.partitionBy, "partition-by", "", "partition a table the ingest creates by these `terms`, as in PARTITIONED BY: columns, year/month/day/hour(col), bucket(N, col), truncate(W, col), e.g. 'day(ts), region'; an existing table must already be partitioned so")
	fs.StringVar(&onBad, "on-bad", string(ingest.PolicyStrict), "bad-row `policy`: strict (fail, commit nothing), skip (drop and count) or rejects (keep them in NAME__rejects)")
	fs.StringVar(&invalidUTF8, "invalid-utf8", string(ingest.UTF8Error), "text that is not valid UTF-8: error (a bad row, see --on-bad) or replace (store each invalid byte as U+FFFD)")
	fs.IntVar(&opts.maxErrors, "max-errors", 1, "strict: collect up to `N` bad rows and list them all before failing (1: stop at the first)")
	fs.IntVar(&opts.maxRatio, "max-decompression-ratio", ingest.DefaultMaxRatio, "refuse a gzip/zstd file that decompresses to more than `N` times its size, a likely decompression bomb (checked after its first 16 MiB; 0: no check)")
	fs.StringVar(&format, "format", "auto", "input `format`: auto (from the file name, else the first bytes), csv, json or parquet")
	fs.StringVar(&delimiter, "delimiter", "", "CSV field `delimiter`: one character, or tab, comma, semicolon, pipe (default: sniffed)")
	fs.StringVar(&quote, "quote", "", "CSV quote `character`, or none (default: sniffed)")
	fs.BoolVar(&header, "header", false, "CSV files start with a header row (default: sniffed)")
	fs.BoolVar(&noHeader, "no-header", false, "CSV files have no header row; columns are named column1, column2, …")
	fs.Var(&nulls, "null", "read this field `text` as NULL (repeatable; default: only the empty field)")
	fs.Var(&types, "column-type", "`name=type` instead of the inferred type (repeatable); types: "+ingest.TypeNames)
	fs.BoolVar(&opts.metadata, "metadata-columns", false, "add _ingested_at, _source_file and _source_line to every row")
	fs.StringVar(&opts.key, "key", "", "idempotency `key` instead of the derived one: an ingest with a key already committed is replayed, not repeated")
	fs.BoolVar(&opts.noKey, "no-key", false, "send no idempotency key: every run appends again")
	fs.BoolVar(&opts.each, "each", false, "commit one snapshot per file (default: all files in one snapshot)")
	fs.StringVar(&progress, "progress", "auto", "`progress` on stderr: auto (a bar on a terminal, else a log line every 5s and per file), bar, log or none")
	fs.BoolVar(&opts.json, "json", false, "print the summary as JSON, one object per snapshot, with the server's timings (open, receive, flush, commit)")
	fs.DurationVar(&opts.connectTimeout, "connect-timeout", defaultQueryTimeout, "give up connecting after this `duration`")

	// Flags may follow file names: parse, take one file, parse the rest.
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(helpOut)
				if _, werr := io.WriteString(helpOut, ingestUsage); werr == nil {
					fs.PrintDefaults()
				}
				return opts, err
			}
			return opts, ingestUsageErr("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		opts.files = append(opts.files, fs.Arg(0))
		rest = fs.Args()[1:]
	}

	if table == "" {
		return opts, ingestUsageErr("--table is required")
	}
	id, err := ingest.ParseTable(table)
	if err != nil {
		return opts, ingestUsageErr("--table: %v", err)
	}
	opts.namespace, opts.table = id.Namespace, id.Name
	if len(opts.files) == 0 {
		return opts, ingestUsageErr("no files given: lakeflight ingest --table NAME FILE... (- reads stdin)")
	}
	if n := countOf(opts.files, "-"); n > 1 {
		return opts, ingestUsageErr("stdin (-) given %d times", n)
	}
	if opts.mode, err = ingest.ParseMode(mode); err != nil {
		return opts, ingestUsageErr("--mode: %v", err)
	}
	if opts.policy, err = ingest.ParsePolicy(onBad); err != nil {
		return opts, ingestUsageErr("--on-bad: %v", err)
	}
	if opts.invalidUTF8, err = ingest.ParseUTF8Policy(invalidUTF8); err != nil {
		return opts, ingestUsageErr("--invalid-utf8: %v", err)
	}
	if opts.maxRatio < 0 {
		return opts, ingestUsageErr("--max-decompression-ratio %d: want 0 (no check) or more", opts.maxRatio)
	}
	if opts.maxErrors < 1 {
		return opts, ingestUsageErr("--max-errors %d: want 1 or more", opts.maxErrors)
	}
	switch f := ingest.Format(format); f {
	case "auto":
		opts.format = ingest.FormatAuto
	case ingest.FormatCSV, ingest.FormatJSON, ingest.FormatParquet:
		opts.format = f
	default:
		return opts, ingestUsageErr("--format %q: want auto, csv, json or parquet", format)
	}
	if opts.csv.Delimiter, err = delimiterFlag(delimiter); err != nil {
		return opts, ingestUsageErr("--delimiter: %v", err)
	}
	if opts.csv.Quote, err = quoteFlag(quote); err != nil {
		return opts, ingestUsageErr("--quote: %v", err)
	}
	switch {
	case header && noHeader:
		return opts, ingestUsageErr("--header and --no-header contradict each other")
	case header:
		opts.csv.Header = ingest.HeaderYes
	case noHeader:
		opts.csv.Header = ingest.HeaderNo
	}
	opts.csv.NullTokens = nulls
	opts.columnTypes = types
	colTypes, err := ingest.ParseColumnTypes(types)
	if err != nil {
		return opts, ingestUsageErr("--column-type: %v", err)
	}
	keyGiven := false
	fs.Visit(func(f *flag.Flag) { keyGiven = keyGiven || f.Name == "key" })
	if keyGiven && opts.noKey {
		return opts, ingestUsageErr("--key and --no-key contradict each other")
	}
	if keyGiven && opts.key == "" {
		return opts, ingestUsageErr("--key is empty (use --no-key to send none)")
	}
	switch progress {
	case "auto", "bar", "log", "none":
		opts.progress = progress
	default:
		return opts, ingestUsageErr("--progress %q: want auto, bar, log or none", progress)
	}
	opts.server = strings.TrimPrefix(strings.TrimPrefix(opts.server, "grpc://"), "grpc+tcp://")
	opts.parsed = ingest.Options{
		Format:      opts.format,
		ColumnTypes: colTypes,
		Policy:      opts.policy,
		InvalidUTF8: opts.invalidUTF8,
		MaxErrors:   opts.maxErrors,
		Metadata:    opts.metadata,
		IngestedAt:  time.Now(),
		CSV:         opts.csv,
	}
	return opts, nil
}

func ingestUsageErr(format string, a ...any) error {
	return fmt.Errorf("%w: ingest: %s (see lakeflight ingest -h)", errUsage, fmt.Sprintf(format, a...))
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// delimiterFlag reads --delimiter: one byte, or a name for the awkward ones.
func delimiterFlag(s string) (byte, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "tab", `\t`:
		return '\t', nil
	case "comma":
		return ',', nil
	case "semicolon":
		return ';', nil
	case "pipe":
		return '|', nil
	}
	if len(s) != 1 || s[0] == '\n' || s[0] == '\r' {
		return 0, fmt.Errorf("%q: want one character, or tab, comma, semicolon or pipe", s)
	}
	return s[0], nil
}

// quoteFlag reads --quote: one byte, or none.
func quoteFlag(s string) (byte, error) {
	switch {
	case s == "":
		return 0, nil
	case strings.EqualFold(s, "none"):
		return ingest.NoQuote, nil
	case len(s) == 1:
		return s[0], nil
	}
	return 0, fmt.Errorf("%q: want one character or none", s)
}

// inputFile is one FILE argument, checked before anything connects.
type inputFile struct {
	arg   string // as given; "-" is stdin
	abs   string
	size  int64 // -1 for stdin
	mtime time.Time
	// hints, when set, replace the column types of the parser options
	// (a later file of a snapshot takes the first one's).
	hints map[string]arrow.DataType
}

func statInputs(args []string) ([]inputFile, error) {
	out := make([]inputFile, 0, len(args))
	for _, a := range args {
		if a == "-" {
			out = append(out, inputFile{arg: a, size: -1})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("ingest: %s is a directory", a)
		}
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		out = append(out, inputFile{arg: a, abs: abs, size: st.Size(), mtime: st.ModTime()})
	}
	return out, nil
}

func totalSize(files []inputFile) int64 {
	var n int64
	for _, f := range files {
		if f.size < 0 {
			return -1
		}
		n += f.size
	}
	return n
}

// keyFor is the idempotency key of one snapshot's files: --key (with
// /FILE appended when each file is its own snapshot), nothing with --no-key
// or for stdin, else a digest of everything that decides what gets written.
func (o *ingestOptions) keyFor(files []inputFile, perFile bool) string {
	switch {
	case o.noKey:
		return ""
	case o.key != "" && perFile:
		return o.key + "/" + files[0].arg
	case o.key != "":
		return o.key
	}
	var h strings.Builder // what the key is a digest of
	fmt.Fprintf(&h, "table=%s.%s\nmode=%s\nformat=%s\non-bad=%s\nmetadata=%t\ndelimiter=%d\nquote=%d\nheader=%d\n",
		o.namespace, o.table, o.mode, o.format, o.policy, o.metadata, o.csv.Delimiter, o.csv.Quote, o.csv.Header)
	fmt.Fprintf(&h, "null=%q\n", o.csv.NullTokens)
	if o.invalidUTF8 == ingest.UTF8Replace { // only then, so that earlier keys still replay
		fmt.Fprintf(&h, "invalid-utf8=%s\n", o.invalidUTF8)
	}
	if o.partitionBy != "" { // likewise
		fmt.Fprintf(&h, "partition-by=%s\n", o.partitionBy)
	}
	types := slices.Clone(o.columnTypes)
	slices.Sort(types)
	fmt.Fprintf(&h, "column-type=%q\n", types)
	for _, f := range files {
		if f.arg == "-" {
			return "" // stdin's content is unknown until read
		}
		fmt.Fprintf(&h, "file=%s size=%d mtime=%d\n", f.abs, f.size, f.mtime.UnixNano())
	}
	sum := sha256.Sum256([]byte(h.String()))
	return "cli-" + hex.EncodeToString(sum[:16])
}

// snapshotSummary is what one ingest did, for the summary line.
type snapshotSummary struct {
	res     ingest.Result
	stats   ingest.Stats
	key     string
	files   []string
	elapsed time.Duration
}

// ingestOnce streams files to the server as one snapshot.
func ingestOnce(ctx context.Context, client *afsql.Client, opts ingestOptions, files []inputFile, key string, prog *progress) (snapshotSummary, error) {
	sum := snapshotSummary{key: key}
	for _, f := range files {
		sum.files = append(sum.files, f.arg)
	}
	started := time.Now()
	limits := &ingest.Limits{MaxRatio: float64(opts.maxRatio)}
	if opts.maxRatio == 0 {
		limits.MaxRatio = -1
	}
	open := func(ctx context.Context, f inputFile) (*ingest.Reader, error) {
		o := opts.parsed
		o.Limits = limits
		if f.arg == "-" {
			o.Source = "stdin"
			return ingest.Open(ctx, os.Stdin, o)
		}
		o.Source = f.arg
		if f.hints != nil {
			o.ColumnTypes = f.hints
		}
		r, err := ingest.OpenFile(ctx, f.arg, o)
		if errors.Is(err, ingest.ErrOptions) && o.TypeHints != nil {
			o.TypeHints = nil // a table type this parser cannot produce: infer instead
			r, err = ingest.OpenFile(ctx, f.arg, o)
		}
		return r, err
	}
	first, err := open(ctx, files[0])
	if err != nil {
		return sum, err
	}
	rest := files[1:]
	rdr := ingest.NewConcat(ctx, first, func(ctx context.Context) (*ingest.Reader, error) {
		if len(rest) == 0 {
			return nil, io.EOF
		}
		f := rest[0]
		rest = rest[1:]
		return openLike(ctx, f, first.Schema(), open)
	})
	defer rdr.Release()
	rdr.InputDone = prog.fileDone
	prog.reading(rdr)

	res, err := ingest.Send(ctx, client, rdr, ingest.SendOptions{
		Namespace: opts.namespace, Table: opts.table, Mode: opts.mode, Key: key, Source: sourceName(sum.files), PartitionBy: opts.partitionBy,
	}, func() ([]ingest.RowError, ingest.WireStats) {
		st := rdr.Stats()
		return rdr.TakeRejects(), ingest.WireStats{Bytes: st.Bytes, Skipped: st.Skipped}
	})
	sum.stats = rdr.Stats()
	prog.reading(nil)
	if err != nil {
		return sum, err
	}
	sum.res, sum.elapsed = res, time.Since(started)
	return sum, nil
}

// tableTypes are the column types of the target table, when it exists:
// parsing a file for an append with them (ingest.Options.TypeHints) makes a
// bad value in a numeric column a bad row named by line, instead of a column
// inferred as text that the table then refuses. Any failure (no such table)
// means no hints.
func tableTypes(ctx context.Context, client *afsql.Client, ns, table string) map[string]arrow.DataType {
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	info, err := client.Execute(ctx, "SELECT * FROM "+quote(ns)+"."+quote(table)+" LIMIT 0")
	if err != nil {
		return nil
	}
	for _, ep := range info.Endpoint { // read the empty result so the server can free it
		if rdr, err := client.DoGet(ctx, ep.Ticket); err == nil {
			for rdr.Next() {
			}
			rdr.Release()
		}
	}
	sc, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	if err != nil {
		return nil
	}
	return ingest.ColumnTypesOf(sc)
}

// openLike opens a later file of a snapshot with the first file's column
// types, so that inference cannot guess a column differently in each file
// (int64 here, float64 there). Files that cannot take them (Parquet, a
// column of the first file missing) open as they are and must then match
// the first file exactly. stdin cannot be read twice and is not hinted.
func openLike(ctx context.Context, f inputFile, first *arrow.Schema, open func(context.Context, inputFile) (*ingest.Reader, error)) (*ingest.Reader, error) {
	if f.arg == "-" {
		return open(ctx, f)
	}
	hinted := f
	hinted.hints = ingest.ColumnTypesOf(first)
	r, err := open(ctx, hinted)
	if errors.Is(err, ingest.ErrOptions) {
		return open(ctx, f)
	}
	return r, err
}

// sourceName is what the snapshot summary records as the source.
func sourceName(files []string) string {
	const show = 5
	if len(files) <= show {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(files[:show], ", "), len(files)-show)
}

// ingestJSON is the --json summary of one snapshot.
type ingestJSON struct {
	ingest.Result          // the server's answer
	SkipSummary   string   `json:"skip_summary,omitempty"`
	DurationMS    int64    `json:"duration_ms"`
	MBPerSec      float64  `json:"mb_per_s"`
	Key           string   `json:"key,omitempty"`
	Files         []string `json:"files"`
}

func printSummary(w io.Writer, asJSON bool, s snapshotSummary) error {
	r := s.res
	mbps := 0.0
	if secs := s.elapsed.Seconds(); secs > 0 {
		mbps = float64(r.Bytes) / 1e6 / secs
	}
	if asJSON {
		return writeJSONLine(w, ingestJSON{
			Result: r, SkipSummary: s.stats.SkipSummary(), DurationMS: s.elapsed.Milliseconds(),
			MBPerSec: float64(int64(mbps*100)) / 100, Key: s.key, Files: s.files,
		})
	}
	var b strings.Builder
	if r.Replayed {
		fmt.Fprintf(&b, "%s: replayed (already ingested with key %s as snapshot %d, %d rows); nothing written\n",
			r.Table, s.key, r.SnapshotID, r.Rows)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "%s: %d rows", r.Table, r.Rows)
	if len(s.files) > 1 {
		fmt.Fprintf(&b, " from %d files", len(s.files))
	}
	fmt.Fprintf(&b, ", %d rejected", r.Rejected)
	if r.RejectsTable != "" {
		fmt.Fprintf(&b, " (in %s)", r.RejectsTable)
	}
	if r.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", r.Skipped)
	}
	fmt.Fprintf(&b, ", %s in %s (%.1f MB/s), snapshot %d\n", humanBytes(r.Bytes), s.elapsed.Round(time.Millisecond), mbps, r.SnapshotID)
	if sk := s.stats.SkipSummary(); sk != "" {
		fmt.Fprintf(&b, "  %s\n", sk)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describeIngestError turns a failed ingest into one line that says
// whether anything was committed.
func describeIngestError(ctx context.Context, err error, server, table string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("ingest into %s canceled; nothing was committed", table)
	}
	st, ok := status.FromError(err)
	if !ok {
		hint := ""
		if le := (*ingest.LimitError)(nil); errors.As(err, &le) && le.Ratio {
			hint = " (--max-decompression-ratio 0 lifts this check)"
		}
		return fmt.Errorf("ingest into %s failed; nothing was committed: %s%s", table, firstLine(err.Error()), hint)
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("cannot reach lakeflight at %s: %s", server, dialReason(st.Message()))
	case codes.Canceled:
		return fmt.Errorf("ingest into %s canceled; nothing was committed: %s", table, firstLine(st.Message()))
	case codes.Unknown, codes.Internal, codes.DeadlineExceeded:
		// The call broke off: the commit may or may not have happened.
		return fmt.Errorf("ingest into %s failed (%s: %s); if it had a key, re-running it is safe", table, st.Code(), firstLine(st.Message()))
	default:
		return fmt.Errorf("ingest into %s failed; nothing was committed: %s: %s", table, st.Code(), firstLine(st.Message()))
	}
}
