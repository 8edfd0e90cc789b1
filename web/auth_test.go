package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/auth/authtest"
	"github.com/lakeflight/lakeflight/ingest"
)

func as(t *testing.T, h http.Handler, header, method, path, body string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

// With users configured, every route but the probes wants credentials
// (401 with a challenge), and a role that covers it (403).
func TestSidecarAuthentication(t *testing.T) {
	a := authtest.New(t, map[string]auth.Role{"rita": auth.Reader, "will": auth.Writer, "ada": auth.Admin})
	s := New(Options{Auth: a})
	s.SetReady(true)
	h := s.Handler()
	for _, path := range []string{"/health", "/ready"} {
		if code, body, _ := as(t, h, "", http.MethodGet, path, ""); code != http.StatusOK {
			t.Errorf("%s without credentials: %d %s", path, code, body)
		}
	}
	for _, r := range s.echo.Routes() {
		if r.Path == "/health" || r.Path == "/ready" {
			continue
		}
		path := strings.NewReplacer(":ns", "bronze", ":table", "events", ":id", "x", ":name", "t", ":qualified", "bronze.events").Replace(r.Path)
		code, body, hdr := as(t, h, "", r.Method, path, "")
		if code != http.StatusUnauthorized || !strings.Contains(body, "authentication required") || !strings.Contains(hdr.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s %s without credentials: %d %s %v", r.Method, path, code, body, hdr)
		}
	}
	if code, body, _ := as(t, h, authtest.BasicWith("rita", "Sup3rSecretX"), http.MethodGet, "/metrics", ""); code != http.StatusUnauthorized || strings.Contains(body, "Sup3rSecretX") {
		t.Errorf("a wrong password: %d %s", code, body)
	}
	// Roles: a reader reads, a writer ingests, an admin maintains.
	for _, c := range []struct {
		user, method, path string
		want               int
	}{
		{"rita", http.MethodGet, "/metrics", http.StatusOK},
		{"rita", http.MethodPost, "/ingest", http.StatusForbidden},
		{"rita", http.MethodPost, "/v1/tables/bronze/events/tags", http.StatusForbidden},
		{"will", http.MethodPost, "/v1/tables/bronze/events/compact", http.StatusForbidden},
		{"will", http.MethodPost, "/transform", http.StatusForbidden},
		{"will", http.MethodPost, "/ingest", http.StatusNotImplemented}, // allowed; no ingester in this test
		{"ada", http.MethodPost, "/v1/tables/bronze/events/compact", http.StatusNotImplemented},
		{"ada", http.MethodPost, "/transform", http.StatusNotImplemented},
	} {
		code, body, _ := as(t, h, authtest.BasicWith(c.user, c.user+"-password"), c.method, c.path, "{}")
		if code != c.want {
			t.Errorf("%s: %s %s: %d %s, want %d", c.user, c.method, c.path, code, body, c.want)
		}
		if code == http.StatusForbidden && !strings.Contains(body, "needs the") {
			t.Errorf("%s: %s %s: the refusal does not name the role: %s", c.user, c.method, c.path, body)
		}
	}
	// A token from POST /v1/auth/token works in place of the password.
	code, body, _ := as(t, h, authtest.BasicWith("will", "will-password"), http.MethodPost, "/v1/auth/token", "")
	var tok tokenAnswer
	if code != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.User != "will" || tok.Role != "writer" || tok.TokenType != "Bearer" {
		t.Fatalf("token: %d %s", code, body)
	}
	if time.Until(tok.ExpiresAt) < 59*time.Minute {
		t.Errorf("the token expires at %s", tok.ExpiresAt)
	}
	if code, body, _ := as(t, h, "Bearer "+tok.Token, http.MethodPost, "/ingest", "{}"); code != http.StatusNotImplemented {
		t.Errorf("will's token on /ingest: %d %s", code, body)
	}
	if code, _, _ := as(t, h, "Bearer "+tok.Token+"x", http.MethodGet, "/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("an altered token: %d", code)
	}
	if code, body, _ := as(t, h, "Bearer "+tok.Token, http.MethodPost, "/v1/auth/token", ""); code != http.StatusUnauthorized || !strings.Contains(body, "cannot renew itself") {
		t.Errorf("a token renewing itself: %d %s", code, body)
	}
	// Without users, POST /v1/auth/token has nothing to give.
	if code, _, _ := as(t, New(Options{}).Handler(), "", http.MethodPost, "/v1/auth/token", ""); code != http.StatusNotImplemented {
		t.Errorf("token without auth: %d", code)
	}
}

// Over a user's rate: 429 with Retry-After, and other users unaffected.
func TestSidecarRateLimit(t *testing.T) {
	a := authtest.New(t, map[string]auth.Role{"rita": auth.Reader, "will": auth.Writer})
	a.SetRateLimit(0.5, 2)
	h := New(Options{Auth: a}).Handler()
	for i := range 2 {
		if code, body, _ := as(t, h, authtest.BasicWith("rita", "rita-password"), http.MethodGet, "/metrics", ""); code != http.StatusOK {
			t.Fatalf("call %d: %d %s", i+1, code, body)
		}
	}
	code, body, hdr := as(t, h, authtest.BasicWith("rita", "rita-password"), http.MethodGet, "/metrics", "")
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") != "2" || !strings.Contains(body, "rita is over its limit") {
		t.Fatalf("over the limit: %d %s %v", code, body, hdr)
	}
	if code, body, _ := as(t, h, authtest.BasicWith("will", "will-password"), http.MethodGet, "/metrics", ""); code != http.StatusOK {
		t.Fatalf("another user: %d %s", code, body)
	}
}

