package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// API tokens are pre-issued, long-lived bearer tokens for programs (a
// scheduler, a BI tool): random, prefixed APITokenPrefix, configured only
// as the hex SHA-256 of the token with a name and a role, so the
// configuration holds nothing that authenticates. Remove one from the
// configuration to revoke it.

// APITokenPrefix starts every API token.
const APITokenPrefix = "lft_"

// APIToken is one configured API token.
type APIToken struct {
	Name   string
	SHA256 string // hex SHA-256 of the token
	Role   Role
	// Namespaces grants the token these namespaces only; nil: all.
	Namespaces []string
}

// NewAPIToken makes a random API token and its configuration entry.
func NewAPIToken(name string, role Role) (token string, entry APIToken, err error) {
	if name == "" || strings.ContainsAny(name, ":\x00") {
		return "", APIToken{}, fmt.Errorf("token name %q is empty or holds ':'", name)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", APIToken{}, err
	}
	token = APITokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, APIToken{Name: name, SHA256: hex.EncodeToString(sum[:]), Role: role}, nil
}

// AddAPITokens accepts the given API tokens (their identities are named
// "token:<name>").
func (a *Authenticator) AddAPITokens(tokens []APIToken) error {
	names := map[string]bool{}
	for _, t := range tokens {
		raw, err := hex.DecodeString(t.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return fmt.Errorf("auth: API token %s: token_sha256 is not a hex SHA-256 (make one with `lakeflight token create`)", t.Name)
		}
		if t.Name == "" || names[t.Name] {
			return fmt.Errorf("auth: API token name %q is empty or used twice", t.Name)
		}
		if t.Role < Reader || t.Role > Admin {
			return fmt.Errorf("auth: API token %s has no role", t.Name)
		}
		names[t.Name] = true
		a.tokens[[32]byte(raw)] = t
	}
	return nil
}

// HasCredentials reports whether any user or API token is configured.
func (a *Authenticator) HasCredentials() bool { return len(a.users)+len(a.tokens) > 0 }

func (a *Authenticator) apiToken(token string) (Identity, error) {
	sum := sha256.Sum256([]byte(token))
	t, ok := a.tokens[sum]
	if !ok {
		var err error
		if t, ok, err = a.storedToken(sum); err != nil {
			return Identity{}, err
		}
	}
	if !ok {
		return Identity{}, fmt.Errorf("%w: unknown or revoked API token", ErrUnauthenticated)
	}
	return Identity{User: APITokenIdentity + t.Name, Role: t.Role, Namespaces: t.Namespaces}, nil
}

// APITokenIdentity starts the identity names of API tokens.
const APITokenIdentity = "token:"
