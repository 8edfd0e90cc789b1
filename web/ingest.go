package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Ingester commits one ingest as one snapshot: *ingest.Writer.
type Ingester interface {
	Write(ctx context.Context, req ingest.Request) (ingest.Result, error)
}

var _ Ingester = (*ingest.Writer)(nil)

// TableTyper is what an Ingester may also offer: the column types of an
// existing table, which appends parse with (ingest.Options.TypeHints).
type TableTyper interface {
	TableTypes(ctx context.Context, id catalog.Ident) map[string]arrow.DataType
}

var _ TableTyper = (*ingest.Writer)(nil)

// DefaultMaxIngestBytes bounds an upload when Options.MaxIngestBytes is 0.
const DefaultMaxIngestBytes int64 = 1 << 30

// DefaultDecompressedFactor times MaxIngestBytes bounds what an upload's
// compressed files may decompress to when Options.MaxIngestDecompressedBytes
// is 0: 1 GiB of gzip that is CSV at 64:1 is already unusual.
const DefaultDecompressedFactor = 64

// DefaultUploadIdle is how long an upload may send nothing before it is
// dropped when Options.UploadIdleTimeout is 0. There is no cap on the whole
// upload: a gigabyte takes its time.
const DefaultUploadIdle = 2 * time.Minute

// ingestResponse is the body of a successful POST /ingest.
type ingestResponse struct {
	ingest.Result        // what the writer committed
	SkipSummary   string `json:"skip_summary,omitempty"`
	DurationMS    int64  `json:"duration_ms"`
}

// ingestParams are the query parameters POST /ingest understands.
var ingestParams = []string{"table", "mode", "on_bad", "key", "format", "delimiter", "quote", "header",
	"null", "column_type", "metadata_columns", "max_errors", "filename", "invalid_utf8", "partition_by"}

// ingestUpload is POST /ingest: the body (multipart/form-data with one or
// more parts named "file", or the raw file) streams into the parser and
// commits as one snapshot of the table named by ?table=. Nothing is
// committed unless the whole body was read and, under the strict policy,
// every row parsed.
func (s *Server) ingestUpload(c echo.Context) error {
	started := time.Now()
	if s.opts.Ingest == nil {
		return errIngestOff
	}
	if !s.ready.Load() {
		return ErrStarting
	}
	r := c.Request()
	req, opts, err := readIngestParams(r.URL.Query())
	if err != nil {
		return err
	}
	if id, ok := auth.From(r.Context()); ok && !id.MayUse(req.Table.Namespace) {
		return id.NamespaceError(req.Table.Namespace)
	}
	if key := r.Header.Get("Idempotency-Key"); req.Key == "" && key != "" {
		req.Key = key
	}
	limit := s.opts.MaxIngestBytes
	if r.ContentLength > limit {
		return &http.MaxBytesError{Limit: limit}
	}
	body := newUploadBody(c.Response(), r.Body, limit, s.opts.UploadIdleTimeout)
	// One Limits for every part: they decompress under one budget.
	opts.Limits = &ingest.Limits{MaxDecompressedBytes: s.opts.MaxIngestDecompressedBytes, MaxRatio: s.opts.MaxIngestRatio}
	ctx := r.Context()
	if tt, ok := s.opts.Ingest.(TableTyper); ok && (req.Mode == ingest.ModeAppend || req.Mode == ingest.ModeCreateAppend) {
		// An append parses with the table's types: a bad value is then a
		// bad row named by line, as with `lakeflight ingest`.
		opts.TypeHints = tt.TableTypes(ctx, req.Table)
	}

	ctype, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return fmt.Errorf("%w: Content-Type %q: %w", errUnsupportedMedia, r.Header.Get("Content-Type"), err)
	}
	var rdr *ingest.Concat
	var sources []string
	if ctype == "multipart/form-data" {
		rdr, sources, err = openMultipart(ctx, multipart.NewReader(body, params["boundary"]), opts)
	} else {
		rdr, sources, err = openRaw(ctx, body, r.Header.Get("Content-Encoding"), ctype, r.URL.Query().Get("filename"), opts)
	}
	if err != nil {
		return body.explain(err)
	}
	defer rdr.Release()

	req.Source = strings.Join(sources, ", ") // multipart: the first part's name (later parts are not read yet)
	req.Records = rdr
	req.After = func() ([]ingest.RowError, int64, int64) {
		st := rdr.Stats()
		return rdr.TakeRejects(), st.Bytes, st.Skipped
	}
	res, err := s.opts.Ingest.Write(ctx, req)
	if err != nil {
		return body.explain(err)
	}
	if res.Replayed {
		_, _ = io.Copy(io.Discard, body) // read the upload out so the client sees the answer
	}
	st := rdr.Stats()
	return c.JSON(http.StatusOK, ingestResponse{
		Result: res, SkipSummary: st.SkipSummary(), DurationMS: time.Since(started).Milliseconds(),
	})
}

