package jvmtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ErrExited reports that a server's JVM ended before it was ready.
var ErrExited = errors.New("exited at start")

// Command is a JVM to start: java (Java) with its arguments, environment
// and working directory, as in exec.Cmd, and the log its output is
// appended to. Its launcher must exit at the end of its standard input —
// each launcher has its flag for that (--exit-with-stdin) among Args.
type Command struct {
	Path string
	Args []string
	Env  []string
	Dir  string // "" is the caller's
	Log  string
}

// Process is a started JVM. Its standard input is a lifeline: the read end
// of a pipe whose write end only the test's process holds. Stop closes it,
// and so does that process's death, whatever kills it: the JVM never
// outlives the test.
type Process struct {
	cmd      *exec.Cmd
	lifeline *os.File // the pipe's write end
	done     chan struct{}
	log      string
	logStart int64 // the log's size before the JVM wrote to it
}

// Start starts c.
func Start(c Command) (*Process, error) {
	log, err := os.OpenFile(c.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer func() { _ = log.Close() }()
	logStart, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	lifeRead, lifeWrite, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer func() { _ = lifeRead.Close() }() // the child has its copy

	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = lifeRead, log, log
	if err := cmd.Start(); err != nil {
		_ = lifeWrite.Close()
		return nil, err
	}
	p := &Process{cmd: cmd, lifeline: lifeWrite, done: make(chan struct{}), log: c.Log, logStart: logStart}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Done is closed once the JVM has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Await calls ready every interval, from now, until it reports the server
// ready, and returns nil then, or ready's error. It fails with ErrExited
// should the JVM exit first, and with ctx's error at ctx's end; ready gets
// ctx for its calls to the server.
func (p *Process) Await(ctx context.Context, interval time.Duration, ready func(context.Context) (bool, error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if ok, err := ready(ctx); ok || err != nil {
			return err
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w (%s)", ErrExited, p.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Output is what the JVM has written to its log, for telling one failure
// from another.
func (p *Process) Output() string {
	b, _ := os.ReadFile(p.log)
	if int64(len(b)) <= p.logStart {
		return ""
	}
	return string(b[p.logStart:])
}

// Stop closes the lifeline, which asks the launcher for a clean exit, and
// kills the JVM should it not have exited within timeout.
func (p *Process) Stop(timeout time.Duration) {
	_ = p.lifeline.Close()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
	}
}

// Kill ends the JVM at once and waits for its end.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	_ = p.lifeline.Close()
}

// ReadPort is the port a launcher wrote to its port file (--port-file),
// once it serves there; 0 while there is no file.
func ReadPort(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the port file: %w", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("reading the port file %s: %w", path, err)
	}
	return port, nil
}

// RemovePortFile removes a port file left by an earlier start, so that
// ReadPort waits for the new one.
func RemovePortFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
