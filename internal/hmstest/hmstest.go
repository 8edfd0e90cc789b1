// Package hmstest runs a real Apache Hive Metastore (Hive 4.0.0's standalone
// metastore) as an external Hive catalog for tests: Thrift on a free
// loopback port, in Hive's default wire mode (binary protocol, unframed,
// no SASL — what iceberg-go's hive catalog speaks), with a local warehouse
// directory.
//
// The metastore keeps its catalog in an embedded Derby database (Start,
// ForTest) or in a PostgreSQL database of an internal/pgtest server
// (StartOnPostgres; Run, which suites use). Derby serves one client's
// Iceberg commits, but two clients committing at once make it report
// "Deadlock detected in checkLock" on the metastore's lock tables, and Hive
// retries that once a minute, up to ten times: concurrent commits stall for
// minutes. On PostgreSQL, as on a production metastore's database, they
// take turns in milliseconds.
//
// The server is Java: internal/hmstest/fixture/build.sh puts its jars and
// Hive's Derby and PostgreSQL schema scripts in LAKEFLIGHT_HMS_DIR, by
// default $HOME/.cache/lakeflight/hive-metastore. It needs a Java 17 or
// newer (java on PATH, or JAVA_HOME; not 23 or newer, which Hadoop 3.3 fails
// on). On two cores, with its schema, it starts in about two and a half
// seconds on PostgreSQL (plus half a second for pgtest's cluster) and three
// and a half on Derby.
package hmstest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/hive"

	"github.com/lakeflight/lakeflight/internal/jvmtest"
	"github.com/lakeflight/lakeflight/internal/pgtest"
)

// EnvDir names the environment variable that locates the fixture's built
// jars and scripts (the directory build.sh fills).
const EnvDir = "LAKEFLIGHT_HMS_DIR"

// Build is how to build the fixture.
const Build = "bash internal/hmstest/fixture/build.sh (make hivemetastore)"

// ErrNotBuilt reports that the fixture's jars are missing.
var ErrNotBuilt = errors.New("hive metastore fixture not built")

// launcher is our main class in the fixture's jars: Hive's metastore,
// bound to 127.0.0.1, on a Derby or PostgreSQL database it first gives
// Hive's schema.
const launcher = "dev.lakeflight.hmstest.LoopbackMetastore"

const (
	// startTimeout bounds a start: JVM, schema and Thrift server.
	startTimeout = 90 * time.Second
	// stopTimeout bounds the clean exit (Derby, if used, shut down) that
	// closing the lifeline asks for before Stop kills the JVM.
	stopTimeout = 10 * time.Second
	// startAttempts covers the launcher's free-port window: another process
	// may take the port between its choice and the metastore's bind
	// (errPortTaken).
	startAttempts = 3
)

// Server is one running metastore.
type Server struct {
	// URI is the metastore's Thrift address, thrift://127.0.0.1:port.
	URI string
	// Warehouse is the local directory the metastore's warehouse is in.
	Warehouse string
	// WarehouseLocation is Warehouse as a file:// URL, for the catalog's
	// warehouse property and table locations.
	WarehouseLocation string
	// Log is the server's output.
	Log string
	// Database is the URL (postgres://…) of the PostgreSQL database the
	// catalog is in; empty on Derby.
	Database string

	proc *jvmtest.Process
}

// Run runs a test suite (m.Run) against one server, handed to use before
// the tests start, and returns the suite's exit code. The server runs on a
// PostgreSQL server (internal/pgtest) started for it, so the suite's
// concurrent commits do not stall as on Derby; both stop after the suite.
// The metastore's files live in a temporary directory removed after.
func Run(m interface{ Run() int }, use func(*Server)) int {
	return jvmtest.RunSuite(m, "the Hive metastore", func(dir string) (func() error, error) {
		pg, err := pgtest.Start()
		if err != nil {
			return nil, fmt.Errorf("starting its PostgreSQL: %w", err)
		}
		srv, err := StartOnPostgres(dir, pg)
		if err != nil {
			_ = pg.Stop()
			return nil, err
		}
		use(srv)
		// The metastore first: it holds connections to PostgreSQL.
		return func() error { return errors.Join(srv.Stop(), pg.Stop()) }, nil
	})
}

