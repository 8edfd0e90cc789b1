package main

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/lakeflight/lakeflight/internal/config"
)

// hashOf runs `lakeflight hash-password` on password.
func hashOf(t *testing.T, password string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runHashPassword(nil, strings.NewReader(password+"\n"), &out, &errOut); err != nil {
		t.Fatalf("hash-password: %v %s", err, errOut.String())
	}
	hash := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
		t.Fatalf("hash-password printed %q, not a hash of the password: %v", hash, err)
	}
	return hash
}

// With users configured the server may listen on every interface; the
// client commands authenticate from LAKEFLIGHT_USER/PASSWORD or
// LAKEFLIGHT_TOKEN, and each role gets what it may do.
func TestServeWithUsers(t *testing.T) {
	users := []config.AuthUser{
		{Name: "rita", PasswordHash: hashOf(t, "rita-password"), Role: "reader"},
		{Name: "ada", PasswordHash: hashOf(t, "ada-password"), Role: "admin"},
	}
	flightAddr, httpAddr, stop := startServeWith(t, filepath.Join(t.TempDir(), "data"), func(c *config.Config) {
		c.FlightAddr = "0.0.0.0:0" // allowed: clients must authenticate
		c.Auth.Users = users
	})
	defer func() { _ = stop() }()
	_, port, err := net.SplitHostPort(flightAddr)
	if err != nil {
		t.Fatal(err)
	}
	flightAddr = net.JoinHostPort("127.0.0.1", port)

	query := func(sql string) (int, string, string) {
		return cli(t, "query", "--server", flightAddr, "--format", "csv", sql)
	}
	if code, _, errOut := query("SELECT 1"); code == 0 || !strings.Contains(errOut, "authentication required") {
		t.Fatalf("no credentials: exit %d %s", code, errOut)
	}
	t.Setenv("LAKEFLIGHT_USER", "ada")
	t.Setenv("LAKEFLIGHT_PASSWORD", "ada-password")
	if code, _, errOut := query("CREATE TABLE silver.secured AS SELECT range AS x FROM range(3)"); code != 0 {
		t.Fatalf("ada's CREATE: %s", errOut)
	}
	if code, out, errOut := cli(t, "maintain", "--http", httpAddr, "--server", flightAddr, "silver.secured", "expire"); code != 0 || !strings.Contains(out, "silver.secured: expire snapshots") {
		t.Fatalf("ada's maintenance: exit %d %q %s", code, out, errOut)
	}
	t.Setenv("LAKEFLIGHT_USER", "rita")
	t.Setenv("LAKEFLIGHT_PASSWORD", "rita-password")
	if code, out, errOut := query("SELECT count(*) AS n FROM silver.secured"); code != 0 || out != "n\n3\n" {
		t.Fatalf("rita's count: exit %d %q %s", code, out, errOut)
	}
	if code, _, errOut := query("DELETE FROM silver.secured WHERE x = 0"); code == 0 || !strings.Contains(errOut, "reader") {
		t.Fatalf("rita's DELETE: exit %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "maintain", "--http", httpAddr, "--server", flightAddr, "silver.secured", "expire"); code == 0 || !strings.Contains(errOut, "needs the admin role") {
		t.Fatalf("rita's maintenance: exit %d %s", code, errOut)
	}
	t.Setenv("LAKEFLIGHT_PASSWORD", "guess")
	if code, _, errOut := query("SELECT 1"); code == 0 || !strings.Contains(errOut, "wrong password") || strings.Contains(errOut, "guess") {
		t.Fatalf("a wrong password: exit %d %s", code, errOut)
	}
	t.Setenv("LAKEFLIGHT_TOKEN", "x")
	if code, _, errOut := query("SELECT 1"); code != 2 || !strings.Contains(errOut, "both set") {
		t.Fatalf("token and user: exit %d %s", code, errOut)
	}
}

// `lakeflight token create` prints a token and the config entry that
// accepts it; a server with only that entry takes the token (and its role)
// from LAKEFLIGHT_TOKEN, and nothing else.
func TestAPITokenCreateAndUse(t *testing.T) {
	code, out, errOut := cli(t, "token", "create", "ci", "writer")
	if code != 0 {
		t.Fatal(errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "lft_") {
		t.Fatalf("token create printed %q", out)
	}
	var entries []config.AuthToken
	if err := yaml.Unmarshal([]byte(lines[2]), &entries); err != nil || len(entries) != 1 || strings.Contains(lines[2], lines[0]) {
		t.Fatalf("the config entry %q: %v", lines[2], err)
	}
	flightAddr, _, stop := startServeWith(t, filepath.Join(t.TempDir(), "data"), func(c *config.Config) {
		c.Auth.APITokens = entries
	})
	defer func() { _ = stop() }()
	t.Setenv("LAKEFLIGHT_TOKEN", lines[0])
	if code, _, errOut := cli(t, "query", "--server", flightAddr, "CREATE TABLE silver.by_token AS SELECT 1 AS x"); code != 0 {
		t.Fatalf("the writer token's CREATE: %s", errOut)
	}
	t.Setenv("LAKEFLIGHT_TOKEN", "lft_not-a-token")
	if code, _, errOut := cli(t, "query", "--server", flightAddr, "SELECT 1"); code == 0 || !strings.Contains(errOut, "unknown or revoked API token") {
		t.Fatalf("an unknown token: exit %d %s", code, errOut)
	}
	if code, _, _ := cli(t, "token", "create", "ci", "root"); code != 2 {
		t.Fatalf("role root: exit %d", code)
	}
}
