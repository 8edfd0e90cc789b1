package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
)

// health answers as long as the process runs: liveness only.
func (s *Server) health(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

type readinessBody struct {
	Status string        `json:"status"`
	Checks []checkResult `json:"checks"`
	// Transform is the state of the /transform subsystem; informational,
	// it does not make the server unready.
	Transform string `json:"transform,omitempty"`
}

// readiness is 200 only when the server has finished starting, is not
// stopping, and every dependency (catalog, DuckDB) answers.
func (s *Server) readiness(c echo.Context) error {
	body, code := s.check(c.Request().Context())
	return c.JSON(code, body)
}

// check runs the readiness checks: what GET /ready answers, and
// lakeflight_ready.
func (s *Server) check(ctx context.Context) (readinessBody, int) {
	if !s.ready.Load() {
		return readinessBody{Status: "not ready: starting or stopping"}, http.StatusServiceUnavailable
	}
	body := readinessBody{Status: "ready"}
	if s.opts.Transform != nil {
		body.Transform = s.opts.Transform.State()
	}
	code := http.StatusOK
	for _, chk := range s.opts.Checks {
		cctx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
		err := chk.Pinger.Ping(cctx)
		cancel()
		res := checkResult{Name: chk.Name, Status: "ok"}
		if err != nil {
			res.Status, res.Error = "failing", err.Error()
			body.Status, code = "not ready: "+chk.Name+" unreachable", http.StatusServiceUnavailable
			s.opts.Logger.Warn("readiness check failed", "check", chk.Name, "err", err)
		}
		body.Checks = append(body.Checks, res)
	}
	return body, code
}
