package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// problem is an RFC 9457 problem+json body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// handleError is the one place errors become HTTP responses.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := http.StatusInternalServerError
	detail := "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		if msg, ok := he.Message.(string); ok {
			detail = msg
		} else {
			detail = http.StatusText(code)
		}
	} else {
		s.opts.Logger.Error("http handler failed", "path", c.Path(), "err", err)
	}
	p := problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: detail}
	body, _ := json.Marshal(p)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.Blob(code, "application/problem+json", body)
}
