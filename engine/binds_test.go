//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// Many sessions binding many different tables at once (each table just
// committed to, so every first statement binds): each reads its own table,
// at its newest snapshot.
func TestConcurrentBindsManyTables(t *testing.T) {
	const tables, perTable, files = 6, 3, 20
	e, mf, ids := manyFilesEnv(t, files, nil, manyTableNames(tables)...)
	for i, id := range ids {
		mf.add(t, id, i+1) // table i now has files+i+1 files of 100 rows
	}
	before := e.Stats().Rebinds
	inSessions(t, e, tables*perTable, func(i int, s *Session) error {
		n := i % tables
		_, rows, err := queryAll(t, s, "SELECT count(*) FROM bronze."+ids[n].Name, nil)
		if err != nil {
			return err
		}
		if want := strconv.Itoa((files + n + 1) * 100); rows[0][0] != want {
			return fmt.Errorf("%s: %s rows, want %s", ids[n], rows[0][0], want)
		}
		return nil
	})()
	// One bind per table: the sessions reading the same table share it.
	if got := e.Stats().Rebinds - before; got != tables {
		t.Errorf("%d rebinds for %d tables", got, tables)
	}
}

// Commits to one table while many sessions rebind it: once the committer's
// own Refresh after its last commit returns, the view is at that commit,
// whatever older binds finished later.
func TestConcurrentBindsSameTable(t *testing.T) {
	e, mf, ids := manyFilesEnv(t, 10, nil, "hot")
	id, cat, ctx := ids[0], mf.cat, context.Background()
	const commits, binders = 8, 6
	stop := make(chan struct{})
	wait := inSessions(t, e, binders, func(i int, s *Session) error {
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			var err error
			if i%2 == 0 {
				err = e.Refresh(ctx, id)
			} else {
				_, _, err = queryAll(t, s, "SELECT count(*) FROM bronze.hot", nil)
			}
			if err != nil {
				return err
			}
		}
	})
	for range commits {
		mf.add(t, id, 1)
		if err := e.Refresh(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wait()
	loc, err := cat.MetadataLocation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	bound := e.views[id].metadataLocation
	e.mu.Unlock()
	if bound != loc {
		t.Fatalf("bound %s, want the newest %s", bound, loc)
	}
	s := newSession(t, e)
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.hot"); got[0][0] != strconv.Itoa((10+commits)*100) {
		t.Fatalf("count %v, want %d", got, (10+commits)*100)
	}
}

// inSessions runs fn(i, s) for i in [0, n), each in a goroutine with a
// session of its own; the returned func waits for them all and fails the
// test with their errors.
func inSessions(t *testing.T, e *Engine, n int, fn func(i int, s *Session) error) (wait func()) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			s, err := e.NewSession(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			if err := fn(i, s); err != nil {
				errs <- err
			}
		})
	}
	return func() {
		t.Helper()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// gatedTables holds the next TableState of one table, after it read the
// catalog, until released; and says when a DropTable went through.
type gatedTables struct {
	*catalog.Catalog
	mu      sync.Mutex
	hold    *catalog.Ident
	entered chan struct{} // the held TableState has read the catalog
	release chan struct{}
	dropped chan struct{} // DropTable done
}

func (g *gatedTables) TableState(ctx context.Context, id catalog.Ident) (*catalog.TableState, error) {
	st, err := g.Catalog.TableState(ctx, id)
	g.mu.Lock()
	held := g.hold != nil && *g.hold == id
	if held {
		g.hold = nil
	}
	g.mu.Unlock()
	if held {
		close(g.entered)
		<-g.release
	}
	return st, err
}

func (g *gatedTables) DropTable(ctx context.Context, id catalog.Ident) error {
	err := g.Catalog.DropTable(ctx, id)
	close(g.dropped)
	return err
}

func (g *gatedTables) arm(id catalog.Ident) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = &id
}

func gatedEnv(t *testing.T) (*Engine, *gatedTables, *manyFiles, catalog.Ident) {
	t.Helper()
	g := &gatedTables{entered: make(chan struct{}), release: make(chan struct{}), dropped: make(chan struct{})}
	e, mf, ids := manyFilesEnv(t, 10, func(cat *catalog.Catalog) Tables {
		g.Catalog = cat
		return g
	}, "doomed")
	return e, g, mf, ids[0]
}

