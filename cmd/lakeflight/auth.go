package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/internal/config"
)

// openAuth builds the authenticator of cfg's users; nil when none are
// configured.
func openAuth(cfg config.Config) (*auth.Authenticator, error) {
	if !cfg.AuthOn() {
		return nil, nil
	}
	users := make([]auth.User, len(cfg.Auth.Users))
	for i, u := range cfg.Auth.Users {
		role, err := auth.ParseRole(u.Role)
		if err != nil {
			return nil, fmt.Errorf("auth.users[%d] (%s): %w", i, u.Name, err)
		}
		users[i] = auth.User{Name: u.Name, PasswordHash: u.PasswordHash, Role: role, Namespaces: u.Namespaces}
	}
	var secret []byte
	if cfg.Auth.TokenSecret != "" {
		secret = []byte(cfg.Auth.TokenSecret)
	}
	a, err := auth.New(users, secret, cfg.Auth.TokenTTL)
	if err != nil {
		return nil, err
	}
	tokens := make([]auth.APIToken, len(cfg.Auth.APITokens))
	for i, t := range cfg.Auth.APITokens {
		role, err := auth.ParseRole(t.Role)
		if err != nil {
			return nil, fmt.Errorf("auth.api_tokens[%d] (%s): %w", i, t.Name, err)
		}
		tokens[i] = auth.APIToken{Name: t.Name, SHA256: t.TokenSHA256, Role: role, Namespaces: t.Namespaces}
	}
	if err := a.AddAPITokens(tokens); err != nil {
		return nil, err
	}
	a.SetRateLimit(cfg.Auth.RateLimit, cfg.Auth.RateBurst)
	return a, nil
}

// runHashPassword is `lakeflight hash-password`: the bcrypt hash of the
// password on stdin's first line, for auth.users[].password_hash.
func runHashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		_, _ = fmt.Fprintln(stderr, "usage: lakeflight hash-password < file-with-the-password (the password is read from stdin, never from the command line)")
		return fmt.Errorf("%w: hash-password takes no arguments", errUsage)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	hash, err := auth.HashPassword(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, hash)
	return err
}

// cliAuthorization is the Authorization header the client commands (query,
// ingest, maintain) send: a bearer token from LAKEFLIGHT_TOKEN, or Basic
// credentials from LAKEFLIGHT_USER and LAKEFLIGHT_PASSWORD; "" for none.
// Never flags: a command line is visible to every user of the machine.
func cliAuthorization() (string, error) {
	tok, user, password := os.Getenv("LAKEFLIGHT_TOKEN"), os.Getenv("LAKEFLIGHT_USER"), os.Getenv("LAKEFLIGHT_PASSWORD")
	switch {
	case tok != "" && user != "":
		return "", fmt.Errorf("%w: LAKEFLIGHT_TOKEN and LAKEFLIGHT_USER are both set: give a token or a user and password", errUsage)
	case tok != "":
		return "Bearer " + tok, nil
	case user != "" && password == "":
		return "", fmt.Errorf("%w: LAKEFLIGHT_USER is set without LAKEFLIGHT_PASSWORD", errUsage)
	case user != "":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)), nil
	}
	return "", nil
}

// headerCreds sends an Authorization header on every call; over TLS it
// insists on it (gRPC then never sends the header in plaintext).
type headerCreds struct {
	authorization string
	tls           bool
}

func (h headerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": h.authorization}, nil
}

func (h headerCreds) RequireTransportSecurity() bool { return h.tls }

// runToken is `lakeflight token create NAME ROLE`: a new API token, and
// the auth.api_tokens entry that accepts it (only its hash is stored).
func runToken(args []string, stdout, stderr io.Writer) error {
	if len(args) != 3 || args[0] != "create" {
		_, _ = fmt.Fprintln(stderr, "usage: lakeflight token create NAME reader|writer|admin")
		return fmt.Errorf("%w: token create takes a name and a role", errUsage)
	}
	role, err := auth.ParseRole(args[2])
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	tok, entry, err := auth.NewAPIToken(args[1], role)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n# the token above is shown once; add this under auth.api_tokens (remove it to revoke the token):\n"+
		"- {name: %q, token_sha256: %q, role: %s}\n", tok, entry.Name, entry.SHA256, role)
	return err
}
