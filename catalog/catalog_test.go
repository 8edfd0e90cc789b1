package catalog

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/internal/errkind"
	"github.com/lakeflight/lakeflight/internal/hmstest"
	"github.com/lakeflight/lakeflight/internal/pgtest"
	"github.com/lakeflight/lakeflight/internal/resttest"
)

// testEnv is one catalog database file plus warehouse in a temp dir; open
// gives a fresh *Catalog on it (a second open is a second writer).
type testEnv struct {
	dir string
	cfg Config
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	env := &testEnv{dir: dir, cfg: Config{
		Driver:    "sqlite",
		URI:       filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse"),
	}}
	switch {
	case testPG != nil:
		dsn, err := testPG.NewDatabase(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		env.cfg.Driver, env.cfg.URI = "postgres", dsn
	case testREST != nil:
		// One REST catalog for the suite: each test starts from an empty
		// one (the tests run one at a time), with a warehouse of its own.
		if err := testREST.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		env.cfg.Driver, env.cfg.URI = "rest", testREST.URI
	case testHive != nil:
		// As for REST; and emptied again before the test's warehouse goes,
		// since the metastore drops a view only with its metadata file.
		if err := testHive.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := testHive.Reset(context.Background()); err != nil {
				t.Error(err)
			}
		})
		env.cfg.Driver, env.cfg.URI = "hive", testHive.URI
	}
	return env
}

// testPG is the PostgreSQL server the suite runs on when
// LAKEFLIGHT_TEST_CATALOG=postgres (make test runs it both ways); nil for
// SQLite.
var testPG *pgtest.Server

// testREST is Apache Iceberg's REST catalog server the suite runs on when
// LAKEFLIGHT_TEST_CATALOG=rest; nil otherwise.
var testREST *resttest.Server

// testHive is the Hive Metastore the suite runs on when
// LAKEFLIGHT_TEST_CATALOG=hive; nil otherwise.
var testHive *hmstest.Server

func TestMain(m *testing.M) {
	if resttest.Wanted() {
		os.Exit(resttest.Run(m, func(srv *resttest.Server) { testREST = srv }))
	}
	if hmstest.Wanted() {
		os.Exit(hmstest.Run(m, func(srv *hmstest.Server) { testHive = srv }))
	}
	os.Exit(pgtest.Run(m, func(srv *pgtest.Server) { testPG = srv }))
}

func (e *testEnv) open(t *testing.T) *Catalog {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := Open(t.Context(), e.cfg, log)
	if err != nil {
		t.Fatalf("open catalog: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close catalog: %v", err)
		}
	})
	return c
}

