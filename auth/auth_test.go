package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

func testAuth(t *testing.T) *Authenticator {
	t.Helper()
	users := []User{}
	for name, role := range map[string]Role{"rita": Reader, "will": Writer, "ada": Admin} {
		h, err := bcrypt.GenerateFromPassword([]byte(name+"-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, User{Name: name, PasswordHash: string(h), Role: role})
	}
	a, err := New(users, []byte(strings.Repeat("k", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestBasicAndBearer(t *testing.T) {
	a := testAuth(t)
	id, err := a.Header(basic("will", "will-password"))
	if err != nil || !reflect.DeepEqual(id, Identity{User: "will", Role: Writer}) {
		t.Fatalf("basic: %+v, %v", id, err)
	}
	if !id.May(Reader) || !id.May(Writer) || id.May(Admin) {
		t.Errorf("a writer's rights: %+v", id)
	}
	// Again, from the cache.
	if id2, err := a.Header(basic("will", "will-password")); err != nil || !reflect.DeepEqual(id2, id) {
		t.Fatalf("basic again: %+v, %v", id2, err)
	}
	tok := a.Issue(id)
	if got, err := a.Header("Bearer " + tok); err != nil || !reflect.DeepEqual(got, id) {
		t.Fatalf("bearer: %+v, %v", got, err)
	}
	for _, c := range []struct{ header, msg string }{
		{"", "authentication required"},
		{basic("will", "Wr0ngPassX"), "unknown user or wrong password"},
		{basic("nobody", "will-password"), "unknown user or wrong password"},
		{"Basic !!!", "not base64"},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("will")), "no ':'"},
		{"Bearer " + tok + "x", "not one this server issued"},
		{"Bearer " + strings.Replace(tok, tok[:4], "AAAA", 1), "not one this server issued"},
		{"Digest abc", "neither Basic nor Bearer"},
	} {
		_, err := a.Header(c.header)
		if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v, want unauthenticated saying %q", c.header, err, c.msg)
		}
		if err != nil && (strings.Contains(err.Error(), "will-password") || strings.Contains(err.Error(), "Wr0ngPassX") || strings.Contains(err.Error(), tok)) {
			t.Errorf("%q: the error repeats a secret: %v", c.header, err)
		}
	}
}

func TestTokensExpireAndFollowTheConfiguration(t *testing.T) {
	a := testAuth(t)
	now := time.Now()
	a.now = func() time.Time { return now }
	tok := a.Issue(Identity{User: "ada", Role: Admin})
	a.now = func() time.Time { return now.Add(2 * time.Hour) }
	if _, err := a.Bearer(tok); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token: %v", err)
	}
	a.now = time.Now
	// Another server with another secret does not take it.
	other, err := New([]User{a.users["ada"]}, []byte(strings.Repeat("z", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Bearer(a.Issue(Identity{User: "ada", Role: Admin})); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a token of another secret: %v", err)
	}
	// A token claiming more than the user's configured role gets the role.
	if id, err := a.Bearer(a.Issue(Identity{User: "rita", Role: Admin})); err != nil || id.Role != Reader {
		t.Fatalf("rita's admin token: %+v, %v", id, err)
	}
	// A user removed from the configuration: refused; an internal identity: kept.
	if _, err := a.Bearer(a.Issue(Identity{User: "gone", Role: Reader})); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a removed user's token: %v", err)
	}
	if id, err := a.Bearer(a.Issue(Identity{User: InternalPrefix + "transform", Role: Writer})); err != nil || id.Role != Writer {
		t.Fatalf("an internal token: %+v, %v", id, err)
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	h, _ := bcrypt.GenerateFromPassword([]byte("x-password"), bcrypt.MinCost)
	for _, c := range []struct {
		users  []User
		secret []byte
		msg    string
	}{
		{[]User{{Name: "a", PasswordHash: "plain", Role: Reader}}, nil, "not a bcrypt hash"},
		{[]User{{Name: "a:b", PasswordHash: string(h), Role: Reader}}, nil, "holds ':'"},
		{[]User{{Name: "a", PasswordHash: string(h)}}, nil, "no role"},
		{[]User{{Name: "a", PasswordHash: string(h), Role: Reader}, {Name: "a", PasswordHash: string(h), Role: Admin}}, nil, "twice"},
		{[]User{{Name: "a", PasswordHash: string(h), Role: Reader}}, []byte("short"), "at least 32"},
	} {
		if _, err := New(c.users, c.secret, 0); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: %v, want %q", c.users, err, c.msg)
		}
		if _, err := New(c.users, c.secret, 0); err != nil && strings.Contains(err.Error(), string(h)) {
			t.Errorf("the error repeats a hash: %v", err)
		}
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("a 5-character password was hashed")
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("role root accepted")
	}
}

func TestRateLimit(t *testing.T) {
	a := testAuth(t)
	now := time.Now()
	a.now = func() time.Time { return now }
	rita, will := Identity{User: "rita", Role: Reader}, Identity{User: "will", Role: Writer}
	if _, err := a.Allow(rita); err != nil {
		t.Fatalf("no limit set: %v", err)
	}
	a.SetRateLimit(2, 3)
	for i := range 3 {
		if _, err := a.Allow(rita); err != nil {
			t.Fatalf("call %d of a burst of 3: %v", i+1, err)
		}
	}
	wait, err := a.Allow(rita)
	if !errors.Is(err, ErrRateLimited) || wait != 500*time.Millisecond || !strings.Contains(err.Error(), "rita") {
		t.Fatalf("the fourth call: wait %s, %v", wait, err)
	}
	if _, err := a.Allow(will); err != nil {
		t.Fatalf("another user's budget: %v", err)
	}
	now = now.Add(500 * time.Millisecond) // one call's worth at 2 a second
	if _, err := a.Allow(rita); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if _, err := a.Allow(rita); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("right after: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	a := testAuth(t)
	tok, entry, err := NewAPIToken("ci", Writer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, APITokenPrefix) || strings.Contains(entry.SHA256, tok) || len(entry.SHA256) != 64 {
		t.Fatalf("token %q, entry %+v", tok, entry)
	}
	if _, err := a.Header("Bearer " + tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a token not configured yet: %v", err)
	}
	if err := a.AddAPITokens([]APIToken{entry}); err != nil {
		t.Fatal(err)
	}
	id, err := a.Header("Bearer " + tok)
	if err != nil || !reflect.DeepEqual(id, Identity{User: "token:ci", Role: Writer}) {
		t.Fatalf("the configured token: %+v, %v", id, err)
	}
	if _, err := a.Header("Bearer " + tok + "x"); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "unknown or revoked") {
		t.Fatalf("another token: %v", err)
	}
	for _, bad := range []APIToken{
		{Name: "x", SHA256: "zz", Role: Reader},
		{Name: "ci", SHA256: entry.SHA256, Role: Reader},
		{Name: "y", SHA256: entry.SHA256},
	} {
		b := testAuth(t)
		if err := b.AddAPITokens([]APIToken{entry, bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, _, err := NewAPIToken("a:b", Reader); err == nil {
		t.Error("a name with ':' accepted")
	}
}

// A user name that keeps failing waits before its password is checked
// again (guessing costs bcrypt's time); other names do not.
func TestFailedLoginsAreLimited(t *testing.T) {
	a := testAuth(t)
	now := time.Now()
	a.now = func() time.Time { return now }
	for i := range failedLoginBurst {
		if _, err := a.Basic("rita", "guess"); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := a.Basic("rita", "rita-password"); !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "too many failed logins") {
		t.Fatalf("after %d failures: %v", failedLoginBurst, err)
	}
	if _, err := a.Basic("will", "will-password"); err != nil {
		t.Fatalf("another user: %v", err)
	}
	now = now.Add(10 * time.Second)
	if id, err := a.Basic("rita", "rita-password"); err != nil || id.User != "rita" {
		t.Fatalf("after the wait: %+v %v", id, err)
	}
}

// Grants come with every way of authenticating: Basic, the user's bearer
// token (the grants as configured, not as issued) and API tokens.
func TestNamespaceGrantsTravel(t *testing.T) {
	h, err := HashPassword("gail-password")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New([]User{{Name: "gail", PasswordHash: h, Role: Reader, Namespaces: []string{"gold"}}}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, entry, err := NewAPIToken("etl", Writer)
	if err != nil {
		t.Fatal(err)
	}
	entry.Namespaces = []string{"bronze"}
	if err := a.AddAPITokens([]APIToken{entry}); err != nil {
		t.Fatal(err)
	}
	id, err := a.Header(basic("gail", "gail-password"))
	if err != nil || !id.Restricted() || !id.MayUse("GOLD") || id.MayUse("silver") {
		t.Fatalf("basic: %+v %v", id, err)
	}
	issued := a.Issue(Identity{User: "gail", Role: Reader}) // a token issued without the grants
	if id, err := a.Bearer(issued); err != nil || !id.Restricted() || id.MayUse("silver") {
		t.Fatalf("bearer: %+v %v", id, err)
	}
	if id, err := a.Bearer(tok); err != nil || !id.MayUse("bronze") || id.MayUse("gold") {
		t.Fatalf("API token: %+v %v", id, err)
	}
	if err := id.NamespaceError("silver"); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "only namespace(s) gold, not silver") {
		t.Fatalf("refusal: %v", err)
	}
	if (Identity{User: "ada", Role: Admin}).Restricted() || !(Identity{}).MayUse("anything") {
		t.Fatal("an identity without grants is restricted")
	}
}

// fakeStore is a TokenStore in memory that can fail.
type fakeStore struct {
	mu     sync.Mutex
	tokens []APIToken
	err    error
	loads  int
}

func (f *fakeStore) StoredTokens(context.Context) ([]APIToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	return slices.Clone(f.tokens), f.err
}

// Stored tokens: taken once stored (on a miss the cache loads again),
// refused once revoked (within the freshness bound), refused as
// UNAVAILABLE when the store has not answered for a minute.
func TestStoredTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a, err := New(nil, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return now }
	store := &fakeStore{}
	a.SetTokenStore(store)
	tok, entry, err := NewAPIToken("bi", Reader)
	if err != nil {
		t.Fatal(err)
	}
	entry.Namespaces = []string{"gold"}
	if _, err := a.Bearer(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("before it is stored: %v", err)
	}
	store.tokens = []APIToken{entry}
	now = now.Add(storedMissWait) // another replica stored it a second later
	id, err := a.Bearer(tok)
	if err != nil || id.User != "token:bi" || id.Role != Reader || !id.MayUse("gold") || id.MayUse("silver") {
		t.Fatalf("stored: %+v %v", id, err)
	}
	loads := store.loads
	for range 100 { // a known token does not load again while the cache is fresh
		if _, err := a.Bearer(tok); err != nil {
			t.Fatal(err)
		}
	}
	if store.loads != loads {
		t.Fatalf("%d loads for 100 calls with a fresh cache", store.loads-loads)
	}
	store.tokens = nil // revoked elsewhere
	now = now.Add(storedFresh)
	if _, err := a.Bearer(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked: %v", err)
	}
	store.tokens, store.err = []APIToken{entry}, errors.New("catalog down")
	now = now.Add(storedFresh)
	if _, err := a.Bearer(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("store failing, cache (without the token) not yet stale: %v", err)
	}
	now = now.Add(storedStale)
	if _, err := a.Bearer(tok); errkind.Of(err) != errkind.Unavailable || !strings.Contains(err.Error(), "catalog down") {
		t.Fatalf("store failing for a minute: %v", err)
	}
	store.err = nil
	now = now.Add(time.Second)
	if _, err := a.Bearer(tok); err != nil {
		t.Fatalf("store back: %v", err)
	}
}

// A revoked token is refused before its expiry; others are not.
func TestRevoke(t *testing.T) {
	a := testAuth(t)
	id := Identity{User: InternalPrefix + "transform", Role: Writer}
	tok, other := a.IssueFor(id, time.Hour), a.IssueFor(id, 2*time.Hour)
	if _, err := a.Bearer(tok); err != nil {
		t.Fatal(err)
	}
	a.Revoke(tok)
	if _, err := a.Bearer(tok); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("a revoked token: %v", err)
	}
	if _, err := a.Bearer(other); err != nil {
		t.Fatalf("another token: %v", err)
	}
}
