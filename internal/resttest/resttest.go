// Package resttest runs Apache Iceberg's REST catalog test fixture (the
// server of the apache/iceberg-rest-fixture image, Iceberg 1.10.1) as a real
// external Iceberg REST catalog for tests: Java's JDBC catalog in a SQLite
// file, a local warehouse directory or an S3-compatible bucket (ForTestS3),
// on a free loopback port.
//
// The server is Java: internal/resttest/fixture/build.sh (make restcatalog)
// puts its jars in LAKEFLIGHT_REST_FIXTURE_DIR, by default
// $HOME/.cache/lakeflight/iceberg-rest-fixture. It needs a Java 17 or newer
// (java on PATH, or JAVA_HOME) and starts in about a second.
package resttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakeflight/lakeflight/internal/jvmtest"
)

// EnvDir names the environment variable that locates the fixture's built
// jars (the directory build.sh fills).
const EnvDir = "LAKEFLIGHT_REST_FIXTURE_DIR"

// Build is how to build the fixture's jars.
const Build = "bash internal/resttest/fixture/build.sh (make restcatalog)"

// ErrNotBuilt reports that the fixture's jars are missing.
var ErrNotBuilt = errors.New("iceberg REST fixture not built")

// launcher is our main class in the fixture's jars: the fixture's server,
// bound to 127.0.0.1 (see fixture/src).
const launcher = "org.apache.iceberg.rest.LoopbackRESTCatalogServer"

// startTimeout bounds a start, JVM and catalog set-up included.
const startTimeout = 60 * time.Second

// Server is one running fixture.
type Server struct {
	// URI is the catalog's base URL, http://127.0.0.1:port/.
	URI string
	// Warehouse is the local directory new namespaces and tables go under;
	// empty when the warehouse is an object store's (s3://bucket/prefix).
	// The catalog's warehouse property is WarehouseLocation.
	Warehouse string
	// WarehouseLocation is the catalog's warehouse property: Warehouse as a
	// file:// URL, or the object store location given. A table created
	// without a location lives at WarehouseLocation/<namespace>/<table>.
	WarehouseLocation string
	// DB is the JDBC catalog's SQLite file.
	DB string
	// Log is the server's output, appended to across Resume.
	Log string

	java, classpath string
	env             []string // the CATALOG_* variables of the caller's properties
	port            int      // 0 until the first start has chosen one
	proc            *jvmtest.Process
}

// Run runs a test suite (m.Run) against one server, handed to use before
// the tests start, and returns the suite's exit code. The server's files
// live in a temporary directory removed after.
func Run(m interface{ Run() int }, use func(*Server)) int {
	return jvmtest.RunSuite(m, "the Iceberg REST fixture", func(dir string) (func() error, error) {
		srv, err := Start(dir)
		if err != nil {
			return nil, err
		}
		use(srv)
		return srv.Stop, nil
	})
}

// ForTest starts a server for t (failing t when it cannot), stopped at
// t's end.
func ForTest(t testing.TB) *Server {
	t.Helper()
	return forTest(t, Start)
}

// forTest runs start on a temporary directory of t's, failing t when it
// cannot, and stops the server at t's end, logging the end of the
// server's log should t have failed (the directory goes with t).
func forTest(t testing.TB, start func(dir string) (*Server, error)) *Server {
	t.Helper()
	s, err := start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Log(jvmtest.LogTail(s.Log))
		}
	})
	return s
}

// Start runs a server with its warehouse in dir/warehouse and its catalog
// database and log in dir.
func Start(dir string) (*Server, error) {
	return StartWith(filepath.Join(dir, "warehouse"), dir)
}

// StartWith runs a server whose warehouse is warehouseDir (created when
// missing) and whose catalog database, log and port file are in stateDir.
// A stateDir used before brings its catalog back.
func StartWith(warehouseDir, stateDir string) (*Server, error) {
	return StartWithProps(warehouseDir, stateDir, nil)
}