func TestOpenDefaults(t *testing.T) {
	e := newEnv(t)
	c := e.open(t)
	if c.Name() != "lakehouse" {
		t.Errorf("name = %q, want lakehouse", c.Name())
	}
	if got, want := c.WarehouseDir(), filepath.Join(e.dir, "warehouse"); got != want {
		t.Errorf("warehouse dir = %q, want %q", got, want)
	}
	if !strings.HasPrefix(c.Warehouse(), "file:///") {
		t.Errorf("warehouse = %q, want a file:// URL", c.Warehouse())
	}
	if fi, err := os.Stat(c.WarehouseDir()); err != nil || !fi.IsDir() {
		t.Errorf("warehouse dir not created: %v", err)
	}
	if err := c.Ping(t.Context()); err != nil {
		t.Errorf("ping: %v", err)
	}
	if e.cfg.Driver == "rest" || e.cfg.Driver == "hive" {
		if c.db != nil {
			t.Errorf("a %s catalog opened a catalog database", e.cfg.Driver)
		}
		return
	}
	if e.cfg.Driver == "postgres" {
		if n := c.db.Stats().MaxOpenConnections; n != postgresMaxConns {
			t.Errorf("pool of %d connections, want %d", n, postgresMaxConns)
		}
		return
	}
	var mode string
	if err := c.db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		cfg  Config
		want error
	}{
		"postgres, no uri": {Config{Driver: "postgres", Warehouse: dir}, ErrInvalidArgument},
		"gcs":              {Config{URI: filepath.Join(dir, "c.db"), Warehouse: "gs://bucket/wh"}, ErrNotSupported},
		"s3, no bucket":    {Config{URI: filepath.Join(dir, "c.db"), Warehouse: "s3:///wh"}, ErrInvalidArgument},
		"no uri":           {Config{Warehouse: dir}, ErrInvalidArgument},
		"no wh":            {Config{URI: filepath.Join(dir, "c.db")}, ErrInvalidArgument},
		"bad drvr":         {Config{Driver: "oracle", URI: "x", Warehouse: dir}, ErrInvalidArgument},
		"in memory":        {Config{URI: ":memory:", Warehouse: dir}, ErrInvalidArgument},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := Open(t.Context(), tc.cfg, nil)
			if err == nil {
				_ = c.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// A PostgreSQL catalog that does not answer fails Open with the cause,
// and never with the password of its URI.
func TestOpenPostgresUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	_, err = Open(t.Context(), Config{Driver: "postgres", URI: "postgres://lake:s3cret-pw@" + addr + "/lake?sslmode=disable", Warehouse: t.TempDir()}, nil)
	if err == nil || !strings.Contains(err.Error(), "connecting to catalog database") || strings.Contains(err.Error(), "s3cret-pw") ||
		errkind.Of(err) != errkind.Unavailable {
		t.Fatalf("err = %v, want an unavailable connection error without the password", err)
	}
}

func TestNamespacesAndTables(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	for range 2 { // idempotent
		for _, ns := range []string{"silver", "bronze"} {
			if err := c.EnsureNamespace(ctx, ns); err != nil {
				t.Fatalf("ensure namespace %s: %v", ns, err)
			}
		}
	}
	if err := c.EnsureNamespace(ctx, "a.b"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("dotted namespace: err = %v, want ErrInvalidArgument", err)
	}
	nss, err := c.Namespaces(ctx)
	if c.driver == driverHive {
		// A Hive Metastore always has its "default" database.
		nss = slices.DeleteFunc(nss, func(ns string) bool { return ns == "default" })
	}
	if err != nil || strings.Join(nss, ",") != "bronze,silver" {
		t.Fatalf("namespaces = %v (%v), want [bronze silver]", nss, err)
	}

	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for _, id := range []Ident{{"silver", "b"}, {"bronze", "z"}, {"bronze", "a"}} {
		if err := c.CreateTable(ctx, id, sc); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
	err = c.CreateTable(ctx, Ident{"bronze", "a"}, sc)
	if !errors.Is(err, ErrTableAlreadyExists) {
		t.Errorf("create twice: err = %v, want ErrTableAlreadyExists", err)
	}
	err = c.CreateTable(ctx, Ident{"nowhere", "a"}, sc)
	if !errors.Is(err, ErrNoSuchNamespace) {
		t.Errorf("create in missing namespace: err = %v, want ErrNoSuchNamespace", err)
	}

	tables, err := c.ListTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, id := range tables {
		names = append(names, id.String())
	}
	if got := strings.Join(names, ","); got != "bronze.a,bronze.z,silver.b" {
		t.Errorf("tables = %s", got)
	}

	if err := c.DropTable(ctx, Ident{"bronze", "z"}); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if err := c.DropTable(ctx, Ident{"bronze", "z"}); !errors.Is(err, ErrNoSuchTable) {
		t.Errorf("drop twice: err = %v, want ErrNoSuchTable", err)
	}
	if tables, _ := c.ListTables(ctx); len(tables) != 2 {
		t.Errorf("after drop: %v", tables)
	}
}

func TestUnknownTable(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	if err := c.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []Ident{{"bronze", "nope"}, {"nons", "nope"}} {
		checks := map[string]func() error{
			"TableState": func() error { _, err := c.TableState(ctx, id); return err },
			"MetadataLocation": func() error {
				_, err := c.MetadataLocation(ctx, id)
				return err
			},
			"Snapshots": func() error { _, err := c.Snapshots(ctx, id); return err },
			"LoadTable": func() error { _, err := c.LoadTable(ctx, id); return err },
			"Append": func() error {
				_, err := c.Append(ctx, id, nil, nil)
				return err
			},
		}
		for name, f := range checks {
			if err := f(); !errors.Is(err, ErrNoSuchTable) {
				t.Errorf("%s(%s): err = %v, want ErrNoSuchTable", name, id, err)
			}
		}
	}
}

func TestEmptyTableState(t *testing.T) {
	ctx := t.Context()
	c := newEnv(t).open(t)
	id := Ident{"bronze", "empty"}
	mustCreate(ctx, t, c, id, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.BinaryTypes.String, Nullable: true}}, nil))
	st, err := c.TableState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.SnapshotID != 0 || len(st.DataFiles) != 0 || st.Schema == nil || st.MetadataLocation == "" {
		t.Errorf("empty state = %+v", st)
	}
	snaps, err := c.Snapshots(ctx, id)
	if err != nil || len(snaps) != 0 {
		t.Errorf("snapshots = %v (%v)", snaps, err)
	}
	loc, err := c.MetadataLocation(ctx, id)
	if err != nil || loc != st.MetadataLocation {
		t.Errorf("metadata location = %q (%v), want %q", loc, err, st.MetadataLocation)
	}
}

