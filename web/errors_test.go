package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/lakeflight/lakeflight/internal/errkind"
)

// problemFor is the problem+json answer to err for a live request.
func problemFor(t *testing.T, err error) problem {
	t.Helper()
	s := New(Options{})
	c := s.echo.NewContext(httptest.NewRequest(http.MethodPost, "/ingest", nil), httptest.NewRecorder())
	return s.toProblem(err, c)
}

// Every kind has its status, and only 500 hides the error's text.
func TestStatusOfEachKind(t *testing.T) {
	want := map[errkind.Kind]int{
		errkind.Internal:           500,
		errkind.NotFound:           404,
		errkind.AlreadyExists:      409,
		errkind.InvalidArgument:    400,
		errkind.SchemaMismatch:     422,
		errkind.Conflict:           409,
		errkind.Unsupported:        501,
		errkind.Canceled:           503,
		errkind.DeadlineExceeded:   504,
		errkind.ResourceExhausted:  413,
		errkind.PermissionDenied:   403,
		errkind.Unavailable:        503,
		errkind.FailedPrecondition: 409,
		errkind.Unauthenticated:    401,
	}
	for _, k := range errkind.All() {
		t.Run(k.String(), func(t *testing.T) {
			code, ok := want[k]
			if !ok {
				t.Fatalf("kind %v has no expected status in this test", k)
			}
			err := fmt.Errorf("doing x: %w", errkind.New(k, "it broke"))
			p := problemFor(t, err)
			if p.Status != code || p.Title != http.StatusText(code) {
				t.Errorf("status %d %q, want %d", p.Status, p.Title, code)
			}
			wantDetail := "doing x: it broke"
			if code == 500 {
				wantDetail = "internal error"
			}
			if p.Detail != wantDetail {
				t.Errorf("detail %q, want %q", p.Detail, wantDetail)
			}
		})
	}
}

// The statuses the README promises for POST /ingest, and catalog errors
// that used to fall through to 500.
func TestDomainErrorStatuses(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{ingest.ErrOptions, 400},
		{&ingest.BadRowsError{Rows: []ingest.RowError{{Source: "a.csv", Line: 2, Reason: "bad"}}}, 400},
		{catalog.ErrNoSuchTable, 404},
		{catalog.ErrTableAlreadyExists, 409},
		{ingest.ErrSchema, 422},
		{ErrStarting, 503},
		{catalog.ErrNotSupported, 501},
		{catalog.ErrConflict, 409},
		{catalog.ErrNoSuchSnapshot, 404},
	} {
		err := fmt.Errorf("ingesting into bronze.t: %w", c.err)
		if p := problemFor(t, err); p.Status != c.want {
			t.Errorf("%v: status %d, want %d", err, p.Status, c.want)
		}
	}
}

// The statuses that do not come from a kind: they are about HTTP itself.
func TestStatusesOfHTTPItself(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"unsupported media type", fmt.Errorf("%w: Content-Type %q", errUnsupportedMedia, "text/html"), 415},
		{"upload over the limit", fmt.Errorf("reading: %w", &http.MaxBytesError{Limit: 10}), 413},
		{"echo's own error", echo.ErrMethodNotAllowed, 405},
		{"unkinded error", errors.New("disk on fire"), 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			if p := problemFor(t, c.err); p.Status != c.want {
				t.Errorf("status %d, want %d (%+v)", p.Status, c.want, p)
			}
		})
	}
}

// A cancellation is 503 while the client waits, and "request canceled" once
// it has gone (nobody reads that answer; it is only logged).
func TestCanceledRequest(t *testing.T) {
	s := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodPost, "/ingest", nil).WithContext(ctx)
	c := s.echo.NewContext(req, httptest.NewRecorder())
	if p := s.toProblem(fmt.Errorf("ingesting: %w", context.Canceled), c); p.Status != 400 || p.Detail != "request canceled" {
		t.Errorf("client gone: %+v", p)
	}
	if p := problemFor(t, fmt.Errorf("ingesting: %w", context.Canceled)); p.Status != 503 {
		t.Errorf("client still there: %+v", p)
	}
}
