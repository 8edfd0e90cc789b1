//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Statements: ad-hoc queries and updates, prepared statements and their
// parameter bindings. Every query is prepared by the engine at
// GetFlightInfo time (so the FlightInfo carries the real schema) and
// executed by DoGet (stream.go).

// GetFlightInfoStatement prepares an ad-hoc query and returns a ticket for it.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd afsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, s.status("GetFlightInfoStatement", errNoTransactions)
	}
	cs, c, err := s.conn(ctx)
	if err != nil {
		return nil, s.status("GetFlightInfoStatement", err)
	}
	st, err := c.Prepare(ctx, cmd.GetQuery())
	if err != nil {
		return nil, s.status("GetFlightInfoStatement", err)
	}
	h := s.handles.addQueryTicket(cs, st)
	tkt, err := afsql.CreateStatementQueryTicket([]byte(h.id))
	if err != nil {
		s.handles.finish(h, true)
		return nil, s.status("GetFlightInfoStatement", err)
	}
	return s.flightInfo(desc, st.Schema(), tkt, h.expires), nil
}

// GetSchemaStatement returns the result schema of a query without running it.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd afsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, s.status("GetSchemaStatement", errNoTransactions)
	}
	_, c, err := s.conn(ctx)
	if err != nil {
		return nil, s.status("GetSchemaStatement", err)
	}
	st, err := c.Prepare(ctx, cmd.GetQuery())
	if err != nil {
		return nil, s.status("GetSchemaStatement", err)
	}
	defer func() { _ = st.Close() }()
	return &flight.SchemaResult{Schema: flight.SerializeSchema(st.Schema(), s.mem)}, nil
}

// DoGetStatement streams the result of a ticket from GetFlightInfoStatement
// or GetFlightInfoPreparedStatement.
func (s *Server) DoGetStatement(ctx context.Context, tkt afsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	h, err := s.handle(ctx, tkt.GetStatementHandle(), kindTicket)
	if err != nil {
		return nil, nil, s.status("DoGetStatement", err)
	}
	return s.stream(ctx, h)
}

// DoPutCommandStatementUpdate executes an ad-hoc statement.
func (s *Server) DoPutCommandStatementUpdate(ctx context.Context, cmd afsql.StatementUpdate) (int64, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return 0, s.status("DoPutCommandStatementUpdate", errNoTransactions)
	}
	_, c, err := s.conn(ctx)
	if err != nil {
		return 0, s.status("DoPutCommandStatementUpdate", err)
	}
	start := time.Now()
	n, err := c.Exec(ctx, cmd.GetQuery())
	err = s.status("DoPutCommandStatementUpdate", err)
	s.metrics.observeUpdate(start, err)
	return n, err
}

// CreatePreparedStatement prepares a statement in the caller's session.
func (s *Server) CreatePreparedStatement(ctx context.Context, req afsql.ActionCreatePreparedStatementRequest) (afsql.ActionCreatePreparedStatementResult, error) {
	var res afsql.ActionCreatePreparedStatementResult
	if len(req.GetTransactionId()) > 0 {
		return res, s.status("CreatePreparedStatement", errNoTransactions)
	}
	cs, c, err := s.conn(ctx)
	if err != nil {
		return res, s.status("CreatePreparedStatement", err)
	}
	start := time.Now()
	st, err := c.Prepare(ctx, req.GetQuery())
	if err != nil {
		err = s.status("CreatePreparedStatement", err)
		s.metrics.observePrepare(start, err)
		return res, err
	}
	s.metrics.observePrepare(start, nil)
	h := s.handles.addPrepared(cs, st)
	isUpdate := !st.IsQuery()
	res.Handle = []byte(h.id)
	res.DatasetSchema = st.Schema()
	res.ParameterSchema = st.ParameterSchema()
	res.IsUpdate = &isUpdate
	return res, nil
}

// ClosePreparedStatement closes a prepared statement.
func (s *Server) ClosePreparedStatement(ctx context.Context, req afsql.ActionClosePreparedStatementRequest) error {
	if _, err := s.handle(ctx, req.GetPreparedStatementHandle(), kindPrepared); err != nil {
		return s.status("ClosePreparedStatement", err)
	}
	return s.status("ClosePreparedStatement", s.handles.closePrepared(req.GetPreparedStatementHandle()))
}

// DoPutPreparedStatementQuery binds parameters (one binding per row, any
// number of batches) to a prepared statement; they stay with the handle
// until the next binding.
func (s *Server) DoPutPreparedStatementQuery(ctx context.Context, cmd afsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	h, err := s.handle(ctx, cmd.GetPreparedStatementHandle(), kindPrepared)
	if err != nil {
		return nil, s.status("DoPutPreparedStatementQuery", err)
	}
	params, err := s.readParams(h, rdr)
	if err != nil {
		return nil, s.status("DoPutPreparedStatementQuery", err)
	}
	if err := s.handles.bind(h, params); err != nil {
		return nil, s.status("DoPutPreparedStatementQuery", err)
	}
	return []byte(h.id), nil
}

// GetFlightInfoPreparedStatement returns a ticket for one execution of a
// prepared statement with its current parameters.
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd afsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	p, err := s.handle(ctx, cmd.GetPreparedStatementHandle(), kindPrepared)
	if err != nil {
		return nil, s.status("GetFlightInfoPreparedStatement", err)
	}
	h, err := s.preparedTicket(ctx, p)
	if err != nil {
		return nil, s.status("GetFlightInfoPreparedStatement", err)
	}
	tkt, err := afsql.CreateStatementQueryTicket([]byte(h.id))
	if err != nil {
		s.handles.finish(h, true)
		return nil, s.status("GetFlightInfoPreparedStatement", err)
	}
	schema, err := h.stmt.SchemaFor(ctx, h.params)
	if err != nil {
		s.handles.finish(h, true)
		return nil, s.status("GetFlightInfoPreparedStatement", err)
	}
	return s.flightInfo(desc, schema, tkt, h.expires), nil
}