func mustCreate(ctx context.Context, t *testing.T, c *Catalog, id Ident, sc *arrow.Schema) {
	t.Helper()
	if err := c.EnsureNamespace(ctx, id.Namespace); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(ctx, id, sc); err != nil {
		t.Fatalf("create %s: %v", id, err)
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"file:///a/b%20c/d.parquet": "/a/b c/d.parquet",
		"file:/a/b":                 "/a/b",
		"/plain/path":               "/plain/path",
		"s3://bucket/key":           "",
		"file:///a b/ü+c;d=e,[1]":   "/a b/ü+c;d=e,[1]",
		"file:////x":                "//x",
		"file:///a?b":               "/a",
		"file:///a#b":               "/a",
		"file:///a\tb":              "",
		"file:///a\x7fb":            "",
		"file://host/a":             "/a",
	} {
		if got := LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
		// The fast path agrees with the URL parser.
		if u, err := url.Parse(in); err == nil && u.Scheme == "file" && LocalPath(in) != filepath.FromSlash(u.Path) {
			t.Errorf("LocalPath(%q) = %q, url.Parse gives %q", in, LocalPath(in), u.Path)
		}
	}
}

func TestSQLiteDSN(t *testing.T) {
	dir := t.TempDir()
	got, err := sqliteDSN(filepath.Join(dir, "x", "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"busy_timeout(", "journal_mode(WAL)", "_txlock=immediate"} {
		if !strings.Contains(got, want) {
			t.Errorf("dsn %q lacks %q", got, want)
		}
	}
	got, err = sqliteDSN("file:" + dir + "/c.db?_pragma=busy_timeout(1)")
	if err != nil || strings.Count(got, "busy_timeout") != 1 {
		t.Errorf("dsn with own busy_timeout = %q (%v)", got, err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// eventsTable opens a fresh catalog holding an empty table bronze.<name>
// of richSchema, with a checked allocator that must be empty at the end.
func eventsTable(t *testing.T, name string) (*Catalog, Ident, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	c := newEnv(t).open(t)
	id := Ident{"bronze", name}
	mustCreate(t.Context(), t, c, id, richSchema)
	return c, id, mem
}

// Names that could be created but never queried, or that no file system
// takes, are refused with the reason.
func TestNamesThatCannotBeQueriedAreRefused(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"", "empty"},
		{"a.b", "contains '.'"},
		{"\xff\xfe", "not valid UTF-8"},
		{"tab\there", "control character"},
		{strings.Repeat("x", 201), "longer than 200"},
	} {
		if err := validName("table", c.name); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an invalid argument containing %q", c.name, err, c.want)
		}
	}
	for _, ok := range []string{"events", "Évènements_2026", strings.Repeat("x", 200), "with space"} {
		if err := validName("table", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

func TestRefNamesAreBounded(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{strings.Repeat("t", 256), "longer than 255"},
		{"\xff", "not valid UTF-8"},
		{" v1", "leading or trailing spaces"},
	} {
		if err := validRefName(c.name); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.name, err, c.want)
		}
	}
	if err := validRefName(strings.Repeat("t", 255)); err != nil {
		t.Error(err)
	}
}
