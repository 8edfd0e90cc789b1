package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Errors of this package, each with its kind; toProblem maps kinds only.
var (
	// ErrStarting: the server is starting (a dependency such as the ingest
	// writer is not up yet) or stopping.
	ErrStarting = errkind.New(errkind.Unavailable, "the server is starting or stopping; try again shortly")
	// errIngestOff: the sidecar was built without an ingester.
	errIngestOff = errkind.New(errkind.Unsupported, "ingest is not enabled on this server")
	// errSnapshotsOff: the sidecar was built without a Snapshotter.
	errSnapshotsOff = errkind.New(errkind.Unsupported, "snapshot management is not enabled on this server")
	errCompactOff   = errkind.New(errkind.Unsupported, "compaction is not enabled on this server")
	// errBadRequest: a malformed request (unknown parameter, stray form field).
	errBadRequest = errkind.New(errkind.InvalidArgument, "bad request")
	// errBodyTooLarge: a request body (other than an upload) over its limit.
	errBodyTooLarge = errkind.New(errkind.ResourceExhausted, "request body too large")
	// errUnsupportedMedia: a body in a format lakeflight does not read. Its
	// kind is Unsupported; toProblem answers 415 for it, the one status that
	// is about HTTP itself rather than a kind (see there).
	errUnsupportedMedia = errkind.New(errkind.Unsupported, "unsupported media type")
)

// wireStatus gives each error kind its HTTP status. It is the one table
// between lakeflight's errors and HTTP; flightsql/errors.go has the gRPC twin.
var wireStatus = [...]int{
	errkind.Internal:           http.StatusInternalServerError,
	errkind.NotFound:           http.StatusNotFound,
	errkind.AlreadyExists:      http.StatusConflict,
	errkind.InvalidArgument:    http.StatusBadRequest,
	errkind.SchemaMismatch:     http.StatusUnprocessableEntity, // well-formed input the table cannot take
	errkind.Conflict:           http.StatusConflict,
	errkind.Unsupported:        http.StatusNotImplemented,
	errkind.Canceled:           http.StatusServiceUnavailable, // the client is still there: the server stopped the work
	errkind.DeadlineExceeded:   http.StatusGatewayTimeout,
	errkind.ResourceExhausted:  http.StatusRequestEntityTooLarge, // lakeflight's only exhaustible resource here is a size limit
	errkind.PermissionDenied:   http.StatusForbidden,
	errkind.Unavailable:        http.StatusServiceUnavailable,
	errkind.FailedPrecondition: http.StatusConflict, // the target's state, not the request, is in the way
	errkind.Unauthenticated:    http.StatusUnauthorized,
}

// statusOf is the HTTP status of err's kind (errkind.Of).
func statusOf(err error) int {
	if k := errkind.Of(err); int(k) < len(wireStatus) {
		return wireStatus[k]
	}
	return http.StatusInternalServerError
}

// problem is an RFC 9457 problem+json body. Errors lists the bad rows of a
// strict ingest (an extension member).
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail,omitempty"`
	Errors []ingest.RowError `json:"errors,omitempty"`
}

// handleError is the one place errors become HTTP responses.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := s.toProblem(err, c)
	body, _ := json.Marshal(p)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.Blob(p.Status, "application/problem+json", body)
}

func (s *Server) toProblem(err error, c echo.Context) problem {
	p := problem{Type: "about:blank", Status: http.StatusInternalServerError, Detail: "internal error"}
	var he *echo.HTTPError
	var tooLarge *http.MaxBytesError
	var bad *ingest.BadRowsError
	switch {
	case errors.As(err, &he):
		p.Status = he.Code
		if msg, ok := he.Message.(string); ok {
			p.Detail = msg
		} else {
			p.Detail = http.StatusText(he.Code)
		}
	case errors.As(err, &tooLarge):
		p.Status = http.StatusRequestEntityTooLarge
		p.Detail = fmt.Sprintf("the upload is larger than the limit of %d bytes (max_ingest_bytes); nothing was committed", tooLarge.Limit)
	case c.Request().Context().Err() != nil && errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		s.opts.Logger.Info("http request canceled by the client", "path", c.Path(), "err", err)
		p.Status, p.Detail = http.StatusBadRequest, "request canceled"
	case errors.Is(err, auth.ErrRateLimited):
		// 429, not the 413 of the other exhausted limits (sizes).
		p.Status, p.Detail = http.StatusTooManyRequests, err.Error()
	case errors.Is(err, errUnsupportedMedia):
		// 415 is about the request's Content-Type or Content-Encoding, which
		// only HTTP has; every other status comes from the error's kind.
		p.Status, p.Detail = http.StatusUnsupportedMediaType, err.Error()
	default:
		if p.Status = statusOf(err); p.Status == http.StatusInternalServerError {
			p.Detail = "internal error"
			s.opts.Logger.Error("http handler failed", "path", c.Path(), "err", err)
		} else {
			p.Detail = err.Error()
		}
	}
	if errors.As(err, &bad) {
		p.Errors = bad.Rows
	}
	var limit *ingest.LimitError
	if errors.As(err, &limit) && p.Status == http.StatusRequestEntityTooLarge {
		setting := "max_ingest_decompressed_bytes (--max-ingest-decompressed-bytes)"
		if limit.Ratio {
			setting = "max_ingest_ratio (--max-ingest-ratio)"
		}
		p.Detail += "; nothing was committed; the server's " + setting + " sets this limit"
	}
	p.Title = http.StatusText(p.Status)
	return p
}
