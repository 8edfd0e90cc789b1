package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is the lakeflight process under load: `bin serve` on free
// loopback ports, its data and JSON log in a directory of the bench's.
type server struct {
	cmd      *exec.Cmd
	addr     string // Flight SQL
	httpAddr string
	log      string
	done     chan struct{} // closed once the process has exited
	waitErr  error
}

// startServer runs `bin serve` with extra flags and waits until it is
// ready: its own log names the Flight address it was given (so /ready
// cannot be another process's answer on a port taken in between) and
// /ready answers 200.
func startServer(ctx context.Context, bin, dir string, extra ...string) (*server, error) {
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
	srv := &server{cmd: cmd, addr: flightAddr, httpAddr: httpAddr, log: logPath, done: make(chan struct{})}
	go func() {
		srv.waitErr = cmd.Wait()
		close(srv.done)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-srv.done:
			return nil, fmt.Errorf("lakeflight serve exited before it was ready (log: %s): %w", logPath, srv.waitErr)
		default:
		}
		if readyInLog(logPath, flightAddr) && srv.ready() {
			return srv, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = srv.stop()
	return nil, fmt.Errorf("lakeflight serve was not ready within 90s (log: %s)", logPath)
}

func (s *server) ready() bool {
	resp, err := http.Get("http://" + s.httpAddr + "/ready")
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

// stop ends the server with SIGTERM (its ordered shutdown), killing it
// after 30s.
func (s *server) stop() error {
	select {
	case <-s.done:
		return s.waitErr
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return s.waitErr
}

// memory reads the server's resident memory now (VmRSS) and its peak
// (VmHWM), in bytes.
func (s *server) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss, err = parseKB(rest)
		} else if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			hwm, err = parseKB(rest)
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("no VmRSS/VmHWM in /proc status")
	}
	return rss, hwm, nil
}

// resetPeak restarts the kernel's peak-RSS count (VmHWM) at the current
// RSS, so that each run reports its own peak; false when the kernel
// refuses (then the peak is the process's since it started).
func (s *server) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0) == nil
}

// cpuSeconds is the server's user+system CPU time so far.
func (s *server) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which is in parentheses): state is
	// field 3, utime 14, stime 15, in clock ticks (100 a second on Linux).
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (ut + st) / 100, nil
}

func parseKB(s string) (int64, error) {
	kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(s), " kB"), 10, 64)
	return kb << 10, err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// loadAvg is /proc/loadavg's 1-, 5- and 15-minute figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
