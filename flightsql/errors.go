//go:build duckdb_arrow

package flightsql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime/debug"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/ingest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors of this package; toStatus gives each its gRPC code.
var (
	// errUnknownHandle: a ticket or prepared-statement handle this server
	// never issued, already consumed, closed or expired.
	errUnknownHandle = errors.New("unknown or expired handle")
	// errBadRequest: a malformed request (wrong parameter count, bad option value).
	errBadRequest = errors.New("invalid request")
	// errNoTransactions: lakeflight commits each statement on its own.
	errNoTransactions = errors.New("transactions are not supported: each statement commits on its own")
	// errBusy: the ticket is being streamed by another DoGet right now.
	errBusy = errors.New("ticket is already being read")
	// errIngestOff: the server was built without an ingest writer.
	errIngestOff = errors.New("bulk ingest is not enabled on this server")
	// errSubstrait: lakeflight speaks SQL only.
	errSubstrait = errors.New("substrait plans are not supported")
	// errClosed: the server is shutting down.
	errClosed = errors.New("server is closing")
	// errSessionGone: the call's session cookie names a session that
	// expired or was closed. Unauthenticated, not NotFound: the credential
	// the client presents (its cookie) is no longer valid and a new
	// connection gets a new one, while NotFound is what a missing table or
	// handle answers, which a client must not mistake for this.
	errSessionGone = errors.New("session expired or closed: its SET, USE, temp tables and lakeflight_as_of are gone; reconnect to start a new session")
	// errConnGone: the call's connection closed before the call began.
	errConnGone = errors.New("connection closed")
)

// wireCodes lists, in order, which wrapped error becomes which gRPC code.
// It is the one table between lakeflight's domain errors and the wire.
var wireCodes = []struct {
	err  error
	code codes.Code
}{
	{context.DeadlineExceeded, codes.DeadlineExceeded}, // before ErrCanceled: a timeout is both
	{engine.ErrCanceled, codes.Canceled},
	{context.Canceled, codes.Canceled},
	{engine.ErrInvalidSQL, codes.InvalidArgument},
	{engine.ErrNotFound, codes.NotFound},
	{engine.ErrPermission, codes.PermissionDenied},
	{engine.ErrUnsupported, codes.Unimplemented},
	{engine.ErrConstraint, codes.FailedPrecondition},
	{engine.ErrAlreadyExists, codes.AlreadyExists},
	{engine.ErrSchemaChanged, codes.FailedPrecondition},
	{engine.ErrBusy, codes.FailedPrecondition},
	{engine.ErrClosed, codes.Unavailable},
	{errUnknownHandle, codes.NotFound},
	{errBadRequest, codes.InvalidArgument},
	{errNoTransactions, codes.Unimplemented},
	{errIngestOff, codes.Unimplemented},
	{ingest.ErrSchema, codes.InvalidArgument},
	{ingest.ErrMalformed, codes.InvalidArgument},
	{ingest.ErrOptions, codes.InvalidArgument},
	{ingest.ErrFormat, codes.InvalidArgument},
	{ingest.ErrTooManyRejects, codes.InvalidArgument},
	{errSubstrait, codes.Unimplemented},
	{errBusy, codes.FailedPrecondition},
	{errClosed, codes.Unavailable},
	{errSessionGone, codes.Unauthenticated},
	{errConnGone, codes.Canceled},
	{catalog.ErrNoSuchTable, codes.NotFound},
	{catalog.ErrNoSuchNamespace, codes.NotFound},
	{catalog.ErrTableAlreadyExists, codes.AlreadyExists},
	{catalog.ErrInvalidArgument, codes.InvalidArgument},
	{catalog.ErrNotSupported, codes.Unimplemented},
	{catalog.ErrNoSuchSnapshot, codes.NotFound},
	{catalog.ErrRefExists, codes.AlreadyExists},
	{catalog.ErrConflict, codes.Aborted}, // lost a commit race too often: retry the statement
}

// toStatus turns any error into the gRPC status the client sees. Known
// errors keep their message (DuckDB's own text for SQL errors); anything
// else becomes Internal with an opaque reference, and the details go to
// the log only.
func toStatus(log *slog.Logger, op string, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st.Err() // already a status (from arrow-go or a nested call)
	}
	for _, w := range wireCodes {
		if errors.Is(err, w.err) {
			return status.Error(w.code, err.Error())
		}
	}
	ref := newRef()
	log.Error("flightsql: internal error", "op", op, "ref", ref, "err", err)
	return status.Errorf(codes.Internal, "internal error (ref %s)", ref)
}

func newRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recovered is the status of an RPC that panicked: Internal, with the
// panic and stack in the log only.
func recovered(log *slog.Logger, method string, r any) error {
	ref := newRef()
	log.Error("flightsql: panic in RPC", "method", method, "ref", ref, "panic", r, "stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "internal error (ref %s)", ref)
}
