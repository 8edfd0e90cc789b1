package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
)

// Errors of this package; handleError gives each its HTTP status.
var (
	// ErrStarting: the server is starting (a dependency such as the ingest
	// writer is not up yet) or stopping.
	ErrStarting = errors.New("the server is starting or stopping; try again shortly")
	// errIngestOff: the sidecar was built without an ingester.
	errIngestOff = errors.New("ingest is not enabled on this server")
	// errSnapshotsOff: the sidecar was built without a Snapshotter.
	errSnapshotsOff = errors.New("snapshot management is not enabled on this server")
	// errBadRequest: a malformed request (unknown parameter, stray form field).
	errBadRequest = errors.New("bad request")
	// errBodyTooLarge: a request body (other than an upload) over its limit.
	errBodyTooLarge = errors.New("request body too large")
	// errUnsupportedMedia: a body in a format lakeflight does not read.
	errUnsupportedMedia = errors.New("unsupported media type")
)

// wireStatus lists, in order, which wrapped error becomes which HTTP status.
// It is the one table between domain errors and HTTP.
var wireStatus = []struct {
	err  error
	code int
}{
	{ErrStarting, http.StatusServiceUnavailable},
	{errIngestOff, http.StatusServiceUnavailable},
	{errSnapshotsOff, http.StatusServiceUnavailable},
	{errUnsupportedMedia, http.StatusUnsupportedMediaType},
	{errBodyTooLarge, http.StatusRequestEntityTooLarge},
	{errBadRequest, http.StatusBadRequest},
	{ingest.ErrSchema, http.StatusUnprocessableEntity},
	{catalog.ErrNoSuchTable, http.StatusNotFound},
	{catalog.ErrNoSuchNamespace, http.StatusNotFound},
	{catalog.ErrNoSuchSnapshot, http.StatusNotFound},
	{catalog.ErrTableAlreadyExists, http.StatusConflict},
	{catalog.ErrRefExists, http.StatusConflict},
	{catalog.ErrConflict, http.StatusConflict},
	{ingest.ErrMalformed, http.StatusBadRequest},
	{ingest.ErrOptions, http.StatusBadRequest},
	{ingest.ErrFormat, http.StatusBadRequest},
	{ingest.ErrTooManyRejects, http.StatusBadRequest},
	{catalog.ErrInvalidArgument, http.StatusBadRequest},
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
	default:
		for _, w := range wireStatus {
			if errors.Is(err, w.err) {
				p.Status, p.Detail = w.code, err.Error()
				break
			}
		}
		if p.Status == http.StatusInternalServerError {
			s.opts.Logger.Error("http handler failed", "path", c.Path(), "err", err)
		}
	}
	if errors.As(err, &bad) {
		p.Errors = bad.Rows
	}
	p.Title = http.StatusText(p.Status)
	return p
}
