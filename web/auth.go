package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/auth"
)

// Authentication on the sidecar: with Options.Auth set, every route but
// /health and /ready takes the same credentials as Flight SQL (an
// Authorization header, Basic or Bearer) and needs a role: reads a
// reader, ingest and snapshot changes a writer, maintenance and
// transforms an admin. Missing or bad credentials answer 401 with a
// WWW-Authenticate challenge, a role too low 403.

// need is the middleware of a route that needs role (nil Auth: none).
func (s *Server) need(role auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if s.opts.Auth == nil {
			return next
		}
		return func(c echo.Context) error {
			id, err := s.opts.Auth.Header(c.Request().Header.Get(echo.HeaderAuthorization))
			if err != nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="lakeflight", Bearer realm="lakeflight"`)
				return err
			}
			if wait, err := s.opts.Auth.Allow(id); err != nil {
				c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				return err
			}
			if !id.May(role) {
				return fmt.Errorf("%w: %s %s needs the %s role; user %s is a %s", auth.ErrForbidden,
					c.Request().Method, c.Path(), role, id.User, id.Role)
			}
			if err := checkGrants(c, id); err != nil {
				return err
			}
			c.SetRequest(c.Request().WithContext(auth.With(c.Request().Context(), id)))
			return next(c)
		}
	}
}

// checkGrants refuses a route outside the identity's namespace grants: a
// table route of another namespace, and starting a transform (dbt builds
// models of every namespace).
func checkGrants(c echo.Context, id auth.Identity) error {
	if !id.Restricted() {
		return nil
	}
	ns := c.Param("ns")
	if q := c.Param("qualified"); q != "" {
		ns, _, _ = strings.Cut(q, ".")
	}
	if ns != "" {
		if unescaped, err := url.PathUnescape(ns); err == nil {
			ns = unescaped
		}
		if !id.MayUse(ns) {
			return id.NamespaceError(ns)
		}
	}
	if strings.HasPrefix(c.Path(), "/v1/auth/api-tokens") {
		return fmt.Errorf("%w: user %s may use only namespace(s) %s, and API tokens may grant any namespace",
			auth.ErrForbidden, id.User, strings.Join(id.Namespaces, ", "))
	}
	// Transforms build, and maintenance jobs are listed for, every
	// namespace: their runs, logs and jobs are not a restricted user's.
	if strings.HasPrefix(c.Path(), "/transform") {
		return fmt.Errorf("%w: user %s may use only namespace(s) %s, and a transform builds models of every namespace",
			auth.ErrForbidden, id.User, strings.Join(id.Namespaces, ", "))
	}
	if strings.HasPrefix(c.Path(), "/v1/maintenance") {
		return fmt.Errorf("%w: user %s may use only namespace(s) %s, and the maintenance jobs are of every namespace's tables",
			auth.ErrForbidden, id.User, strings.Join(id.Namespaces, ", "))
	}
	return nil
}

// tokenAnswer is POST /v1/auth/token's body.
type tokenAnswer struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	User      string    `json:"user"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

// issueToken answers POST /v1/auth/token: a bearer token for the caller,
// who must present Basic credentials (a token cannot renew itself, or a
// stolen one would never expire).
func (s *Server) issueToken(c echo.Context) error {
	if s.opts.Auth == nil {
		return echo.NewHTTPError(http.StatusNotImplemented, "authentication is not configured on this server (auth.users)")
	}
	if scheme, _, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " "); !strings.EqualFold(scheme, "Basic") {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="lakeflight"`)
		return fmt.Errorf("%w: POST /v1/auth/token takes Basic credentials (user and password); a token cannot renew itself", auth.ErrUnauthenticated)
	}
	id, _ := auth.From(c.Request().Context())
	tok := s.opts.Auth.Issue(id)
	return c.JSON(http.StatusOK, tokenAnswer{Token: tok, TokenType: "Bearer", User: id.User, Role: id.Role.String(),
		ExpiresAt: time.Now().Add(s.opts.Auth.TTL()).UTC().Truncate(time.Second)})
}
