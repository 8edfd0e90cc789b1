package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/web"
)

// catalogTokens serves the API tokens stored in the catalog database to
// the authenticator.
type catalogTokens struct{ cat *catalog.Catalog }

var _ auth.TokenStore = catalogTokens{}

func (c catalogTokens) StoredTokens(ctx context.Context) ([]auth.APIToken, error) {
	list, err := c.cat.APITokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]auth.APIToken, 0, len(list))
	for _, t := range list {
		role, err := auth.ParseRole(t.Role)
		if err != nil {
			continue // not one lakeflight stored: grants nothing
		}
		out = append(out, auth.APIToken{Name: t.Name, SHA256: t.SHA256, Role: role, Namespaces: t.Namespaces})
	}
	return out, nil
}

// tokenManager is the sidecar's web.TokenManager: tokens made at run time
// go to the catalog database (every replica takes them); the configured
// ones are listed beside them.
type tokenManager struct {
	cat        *atomic.Pointer[catalog.Catalog]
	authn      *auth.Authenticator
	configured []config.AuthToken
}

var _ web.TokenManager = tokenManager{}

func (m tokenManager) catalog() (*catalog.Catalog, error) {
	if c := m.cat.Load(); c != nil {
		return c, nil
	}
	return nil, web.ErrStarting
}

func (m tokenManager) CreateAPIToken(ctx context.Context, req web.TokenRequest, by string) (string, web.TokenInfo, error) {
	c, err := m.catalog()
	if err != nil {
		return "", web.TokenInfo{}, err
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return "", web.TokenInfo{}, err
	}
	tok, entry, err := auth.NewAPIToken(req.Name, role)
	if err != nil {
		return "", web.TokenInfo{}, err
	}
	st := catalog.StoredToken{Name: req.Name, SHA256: entry.SHA256, Role: role.String(), Namespaces: req.Namespaces,
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond), CreatedBy: by}
	if err := c.CreateAPIToken(ctx, st); err != nil {
		return "", web.TokenInfo{}, err
	}
	m.authn.Forget()
	return tok, storedInfo(st), nil
}

func (m tokenManager) APITokens(ctx context.Context) ([]web.TokenInfo, error) {
	c, err := m.catalog()
	if err != nil {
		return nil, err
	}
	list, err := c.APITokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.TokenInfo, 0, len(m.configured)+len(list))
	for _, t := range m.configured {
		role, _ := auth.ParseRole(t.Role) // checked at start
		out = append(out, web.TokenInfo{Name: t.Name, Role: role.String(), Namespaces: t.Namespaces, Source: "config"})
	}
	for _, t := range list {
		out = append(out, storedInfo(t))
	}
	return out, nil
}

func (m tokenManager) RevokeAPIToken(ctx context.Context, name string) error {
	c, err := m.catalog()
	if err != nil {
		return err
	}
	if err := c.RevokeAPIToken(ctx, name); err != nil {
		return err
	}
	m.authn.Forget()
	return nil
}

func storedInfo(t catalog.StoredToken) web.TokenInfo {
	return web.TokenInfo{Name: t.Name, Role: t.Role, Namespaces: t.Namespaces, Source: "api", CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy}
}

// tokensFor is the sidecar's token manager, nil without authentication
// (the routes then answer 501).
func tokensFor(authn *auth.Authenticator, cat *atomic.Pointer[catalog.Catalog], configured []config.AuthToken) web.TokenManager {
	if authn == nil {
		return nil
	}
	return tokenManager{cat: cat, authn: authn, configured: configured}
}
