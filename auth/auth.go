// Package auth says who a client is and what it may do.
//
// Users are configured with a bcrypt hash of their password and a role.
// A client proves who it is with HTTP Basic credentials (on every call, or
// once) and gets a bearer token back: the user, role and expiry, signed
// with HMAC-SHA256 under the server's token secret. Servers that share the
// secret accept each other's tokens. Roles nest: a reader queries
// (time travel and metadata included), a writer also ingests and changes
// tables, an admin also runs maintenance and transforms.
//
// Nothing here logs or returns a password, hash, token or secret: errors
// name the user at most.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Role is what an identity may do; each role may do all the ones below it.
type Role int

const (
	Reader Role = iota + 1 // queries, time travel, metadata
	Writer                 // + ingest, SQL writes, snapshot management
	Admin                  // + maintenance, transforms
)

func (r Role) String() string {
	switch r {
	case Reader:
		return "reader"
	case Writer:
		return "writer"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole reads "reader", "writer" or "admin".
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Reader, Writer, Admin} {
		if strings.EqualFold(s, r.String()) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q is not reader, writer or admin", s)
}

// Identity is an authenticated caller.
type Identity struct {
	User string
	Role Role
	// Namespaces are the namespaces the identity may use, by its grants;
	// nil: every namespace.
	Namespaces []string
}

// May reports whether the identity's role covers need.
func (id Identity) May(need Role) bool { return id.Role >= need }

// Restricted reports whether the identity's grants name its namespaces.
func (id Identity) Restricted() bool { return id.Namespaces != nil }

// MayUse reports whether the identity's grants cover namespace ns (names
// compare without regard to case, as DuckDB resolves them).
func (id Identity) MayUse(ns string) bool {
	if id.Namespaces == nil {
		return true
	}
	for _, g := range id.Namespaces {
		if strings.EqualFold(g, ns) {
			return true
		}
	}
	return false
}

// NamespaceError is the PermissionDenied a call outside the identity's
// grants gets.
func (id Identity) NamespaceError(ns string) error {
	return fmt.Errorf("%w: %s may use only namespace(s) %s, not %s", ErrForbidden, id.User,
		strings.Join(id.Namespaces, ", "), ns)
}

// User is one configured user.
type User struct {
	Name         string
	PasswordHash string // bcrypt
	Role         Role
	// Namespaces grants the user these namespaces only; nil: all.
	Namespaces []string
}

// Errors. ErrUnauthenticated: no or bad credentials (gRPC Unauthenticated,
// HTTP 401); ErrForbidden: the identity's role does not cover the call
// (PermissionDenied, 403).
var (
	ErrUnauthenticated = errkind.New(errkind.Unauthenticated, "unauthenticated")
	ErrForbidden       = errkind.New(errkind.PermissionDenied, "permission denied")
)

// MinSecretBytes is the shortest token secret taken.
const MinSecretBytes = 32

// DefaultTokenTTL is how long an issued bearer token is valid.
const DefaultTokenTTL = time.Hour

// basicCacheTTL: a user/password pair checked against its bcrypt hash is
// taken on trust this long, so clients that send Basic credentials on
// every call do not pay bcrypt's cost each time.
const basicCacheTTL = 5 * time.Minute

// Authenticator checks credentials and issues tokens. The zero value is
// not usable; build one with New.
type Authenticator struct {
	users    map[string]User
	tokens   map[[32]byte]APIToken // pre-issued tokens by the SHA-256 of the token (apitoken.go)
	secret   []byte
	ttl      time.Duration
	now      func() time.Time
	dummy    []byte   // a bcrypt hash checked for unknown users, so timing does not tell them apart
	limit    *limiter // nil: no rate limit (ratelimit.go)
	failures *limiter // failed logins per user name (ratelimit.go)

	mu     sync.Mutex
	basic  map[[32]byte]basicEntry // sha256 of user, password and hash → when checked
	stored *stored                 // API tokens made at run time (stored.go); nil: none
	// revoked are issued tokens refused before they expire (Revoke), by
	// the SHA-256 of the token, with their expiry.
	revoked map[[32]byte]time.Time
}

// Revoke refuses an issued token from now on, on this process (the
// server's own tokens for its transform runs end with their run).
func (a *Authenticator) Revoke(token string) {
	sum := sha256.Sum256([]byte(token))
	expires := a.now().Add(a.ttl)
	if body, _, ok := strings.Cut(token, "."); ok {
		if payload, err := base64.RawURLEncoding.DecodeString(body); err == nil {
			var c claims
			if json.Unmarshal(payload, &c) == nil {
				expires = time.Unix(c.Expires, 0)
			}
		}
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revoked == nil {
		a.revoked = map[[32]byte]time.Time{}
	}
	for k, exp := range a.revoked {
		if now.After(exp) {
			delete(a.revoked, k) // expired anyway
		}
	}
	a.revoked[sum] = expires
}

func (a *Authenticator) isRevoked(token string) bool {
	sum := sha256.Sum256([]byte(token))
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.revoked[sum]
	return ok
}

type basicEntry struct {
	id      Identity
	checked time.Time
}

// New builds an Authenticator for users, signing tokens with secret (at
// least 32 bytes; nil: a random one, so tokens hold only on this process)
// valid for ttl (0: DefaultTokenTTL).
func New(users []User, secret []byte, ttl time.Duration) (*Authenticator, error) {
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: the token secret has %d bytes, want at least %d", len(secret), MinSecretBytes)
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	junk := make([]byte, 16)
	if _, err := rand.Read(junk); err != nil {
		return nil, err
	}
	dummy, err := bcrypt.GenerateFromPassword(junk, bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	a := &Authenticator{users: map[string]User{}, tokens: map[[32]byte]APIToken{}, secret: secret, ttl: ttl, now: time.Now, dummy: dummy,
		basic: map[[32]byte]basicEntry{}, failures: newLimiter(failedLoginRate, failedLoginBurst)}
	for _, u := range users {
		if u.Name == "" || strings.ContainsAny(u.Name, ":\x00") {
			return nil, fmt.Errorf("auth: user name %q is empty or holds ':'", u.Name)
		}
		if _, dup := a.users[u.Name]; dup {
			return nil, fmt.Errorf("auth: user %s is configured twice", u.Name)
		}
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return nil, fmt.Errorf("auth: user %s: the password hash is not a bcrypt hash (make one with `lakeflight hash-password`)", u.Name)
		}
		if u.Role < Reader || u.Role > Admin {
			return nil, fmt.Errorf("auth: user %s has no role", u.Name)
		}
		a.users[u.Name] = u
	}
	return a, nil
}

// HashPassword is the bcrypt hash of password, for the configuration.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("a password needs at least 8 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// Basic checks a user's password.
func (a *Authenticator) Basic(user, password string) (Identity, error) {
	u, ok := a.users[user]
	key := sha256.Sum256([]byte(user + "\x00" + password + "\x00" + u.PasswordHash))
	now := a.now()
	a.mu.Lock()
	e, hit := a.basic[key]
	a.mu.Unlock()
	if ok && hit && now.Sub(e.checked) < basicCacheTTL {
		return e.id, nil
	}
	// Guessing costs a bcrypt check each time: a name with too many
	// failures waits before the next check is made at all.
	if wait, err := a.failures.allow(user, now); err != nil {
		return Identity{}, fmt.Errorf("%w: too many failed logins for user %s; retry in %s", ErrRateLimited, user, wait)
	}
	hash := a.dummy // the same work for an unknown user, so timing does not tell
	if ok {
		hash = []byte(u.PasswordHash)
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !ok {
		a.failures.take(user, now)
		return Identity{}, fmt.Errorf("%w: unknown user or wrong password", ErrUnauthenticated)
	}
	id := Identity{User: u.Name, Role: u.Role, Namespaces: u.Namespaces}
	a.mu.Lock()
	if len(a.basic) > 10_000 {
		clear(a.basic)
	}
	a.basic[key] = basicEntry{id: id, checked: now}
	a.mu.Unlock()
	return id, nil
}

type claims struct {
	User    string `json:"u"`
	Role    string `json:"r"`
	Expires int64  `json:"e"` // Unix seconds
}

// TTL is how long the tokens Issue makes are valid.
func (a *Authenticator) TTL() time.Duration { return a.ttl }

// Issue makes a bearer token for id, valid for the Authenticator's TTL.
func (a *Authenticator) Issue(id Identity) string {
	return a.IssueFor(id, a.ttl)
}

// IssueFor makes a bearer token for id valid for ttl.
func (a *Authenticator) IssueFor(id Identity, ttl time.Duration) string {
	payload, _ := json.Marshal(claims{User: id.User, Role: id.Role.String(), Expires: a.now().Add(ttl).Unix()})
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(a.sign(body))
}

func (a *Authenticator) sign(body string) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte("lakeflight-token-v1\x00" + body))
	return m.Sum(nil)
}

// Bearer checks a token: a pre-issued API token (apitoken.go), or an
// issued one's signature and expiry. An issued token of a user no longer
// configured, or whose role was lowered, gives the current role.
func (a *Authenticator) Bearer(token string) (Identity, error) {
	if strings.HasPrefix(token, APITokenPrefix) {
		return a.apiToken(token)
	}
	body, sig, ok := strings.Cut(token, ".")
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(mac, a.sign(body)) {
		return Identity{}, fmt.Errorf("%w: the bearer token is not one this server issued (or it was altered)", ErrUnauthenticated)
	}
	if a.isRevoked(token) {
		return Identity{}, fmt.Errorf("%w: the bearer token was revoked (a transform run's token ends with its run)", ErrUnauthenticated)
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	var c claims
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return Identity{}, fmt.Errorf("%w: the bearer token is malformed", ErrUnauthenticated)
	}
	if a.now().Unix() >= c.Expires {
		return Identity{}, fmt.Errorf("%w: the bearer token expired at %s; authenticate again", ErrUnauthenticated,
			time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	role, err := ParseRole(c.Role)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: the bearer token is malformed", ErrUnauthenticated)
	}
	// The grants are the user's as configured now, never the token's.
	var grants []string
	if u, ok := a.users[c.User]; ok {
		role, grants = min(role, u.Role), u.Namespaces
	} else if !strings.HasPrefix(c.User, InternalPrefix) {
		return Identity{}, fmt.Errorf("%w: user %s is no longer configured", ErrUnauthenticated, c.User)
	}
	return Identity{User: c.User, Role: role, Namespaces: grants}, nil
}

// InternalPrefix starts the names of identities the server issues tokens
// to itself for (the transform runner's dbt); no configured user may use it.
const InternalPrefix = "lakeflight:"

// Header checks an Authorization header value: "Basic base64(user:password)"
// or "Bearer token".
func (a *Authenticator) Header(value string) (Identity, error) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(value), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case value == "":
		return Identity{}, fmt.Errorf("%w: authentication required: send Basic credentials or a bearer token", ErrUnauthenticated)
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		return a.Bearer(cred)
	case strings.EqualFold(scheme, "Basic") && cred != "":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			if raw, err = base64.RawStdEncoding.DecodeString(cred); err != nil {
				return Identity{}, fmt.Errorf("%w: the Basic credentials are not base64", ErrUnauthenticated)
			}
		}
		user, password, ok := strings.Cut(string(raw), ":")
		if !ok {
			return Identity{}, fmt.Errorf("%w: the Basic credentials hold no ':' between user and password", ErrUnauthenticated)
		}
		return a.Basic(user, password)
	}
	return Identity{}, fmt.Errorf("%w: the authorization header is neither Basic nor Bearer", ErrUnauthenticated)
}

type ctxKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the identity ctx carries.
func From(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}
