package main

import (
	"context"
	"fmt"
	"os"
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
func (s *server) memory() (rss, hwm int64, err error) { return lfserver.Memory(s.Pid()) }

// resetPeak restarts the kernel's peak-RSS count (VmHWM) at the current
// RSS, so that each run reports its own peak; false when the kernel
// refuses (then the peak is the process's since it started).
func (s *server) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.Pid()), []byte("5"), 0) == nil
}

// cpuSeconds is the server's user+system CPU time so far.
func (s *server) cpuSeconds() (float64, error) {
	d, err := lfserver.CPUTime(s.Pid())
	return d.Seconds(), err
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
