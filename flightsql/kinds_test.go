//go:build duckdb_arrow

package flightsql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/lakeflight/lakeflight/internal/errkind"
	"github.com/lakeflight/lakeflight/web"
)

// Every kind has its gRPC code, and known kinds keep the error's text.
func TestCodeOfEachKind(t *testing.T) {
	want := map[errkind.Kind]codes.Code{
		errkind.Internal:           codes.Internal,
		errkind.NotFound:           codes.NotFound,
		errkind.AlreadyExists:      codes.AlreadyExists,
		errkind.InvalidArgument:    codes.InvalidArgument,
		errkind.SchemaMismatch:     codes.InvalidArgument,
		errkind.Conflict:           codes.Aborted,
		errkind.Unsupported:        codes.Unimplemented,
		errkind.Canceled:           codes.Canceled,
		errkind.DeadlineExceeded:   codes.DeadlineExceeded,
		errkind.ResourceExhausted:  codes.ResourceExhausted,
		errkind.PermissionDenied:   codes.PermissionDenied,
		errkind.Unavailable:        codes.Unavailable,
		errkind.FailedPrecondition: codes.FailedPrecondition,
		errkind.Unauthenticated:    codes.Unauthenticated,
	}
	if len(wireCodes) != len(errkind.All()) {
		t.Errorf("wireCodes has %d entries for %d kinds", len(wireCodes), len(errkind.All()))
	}
	log := slog.New(slog.DiscardHandler)
	for _, k := range errkind.All() {
		t.Run(k.String(), func(t *testing.T) {
			code, ok := want[k]
			if !ok {
				t.Fatalf("kind %v has no expected code in this test", k)
			}
			st := status.Convert(toStatus(log, "test", fmt.Errorf("doing x: %w", errkind.New(k, "it broke"))))
			if st.Code() != code {
				t.Errorf("code %v, want %v", st.Code(), code)
			}
			if code != codes.Internal && st.Message() != "doing x: it broke" {
				t.Errorf("message %q", st.Message())
			}
		})
	}
}

// Internal errors reach the client as a reference only; the details and
// the same reference go to the log.
func TestInternalIsOpaque(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	for _, err := range []error{
		errors.New("disk on fire at /secret/path"),
		fmt.Errorf("planning: %w", engine.ErrInternal),
	} {
		logged.Reset()
		st := status.Convert(toStatus(log, "DoGet", err))
		if st.Code() != codes.Internal || strings.Contains(st.Message(), err.Error()) {
			t.Errorf("%v: %v %q", err, st.Code(), st.Message())
		}
		ref := strings.TrimSuffix(strings.TrimPrefix(st.Message(), "internal error (ref "), ")")
		if !strings.Contains(logged.String(), ref) || !strings.Contains(logged.String(), err.Error()) {
			t.Errorf("log %q lacks ref %q or the error", logged.String(), ref)
		}
	}
}

