package main

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

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