// A user granted only gold reaches gold's table routes and no other
// namespace's, ingests only into gold, and starts no transform.
func TestSidecarNamespaceGrants(t *testing.T) {
	a := authtest.WithGrants(t, map[string]auth.Role{"gina": auth.Admin}, map[string][]string{"gina": {"gold"}})
	s := New(Options{Auth: a, Ingest: refusingIngester{}})
	s.SetReady(true)
	h := s.Handler()
	gina := authtest.Basic("gina")
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/v1/tables/silver/t/snapshots", http.StatusForbidden},
		{http.MethodGet, "/query/silver.t", http.StatusForbidden},
		{http.MethodGet, "/schema/Silver.t", http.StatusForbidden},
		{http.MethodPost, "/v1/tables/silver/t/compact", http.StatusForbidden},
		{http.MethodPost, "/ingest?table=silver.t", http.StatusForbidden},
		{http.MethodPost, "/ingest?table=t", http.StatusForbidden}, // bronze by default
		{http.MethodPost, "/transform", http.StatusForbidden},
		{http.MethodGet, "/transform/x", http.StatusForbidden},
		{http.MethodDelete, "/transform/x", http.StatusForbidden},
		{http.MethodGet, "/v1/maintenance", http.StatusForbidden},
		{http.MethodGet, "/v1/tables/gold/t/snapshots", http.StatusNotImplemented}, // allowed; no catalog here
		{http.MethodPost, "/v1/tables/GOLD/t/compact", http.StatusNotImplemented},
		{http.MethodPost, "/ingest?table=gold.t", http.StatusBadRequest}, // allowed: the body "{}" is read, and holds no rows
	} {
		code, body, _ := as(t, h, gina, c.method, c.path, "{}")
		if code != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, body, c.want)
		}
		if code == http.StatusForbidden && !strings.Contains(body, "namespace(s) gold") {
			t.Errorf("%s %s: the refusal does not name the grants: %s", c.method, c.path, body)
		}
	}
}

// refusingIngester turns the ingest routes on; these tests never reach it.
type refusingIngester struct{}

func (refusingIngester) Write(context.Context, ingest.Request) (ingest.Result, error) {
	return ingest.Result{}, echo.NewHTTPError(http.StatusTeapot, "reached the ingester")
}
