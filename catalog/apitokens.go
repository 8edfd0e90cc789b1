package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// API tokens made at run time (POST /v1/auth/api-tokens) live in the
// catalog database beside the Iceberg tables, so every replica on the
// catalog takes them and a revocation reaches them all. Only the token's
// SHA-256 is stored. An external catalog (rest, glue, hive) gives
// lakeflight no database of its own: there are no stored tokens, and making one is refused
// (ErrNoTokenStore); the configured tokens work as always.

// StoredToken is one API token of the catalog database.
type StoredToken struct {
	Name   string
	SHA256 string // hex SHA-256 of the token
	Role   string
	// Namespaces the token may use; nil: all.
	Namespaces []string
	CreatedAt  time.Time
	CreatedBy  string
}

// ErrTokenExists: a stored API token already has the name.
var ErrTokenExists = errkind.New(errkind.AlreadyExists, "an API token of that name exists")

// ErrNoSuchToken: no stored API token has the name.
var ErrNoSuchToken = errkind.New(errkind.NotFound, "no API token of that name")

// ErrNoTokenStore: the catalog has no database to store API tokens in.
var ErrNoTokenStore = errkind.New(errkind.Unsupported,
	"API tokens made at run time need a sqlite or postgres catalog (an external rest, glue or hive catalog has no lakeflight database); configure tokens in auth.api_tokens instead")

func (c *Catalog) ensureTokenTable(ctx context.Context) error {
	_, err := c.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS lakeflight_api_tokens (
		name VARCHAR(255) NOT NULL PRIMARY KEY,
		token_sha256 VARCHAR(64) NOT NULL,
		role VARCHAR(16) NOT NULL,
		namespaces VARCHAR(4096),
		created_at BIGINT NOT NULL,
		created_by VARCHAR(255) NOT NULL)`)
	if err != nil {
		return fmt.Errorf("creating the API token table: %w", err)
	}
	return nil
}

// CreateAPIToken stores t; a name taken is ErrTokenExists.
func (c *Catalog) CreateAPIToken(ctx context.Context, t StoredToken) error {
	if c.remote() {
		return ErrNoTokenStore
	}
	var ns sql.NullString
	if t.Namespaces != nil {
		ns = sql.NullString{String: strings.Join(t.Namespaces, ","), Valid: true}
	}
	if _, err := c.db.ExecContext(ctx, c.sqlText("INSERT INTO lakeflight_api_tokens (name, token_sha256, role, namespaces, created_at, created_by) "+
		"VALUES (?, ?, ?, ?, ?, ?)"), t.Name, t.SHA256, t.Role, ns, t.CreatedAt.UnixMilli(), t.CreatedBy); err != nil {
		if _, lerr := c.apiToken(ctx, t.Name); lerr == nil {
			return fmt.Errorf("%w: %s", ErrTokenExists, t.Name)
		}
		return fmt.Errorf("storing API token %s: %w", t.Name, err)
	}
	return nil
}

// APITokens lists the stored API tokens by name.
func (c *Catalog) APITokens(ctx context.Context) ([]StoredToken, error) {
	if c.remote() {
		return nil, nil
	}
	rows, err := c.db.QueryContext(ctx, "SELECT name, token_sha256, role, namespaces, created_at, created_by FROM lakeflight_api_tokens ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("listing API tokens: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []StoredToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (c *Catalog) apiToken(ctx context.Context, name string) (StoredToken, error) {
	row := c.db.QueryRowContext(ctx, c.sqlText("SELECT name, token_sha256, role, namespaces, created_at, created_by FROM lakeflight_api_tokens WHERE name = ?"), name)
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("%w: %s", ErrNoSuchToken, name)
	}
	return t, err
}

// RevokeAPIToken removes the stored token name (ErrNoSuchToken if none).
func (c *Catalog) RevokeAPIToken(ctx context.Context, name string) error {
	if c.remote() {
		return fmt.Errorf("%w: %s", ErrNoSuchToken, name)
	}
	res, err := c.db.ExecContext(ctx, c.sqlText("DELETE FROM lakeflight_api_tokens WHERE name = ?"), name)
	if err != nil {
		return fmt.Errorf("revoking API token %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%w: %s", ErrNoSuchToken, name)
	}
	return nil
}

func scanToken(row interface{ Scan(...any) error }) (StoredToken, error) {
	var t StoredToken
	var ns sql.NullString
	var created int64
	if err := row.Scan(&t.Name, &t.SHA256, &t.Role, &ns, &created, &t.CreatedBy); err != nil {
		return t, err
	}
	if ns.Valid {
		t.Namespaces = strings.Split(ns.String, ",")
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	return t, nil
}
