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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
	proc            *exec.Cmd
	lifeline        *os.File // its close (ours or our death) ends the server
	done            chan struct{}
}

// Run runs a test suite (m.Run) against one server, handed to use before
// the tests start, and returns the suite's exit code. The server's files
// live in a temporary directory removed after.
func Run(m interface{ Run() int }, use func(*Server)) int {
	dir, err := os.MkdirTemp("", "lakeflight-rest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the Iceberg REST fixture for the tests:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	srv, err := Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the Iceberg REST fixture for the tests:", err)
		return 1
	}
	use(srv)
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the Iceberg REST fixture after the tests:", err)
		return max(code, 1)
	}
	return code
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
			t.Log(s.logTail())
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
	java, err := javaBinary()
	if err != nil {
		return nil, err
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
	if err := os.Remove(portFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	log, err := os.OpenFile(s.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	// The child reads this pipe and exits at its end: should this process
	// die without Stop, the JVM does not outlive it.
	lifeRead, lifeWrite, err := os.Pipe()
	if err != nil {
		return err
	}
	defer func() { _ = lifeRead.Close() }()

	cmd := exec.Command(s.java, "-XX:+UseSerialGC", "-Xmx1g", "-cp", s.classpath,
		launcher, "--port-file", portFile, "--exit-with-stdin")
	cmd.Env = append(serverEnv(os.Environ()), s.env...)
	cmd.Env = append(cmd.Env,
		"CATALOG_WAREHOUSE="+s.WarehouseLocation,
		"CATALOG_URI=jdbc:sqlite:"+s.DB,
		"CATALOG_REST_PORT="+strconv.Itoa(s.port))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = lifeRead, log, log
	if err := cmd.Start(); err != nil {
		_ = lifeWrite.Close()
		return fmt.Errorf("starting the iceberg REST fixture: %w", err)
	}
	s.proc, s.lifeline, s.done = cmd, lifeWrite, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()

	if err := s.awaitReady(portFile); err != nil {
		_ = s.Pause()
		return fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return nil
}

// awaitReady waits for the server to name its port and then to answer
// GET /v1/config.
func (s *Server) awaitReady(portFile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		if s.URI == "" {
			if b, err := os.ReadFile(portFile); err == nil {
				if s.port, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
					return fmt.Errorf("reading the fixture's port file: %w", err)
				}
				s.URI = fmt.Sprintf("http://127.0.0.1:%d/", s.port)
			}
		}
		if s.URI != "" && configOK(ctx, client, s.URI) {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("iceberg REST fixture exited at start (%s)", s.proc.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("iceberg REST fixture not answering GET /v1/config after %s", startTimeout)
		case <-tick.C:
		}
	}
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
	_ = s.proc.Process.Kill()
	<-s.done
	_ = s.lifeline.Close()
	s.proc = nil
	return nil
}

// Stop ends the server; its files stay for the caller to remove.
func (s *Server) Stop() error { return s.Pause() }

// logTail is the end of the server's log, for error messages.
func (s *Server) logTail() string {
	const keep = 4 << 10
	b, _ := os.ReadFile(s.Log)
	if len(b) > keep {
		b = b[len(b)-keep:]
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
		return "… " + s.Log + " ends:\n" + string(b)
	}
	return s.Log + ":\n" + string(b)
}

// jars is the Java class path of the built fixture.
func jars() (string, error) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: no %s and no home directory: %w", ErrNotBuilt, EnvDir, err)
		}
		dir = filepath.Join(home, ".cache", "lakeflight", "iceberg-rest-fixture")
	}
	lib := filepath.Join(dir, "lib")
	if _, err := os.Stat(filepath.Join(lib, "lakeflight-rest-launcher.jar")); err != nil {
		return "", fmt.Errorf("%w: no launcher jar in %s (%s names the directory): run %s", ErrNotBuilt, lib, EnvDir, Build)
	}
	return filepath.Join(lib, "*"), nil
}

// javaBinary is $JAVA_HOME/bin/java, else java on PATH.
func javaBinary() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if b := filepath.Join(home, "bin", "java"); fileExists(b) {
			return b, nil
		}
	}
	b, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("no java (17 or newer) at $JAVA_HOME/bin or on PATH for the iceberg REST fixture")
	}
	return b, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