// readIngestParams turns the query string into the request and the parser
// options; unknown parameters are refused, so a typo is not ignored.
func readIngestParams(q url.Values) (ingest.Request, ingest.Options, error) {
	var req ingest.Request
	opts := ingest.Options{IngestedAt: time.Now()}
	for k := range q {
		known := false
		for _, p := range ingestParams {
			known = known || k == p
		}
		if !known {
			return req, opts, fmt.Errorf("%w: unknown query parameter %q (known: %s)", errBadRequest, k, strings.Join(ingestParams, ", "))
		}
	}
	if err := singleValued(q, "null", "column_type"); err != nil {
		return req, opts, err
	}
	var err error
	if req.Table, err = ingest.ParseTable(q.Get("table")); err != nil {
		return req, opts, err
	}
	if req.Mode, err = ingest.ParseMode(q.Get("mode")); err != nil {
		return req, opts, err
	}
	if opts.Policy, err = ingest.ParsePolicy(q.Get("on_bad")); err != nil {
		return req, opts, err
	}
	if opts.InvalidUTF8, err = ingest.ParseUTF8Policy(q.Get("invalid_utf8")); err != nil {
		return req, opts, err
	}
	req.InvalidUTF8 = opts.InvalidUTF8
	req.Key = q.Get("key")
	req.PartitionBy = q.Get("partition_by")
	switch f := ingest.Format(q.Get("format")); f {
	case "", "auto":
	case ingest.FormatCSV, ingest.FormatJSON, ingest.FormatParquet:
		opts.Format = f
	default:
		return req, opts, fmt.Errorf("%w: format %q: want csv, json or parquet", ingest.ErrOptions, f)
	}
	if d := q.Get("delimiter"); d != "" {
		if d == `\t` || strings.EqualFold(d, "tab") {
			d = "\t"
		}
		if len(d) != 1 {
			return req, opts, fmt.Errorf("%w: delimiter %q: want one character or tab", ingest.ErrOptions, d)
		}
		opts.CSV.Delimiter = d[0]
	}
	if v := q.Get("quote"); v != "" {
		switch {
		case strings.EqualFold(v, "none"):
			opts.CSV.Quote = ingest.NoQuote
		case len(v) == 1:
			opts.CSV.Quote = v[0]
		default:
			return req, opts, fmt.Errorf("%w: quote %q: want one character or none", ingest.ErrOptions, v)
		}
	}
	if v := q.Get("header"); v != "" {
		h, err := strconv.ParseBool(v)
		if err != nil {
			return req, opts, fmt.Errorf("%w: header %q: want true or false", ingest.ErrOptions, v)
		}
		opts.CSV.Header = ingest.HeaderNo
		if h {
			opts.CSV.Header = ingest.HeaderYes
		}
	}
	opts.CSV.NullTokens = q["null"]
	if opts.ColumnTypes, err = ingest.ParseColumnTypes(q["column_type"]); err != nil {
		return req, opts, err
	}
	if v := q.Get("metadata_columns"); v != "" {
		if opts.Metadata, err = strconv.ParseBool(v); err != nil {
			return req, opts, fmt.Errorf("%w: metadata_columns %q: want true or false", ingest.ErrOptions, v)
		}
	}
	if v := q.Get("max_errors"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return req, opts, fmt.Errorf("%w: max_errors %q: want a positive number", ingest.ErrOptions, v)
		}
		opts.MaxErrors = n
	}
	return req, opts, nil
}

