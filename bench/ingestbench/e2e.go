package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/bench/ingestdata"
	"github.com/lakeflight/lakeflight/bench/lfserver"
	"github.com/lakeflight/lakeflight/ingest"
)

// e2eConfig sets up the end-to-end section: the lakeflight binary, and
// either the Flight SQL address of a running server or none (start one).
type e2eConfig struct {
	bin      string
	addr     string  // "" starts `bin serve` on free loopback ports
	bigGB    float64 // size of the sustained-throughput CSV
	smallRun int     // timed ingests of the 10 MB CSV
}

// server is a lakeflight started by the bench (bench/lfserver).
type server struct {
	*lfserver.Server
	addr string
}

// startServer runs `bin serve` with its data in dir on free loopback
// ports and waits until it is ready.
func startServer(ctx context.Context, bin, dir string) (*server, error) {
	s, err := lfserver.Start(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	return &server{Server: s, addr: s.FlightAddr}, nil
}

func (s *server) stop() error { return s.Stop() }

// peakRSS is the server's peak resident memory (VmHWM), in bytes.
func (s *server) peakRSS() (int64, error) { return vmHWM(s.Pid()) }

// vmHWM is the peak resident memory of a running process, in bytes.
func vmHWM(pid int) (int64, error) {
	_, hwm, err := lfserver.Memory(pid)
	return hwm, err
}

// ingestRun is one `lakeflight ingest` as the bench saw it.
type ingestRun struct {
	wall      time.Duration
	clientRSS int64
	clientCPU time.Duration  // the client's user+system time
	timings   ingest.Timings // the server's phases, from the --json summary
}

// serverTotal is the time the server's phases account for.
func (r ingestRun) serverTotal() time.Duration {
	t := r.timings
	return time.Duration((t.OpenMS + t.ReceiveMS + t.FlushMS + t.CommitMS) * float64(time.Millisecond))
}

// runIngest runs `bin ingest --no-key --json --server addr --table table
// file`. --no-key makes every run write: with the key derived from the
// file, a second run of the same file would be a replay that parses and
// uploads but writes nothing.
//
// The peak RSS is the client's VmHWM, read every 20 ms while it runs (the
// last reading is at most that much early). The child's rusage Maxrss will
// not do: the child is started with vfork semantics, so Linux counts the
// parent's peak (this driver's, which ran DuckDB and the parsers) as the
// child's until it execs.
func runIngest(ctx context.Context, bin, addr, table, file string) (ingestRun, error) {
	cmd := exec.CommandContext(ctx, bin, "ingest", "--no-key", "--json", "--progress", "none", "--server", addr, "--table", table, file)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return ingestRun{}, err
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var hwm int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := vmHWM(cmd.Process.Pid); err == nil {
				hwm = max(hwm, n)
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	run := ingestRun{wall: time.Since(start)}
	close(done)
	run.clientRSS = <-peak
	if err != nil {
		return run, fmt.Errorf("lakeflight ingest %s: %w\n%s", filepath.Base(file), err, strings.TrimSpace(errOut.String()))
	}
	run.clientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var sum struct {
		Timings *ingest.Timings `json:"timings"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		return run, fmt.Errorf("lakeflight ingest %s: its --json summary %q: %w", filepath.Base(file), out.String(), err)
	}
	if sum.Timings == nil {
		return run, fmt.Errorf("lakeflight ingest %s: no server timings in its --json summary %q", filepath.Base(file), out.String())
	}
	run.timings = *sum.Timings
	return run, nil
}

// startTime is the wall time of `bin version`: the process start that
// every command pays before it does anything (loading the binary, package
// initialisation).
func startTime(ctx context.Context, bin string) (time.Duration, error) {
	start := time.Now()
	if err := exec.CommandContext(ctx, bin, "version").Run(); err != nil {
		return 0, fmt.Errorf("%s version: %w", bin, err)
	}
	return time.Since(start), nil
}

// hasIngestCommand says whether bin knows `ingest`.
func hasIngestCommand(ctx context.Context, bin string) bool {
	out, _ := exec.CommandContext(ctx, bin, "help").CombinedOutput()
	return strings.Contains(string(out), "lakeflight ingest")
}

// End-to-end goals (issue 12).
const (
	goalSmallP50   = 100 * time.Millisecond // 10 MB CSV, the whole command
	goalPeakRSS    = 512 << 20              // client and server, any file size
	goalSustained  = 0.70                   // of the CSV parse-only speed
	goalSmallerCSV = 5.0                    // table files against the CSV
)

// endToEnd is the end-to-end section: `lakeflight ingest` of generated CSV
// files into a server, run with -e2e. It ingests a 10 MB CSV smallRun times
// into bronze.bench_small (after one warm-up) for the p50 and p99 latency of
// the whole command, then a CSV of bigGB gigabytes once into
// bronze.bench_big for the sustained MB/s, with the client's and, when the
// bench started the server, the server's peak RSS. parseMBps, when not 0,
// is ingest's parse-only CSV speed that the sustained speed is held to.
func endToEnd(ctx context.Context, cfg e2eConfig, dir string, parseMBps float64, ref string) (string, error) {
	if !hasIngestCommand(ctx, cfg.bin) {
		return "", fmt.Errorf("%s has no `ingest` command yet (build it with `make build`)", cfg.bin)
	}
	var srv *server
	addr := cfg.addr
	if addr == "" {
		var err error
		if srv, err = startServer(ctx, cfg.bin, filepath.Join(dir, "e2e")); err != nil {
			return "", err
		}
		defer func() { _ = srv.stop() }()
		addr = srv.addr
	}

	small, err := generateCSV(filepath.Join(dir, "e2e-small"), 10e6)
	if err != nil {
		return "", err
	}
	var runs []ingestRun
	lat := make([]time.Duration, 0, cfg.smallRun)
	starts := make([]time.Duration, 0, cfg.smallRun)
	serverCPU := time.Duration(-1) // the server's CPU time over the timed runs, when the bench started it
	for i := range cfg.smallRun + 1 {
		if i == 1 && srv != nil {
			serverCPU, _ = lfserver.CPUTime(srv.Pid())
		}
		r, err := runIngest(ctx, cfg.bin, addr, "bronze.bench_small", small)
		if err != nil {
			return "", err
		}
		if i > 0 && srv != nil && i == cfg.smallRun {
			if cpu, err := lfserver.CPUTime(srv.Pid()); err == nil && serverCPU >= 0 {
				serverCPU = cpu - serverCPU
			} else {
				serverCPU = -1
			}
		}
		s, err := startTime(ctx, cfg.bin)
		if err != nil {
			return "", err
		}
		if i > 0 { // the first run warms up
			runs, lat, starts = append(runs, r), append(lat, r.wall), append(starts, s)
		}
	}
	slices.Sort(lat)
	slices.Sort(starts)

	big, err := generateCSV(filepath.Join(dir, "e2e-big"), cfg.bigGB*1e9)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(big)
	if err != nil {
		return "", err
	}
	bigCPU0 := time.Duration(-1)
	if srv != nil {
		bigCPU0, _ = lfserver.CPUTime(srv.Pid())
	}
	bigRun, err := runIngest(ctx, cfg.bin, addr, "bronze.bench_big", big)
	if err != nil {
		return "", err
	}
	bigServerCPU := time.Duration(-1)
	if srv != nil && bigCPU0 >= 0 {
		if cpu, err := lfserver.CPUTime(srv.Pid()); err == nil {
			bigServerCPU = cpu - bigCPU0
		}
	}
	d, clientRSS := bigRun.wall, bigRun.clientRSS
	_ = os.Remove(big)

	var b strings.Builder
	b.WriteString("\n### End to end: `lakeflight ingest` into a server on loopback\n\n")
	fmt.Fprintf(&b, "- 10 MB CSV, %d runs after a warm-up, each a new snapshot: **p50 %.0f ms, p99 %.0f ms** (the whole command: start, parse, upload, write, commit); "+
		"of that, process start (`lakeflight version`) p50 %.0f ms\n",
		len(lat), ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), ms(percentile(starts, 0.5)))
	b.WriteString(smallBreakdown(runs, percentile(starts, 0.5), serverCPU))
	sustained := mb(fi.Size()) / d.Seconds()
	fmt.Fprintf(&b, "- %.1f GB CSV once: %.1f s, **%.0f MB/s sustained**; client peak RSS %.0f MB",
		mb(fi.Size())/1000, d.Seconds(), sustained, mb(clientRSS))
	serverRSS := int64(-1)
	if srv != nil {
		if rss, err := srv.peakRSS(); err == nil {
			serverRSS = rss
			fmt.Fprintf(&b, ", server peak RSS %.0f MB", mb(rss))
		}
	}
	b.WriteString("\n")
	b.WriteString(bigBreakdown(bigRun, bigServerCPU, fi.Size(), parseMBps))
	pq := int64(0)
	if srv != nil {
		// The table's Parquet data files (lakeflight's default layout) against the CSV they came from.
		if n, err := parquetSize(filepath.Join(dir, "e2e", "data", "warehouse"), "bench_big"); err == nil && n > 0 {
			pq = n
			fmt.Fprintf(&b, "- the table's Parquet files (the default layout: lz4, 128Ki-row groups): %.0f MB, **%.1f× smaller** than the CSV\n",
				mb(pq), float64(fi.Size())/float64(pq))
			if ref != "" {
				fmt.Fprintf(&b, "  (%s)\n", ref)
			}
		}
	}
	b.WriteString("\n")
	p50 := percentile(lat, 0.5)
	b.WriteString(goalLine(fmt.Sprintf("10 MB p50 < %d ms", goalSmallP50.Milliseconds()), p50 < goalSmallP50, fmt.Sprintf("%.0f ms", ms(p50))))
	b.WriteString(goalLine(fmt.Sprintf("client peak RSS < %d MB", goalPeakRSS>>20), clientRSS < goalPeakRSS, fmt.Sprintf("%.0f MB", mb(clientRSS))))
	if serverRSS >= 0 {
		b.WriteString(goalLine(fmt.Sprintf("server peak RSS < %d MB", goalPeakRSS>>20), serverRSS < goalPeakRSS, fmt.Sprintf("%.0f MB", mb(serverRSS))))
	}
	if parseMBps > 0 {
		ratio := sustained / parseMBps
		b.WriteString(goalLine(fmt.Sprintf("sustained ≥ %.0f%% of parse-only (%.0f MB/s)", 100*goalSustained, parseMBps), ratio >= goalSustained,
			fmt.Sprintf("%.0f%%", 100*ratio)))
	}
	if pq > 0 {
		ratio := float64(fi.Size()) / float64(pq)
		b.WriteString(goalLine(fmt.Sprintf("table files ≥ %.0f× smaller than the CSV", goalSmallerCSV), ratio >= goalSmallerCSV, fmt.Sprintf("%.1f×", ratio)))
	}
	return b.String(), nil
}

// parquetSize sums the sizes of the Parquet files under the warehouse
// whose path names the table.
func parquetSize(warehouse, table string) (int64, error) {
	var n int64
	err := filepath.WalkDir(warehouse, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".parquet") && strings.Contains(path, table) {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// generateCSV writes about size bytes of the bench table as CSV in dir.
func generateCSV(dir string, size float64) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	const bytesPerRow = 112 // measured: ingestdata's CSV rows average 112 bytes
	path := filepath.Join(dir, "data.csv")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := ingestdata.WriteCSV(f, int(size/bytesPerRow)); err != nil {
		_ = f.Close()
		return "", err
	}
	return path, f.Close()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p)]
}

// smallBreakdown says where the 10 MB ingests' time went: process start
// (start, `lakeflight version`), the server's phases from each run's
// --json summary, and the rest (connecting, the client's table lookup,
// exit), as medians over runs; then the CPU both processes spent, which
// bounds the wall time on this machine's cores. serverCPU < 0: unknown
// (the bench did not start the server).
func smallBreakdown(runs []ingestRun, start, serverCPU time.Duration) string {
	if len(runs) == 0 {
		return ""
	}
	med := func(f func(ingestRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  - where the time goes (medians): process start %.0f ms; on the server, open %.1f ms, receive %.0f ms "+
		"(the client parsing and sending while the server encodes as rows arrive), flush %.0f ms (encoding left after the last row, "+
		"the footers), commit %.1f ms; the rest %.0f ms (connecting, the client's look at the table, exit)\n",
		ms(start), med(func(r ingestRun) float64 { return r.timings.OpenMS }), med(func(r ingestRun) float64 { return r.timings.ReceiveMS }),
		med(func(r ingestRun) float64 { return r.timings.FlushMS }), med(func(r ingestRun) float64 { return r.timings.CommitMS }),
		med(func(r ingestRun) float64 { return ms(r.wall - r.serverTotal() - start) }))
	client := med(func(r ingestRun) float64 { return ms(r.clientCPU) })
	fmt.Fprintf(&b, "  - CPU per ingest: client %.0f ms (process start included)", client)
	if serverCPU >= 0 {
		server := ms(serverCPU) / float64(len(runs))
		cores := runtime.NumCPU()
		fmt.Fprintf(&b, ", server %.0f ms (mean); on %d cores the two need at least %.0f ms of wall time however well they overlap",
			server, cores, (client+server)/float64(cores))
	}
	b.WriteString("\n")
	return b.String()
}

// bigBreakdown is the sustained ingest's CPU: what the client and the
// server spent per GB, and the speed the machine's cores allow at that
// cost, against the goal's share of the parse-only speed.
func bigBreakdown(r ingestRun, serverCPU time.Duration, size int64, parseMBps float64) string {
	if serverCPU < 0 {
		return ""
	}
	gb := float64(size) / 1e9
	cpu := (r.clientCPU + serverCPU).Seconds()
	cores := runtime.NumCPU()
	s := fmt.Sprintf("  - CPU: client %.1f s, server %.1f s per GB (server: receive %.1f s, flush %.1f s, commit %.2f s of wall time); "+
		"at that cost %d cores allow at most %.0f MB/s",
		r.clientCPU.Seconds()/gb, serverCPU.Seconds()/gb, r.timings.ReceiveMS/1000, r.timings.FlushMS/1000, r.timings.CommitMS/1000,
		cores, float64(cores)*gb*1000/cpu)
	if parseMBps > 0 {
		s += fmt.Sprintf(" (the goal: %.0f MB/s)", goalSustained*parseMBps)
	}
	return s + "\n"
}
