package web

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDoc is the OpenAPI 3.1 description of every route of the sidecar,
// written by hand. openapi_test.go fails when a route is registered but not
// described, or described but not registered, and checks the documented
// query parameters and body fields against what the handlers accept.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI is GET /openapi.json.
func (s *Server) openAPI(c echo.Context) error {
	if q := c.QueryParams(); len(q) > 0 {
		return knownParams(q, nil)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc)
}
