package catalog

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/internal/errkind"
	"github.com/lakeflight/lakeflight/internal/pgtest"
)

// A PostgreSQL catalog whose server goes away answers with clear errors
// meanwhile and works again once the server is back, with no reopening.
func TestPostgresCatalogSurvivesServerRestart(t *testing.T) {
	ctx := t.Context()
	srv := pgtest.ForTest(t)
	dsn, err := srv.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	env.cfg.Driver, env.cfg.URI = "postgres", dsn
	c := env.open(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	id := Ident{"bronze", "pgrestart"}
	mustCreate(ctx, t, c, id, deltaSchema)
	appendIDs(t, c, mem, id, 1, 2)

	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	_, err = c.TableState(ctx, id)
	if err == nil {
		t.Fatal("reading the table with its catalog server down succeeded")
	}
	if errkind.Of(err) != errkind.Unavailable || !strings.Contains(err.Error(), "catalog database cannot be reached") {
		t.Errorf("error while the server is down is not UNAVAILABLE saying the catalog is unreachable: %v", err)
	}
	if err := c.Ping(ctx); errkind.Of(err) != errkind.Unavailable {
		t.Errorf("ping with the catalog server down: %v, want an unreachable error", err)
	}

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping after the server came back: %v", err)
	}
	appendIDs(t, c, mem, id, 3)
	if got := idsOf(t, c, id, 0); len(got) != 3 {
		t.Fatalf("after the restart the table holds %v", got)
	}
	if _, err := c.TableState(ctx, Ident{"bronze", "nope"}); !errors.Is(err, ErrNoSuchTable) {
		t.Fatalf("an unknown table after the restart: %v", err)
	}
}

// Replicas starting at once on an empty PostgreSQL database (a Kubernetes
// Deployment's first rollout) all open the catalog: one creates its
// tables while the others wait, instead of racing to create them.
func TestPostgresReplicasOpenAnEmptyCatalogAtOnce(t *testing.T) {
	srv := pgtest.ForTest(t)
	for round := range 3 {
		dsn, err := srv.NewDatabase(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		env := newEnv(t)
		env.cfg.Driver, env.cfg.URI = "postgres", dsn
		const replicas = 6
		errs := make(chan error, replicas)
		start := make(chan struct{})
		for range replicas {
			go func() {
				<-start
				c, err := Open(t.Context(), env.cfg, slog.New(slog.DiscardHandler))
				if err == nil {
					err = c.EnsureNamespace(t.Context(), "bronze")
					_ = c.Close()
				}
				errs <- err
			}()
		}
		close(start)
		for range replicas {
			if err := <-errs; err != nil {
				t.Errorf("round %d: a replica failed to open the empty catalog: %v", round, err)
			}
		}
	}
}