// ForTest starts a server on Derby for t (failing t when it cannot),
// stopped at t's end.
func ForTest(t testing.TB) *Server {
	t.Helper()
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Start runs a server with its warehouse in dir/warehouse and its Derby
// database, log and port file in dir. A dir used before brings its catalog
// back.
func Start(dir string) (*Server, error) {
	return start(dir, nil)
}

// start runs a server with its warehouse, log and port file in dir, on db,
// or on a Derby database in dir when db is nil.
func start(dir string, db *postgresDB) (*Server, error) {
	home, err := fixtureDir()
	if err != nil {
		return nil, err
	}
	java, err := jvmtest.Java()
	if err != nil {
		// Hadoop 3.3, under the metastore, fails on Java 23 and newer
		// (Subject.getSubject is gone).
		return nil, fmt.Errorf("%w for the hive metastore (it needs a Java from 17 to 22)", err)
	}
	state, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Warehouse: filepath.Join(state, "warehouse"),
		Log:       filepath.Join(state, "hive-metastore.log"),
	}
	if err := os.MkdirAll(s.Warehouse, 0o755); err != nil {
		return nil, err
	}
	s.WarehouseLocation = (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.Warehouse)}).String()

	portFile := filepath.Join(state, "hive-metastore.port")
	args := []string{
		// C1 only: a test catalog's few calls gain nothing from C2, its start
		// saves half a second.
		"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx1g",
		"-cp", filepath.Join(home, "lib", "*"), launcher,
		"--home", home, "--state", state, "--warehouse", s.Warehouse,
		"--port-file", portFile, "--exit-with-stdin",
	}
	env := serverEnv(os.Environ())
	if db != nil {
		env = append(env, db.env()...)
	}
	// Dir: any stray file lands beside the log, not in the caller's directory.
	cmd := jvmtest.Command{Path: java, Args: args, Env: env, Dir: state, Log: s.Log}
	for attempt := 1; ; attempt++ {
		err := s.start(cmd, portFile)
		if err == nil {
			return s, nil
		}
		if attempt == startAttempts || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
}

// errPortTaken reports that another process bound the launcher's free port
// before the metastore could: Thrift's message for it is bindFailure.
var errPortTaken = errors.New("hive metastore's port taken")

const bindFailure = "Could not create ServerSocket"

// start runs the JVM once and waits for the metastore to answer.
func (s *Server) start(cmd jvmtest.Command, portFile string) error {
	if err := jvmtest.RemovePortFile(portFile); err != nil {
		return err
	}
	proc, err := jvmtest.Start(cmd)
	if err != nil {
		return fmt.Errorf("starting the hive metastore: %w", err)
	}
	if err := s.awaitReady(proc, portFile); err != nil {
		proc.Kill()
		out := proc.Output()
		switch {
		case strings.Contains(out, bindFailure):
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		case strings.Contains(out, "getSubject is not supported"):
			err = fmt.Errorf("%w: Hadoop 3.3's security code needs a Java from 17 to 22, and %s is newer (point JAVA_HOME at a Java 17 or 21)", err, cmd.Path)
		}
		return fmt.Errorf("%w\n%s", err, jvmtest.LogTail(s.Log))
	}
	s.proc = proc
	return nil
}

// awaitReady waits for the launcher to name its port, which it does once
// the metastore serves there, and then for the metastore to answer.
func (s *Server) awaitReady(proc *jvmtest.Process, portFile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	addr := ""
	err := proc.Await(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if addr == "" {
			port, err := jvmtest.ReadPort(portFile)
			if err != nil || port == 0 {
				return false, err
			}
			addr = "127.0.0.1:" + strconv.Itoa(port)
		}
		return answers(ctx, "thrift://"+addr), nil
	})
	switch {
	case err == nil:
		s.URI = "thrift://" + addr
		return nil
	case errors.Is(err, jvmtest.ErrExited):
		return fmt.Errorf("hive metastore %w", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("hive metastore not answering on %q after %s", addr, startTimeout)
	}
	return err
}

// answers reports whether the metastore at uri lists its databases to
// iceberg-go's hive catalog, the client the tests use. Its socket has no
// timeout: should the call hang, answers gives up at ctx's end, and the
// kill that follows ends the call.
func answers(ctx context.Context, uri string) bool {
	ok := make(chan bool, 1)
	go func() {
		cat, err := hive.NewCatalog(iceberg.Properties{}, hive.WithURI(uri))
		if err != nil {
			ok <- false
			return
		}
		defer func() { _ = cat.Close() }()
		_, err = cat.ListNamespaces(ctx, nil)
		ok <- err == nil
	}()
	select {
	case answered := <-ok:
		return answered
	case <-ctx.Done():
		return false
	}
}

// Stop ends the server: it closes the lifeline, so the metastore shuts its
// Derby database down (if it has one) and exits, and kills it if it has not
// within stopTimeout. Its files, and its PostgreSQL database, stay for the
// caller to remove.
func (s *Server) Stop() error {
	if s.proc == nil {
		return nil
	}
	s.proc.Stop(stopTimeout)
	s.proc = nil
	return nil
}

// serverEnv is env without the variables that would point Hive or Hadoop
// at another installation's configuration or classes, or the launcher at a
// database other than the one start picks.
func serverEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "HADOOP_HOME", "HADOOP_CONF_DIR", "HIVE_HOME", "HIVE_CONF_DIR", "METASTORE_HOME", "METASTORE_CONF_DIR", "CLASSPATH",
			envJDBCURL, envJDBCUser, envJDBCPassword:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// fixtureDir is the directory build.sh filled.
func fixtureDir() (string, error) {
	dir, err := jvmtest.FixtureDir(EnvDir, "hive-metastore")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotBuilt, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lib", "lakeflight-hms-launcher.jar")); err != nil {
		return "", fmt.Errorf("%w: no launcher jar in %s/lib (%s names the directory): run %s", ErrNotBuilt, dir, EnvDir, Build)
	}
	return dir, nil
}
