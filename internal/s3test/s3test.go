// Package s3test runs a real S3-compatible server for tests: versitygw
// (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0) with its
// posix backend over a temporary directory, on a free loopback port, with
// credentials of its own. .ci/run installs it; LAKEFLIGHT_VERSITYGW names
// the binary when it is not on PATH or in $(go env GOPATH)/bin.
package s3test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Install is how to get the server binary.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Server is one running versitygw.
type Server struct {
	// Endpoint is host:port (plain HTTP, path-style buckets).
	Endpoint             string
	AccessKey, SecretKey string
	Region               string
	// Root is the posix backend's directory: each bucket a directory.
	Root string

	bin  string
	log  string
	proc *exec.Cmd
	done chan struct{}
}

// ForTest starts a server for t (failing t when it cannot), stopped at
// t's end.
func ForTest(t testing.TB) *Server {
	t.Helper()
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// Start runs a server whose buckets live under dir.
func Start(dir string) (*Server, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		AccessKey: "lakeflight" + token(4), SecretKey: token(20), Region: "us-east-1",
		Root: filepath.Join(dir, "buckets"), bin: bin, log: filepath.Join(dir, "versitygw.log"),
	}
	if err := os.MkdirAll(s.Root, 0o755); err != nil {
		return nil, err
	}
	return s, s.Resume()
}

// Resume starts the server again after Pause, on the same port and data.
func (s *Server) Resume() error {
	log, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	cmd := exec.Command(s.bin, "--port", s.Endpoint, "--region", s.Region, "posix", s.Root)
	// Credentials by environment: a command line is visible to every user.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting versitygw: %w", err)
	}
	s.proc, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Endpoint, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(s.log)
			return fmt.Errorf("versitygw exited at start: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			_ = s.Pause()
			return fmt.Errorf("versitygw not listening on %s after 30s", s.Endpoint)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pause stops the server, keeping its data (an outage).
func (s *Server) Pause() error {
	if s.proc == nil {
		return nil
	}
	_ = s.proc.Process.Kill()
	<-s.done
	s.proc = nil
	return nil
}

// Stop ends the server.
func (s *Server) Stop() error { return s.Pause() }

func binary() (string, error) {
	if b := os.Getenv("LAKEFLIGHT_VERSITYGW"); b != "" {
		return b, nil
	}
	if b, err := exec.LookPath("versitygw"); err == nil {
		return b, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	if b := filepath.Join(gopath, "bin", "versitygw"); gopath != "" {
		if _, err := os.Stat(b); err == nil {
			return b, nil
		}
	}
	return "", errors.New("no versitygw (an S3-compatible server for the tests) on PATH, in $GOPATH/bin or at LAKEFLIGHT_VERSITYGW: " + Install)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// IcebergProps are the s3.* properties with which iceberg-go's S3 IO (and
// so a catalog's warehouse in a bucket) reaches the server.
func (s *Server) IcebergProps() map[string]string {
	return map[string]string{"s3.endpoint": "http://" + s.Endpoint, "s3.region": s.Region,
		"s3.access-key-id": s.AccessKey, "s3.secret-access-key": s.SecretKey}
}