// formatOf maps a media type to an input format. ok is false for types
// that are not data lakeflight reads.
func formatOf(mediaType string) (f ingest.Format, tsv, ok bool) {
	switch mediaType {
	case "text/csv", "application/csv":
		return ingest.FormatCSV, false, true
	case "text/tab-separated-values":
		return ingest.FormatCSV, true, true
	case "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return ingest.FormatJSON, false, true
	case "application/vnd.apache.parquet", "application/x-parquet", "application/parquet":
		return ingest.FormatParquet, false, true
	case "", "application/octet-stream", "text/plain", "application/gzip", "application/x-gzip", "application/zstd":
		return ingest.FormatAuto, false, true // from the file name or the first bytes
	}
	return ingest.FormatAuto, false, false
}

// withFormat applies a media type's format unless format= chose one.
func withFormat(opts ingest.Options, f ingest.Format, tsv bool) ingest.Options {
	if opts.Format == ingest.FormatAuto {
		opts.Format = f
	}
	if tsv && opts.CSV.Delimiter == 0 {
		opts.CSV.Delimiter = '\t'
	}
	return opts
}

// openRaw opens a body that is the file itself.
func openRaw(ctx context.Context, body io.Reader, encoding, mediaType, filename string, opts ingest.Options) (*ingest.Concat, []string, error) {
	switch strings.ToLower(encoding) {
	case "", "identity", "gzip", "x-gzip", "zstd": // compression is recognised by its magic bytes
	default:
		return nil, nil, fmt.Errorf("%w: Content-Encoding %q: want gzip or zstd", errUnsupportedMedia, encoding)
	}
	f, tsv, ok := formatOf(mediaType)
	if !ok && opts.Format == ingest.FormatAuto {
		return nil, nil, fmt.Errorf("%w: Content-Type %q: want text/csv, text/tab-separated-values, application/json, application/x-ndjson, application/vnd.apache.parquet or multipart/form-data", errUnsupportedMedia, mediaType)
	}
	opts = withFormat(opts, f, tsv)
	opts.Source = "upload"
	if filename != "" {
		opts.Source = filename
	}
	first, err := ingest.Open(ctx, body, opts)
	if err != nil {
		return nil, nil, err
	}
	return ingest.NewConcat(ctx, first, func(context.Context) (*ingest.Reader, error) { return nil, io.EOF }), []string{opts.Source}, nil
}

