// Package authtest makes authenticators for tests.
package authtest

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lakeflight/lakeflight/auth"
)

// Basic is the Authorization header of user's Basic credentials, with
// the password authtest gave it.
func Basic(user string) string {
	return BasicWith(user, Password(user))
}

// BasicWith is the Authorization header of Basic credentials.
func BasicWith(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Password is the password authtest gives user.
func Password(user string) string { return user + "-password" }

// New is an authenticator of the users and roles given, each with the
// password Password(name), and a fixed token secret.
func New(t testing.TB, roles map[string]auth.Role) *auth.Authenticator {
	t.Helper()
	return WithGrants(t, roles, nil)
}

// WithGrants is New with namespace grants for some users (by name).
func WithGrants(t testing.TB, roles map[string]auth.Role, grants map[string][]string) *auth.Authenticator {
	t.Helper()
	var users []auth.User
	for name, role := range roles {
		h, err := bcrypt.GenerateFromPassword([]byte(Password(name)), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, auth.User{Name: name, PasswordHash: string(h), Role: role, Namespaces: grants[name]})
	}
	a, err := auth.New(users, []byte(strings.Repeat("t", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