// StartWithProps is StartWith with more catalog properties, such as
// S3Props, and a warehouse that is either a local directory or, when it
// holds "://", an object store location (s3://bucket/prefix: nothing is
// created, and Warehouse stays empty). The properties reach the server by
// its environment, never its command line: secrets among them stay out of
// ps. warehouse, uri and rest.port are this package's to set.
func StartWithProps(warehouse, stateDir string, props map[string]string) (*Server, error) {
	env, err := catalogEnv(props)
	if err != nil {
		return nil, err
	}
	classpath, err := jars()
	if err != nil {
		return nil, err
	}
	java, err := jvmtest.Java()
	if err != nil {
		return nil, fmt.Errorf("%w for the iceberg REST fixture (it needs a Java 17 or newer)", err)
	}
	state, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	s := &Server{
		DB:   filepath.Join(state, "catalog.db"),
		Log:  filepath.Join(state, "rest-fixture.log"),
		java: java, classpath: classpath, env: env,
	}
	if strings.Contains(warehouse, "://") {
		// The JDBC catalog drops a trailing slash too.
		s.WarehouseLocation = strings.TrimRight(warehouse, "/")
		return s, s.Resume()
	}
	if s.Warehouse, err = filepath.Abs(warehouse); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Warehouse, 0o755); err != nil {
		return nil, err
	}
	s.WarehouseLocation = (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.Warehouse)}).String()
	return s, s.Resume()
}

// Resume starts the server again after Pause, on the same port and
// catalog.
func (s *Server) Resume() error {
	portFile := filepath.Join(filepath.Dir(s.DB), "rest-fixture.port")
	if err := jvmtest.RemovePortFile(portFile); err != nil {
		return err
	}
	env := append(serverEnv(os.Environ()), s.env...)
	env = append(env,
		"CATALOG_WAREHOUSE="+s.WarehouseLocation,
		"CATALOG_URI=jdbc:sqlite:"+s.DB,
		"CATALOG_REST_PORT="+strconv.Itoa(s.port))
	proc, err := jvmtest.Start(jvmtest.Command{
		Path: s.java,
		Args: []string{"-XX:+UseSerialGC", "-Xmx1g", "-cp", s.classpath, launcher, "--port-file", portFile, "--exit-with-stdin"},
		Env:  env,
		Log:  s.Log,
	})
	if err != nil {
		return fmt.Errorf("starting the iceberg REST fixture: %w", err)
	}
	if err := s.awaitReady(proc, portFile); err != nil {
		proc.Kill()
		return fmt.Errorf("%w\n%s", err, jvmtest.LogTail(s.Log))
	}
	s.proc = proc
	return nil
}

// awaitReady waits for the server to name its port (at its first start;
// after, it binds the same one) and then to answer GET /v1/config.
func (s *Server) awaitReady(proc *jvmtest.Process, portFile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	err := proc.Await(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		if s.URI == "" {
			port, err := jvmtest.ReadPort(portFile)
			if err != nil || port == 0 {
				return false, err
			}
			s.port, s.URI = port, fmt.Sprintf("http://127.0.0.1:%d/", port)
		}
		return configOK(ctx, client, s.URI), nil
	})
	switch {
	case errors.Is(err, jvmtest.ErrExited):
		return fmt.Errorf("iceberg REST fixture %w", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("iceberg REST fixture not answering GET /v1/config after %s", startTimeout)
	}
	return err
}

func configOK(ctx context.Context, client *http.Client, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"v1/config", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// Pause kills the server, keeping its catalog and warehouse (an outage).
func (s *Server) Pause() error {
	if s.proc == nil {
		return nil
	}
	s.proc.Kill()
	s.proc = nil
	return nil
}

// Stop ends the server; its files stay for the caller to remove.
func (s *Server) Stop() error { return s.Pause() }

// jars is the Java class path of the built fixture.
func jars() (string, error) {
	dir, err := jvmtest.FixtureDir(EnvDir, "iceberg-rest-fixture")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotBuilt, err)
	}
	lib := filepath.Join(dir, "lib")
	if _, err := os.Stat(filepath.Join(lib, "lakeflight-rest-launcher.jar")); err != nil {
		return "", fmt.Errorf("%w: no launcher jar in %s (%s names the directory): run %s", ErrNotBuilt, lib, EnvDir, Build)
	}
	return filepath.Join(lib, "*"), nil
}