// openMultipart reads the parts named "file" one after another as one
// stream. A part's Content-Type names its format when it is a known one;
// otherwise (browsers send all sorts for a .csv) the file name and the
// first bytes decide.
func openMultipart(ctx context.Context, mr *multipart.Reader, opts ingest.Options) (*ingest.Concat, []string, error) {
	parts := 0
	var firstSchema *arrow.Schema
	var firstSource string
	next := func(ctx context.Context) (*ingest.Reader, error) {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading multipart body: %w", ingest.ErrMalformed, err)
		}
		if part.FormName() != "file" {
			return nil, fmt.Errorf("%w: unexpected form field %q: send files as parts named \"file\"; options go in the query string", errBadRequest, part.FormName())
		}
		o := opts
		if mt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type")); err == nil {
			if f, tsv, ok := formatOf(mt); ok {
				o = withFormat(o, f, tsv)
			}
		}
		o.Source = part.FileName()
		if o.Source == "" {
			o.Source = fmt.Sprintf("upload part %d", parts+1)
		}
		parts++
		if firstSchema == nil {
			return ingest.Open(ctx, part, o)
		}
		// Later parts take the first one's column types, as the CLI's later
		// files do (Parquet carries its own and must match as it is).
		body := bufio.NewReader(part)
		if head, _ := body.Peek(4); string(head) != "PAR1" {
			o.ColumnTypes = ingest.ColumnTypesOf(firstSchema)
		}
		r, err := ingest.Open(ctx, body, o)
		if errors.Is(err, ingest.ErrOptions) && o.ColumnTypes != nil {
			return nil, fmt.Errorf("%w: %s cannot be read with the columns of %s, the first file (one ingest needs the same columns in every file): %w",
				ingest.ErrSchema, o.Source, firstSource, err)
		}
		return r, err
	}
	first, err := next(ctx)
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%w: the multipart body has no part named \"file\"", errBadRequest)
	}
	if err != nil {
		return nil, nil, err
	}
	firstSchema, firstSource = first.Schema(), first.Source()
	return ingest.NewConcat(ctx, first, next), []string{first.Source()}, nil
}

// uploadBody reads a request body under the size limit, pushing the read
// deadline forward while data keeps coming.
type uploadBody struct {
	r        io.Reader
	rc       *http.ResponseController
	limit    int64
	idle     time.Duration
	tooLarge atomic.Bool
	extended atomic.Int64 // unix nanos of the last deadline push
}

func newUploadBody(w http.ResponseWriter, body io.ReadCloser, limit int64, idle time.Duration) *uploadBody {
	return &uploadBody{r: http.MaxBytesReader(w, body, limit), rc: http.NewResponseController(w), limit: limit, idle: idle}
}

func (b *uploadBody) Read(p []byte) (int, error) {
	if now := time.Now(); now.UnixNano()-b.extended.Load() > int64(min(time.Second, b.idle/4)) {
		b.extended.Store(now.UnixNano())
		_ = b.rc.SetReadDeadline(now.Add(b.idle)) // unsupported under httptest.ResponseRecorder: fine
	}
	n, err := b.r.Read(p)
	if err != nil {
		// Past the body, net/http reads the connection in the background
		// and cancels the request's context on any error, an expired
		// deadline included: no deadline may be set from here on, or the
		// commit that follows would be cut short.
		_ = b.rc.SetReadDeadline(time.Time{})
		b.extended.Store(math.MaxInt64)
	}
	var mbe *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &mbe):
		b.tooLarge.Store(true)
	case errors.As(err, &netErr):
		// The client's connection: it stopped sending (past the idle
		// timeout) or broke. Not a backend of this server's.
		err = &uploadReadError{err: err, idle: b.idle}
	}
	return n, err
}

// uploadReadError is an upload the client stopped sending or whose
// connection broke: a bad request of the client's, never an outage here.
type uploadReadError struct {
	err  error
	idle time.Duration
}

func (e *uploadReadError) Error() string {
	return fmt.Sprintf("reading the upload: the client sent nothing for %s, or its connection broke (%v); nothing was committed", e.idle, e.err)
}
func (e *uploadReadError) Unwrap() error { return e.err }

// ErrorKind: the client's (400).
func (e *uploadReadError) ErrorKind() errkind.Kind { return errkind.InvalidArgument }

// explain replaces whatever error a parser made of an oversized body with
// the size error itself.
func (b *uploadBody) explain(err error) error {
	if b.tooLarge.Load() {
		return &http.MaxBytesError{Limit: b.limit}
	}
	return err
}

// IngesterFunc lets a caller pass a function as an Ingester.
type IngesterFunc func(ctx context.Context, req ingest.Request) (ingest.Result, error)

// Write calls f.
func (f IngesterFunc) Write(ctx context.Context, req ingest.Request) (ingest.Result, error) {
	return f(ctx, req)
}
