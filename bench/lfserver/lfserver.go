// Package lfserver runs a lakeflight server process for the Go bench
// drivers (bench/ingestbench, bench/loadbench): `bin serve` on free
// loopback ports, its data and JSON log in a directory of the bench's, its
// environment free of LAKEFLIGHT_* settings, so the bench measures the
// defaults.
package lfserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// readyTimeout bounds the wait for a started server.
const readyTimeout = 90 * time.Second

// Server is a running `lakeflight serve`.
type Server struct {
	Cmd        *exec.Cmd
	FlightAddr string // Flight SQL, host:port
	HTTPAddr   string // the HTTP sidecar
	Log        string // its JSON log

	done    chan struct{} // closed once the process has exited
	waitErr error
}

// Start runs `bin serve` with its data in dir/data and extra flags, and
// waits until it is ready: its own log names the Flight address it was
// given (so /ready cannot be another process's answer on a port taken in
// between) and /ready answers 200.
func Start(ctx context.Context, bin, dir string, extra ...string) (*Server, error) {
	flightAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }()
	args := append([]string{"serve", "--data-dir", filepath.Join(dir, "data"),
		"--flight-addr", flightAddr, "--http-addr", httpAddr, "--log-format", "json"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "LAKEFLIGHT_") })
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Cmd: cmd, FlightAddr: flightAddr, HTTPAddr: httpAddr, Log: logPath, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-s.done:
			return nil, fmt.Errorf("lakeflight serve exited before it was ready (log: %s): %w", logPath, s.waitErr)
		default:
		}
		if readyInLog(logPath, flightAddr) && s.ready() {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = s.Stop()
	return nil, fmt.Errorf("lakeflight serve was not ready within %s (log: %s)", readyTimeout, logPath)
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.Cmd.Process.Pid }

func (s *Server) ready() bool {
	resp, err := http.Get("http://" + s.HTTPAddr + "/ready")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// readyInLog reports whether the JSON log says the server is ready on addr.
func readyInLog(path, addr string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg    string `json:"msg"`
			Flight string `json:"flight"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "lakeflight ready" && rec.Flight == addr {
			return true
		}
	}
	return false
}

// Stop ends the server with SIGTERM (its ordered shutdown), killing it
// after 30s; it returns how the process ended. Safe to call again.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return s.waitErr
	default:
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.done
	}
	return s.waitErr
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}
