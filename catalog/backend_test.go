package catalog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// iceLoadView is the view's metadata as the backend itself loads it.
func iceLoadView(ctx context.Context, c *Catalog, id Ident) (view.Metadata, error) {
	switch b := c.ice.(type) {
	case *sqlcat.Catalog:
		return b.LoadView(ctx, id.iceberg())
	case viewLoader:
		v, err := b.LoadView(ctx, id.iceberg())
		if err != nil {
			return nil, err
		}
		return v.Metadata(), nil
	}
	return nil, fmt.Errorf("backend %T", c.ice)
}

// createForeignView stores a view as another engine would: its SQL in
// iceberg-go's default dialect.
func createForeignView(ctx context.Context, c *Catalog, id Ident, sc *iceberg.Schema, sql string) error {
	switch b := c.ice.(type) {
	case *sqlcat.Catalog:
		return b.CreateView(ctx, id.iceberg(), sc, sql, nil)
	case *hivePool:
		v, err := view.NewVersion(1, 0, []view.Representation{view.NewRepresentation(sql, "default")}, table.Identifier{id.Namespace},
			view.WithTimestampMS(time.Now().UnixMilli()))
		if err != nil {
			return err
		}
		return b.createViewOnHive(ctx, id.iceberg(), v, sc)
	case viewCreator:
		v, err := view.NewVersion(1, 0, []view.Representation{view.NewRepresentation(sql, "default")}, table.Identifier{id.Namespace},
			view.WithTimestampMS(time.Now().UnixMilli()))
		if err != nil {
			return err
		}
		_, err = b.CreateView(ctx, id.iceberg(), v, sc)
		return err
	}
	return fmt.Errorf("backend %T", c.ice)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// The external catalogs' settings are checked at Open, and one that
// cannot be reached is reported as unavailable with its address (never a
// credential).
func TestOpenExternalCatalogs(t *testing.T) {
	ctx := t.Context()
	wh := t.TempDir()
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(wh, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(wh, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	for name, cfg := range map[string]Config{
		"rest, no uri":       {Driver: "rest", Warehouse: wh},
		"rest, not http":     {Driver: "rest", URI: "thrift://x:1", Warehouse: wh},
		"hive, not thrift":   {Driver: "hive", URI: "http://x:1", Warehouse: wh},
		"glue, no region":    {Driver: "glue", Warehouse: wh},
		"unknown, named all": {Driver: "nessie", Warehouse: wh},
	} {
		if _, err := Open(ctx, cfg, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want invalid argument", name, err)
		}
	}

	addr := closedAddr(t)
	_, err := Open(ctx, Config{Driver: "rest", URI: "http://" + addr + "/", Warehouse: wh, REST: RESTConfig{Token: "tok-secret-123"}}, nil)
	if err == nil || errkind.Of(err) != errkind.Unavailable || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "tok-secret-123") {
		t.Errorf("rest catalog down: %v (%v), want unavailable, naming %s and not the token", err, errkind.Of(err), addr)
	}
	_, err = Open(ctx, Config{Driver: "hive", URI: "thrift://" + addr, Warehouse: wh}, nil)
	if err == nil || !strings.Contains(err.Error(), "connecting to hive metastore thrift://"+addr) {
		t.Errorf("hive metastore down: %v", err)
	}

	// Glue connects lazily: Open works, Ping and every call fail, and
	// views are refused as the catalog has none.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "glue-secret-456")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_ENDPOINT_URL_GLUE", "http://"+addr)
	c, err := Open(ctx, Config{Driver: "glue", Warehouse: wh, Glue: GlueConfig{Region: "eu-west-1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	err = c.Ping(ctx)
	if err == nil || errkind.Of(err) != errkind.Unavailable || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "glue-secret-456") {
		t.Errorf("glue down: %v (%v), want unavailable at %s, without the secret", err, errkind.Of(err), addr)
	}
	if ok, err := c.ViewExists(ctx, Ident{"gold", "v"}); ok || err != nil {
		t.Errorf("a view in glue: %v %v", ok, err)
	}
}

// The configured token reaches a REST catalog on every call, as a bearer
// token.
func TestRESTCatalogSendsItsToken(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/config":
			_, _ = w.Write([]byte(`{"defaults": {}, "overrides": {}}`))
		case "/v1/namespaces":
			_, _ = w.Write([]byte(`{"namespaces": []}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := Open(t.Context(), Config{Driver: "rest", URI: srv.URL, Warehouse: t.TempDir(), REST: RESTConfig{Token: "tok-abc"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("calls %v", seen)
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, " Bearer tok-abc") {
			t.Errorf("call %q without the token", s)
		}
	}
}

// skipWithoutViews skips a test of views on a catalog that cannot hold
// lakeflight's, after checking that creating one is refused plainly.
func skipWithoutViews(t *testing.T, c *Catalog) {
	t.Helper()
	if _, ok := c.ice.(viewCreator); ok || !c.remote() {
		return
	}
	if err := c.EnsureNamespace(t.Context(), "gold"); err != nil {
		t.Fatal(err)
	}
	err := c.CreateView(t.Context(), Ident{"gold", "refused"}, viewCols, "SELECT 1 AS id, 'a' AS name")
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), c.driver+" catalog") {
		t.Fatalf("a view in a %s catalog: %v, want a refusal", c.driver, err)
	}
	if ok, err := c.ViewExists(t.Context(), Ident{"gold", "refused"}); ok || err != nil {
		t.Fatalf("after the refusal: exists %v, %v", ok, err)
	}
	t.Skipf("a %s catalog cannot hold lakeflight's views (creating one is refused, as checked)", c.driver)
}

// A Hive Metastore that takes connections and never answers holds a call
// only as long as its caller waits: the Thrift client does not watch the
// context, the pool does.
func TestHiveCallEndsWithItsCaller(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16) // accepted, held open, silent
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- conn
		}
	}()
	c, err := Open(t.Context(), Config{Driver: "hive", URI: "thrift://" + l.Addr().String(), Warehouse: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Errorf("close once the metastore hung up: %v", err)
		}
	}()
	defer func() { // first: the metastore hangs up, the abandoned calls end
		_ = l.Close()
		for conn := range held {
			_ = conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Ping(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("ping of a silent metastore: %v after %v", err, time.Since(start))
	}
	// The pool still serves (a fresh connection, which hangs the same way).
	ctx2, cancel2 := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel2()
	if _, err := c.Namespaces(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second call: %v", err)
	}
}

// Only a location of the shape lakeflight gives the tables it creates in
// an external catalog is its own to remove.
func TestMadeHere(t *testing.T) {
	for loc, want := range map[string]bool{
		"file:///wh/bronze.db/t-0a1b2c3d":    true,
		"s3://lake/wh/bronze.db/t-0a1b2c3d/": true,
		"file:///wh/bronze.db/t":             false, // another engine's default
		"file:///wh/bronze.db/my-table":      false,
		"file:///wh/bronze.db/t-0A1B2C3D":    false,
		"file:///wh/bronze.db/t-0a1b2c3":     false,
	} {
		if got := madeHere(loc); got != want {
			t.Errorf("madeHere(%q) = %v, want %v", loc, got, want)
		}
	}
}
