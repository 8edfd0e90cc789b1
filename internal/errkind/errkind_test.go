package errkind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	icerest "github.com/apache/iceberg-go/catalog/rest"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/apache/thrift/lib/go/thrift"
)

var (
	errNotFound = New(NotFound, "not found")
	errSchema   = New(SchemaMismatch, "schema mismatch")
	errCanceled = New(Canceled, "canceled")
)

// multi wraps several errors the way engine.Error does (Unwrap() []error).
type multi []error

func (m multi) Error() string   { return "multi" }
func (m multi) Unwrap() []error { return m }

// deadlineish claims to be context.DeadlineExceeded through an Is method.
type deadlineish struct{}

func (deadlineish) Error() string        { return "i/o timeout" }
func (deadlineish) Is(target error) bool { return target == context.DeadlineExceeded }

// ownKind is a package's error type with a kind of its own.
type ownKind struct{}

func (ownKind) Error() string   { return "busy" }
func (ownKind) ErrorKind() Kind { return FailedPrecondition }

func TestOf(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, Internal},
		{"plain error", errors.New("boom"), Internal},
		{"io.EOF", io.EOF, Internal},
		{"sentinel", errNotFound, NotFound},
		{"wrapped sentinel", fmt.Errorf("opening x: %w", errNotFound), NotFound},
		{"twice wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", errNotFound)), NotFound},
		{"own error type", fmt.Errorf("x: %w", ownKind{}), FailedPrecondition},
		{"first of two %w wins", fmt.Errorf("%w: column c: %w", errSchema, iceberg.ErrInvalidArgument), SchemaMismatch},
		{"first of two %w, other order", fmt.Errorf("%w: %w", iceberg.ErrInvalidArgument, errSchema), InvalidArgument},
		{"unkinded first, kinded second", fmt.Errorf("%w: %w", io.EOF, errNotFound), NotFound},
		{"errors.Join", errors.Join(errors.New("x"), fmt.Errorf("y: %w", errSchema)), SchemaMismatch},
		{"nested join, depth first", errors.Join(fmt.Errorf("a: %w", errors.Join(io.EOF, errNotFound)), errSchema), NotFound},
		{"Unwrap []error type", multi{errNotFound, errSchema}, NotFound},

		{"context.Canceled", context.Canceled, Canceled},
		{"context.DeadlineExceeded", context.DeadlineExceeded, DeadlineExceeded},
		{"deadline beats canceled", multi{errCanceled, context.DeadlineExceeded}, DeadlineExceeded},
		{"deadline beats an earlier kind", errors.Join(errNotFound, fmt.Errorf("w: %w", context.DeadlineExceeded)), DeadlineExceeded},
		{"canceled beats an earlier kind", errors.Join(errSchema, context.Canceled), Canceled},
		{"Is method counts", fmt.Errorf("read: %w", deadlineish{}), DeadlineExceeded},
		{"a refused connection", fmt.Errorf("put s3://b/k: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), Unavailable},
		{"a broken read is no outage", fmt.Errorf("upload: %w", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}), Internal},
		{"a REST catalog's 503", fmt.Errorf("loading: %w", icerest.ErrServiceUnavailable), Unavailable},
		{"a metastore connection that broke", fmt.Errorf("get_table: %w", thrift.NewTTransportExceptionFromError(io.EOF)), Unavailable},
		{"a commit lost for want of a metastore", fmt.Errorf("%w: acquiring lock: %w", icetable.ErrCommitFailed,
			thrift.NewTTransportExceptionFromError(io.ErrUnexpectedEOF)), Unavailable},
		{"a plain conflict stays one", fmt.Errorf("commit: %w", icetable.ErrCommitFailed), Conflict},

		{"iceberg no such table", fmt.Errorf("loading: %w", icecatalog.ErrNoSuchTable), NotFound},
		{"iceberg no such namespace", icecatalog.ErrNoSuchNamespace, NotFound},
		{"iceberg no such view", icecatalog.ErrNoSuchView, NotFound},
		{"iceberg snapshot not found", icetable.ErrSnapshotNotFound, NotFound},
		{"iceberg table exists", icecatalog.ErrTableAlreadyExists, AlreadyExists},
		{"iceberg namespace exists", icecatalog.ErrNamespaceAlreadyExists, AlreadyExists},
		{"iceberg view exists", icecatalog.ErrViewAlreadyExists, AlreadyExists},
		{"iceberg namespace not empty", icecatalog.ErrNamespaceNotEmpty, FailedPrecondition},
		{"iceberg invalid argument", iceberg.ErrInvalidArgument, InvalidArgument},
		{"iceberg sentinel wrapping invalid argument", iceberg.ErrInvalidFormatVersion, InvalidArgument},
		{"iceberg invalid identifier", icecatalog.ErrInvalidIdentifier, InvalidArgument},
		{"iceberg not implemented", iceberg.ErrNotImplemented, Unsupported},
		{"iceberg commit failed", icetable.ErrCommitFailed, Conflict},
		{"iceberg conflicting files", icetable.ErrConflictingDataFiles, Conflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Of(c.err); got != c.want {
				t.Errorf("Of(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

// A sentinel from New behaves like one from errors.New: same text, its own
// identity, found through wrapping.
func TestNewIsASentinel(t *testing.T) {
	a, b := New(NotFound, "gone"), New(NotFound, "gone")
	if a.Error() != "gone" {
		t.Errorf("text %q", a.Error())
	}
	if errors.Is(a, b) {
		t.Error("two sentinels with the same text are one error")
	}
	w := fmt.Errorf("loading t: %w", a)
	if !errors.Is(w, a) || w.Error() != "loading t: gone" {
		t.Errorf("wrapped: %v, Is = %v", w, errors.Is(w, a))
	}
	var k Kinded
	if !errors.As(w, &k) || k.ErrorKind() != NotFound {
		t.Errorf("errors.As Kinded: %v", k)
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]Kind{}
	for _, k := range All() {
		s := k.String()
		if s == "" || strings.HasPrefix(s, "kind(") {
			t.Errorf("kind %d has no name", k)
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("kinds %d and %d share the name %q", prev, k, s)
		}
		seen[s] = k
	}
	if All()[0] != Internal {
		t.Error("the zero Kind is not Internal")
	}
	if got := Kind(200).String(); got != "kind(200)" {
		t.Errorf("unknown kind prints %q", got)
	}
}
