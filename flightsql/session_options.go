//go:build duckdb_arrow

package flightsql

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"

	"github.com/lakeflight/lakeflight/engine"
)

// Session options (Flight RPC SetSessionOptions/GetSessionOptions/
// CloseSession). Three options exist: "catalog" and "schema", the session's
// current DuckDB catalog and schema (what USE sets), and "lakeflight_as_of"
// (a snapshot id, tag, branch or timestamp every Iceberg table is read as
// of; "" resets it), for tools that cannot type AT clauses. The JDBC
// driver sends its `catalog` connection property this way, and
// Connection.isValid() calls GetSessionOptions.

const (
	optCatalog = "catalog"
	optSchema  = "schema"
	optAsOf    = engine.AsOfSetting
)

// SetSessionOptions applies catalog first, then schema; other names and
// non-string values are reported per option, as the protocol asks.
func (s *Server) SetSessionOptions(ctx context.Context, req *flight.SetSessionOptionsRequest) (*flight.SetSessionOptionsResult, error) {
	_, c, err := s.conn(ctx)
	if err != nil {
		return nil, s.status("SetSessionOptions", err)
	}
	res := &flight.SetSessionOptionsResult{Errors: map[string]*flight.SetSessionOptionsResultError{}}
	fail := func(name string, v pb.SetSessionOptionsResult_ErrorValue) {
		res.Errors[name] = &flight.SetSessionOptionsResultError{Value: v}
	}
	opts := req.GetSessionOptions()
	for name := range opts {
		if name != optCatalog && name != optSchema && name != optAsOf {
			fail(name, flight.SetSessionOptionsResultErrorInvalidName)
		}
	}
	if v, ok := opts[optAsOf]; ok {
		sv, isString := v.GetOptionValue().(*pb.SessionOptionValue_StringValue)
		if !isString {
			fail(optAsOf, flight.SetSessionOptionsResultErrorInvalidValue)
		} else if err := c.SetAsOf(ctx, sv.StringValue); err != nil {
			s.log.Debug("flightsql: session option refused", "option", optAsOf, "value", sv.StringValue, "err", err)
			fail(optAsOf, flight.SetSessionOptionsResultErrorInvalidValue)
		}
	}
	for _, name := range []string{optCatalog, optSchema} {
		v, ok := opts[name]
		if !ok {
			continue
		}
		sv, isString := v.GetOptionValue().(*pb.SessionOptionValue_StringValue)
		if !isString || sv.StringValue == "" {
			fail(name, flight.SetSessionOptionsResultErrorInvalidValue)
			continue
		}
		if name == optCatalog {
			err = c.SetCatalog(ctx, sv.StringValue)
		} else {
			err = c.SetSchema(ctx, sv.StringValue)
		}
		if err != nil {
			s.log.Debug("flightsql: session option refused", "option", name, "value", sv.StringValue, "err", err)
			fail(name, flight.SetSessionOptionsResultErrorInvalidValue)
		}
	}
	return res, nil
}

// GetSessionOptions reports the session's current catalog and schema.
func (s *Server) GetSessionOptions(ctx context.Context, _ *flight.GetSessionOptionsRequest) (*flight.GetSessionOptionsResult, error) {
	_, c, err := s.conn(ctx)
	if err != nil {
		return nil, s.status("GetSessionOptions", err)
	}
	str := func(v string) *flight.SessionOptionValue {
		return &flight.SessionOptionValue{OptionValue: &pb.SessionOptionValue_StringValue{StringValue: v}}
	}
	opts := map[string]*flight.SessionOptionValue{
		optCatalog: str(c.CurrentCatalog()),
		optSchema:  str(c.CurrentSchema()),
	}
	if v := c.AsOf(); v != "" {
		opts[optAsOf] = str(v)
	}
	return &flight.GetSessionOptionsResult{SessionOptions: opts}, nil
}

// CloseSession ends the caller's session: its handles are released, its
// engine connection closed, and the client told to drop the cookie. A
// session that is already gone counts as closed. A later call without a
// cookie on the same connection starts a new session.
func (s *Server) CloseSession(ctx context.Context, _ *flight.CloseSessionRequest) (*flight.CloseSessionResult, error) {
	cs, err := s.clientSession(ctx)
	if err != nil && !errors.Is(err, errSessionGone) {
		return nil, s.status("CloseSession", err)
	}
	if cs != nil {
		s.sessions.remove(cs)
	}
	dropCookie(ctx)
	return &flight.CloseSessionResult{Status: flight.CloseSessionResultClosed}, nil
}