// The sentinels of every package, with the kind each carries. Both
// transports classify with errkind.Of alone, so the same error gets the
// same kind in gRPC and in HTTP; this table checks the kinds, and
// TestTransportsAgree that each transport answers a sentinel exactly as it
// answers a bare error of that kind.
var sentinelKinds = []struct {
	name string
	err  error
	kind errkind.Kind
}{
	{"engine.ErrInvalidSQL", engine.ErrInvalidSQL, errkind.InvalidArgument},
	{"engine.ErrNotFound", engine.ErrNotFound, errkind.NotFound},
	{"engine.ErrPermission", engine.ErrPermission, errkind.PermissionDenied},
	{"engine.ErrUnsupported", engine.ErrUnsupported, errkind.Unsupported},
	{"engine.ErrCanceled", engine.ErrCanceled, errkind.Canceled},
	{"engine.ErrConstraint", engine.ErrConstraint, errkind.FailedPrecondition},
	{"engine.ErrInternal", engine.ErrInternal, errkind.Internal},
	{"engine.ErrAlreadyExists", engine.ErrAlreadyExists, errkind.AlreadyExists},
	{"engine.ErrSchemaChanged", engine.ErrSchemaChanged, errkind.FailedPrecondition},
	{"engine.ErrBusy", engine.ErrBusy, errkind.FailedPrecondition},
	{"engine.ErrClosed", engine.ErrClosed, errkind.Unavailable},
	{"engine.ErrTooLarge", engine.ErrTooLarge, errkind.ResourceExhausted},
	{"engine.ErrOutOfMemory", engine.ErrOutOfMemory, errkind.ResourceExhausted},
	{"engine.Error", &engine.Error{Kind: engine.ErrNotFound, Msg: "Catalog Error: Table nope does not exist"}, errkind.NotFound},
	{"engine.Error timed out", &engine.Error{Kind: engine.ErrCanceled, Msg: "INTERRUPT Error", Cause: context.DeadlineExceeded}, errkind.DeadlineExceeded},
	{"engine.Error canceled", &engine.Error{Kind: engine.ErrCanceled, Msg: "INTERRUPT Error", Cause: context.Canceled}, errkind.Canceled},

	{"ingest.ErrMalformed", ingest.ErrMalformed, errkind.InvalidArgument},
	{"ingest.BadRowsError", &ingest.BadRowsError{Rows: []ingest.RowError{{Source: "a.csv", Line: 2, Reason: "bad"}}}, errkind.InvalidArgument},
	{"ingest.ErrOptions", ingest.ErrOptions, errkind.InvalidArgument},
	{"ingest.ErrFormat", ingest.ErrFormat, errkind.InvalidArgument},
	{"ingest.ErrTooManyRejects", ingest.ErrTooManyRejects, errkind.InvalidArgument},
	{"ingest.ErrSchema", ingest.ErrSchema, errkind.SchemaMismatch},
	{"ingest.ErrTooLarge", ingest.ErrTooLarge, errkind.ResourceExhausted},

	{"catalog.ErrNoSuchTable", catalog.ErrNoSuchTable, errkind.NotFound},
	{"catalog.ErrNoSuchNamespace", catalog.ErrNoSuchNamespace, errkind.NotFound},
	{"catalog.ErrTableAlreadyExists", catalog.ErrTableAlreadyExists, errkind.AlreadyExists},
	{"catalog.ErrInvalidArgument", catalog.ErrInvalidArgument, errkind.InvalidArgument},
	{"catalog.ErrNoSuchSnapshot", catalog.ErrNoSuchSnapshot, errkind.NotFound},
	{"catalog.ErrRefExists", catalog.ErrRefExists, errkind.AlreadyExists},
	{"catalog.ErrNotSupported", catalog.ErrNotSupported, errkind.Unsupported},
	{"catalog.ErrConflict", catalog.ErrConflict, errkind.Conflict},

	{"web.ErrStarting", web.ErrStarting, errkind.Unavailable},
	{"errUnknownHandle", errUnknownHandle, errkind.NotFound},
	{"errBadRequest", errBadRequest, errkind.InvalidArgument},
	{"errNoTransactions", errNoTransactions, errkind.Unsupported},
	{"errBusy", errBusy, errkind.FailedPrecondition},
	{"errIngestOff", errIngestOff, errkind.Unsupported},
	{"errSubstrait", errSubstrait, errkind.Unsupported},
	{"errClosed", errClosed, errkind.Unavailable},
	{"errSessionGone", errSessionGone, errkind.Unauthenticated},
	{"errConnGone", errConnGone, errkind.Canceled},
	{"errTooManySessions", errTooManySessions, errkind.ResourceExhausted},

	{"context.Canceled", context.Canceled, errkind.Canceled},
	{"context.DeadlineExceeded", context.DeadlineExceeded, errkind.DeadlineExceeded},
}

// TestTransportsAgree sends each sentinel, wrapped as callers wrap it,
// through toStatus and through the HTTP sidecar's POST /ingest, and
// checks that both answer what they answer for its kind.
func TestTransportsAgree(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	code := func(err error) codes.Code { return status.Code(toStatus(log, "test", err)) }
	for _, c := range sentinelKinds {
		t.Run(c.name, func(t *testing.T) {
			err := fmt.Errorf("ingesting into bronze.t: %w", c.err)
			if got := errkind.Of(err); got != c.kind {
				t.Fatalf("kind %v, want %v", got, c.kind)
			}
			bare := errkind.New(c.kind, "bare")
			if got, want := code(err), code(bare); got != want {
				t.Errorf("gRPC %v, but %v for kind %v", got, want, c.kind)
			}
			if got, want := httpStatus(t, err), httpStatus(t, bare); got != want {
				t.Errorf("HTTP %d, but %d for kind %v", got, want, c.kind)
			}
		})
	}
}

// httpStatus is the status POST /ingest answers when the ingester fails
// with err.
func httpStatus(t *testing.T, err error) int {
	t.Helper()
	s := web.New(web.Options{Ingest: web.IngesterFunc(func(context.Context, ingest.Request) (ingest.Result, error) {
		return ingest.Result{}, err
	})})
	s.SetReady(true)
	req := httptest.NewRequest(http.MethodPost, "/ingest?table=bronze.t", strings.NewReader("a\n1\n"))
	req.Header.Set("Content-Type", "text/csv")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d with Content-Type %q: %s", rec.Code, ct, rec.Body)
	}
	return rec.Code
}
