package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/auth"
)

// TokenManager makes, lists and revokes the API tokens kept in the
// catalog database (the configured ones, auth.api_tokens, are listed too
// but change only in the configuration).
type TokenManager interface {
	CreateAPIToken(ctx context.Context, req TokenRequest, by string) (token string, info TokenInfo, err error)
	APITokens(ctx context.Context) ([]TokenInfo, error)
	RevokeAPIToken(ctx context.Context, name string) error
}

// TokenRequest is POST /v1/auth/api-tokens' body.
type TokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Namespaces grants the token only these (absent: all).
	Namespaces []string `json:"namespaces,omitempty"`
}

// TokenInfo describes one API token (never the token or its hash).
type TokenInfo struct {
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	Namespaces []string  `json:"namespaces,omitempty"`
	Source     string    `json:"source"` // "api" (made at run time) or "config" (auth.api_tokens)
	CreatedAt  time.Time `json:"created_at,omitzero"`
	CreatedBy  string    `json:"created_by,omitempty"`
}

// tokenCreated is POST /v1/auth/api-tokens' answer: the token, shown once.
type tokenCreated struct {
	Token string `json:"token"`
	TokenInfo
}

func (s *Server) tokens() (TokenManager, error) {
	if s.opts.Auth == nil || s.opts.Tokens == nil {
		return nil, echo.NewHTTPError(http.StatusNotImplemented, "authentication is not configured on this server (auth.users or auth.api_tokens)")
	}
	return s.opts.Tokens, nil
}

// createAPIToken is POST /v1/auth/api-tokens.
func (s *Server) createAPIToken(c echo.Context) error {
	tm, err := s.tokens()
	if err != nil {
		return err
	}
	var req TokenRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	if req.Name == "" || strings.ContainsAny(req.Name, ":\x00,/") || len(req.Name) > 200 {
		return fmt.Errorf("%w: name %q: want 1 to 200 characters, none of : , / or NUL", errBadRequest, req.Name)
	}
	if _, err := auth.ParseRole(req.Role); err != nil {
		return fmt.Errorf("%w: %w", errBadRequest, err)
	}
	if req.Namespaces != nil && len(req.Namespaces) == 0 {
		return fmt.Errorf("%w: namespaces: [] grants nothing; leave it out to grant every namespace", errBadRequest)
	}
	for _, ns := range req.Namespaces {
		if ns == "" || strings.ContainsAny(ns, ".,") {
			return fmt.Errorf("%w: namespaces: %q is not a namespace name", errBadRequest, ns)
		}
	}
	if s.opts.Auth.ConfiguredToken(req.Name) {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("API token %s is configured (auth.api_tokens)", req.Name))
	}
	id, _ := auth.From(c.Request().Context())
	tok, info, err := tm.CreateAPIToken(c.Request().Context(), req, id.User)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, tokenCreated{Token: tok, TokenInfo: info})
}

// listAPITokens is GET /v1/auth/api-tokens.
func (s *Server) listAPITokens(c echo.Context) error {
	tm, err := s.tokens()
	if err != nil {
		return err
	}
	list, err := tm.APITokens(c.Request().Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []TokenInfo{}
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": list})
}

// revokeAPIToken is DELETE /v1/auth/api-tokens/{name}.
func (s *Server) revokeAPIToken(c echo.Context) error {
	tm, err := s.tokens()
	if err != nil {
		return err
	}
	name := c.Param("name")
	if s.opts.Auth.ConfiguredToken(name) {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("API token %s is configured (auth.api_tokens): remove it there to revoke it", name))
	}
	if err := tm.RevokeAPIToken(c.Request().Context(), name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
