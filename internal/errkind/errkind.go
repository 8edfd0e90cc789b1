// Package errkind is the small set of error kinds lakeflight's packages
// share, so that the transports (flightsql's gRPC codes, web's HTTP
// statuses) map kinds, not long lists of sentinels. A package declares its
// sentinels with New, which gives each a kind; Of classifies any error.
// errkind sits below every lakeflight package and imports none of them.
package errkind

import (
	"context"
	"net"
	"strconv"

	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	icerest "github.com/apache/iceberg-go/catalog/rest"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/apache/thrift/lib/go/thrift"
)

// Kind is what went wrong, in the terms a client acts on. The zero value
// is Internal.
type Kind uint8

const (
	// Internal: a bug or an unexpected failure; clients see no details.
	Internal Kind = iota
	// NotFound: the named table, snapshot, handle … does not exist.
	NotFound
	// AlreadyExists: creating something under a name already taken.
	AlreadyExists
	// InvalidArgument: the request is malformed whatever the server's state
	// (bad SQL, bad options, rows that do not parse).
	InvalidArgument
	// SchemaMismatch: well-formed input whose columns the target table
	// cannot take. It is InvalidArgument for gRPC, but HTTP tells it apart
	// (422, not 400), so it is a kind rather than an override in web.
	SchemaMismatch
	// Conflict: another writer committed first; running again may succeed.
	Conflict
	// Unsupported: lakeflight refuses or does not implement this.
	Unsupported
	// Canceled: the caller or the server stopped the work.
	Canceled
	// DeadlineExceeded: the work ran out of time (a cancellation too, told apart).
	DeadlineExceeded
	// ResourceExhausted: the request is over a size limit.
	ResourceExhausted
	// PermissionDenied: the sandbox refuses the access.
	PermissionDenied
	// Unavailable: the server is starting or closing; try again later.
	Unavailable
	// FailedPrecondition: the request is valid but the state it acts on is
	// not ready for it (a session busy streaming, a stale prepared statement).
	FailedPrecondition
	// Unauthenticated: the credential the call presents (a session cookie,
	// later a token) is not, or no longer, valid.
	Unauthenticated
)

var names = [...]string{
	Internal:           "internal",
	NotFound:           "not found",
	AlreadyExists:      "already exists",
	InvalidArgument:    "invalid argument",
	SchemaMismatch:     "schema mismatch",
	Conflict:           "conflict",
	Unsupported:        "unsupported",
	Canceled:           "canceled",
	DeadlineExceeded:   "deadline exceeded",
	ResourceExhausted:  "resource exhausted",
	PermissionDenied:   "permission denied",
	Unavailable:        "unavailable",
	FailedPrecondition: "failed precondition",
	Unauthenticated:    "unauthenticated",
}

func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// All lists every kind, for tests that check a transport maps each one.
func All() []Kind {
	all := make([]Kind, len(names))
	for i := range all {
		all[i] = Kind(i)
	}
	return all
}

// Kinded is an error that knows its kind. Sentinels made by New are; a
// package's own error type may be too.
type Kinded interface {
	error
	ErrorKind() Kind
}

type sentinel struct {
	kind Kind
	msg  string
}

func (e *sentinel) Error() string   { return e.msg }
func (e *sentinel) ErrorKind() Kind { return e.kind }

// New returns a sentinel error of kind k with text msg. Like errors.New,
// every call makes a distinct error for errors.Is.
func New(k Kind, msg string) error { return &sentinel{kind: k, msg: msg} }

// upstream gives a kind to the sentinels of other projects lakeflight
// reuses instead of declaring twins (catalog/errors.go aliases most).
var upstream = []struct {
	err  error
	kind Kind
}{
	{context.DeadlineExceeded, DeadlineExceeded},
	{context.Canceled, Canceled},
	{icecatalog.ErrNoSuchTable, NotFound},
	{icecatalog.ErrNoSuchNamespace, NotFound},
	{icecatalog.ErrNoSuchView, NotFound},
	{icetable.ErrSnapshotNotFound, NotFound},
	{icecatalog.ErrTableAlreadyExists, AlreadyExists},
	{icecatalog.ErrNamespaceAlreadyExists, AlreadyExists},
	{icecatalog.ErrViewAlreadyExists, AlreadyExists},
	{icecatalog.ErrNamespaceNotEmpty, FailedPrecondition},
	{iceberg.ErrInvalidArgument, InvalidArgument},
	{icecatalog.ErrInvalidIdentifier, InvalidArgument},
	{iceberg.ErrNotImplemented, Unsupported},
	{icetable.ErrCommitFailed, Conflict},
	// A REST catalog that answers 503, or an ingress in front of one that
	// cannot reach it (502, 504): the catalog is out for now.
	{icerest.ErrServiceUnavailable, Unavailable},
	{icerest.ErrEndpointNotSupported, Unsupported},
}

// Of classifies err. It walks the whole wrap tree (%w, multiple %w,
// errors.Join) depth first in wrapping order and takes the first error
// with a kind: a Kinded error or one of the upstream sentinels. Three kinds
// outrank the order (an unreachable backend outranks a conflict it
// caused): a deadline anywhere makes the error DeadlineExceeded
// (a timeout is also a cancellation), else a cancellation anywhere makes it
// Canceled, since the work stopped whatever else went wrong on the way.
// An error with no kind, and nil, is Internal.
func Of(err error) Kind {
	first, found := Internal, false
	canceled, unavailable := false, false
	deadline := walk(err, func(k Kind) bool {
		switch k {
		case DeadlineExceeded:
			return true
		case Canceled:
			canceled = true
		case Unavailable:
			unavailable = true
		}
		if !found {
			first, found = k, true
		}
		return false
	})
	switch {
	case deadline:
		return DeadlineExceeded
	case canceled:
		return Canceled
	case first == Conflict && unavailable:
		// A commit reported as lost because a backend could not be
		// reached (iceberg-go's Hive catalog wraps a failed lock request
		// so): re-running it will not help until the backend is back.
		return Unavailable
	}
	return first
}

// walk calls visit with the kind of every kinded error in err's tree, in
// depth-first wrapping order, and stops early when visit returns true.
func walk(err error, visit func(Kind) bool) bool {
	if err == nil {
		return false
	}
	if k, ok := own(err); ok && visit(k) {
		return true
	}
	switch u := err.(type) { //nolint:errorlint // walk unwraps by itself, one node at a time
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), visit)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if walk(e, visit) {
				return true
			}
		}
	}
	return false
}

// own is the kind err has itself, not through what it wraps.
func own(err error) (Kind, bool) {
	if k, ok := err.(Kinded); ok { //nolint:errorlint // this node only: walk does the unwrapping
		return k.ErrorKind(), true
	}
	// A connection that could not be made (refused, no route, no answer):
	// the server dials only its backends (the catalog database, the object
	// store), so one of them cannot be reached now. Reads and writes on an
	// open connection are left alone: a client's broken upload is one.
	if op, ok := err.(*net.OpError); ok && op.Op == "dial" { //nolint:errorlint // see above
		return Unavailable, true
	}
	// A Hive Metastore's Thrift connection that failed (closed, reset,
	// timed out): the metastore, a backend, is out.
	if _, ok := err.(thrift.TTransportException); ok { //nolint:errorlint // see above
		return Unavailable, true
	}
	is, _ := err.(interface{ Is(error) bool })
	for _, u := range upstream {
		// This node only, as errors.Is would test it; walk does the unwrapping.
		if err == u.err || is != nil && is.Is(u.err) { //nolint:errorlint // see above
			return u.kind, true
		}
	}
	return Internal, false
}
