//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Endpoint lifecycle: CancelFlightInfo (and the legacy CancelQuery action,
// which arrow-go routes here) and RenewFlightEndpoint. Transactions are not
// offered (SqlInfo says so); their actions answer Unimplemented.

// CancelFlightInfo cancels the executions a FlightInfo describes: a running
// stream is interrupted (the engine interrupts DuckDB), a pending ticket is
// dropped. Unknown tickets are NotFound; a prepared statement with nothing
// running is NOT_CANCELLABLE.
func (s *Server) CancelFlightInfo(ctx context.Context, req *flight.CancelFlightInfoRequest) (flight.CancelFlightInfoResult, error) {
	info := req.GetInfo()
	if info == nil || len(info.GetEndpoint()) == 0 {
		return flight.CancelFlightInfoResult{}, s.status("CancelFlightInfo", fmt.Errorf("%w: no endpoint to cancel", errBadRequest))
	}
	cancelled := false
	for _, ep := range info.GetEndpoint() {
		id, kind, err := parseTicket(ep.GetTicket())
		if err != nil {
			return flight.CancelFlightInfoResult{}, s.status("CancelFlightInfo", err)
		}
		if _, err := s.handle(ctx, id, kind); err != nil && s.opts.Auth != nil {
			continue // not the caller's (or gone): nothing of theirs to cancel
		}
		var ok bool
		if kind == kindTicket {
			ok, err = s.handles.cancelTicket(id)
		} else {
			ok, err = s.handles.cancelPrepared(id)
		}
		if err != nil {
			return flight.CancelFlightInfoResult{}, s.status("CancelFlightInfo", err)
		}
		cancelled = cancelled || ok
	}
	if cancelled {
		return flight.CancelFlightInfoResult{Status: flight.CancelStatusCancelled}, nil
	}
	return flight.CancelFlightInfoResult{Status: flight.CancelStatusNotCancellable}, nil
}

// RenewFlightEndpoint extends a pending ticket's life by the ticket TTL.
func (s *Server) RenewFlightEndpoint(_ context.Context, req *flight.RenewFlightEndpointRequest) (*flight.FlightEndpoint, error) {
	ep := req.GetEndpoint()
	id, kind, err := parseTicket(ep.GetTicket())
	if err != nil {
		return nil, s.status("RenewFlightEndpoint", err)
	}
	if kind != kindTicket {
		return nil, s.status("RenewFlightEndpoint", fmt.Errorf("%w: only statement tickets expire", errBadRequest))
	}
	expires, err := s.handles.renew(id, time.Now().Add(s.opts.TicketTTL))
	if err != nil {
		return nil, s.status("RenewFlightEndpoint", err)
	}
	out := proto.Clone(ep).(*flight.FlightEndpoint)
	out.ExpirationTime = timestamppb.New(expires)
	return out, nil
}

// parseTicket reads the handle out of a ticket this server issued.
func parseTicket(t *flight.Ticket) ([]byte, handleKind, error) {
	if t == nil {
		return nil, 0, fmt.Errorf("%w: endpoint without ticket", errBadRequest)
	}
	var any anypb.Any
	if err := proto.Unmarshal(t.GetTicket(), &any); err != nil {
		return nil, 0, fmt.Errorf("%w: unreadable ticket", errBadRequest)
	}
	msg, err := any.UnmarshalNew()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: unreadable ticket", errBadRequest)
	}
	switch m := msg.(type) {
	case *pb.TicketStatementQuery:
		return m.GetStatementHandle(), kindTicket, nil
	case *pb.CommandPreparedStatementQuery:
		return m.GetPreparedStatementHandle(), kindPrepared, nil
	default:
		return nil, 0, fmt.Errorf("%w: ticket of a metadata command cannot be cancelled", errBadRequest)
	}
}

// BeginTransaction is not offered: statements commit on their own.
func (s *Server) BeginTransaction(context.Context, afsql.ActionBeginTransactionRequest) ([]byte, error) {
	return nil, s.status("BeginTransaction", errNoTransactions)
}

// EndTransaction is not offered.
func (s *Server) EndTransaction(context.Context, afsql.ActionEndTransactionRequest) error {
	return s.status("EndTransaction", errNoTransactions)
}

// BeginSavepoint is not offered.
func (s *Server) BeginSavepoint(context.Context, afsql.ActionBeginSavepointRequest) ([]byte, error) {
	return nil, s.status("BeginSavepoint", errNoTransactions)
}

// EndSavepoint is not offered.
func (s *Server) EndSavepoint(context.Context, afsql.ActionEndSavepointRequest) error {
	return s.status("EndSavepoint", errNoTransactions)
}