// preparedTicket registers one execution of prepared statement p, with the
// statement reading the tables' current snapshots (stmt.Fresh): executing a
// prepared statement again sees new commits, while the ticket (and a retry
// of it) keeps reading what it started with.
func (s *Server) preparedTicket(ctx context.Context, p *handle) (*handle, error) {
	st, err := p.stmt.Fresh(ctx)
	if err != nil {
		return nil, err
	}
	h, err := s.handles.addPreparedTicket(p, st)
	if err != nil && st != p.stmt {
		_ = st.Close()
	}
	return h, err
}

// DoGetPreparedStatement serves clients that send the prepared-statement
// command itself as a ticket: it executes with the current parameters.
func (s *Server) DoGetPreparedStatement(ctx context.Context, cmd afsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	p, err := s.handle(ctx, cmd.GetPreparedStatementHandle(), kindPrepared)
	if err != nil {
		return nil, nil, s.status("DoGetPreparedStatement", err)
	}
	h, err := s.preparedTicket(ctx, p)
	if err != nil {
		return nil, nil, s.status("DoGetPreparedStatement", err)
	}
	sc, ch, err := s.stream(ctx, h)
	if err != nil {
		s.handles.finish(h, true)
	}
	return sc, ch, err
}

// GetSchemaPreparedStatement returns a prepared statement's result schema.
func (s *Server) GetSchemaPreparedStatement(ctx context.Context, cmd afsql.PreparedStatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	h, err := s.handle(ctx, cmd.GetPreparedStatementHandle(), kindPrepared)
	if err != nil {
		return nil, s.status("GetSchemaPreparedStatement", err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(h.stmt.Schema(), s.mem)}, nil
}

// DoPutPreparedStatementUpdate executes a prepared statement once per
// parameter row sent with the call (or with the bound parameters, or once
// without parameters) and returns the total of affected rows.
func (s *Server) DoPutPreparedStatementUpdate(ctx context.Context, cmd afsql.PreparedStatementUpdate, rdr flight.MessageReader) (int64, error) {
	h, err := s.handle(ctx, cmd.GetPreparedStatementHandle(), kindPrepared)
	if err != nil {
		return 0, s.status("DoPutPreparedStatementUpdate", err)
	}
	params, err := s.readParams(h, rdr)
	if err != nil {
		return 0, s.status("DoPutPreparedStatementUpdate", err)
	}
	if params != nil {
		defer params.Release()
	}
	// An execution ticket keeps the statement open while it runs.
	t, err := s.handles.addPreparedTicket(h, h.stmt)
	if err != nil {
		return 0, s.status("DoPutPreparedStatementUpdate", err)
	}
	defer s.handles.finish(t, true)
	if params == nil {
		params = t.params // bound earlier (or nil: run once)
	}
	start := time.Now()
	n, err := t.stmt.Exec(ctx, params)
	err = s.status("DoPutPreparedStatementUpdate", err)
	s.metrics.observeUpdate(start, err)
	return n, err
}

// readParams reads every parameter batch of a DoPut into one batch
// (nil when the client sent no rows). The caller owns the result.
func (s *Server) readParams(h *handle, rdr flight.MessageReader) (arrow.RecordBatch, error) {
	var (
		batches []arrow.RecordBatch
		rows    int64
	)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rec.NumCols() == 0 || rec.NumRows() == 0 {
			continue
		}
		rec.Retain()
		batches = append(batches, rec)
		rows += rec.NumRows()
	}
	if err := rdr.Err(); err != nil {
		return nil, fmt.Errorf("reading parameters: %w: %w", errBadRequest, err)
	}
	if len(batches) == 0 {
		return nil, nil
	}
	want := h.stmt.ParameterSchema().NumFields()
	if got := int(batches[0].NumCols()); got != want {
		return nil, fmt.Errorf("%w: statement takes %d parameters, got %d columns", errBadRequest, want, got)
	}
	if len(batches) == 1 {
		b := batches[0]
		batches = nil
		return b, nil
	}
	sc := batches[0].Schema()
	cols := make([]arrow.Array, sc.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		parts := make([]arrow.Array, len(batches))
		for j, b := range batches {
			if !arrow.TypeEqual(b.Column(i).DataType(), sc.Field(i).Type) {
				return nil, fmt.Errorf("%w: parameter batches disagree on column %d type", errBadRequest, i)
			}
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, s.mem)
		if err != nil {
			return nil, fmt.Errorf("%w: concatenating parameters: %w", errBadRequest, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(sc, cols, rows), nil
}

// flightInfo describes one result: its schema and the ticket to fetch it.
func (s *Server) flightInfo(desc *flight.FlightDescriptor, sc *arrow.Schema, tkt []byte, expires time.Time) *flight.FlightInfo {
	ep := &flight.FlightEndpoint{Ticket: &flight.Ticket{Ticket: tkt}}
	if !expires.IsZero() {
		ep.ExpirationTime = timestamppb.New(expires)
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(sc, s.mem),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{ep},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

// status maps err to the wire (see errors.go).
func (s *Server) status(op string, err error) error { return toStatus(s.log, op, err) }

// noExpiry marks endpoints whose ticket does not expire (metadata commands).
var noExpiry time.Time