// A bind that read the table before DROP TABLE and finishes after it does
// not bring the view back: DROP TABLE's own rebind waits for it and runs
// after, and finds the table gone.
func TestBindRacingDropTable(t *testing.T) {
	e, g, mf, id := gatedEnv(t)
	ctx := context.Background()
	s := newSession(t, e)
	_ = mf // no commit first: DROP TABLE's own statement then finds its view current
	g.arm(id)
	bound := make(chan error, 1)
	go func() { bound <- e.Refresh(ctx, id) }()
	<-g.entered // the bind has the table's state and is about to create its view
	dropped := make(chan error, 1)
	go func() {
		_, err := s.Exec(ctx, "DROP TABLE bronze.doomed")
		dropped <- err
	}()
	<-g.dropped // gone from the catalog; DROP TABLE now rebinds
	close(g.release)
	if err := <-bound; err != nil {
		t.Fatalf("the racing bind: %v", err)
	}
	if err := <-dropped; err != nil {
		t.Fatalf("DROP TABLE: %v", err)
	}
	e.mu.Lock()
	_, ok := e.views[id]
	e.mu.Unlock()
	if ok {
		t.Fatal("the dropped table is still bound")
	}
	if rows := mustQuery(t, s, "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'bronze' AND view_name = 'doomed'"); rows[0][0] != "0" {
		t.Fatal("the dropped table's view exists again")
	}
	if _, _, err := queryAll(t, s, "SELECT * FROM bronze.doomed", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("querying the dropped table: %v", err)
	}
}

// Close waits for a bind in flight before it closes the database.
func TestCloseWaitsForBinds(t *testing.T) {
	e, g, mf, id := gatedEnv(t)
	ctx := context.Background()
	mf.add(t, id, 1)
	g.arm(id)
	bound := make(chan error, 1)
	go func() { bound <- e.Refresh(ctx, id) }()
	<-g.entered
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a bind was in flight", err)
	case err := <-bound:
		t.Fatalf("the bind returned (%v) while held", err)
	default:
	}
	close(g.release)
	if err := <-bound; err != nil {
		t.Fatalf("the bind in flight: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := e.Refresh(ctx, id); !errors.Is(err, ErrClosed) {
		t.Fatalf("Refresh after Close: %v", err)
	}
}

// Pins created, released and evicted from many sessions at once, the same
// keys asked for by several: idle pins beyond maxIdlePins are dropped with
// their views, and every pin kept still has its view (a key evicted and
// created again is never lost to the drop of its old view).
func TestPinsConcurrentCreateAndEvict(t *testing.T) {
	e, _ := openTest(t, nil)
	const keys, askers = maxIdlePins * 2, 4
	inSessions(t, e, askers, func(i int, _ *Session) error {
		for range 2 {
			for k := range keys {
				key := fmt.Sprintf("k%d", (k+i*7)%keys)
				p, err := e.pinView(context.Background(), key, key, func() (string, func(), error) {
					return "SELECT " + quoteString(key) + " AS k", nil, nil
				})
				if err != nil {
					return err
				}
				e.releasePins([]*pin{p})
			}
		}
		return nil
	})()
	e.mu.Lock()
	n := len(e.pins)
	names := make([]string, 0, n)
	for _, p := range e.pins {
		names = append(names, p.name)
	}
	e.mu.Unlock()
	if n != maxIdlePins {
		t.Fatalf("%d idle pins kept, want %d", n, maxIdlePins)
	}
	s := newSession(t, e)
	rows := mustQuery(t, s, "SELECT count(*) FROM duckdb_views() WHERE database_name = '"+PinCatalog+"'")
	if rows[0][0] != strconv.Itoa(maxIdlePins) {
		t.Fatalf("%s pinned views exist, want %d", rows[0][0], maxIdlePins)
	}
	for _, name := range names {
		if got := mustQuery(t, s, "SELECT k FROM "+quoteIdent(PinCatalog)+".main."+quoteIdent(name)); got[0][0] != name {
			t.Fatalf("pin %s reads %v", name, got)
		}
	}
}
