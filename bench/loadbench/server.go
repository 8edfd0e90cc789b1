package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/lakeflight/lakeflight/bench/lfserver"
)

// server is the lakeflight process under load (bench/lfserver): `bin
// serve` on free loopback ports, its data and JSON log in a directory of
// the bench's.
type server struct {
	*lfserver.Server
	addr string // Flight SQL
	log  string
}

func startServer(ctx context.Context, bin, dir string, extra ...string) (*server, error) {
	s, err := lfserver.Start(ctx, bin, dir, extra...)
	if err != nil {
		return nil, err
	}
	return &server{Server: s, addr: s.FlightAddr, log: s.Log}, nil
}

func (s *server) stop() error { return s.Stop() }

// memory reads the server's resident memory now (VmRSS) and its peak
// (VmHWM), in bytes.
func (s *server) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
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
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.Pid()), []byte("5"), 0) == nil
}

// cpuSeconds is the server's user+system CPU time so far.
func (s *server) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.Pid()))
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
