// Package pgtest runs a private PostgreSQL server for a test suite:
// Debian's server binaries (apt-get install postgresql), a temporary data
// directory, a free loopback port, trust authentication and durability off
// (the data is thrown away). A suite starts one server in its TestMain and
// gives each test a database of its own.
//
// PostgreSQL refuses to run as root: under root the data directory belongs
// to the postgres user (the Debian package creates it) and the server
// commands run through runuser.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvCatalog names the environment variable that selects the catalog
// database of the test suites that can run on both: "postgres" starts a
// server, anything else (or nothing) keeps SQLite.
const EnvCatalog = "LAKEFLIGHT_TEST_CATALOG"

// Wanted reports whether EnvCatalog asks for PostgreSQL.
func Wanted() bool { return os.Getenv(EnvCatalog) == "postgres" }

// Run runs a test suite (m.Run) and returns its exit code; when Wanted,
// it first starts a server and hands it to use, and stops it after.
func Run(m interface{ Run() int }, use func(*Server)) int {
	if !Wanted() {
		return m.Run()
	}
	srv, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL for the tests:", err)
		return 1
	}
	use(srv)
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping PostgreSQL after the tests:", err)
		return max(code, 1)
	}
	return code
}

// ForTest starts a server for one test and stops it when the test ends.
func ForTest(t testing.TB) *Server {
	t.Helper()
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// Server is a running PostgreSQL server.
type Server struct {
	Port int
	bin  string
	dir  string // holds data/, the socket and the log
	user string // who runs the server ("" when not root)
	dbs  atomic.Int64
}

// Start initialises a cluster in a temporary directory and starts it.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lakeflight-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.init(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// init makes the cluster in s.dir (owned by the postgres user under root)
// and starts it.
func (s *Server) init() error {
	dir := s.dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs a postgres user to own the test cluster (apt-get install postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
		s.user = "postgres"
	}
	var err error
	if s.Port, err = freePort(); err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	if err := s.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return err
	}
	return s.Resume()
}

// Resume starts the server (again, after Pause) on its port.
func (s *Server) Resume() error {
	opts := strings.Join([]string{
		"-p " + strconv.Itoa(s.Port), "-k " + s.dir, "-c listen_addresses=127.0.0.1",
		"-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off", "-c max_connections=200",
	}, " ")
	return s.run("pg_ctl", "start", "-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60", "-o", opts)
}

// Pause stops the server fast (its clients' connections drop), keeping
// its data for Resume.
func (s *Server) Pause() error {
	return s.run("pg_ctl", "stop", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w")
}

// DSN is the URL of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating test database %s: %w", name, err)
	}
	return s.DSN(name), nil
}

// Stop shuts the server down fast and removes its files.
func (s *Server) Stop() error {
	var err error
	if _, statErr := os.Stat(filepath.Join(s.dir, "data", "postmaster.pid")); statErr == nil {
		err = s.Pause()
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

func (s *Server) run(prog string, args ...string) error {
	name := filepath.Join(s.bin, prog)
	if s.user != "" {
		args = append([]string{"-u", s.user, "--", name}, args...)
		name = "runuser"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		logTail, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		return fmt.Errorf("%s %s: %w\n%s\n%s", prog, args, err, out, logTail)
	}
	return nil
}

// binDir is the newest /usr/lib/postgresql/<major>/bin with initdb and
// pg_ctl.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", errors.New("no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
	}
	major := func(d string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return n
	}
	sort.Slice(found, func(i, j int) bool { return major(found[i]) > major(found[j]) })
	return found[0], nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
