package catalog

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// Stored API tokens: created once per name, listed, revoked; grants kept
// (nil: all namespaces).
func TestStoredAPITokens(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	at := time.UnixMilli(time.Now().UnixMilli()).UTC()
	a := StoredToken{Name: "airflow", SHA256: "ab", Role: "writer", Namespaces: []string{"bronze", "silver"}, CreatedAt: at, CreatedBy: "ada"}
	b := StoredToken{Name: "bi", SHA256: "cd", Role: "reader", CreatedAt: at, CreatedBy: "ada"}
	if c.remote() {
		// No catalog database to keep them in: refused, none listed.
		if err := c.CreateAPIToken(ctx, a); !errors.Is(err, ErrNoTokenStore) {
			t.Fatalf("on a rest catalog: %v", err)
		}
		if got, err := c.APITokens(ctx); len(got) != 0 || err != nil {
			t.Fatalf("on a rest catalog: %+v %v", got, err)
		}
		return
	}
	for _, tk := range []StoredToken{b, a} {
		if err := c.CreateAPIToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateAPIToken(ctx, a); !errors.Is(err, ErrTokenExists) {
		t.Fatalf("a second airflow: %v", err)
	}
	got, err := c.APITokens(ctx)
	if err != nil || len(got) != 2 || got[0].Name != "airflow" || !slices.Equal(got[0].Namespaces, a.Namespaces) ||
		got[1].Namespaces != nil || !got[0].CreatedAt.Equal(at) || got[1].Role != "reader" {
		t.Fatalf("list: %+v %v", got, err)
	}
	if err := c.RevokeAPIToken(ctx, "airflow"); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeAPIToken(ctx, "airflow"); !errors.Is(err, ErrNoSuchToken) {
		t.Fatalf("revoking twice: %v", err)
	}
	if got, _ := c.APITokens(ctx); len(got) != 1 || got[0].Name != "bi" {
		t.Fatalf("after revoking: %+v", got)
	}
}
