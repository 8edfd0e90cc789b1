//go:build duckdb_arrow

package flightsql

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/lakeflight/lakeflight/internal/arrowbytes"
)

// ingester is what bulk ingest needs: *ingest.Writer.
type ingester interface {
	Write(ctx context.Context, req ingest.Request) (ingest.Result, error)
}

var _ ingester = (*ingest.Writer)(nil)

// DefaultIngestNamespace is where a table named without a schema lands.
const DefaultIngestNamespace = "bronze"

// DoPutCommandStatementIngest is bulk ingest (ADBC adbc_ingest, the
// lakeflight ingest CLI): the batches stream into new data files of the
// target table, committed as one snapshot when the stream ends cleanly. A
// stream that breaks off commits nothing.
func (s *Server) DoPutCommandStatementIngest(ctx context.Context, cmd afsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	if s.ingest == nil {
		return 0, s.status("DoPutCommandStatementIngest", errIngestOff)
	}
	if id, ok := auth.From(ctx); ok && !id.May(auth.Writer) {
		return 0, s.status("DoPutCommandStatementIngest", errReaderIngest)
	}
	req, err := s.ingestRequest(ctx, cmd)
	if err != nil {
		return 0, s.status("DoPutCommandStatementIngest", err)
	}
	if id, ok := auth.From(ctx); ok && !id.MayUse(req.Table.Namespace) {
		return 0, s.status("DoPutCommandStatementIngest", id.NamespaceError(req.Table.Namespace))
	}
	in := &ingestStream{MessageReader: rdr, limit: s.opts.MaxIngestBytes}
	req.Records = in
	req.After = in.after
	res, err := s.ingest.Write(ctx, req)
	if err != nil {
		return 0, s.status("DoPutCommandStatementIngest", err)
	}
	if res.Replayed {
		in.drain() // the client still sends its batches; take them quietly
	}
	if js, jerr := json.Marshal(res); jerr == nil {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(ingest.ResultTrailer, string(js)))
	}
	s.metrics.ingestRows.Add(float64(res.Rows))
	return res.Rows, nil
}

// ingestRequest reads the command: target, mode and lakeflight's options.
func (s *Server) ingestRequest(ctx context.Context, cmd afsql.StatementIngest) (ingest.Request, error) {
	var req ingest.Request
	if cmd.GetTemporary() {
		return req, fmt.Errorf("%w: temporary ingest tables are not supported; ingest into an Iceberg table", errBadRequest)
	}
	if len(cmd.GetTransactionId()) > 0 {
		return req, errNoTransactions
	}
	if c := cmd.GetCatalog(); c != "" && c != s.icebergCatalog {
		return req, fmt.Errorf("%w: catalog %q: ingest goes to catalog %q", errBadRequest, c, s.icebergCatalog)
	}
	name, ns := cmd.GetTable(), cmd.GetSchema()
	if name == "" {
		return req, fmt.Errorf("%w: no target table", errBadRequest)
	}
	if ns == "" {
		ns = DefaultIngestNamespace
		if i := strings.IndexByte(name, '.'); i > 0 {
			ns, name = name[:i], name[i+1:]
		}
	}
	req.Table = catalog.Ident{Namespace: ns, Name: name}
	mode, err := ingestMode(cmd.GetTableDefinitionOptions())
	if err != nil {
		return req, err
	}
	req.Mode = mode
	opt := func(k string) string {
		if v := cmd.GetOptions()[k]; v != "" {
			return v
		}
		if v := metadata.ValueFromIncomingContext(ctx, "x-"+k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	req.Key, req.Source, req.PartitionBy = opt(ingest.OptionKey), opt(ingest.OptionSource), opt(ingest.OptionPartitionBy)
	if req.InvalidUTF8, err = ingest.ParseUTF8Policy(opt(ingest.OptionInvalidUTF8)); err != nil {
		return req, err
	}
	if req.Source == "" {
		req.Source = "flight-sql"
	}
	return req, nil
}

// ingestMode maps Flight SQL's table definition options to an ingest mode,
// as ADBC sets them.
func ingestMode(o *afsql.TableDefinitionOptions) (ingest.Mode, error) {
	if o == nil {
		return ingest.ModeCreate, nil
	}
	create := o.IfNotExist != pb.CommandStatementIngest_TableDefinitionOptions_TABLE_NOT_EXIST_OPTION_FAIL
	switch o.IfExists {
	case pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_UNSPECIFIED,
		pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_FAIL:
		if create {
			return ingest.ModeCreate, nil
		}
	case pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_APPEND:
		if create {
			return ingest.ModeCreateAppend, nil
		}
		return ingest.ModeAppend, nil
	case pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_REPLACE:
		if create {
			return ingest.ModeReplace, nil
		}
	}
	return "", fmt.Errorf("%w: table definition options %s/%s are not supported (use the ADBC modes create, append, replace or create_append)",
		errBadRequest, o.IfNotExist, o.IfExists)
}

// ingestStream is the DoPut reader seen by the writer: it drops zero-row
// batches and collects the rejects and stats a client sends as app metadata.
type ingestStream struct {
	flight.MessageReader
	rejects []ingest.RowError
	stats   ingest.WireStats
	err     error
	// limit bounds the Arrow bytes of the whole stream; received counts
	// them.
	limit, received int64
}

func (r *ingestStream) Next() bool {
	for r.err == nil && r.MessageReader.Next() {
		if meta := r.LatestAppMetadata(); len(meta) > 0 {
			if err := r.readMeta(meta); err != nil {
				r.err = err
				return false
			}
		}
		rec := r.RecordBatch()
		r.received += arrowbytes.Batch(rec)
		if r.received > r.limit {
			r.err = fmt.Errorf("%w: the ingest stream carried more than %d bytes of Arrow data, the server's limit for one ingest "+
				"(lakeflight serve --max-ingest-decompressed-bytes); nothing was committed: split it into several ingests",
				ingest.ErrTooLarge, r.limit)
			return false
		}
		if rec.NumRows() > 0 {
			return true
		}
	}
	return false
}

func (r *ingestStream) readMeta(meta []byte) error {
	switch {
	case bytes.HasPrefix(meta, []byte(ingest.RejectsPrefix)):
		var rows []ingest.RowError
		if err := json.Unmarshal(meta[len(ingest.RejectsPrefix):], &rows); err != nil {
			return fmt.Errorf("%w: rejects in app metadata: %w", errBadRequest, err)
		}
		r.rejects = append(r.rejects, rows...)
	case bytes.HasPrefix(meta, []byte(ingest.StatsPrefix)):
		if err := json.Unmarshal(meta[len(ingest.StatsPrefix):], &r.stats); err != nil {
			return fmt.Errorf("%w: stats in app metadata: %w", errBadRequest, err)
		}
	}
	return nil
}

func (r *ingestStream) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.MessageReader.Err()
}

// RecordBatch hides the deprecated Record of the embedded reader.
func (r *ingestStream) RecordBatch() arrow.RecordBatch { return r.MessageReader.RecordBatch() }

// after is ingest.Request.After: the client's rejects and counts. Without
// stats from the client, bytes is the Arrow size received.
func (r *ingestStream) after() ([]ingest.RowError, int64, int64) {
	return r.rejects, r.stats.Bytes, r.stats.Skipped
}

func (r *ingestStream) drain() {
	for r.MessageReader.Next() {
	}
}
