//go:build duckdb_arrow

package flightsql

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"

	"github.com/lakeflight/lakeflight/internal/errkind"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors of this package, each with its kind; toStatus maps kinds only.
var (
	// errUnknownHandle: a ticket or prepared-statement handle this server
	// never issued, already consumed, closed or expired.
	errUnknownHandle = errkind.New(errkind.NotFound, "unknown or expired handle")
	// errBadRequest: a malformed request (wrong parameter count, bad option value).
	errBadRequest = errkind.New(errkind.InvalidArgument, "invalid request")
	// errNoTransactions: lakeflight commits each statement on its own.
	errNoTransactions = errkind.New(errkind.Unsupported, "transactions are not supported: each statement commits on its own")
	// errBusy: the ticket is being streamed by another DoGet right now.
	errBusy = errkind.New(errkind.FailedPrecondition, "ticket is already being read")
	// errIngestOff: the server was built without an ingest writer.
	errIngestOff = errkind.New(errkind.Unsupported, "bulk ingest is not enabled on this server")
	// errSubstrait: lakeflight speaks SQL only.
	errSubstrait = errkind.New(errkind.Unsupported, "substrait plans are not supported")
	// errClosed: the server is shutting down.
	errClosed = errkind.New(errkind.Unavailable, "server is closing")
	// errSessionGone: the call's session cookie names a session that
	// expired or was closed. Unauthenticated, not NotFound: the credential
	// the client presents (its cookie) is no longer valid and a new
	// connection gets a new one, while NotFound is what a missing table or
	// handle answers, which a client must not mistake for this.
	errSessionGone = errkind.New(errkind.Unauthenticated, "session expired or closed: its SET, USE, temp tables and lakeflight_as_of are gone; reconnect to start a new session")
	// errTooManySessions: the server holds as many sessions as it may.
	errTooManySessions = errkind.New(errkind.ResourceExhausted, "too many open sessions")
	// errOverloaded: as many heavy queries run and wait as the server allows (admission.go).
	errOverloaded = errkind.New(errkind.ResourceExhausted, "too many heavy queries")
	// errRowTooLarge: one result row is bigger than a message may be.
	errRowTooLarge = errkind.New(errkind.ResourceExhausted, "result row too large")
	// errSessionOwner: a session cookie presented by a user other than the one who opened it.
	errSessionOwner = errkind.New(errkind.PermissionDenied, "this session belongs to another user: connect again to open your own")
	// errReaderIngest: a reader's bulk ingest.
	errReaderIngest = errkind.New(errkind.PermissionDenied, "ingest needs the writer or admin role; this user is a reader")
	// errConnGone: the call's connection closed before the call began.
	errConnGone = errkind.New(errkind.Canceled, "connection closed")
)

// wireCodes gives each error kind its gRPC code. It is the one table
// between lakeflight's errors and the wire; web/errors.go has the HTTP twin.
var wireCodes = [...]codes.Code{
	errkind.Internal:           codes.Internal,
	errkind.NotFound:           codes.NotFound,
	errkind.AlreadyExists:      codes.AlreadyExists,
	errkind.InvalidArgument:    codes.InvalidArgument,
	errkind.SchemaMismatch:     codes.InvalidArgument, // HTTP alone tells it apart (422)
	errkind.Conflict:           codes.Aborted,         // lost a commit race too often: retry the statement
	errkind.Unsupported:        codes.Unimplemented,
	errkind.Canceled:           codes.Canceled,
	errkind.DeadlineExceeded:   codes.DeadlineExceeded,
	errkind.ResourceExhausted:  codes.ResourceExhausted,
	errkind.PermissionDenied:   codes.PermissionDenied,
	errkind.Unavailable:        codes.Unavailable,
	errkind.FailedPrecondition: codes.FailedPrecondition,
	errkind.Unauthenticated:    codes.Unauthenticated,
}

// codeOf is the gRPC code of err's kind (errkind.Of: a deadline outranks a
// cancellation, which outranks anything else the error wraps).
func codeOf(err error) codes.Code {
	if k := errkind.Of(err); int(k) < len(wireCodes) {
		return wireCodes[k]
	}
	return codes.Internal
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
	if code := codeOf(err); code != codes.Internal {
		return status.Error(code, err.Error())
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
