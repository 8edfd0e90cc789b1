package jvmtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The processes here stand in for a launcher: cat exits at the end of its
// standard input, as a launcher with its lifeline flag does; sleep does
// not, as a JVM stuck in its shutdown.

func command(t *testing.T, log string, args ...string) Command {
	t.Helper()
	if log == "" {
		log = filepath.Join(t.TempDir(), "server.log")
	}
	return Command{Path: args[0], Args: args[1:], Dir: t.TempDir(), Log: log}
}

func start(t *testing.T, c Command) *Process {
	t.Helper()
	p, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

func exited(p *Process) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

func TestStopClosesLifeline(t *testing.T) {
	p := start(t, command(t, "", "cat"))
	began := time.Now()
	p.Stop(time.Minute)
	if !exited(p) || time.Since(began) > 30*time.Second {
		t.Errorf("Stop returned after %s, exited %v; want the lifeline's end to end it at once", time.Since(began), exited(p))
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("cat ended %s, want a clean exit at the lifeline's end", p.cmd.ProcessState)
	}
	p.Stop(time.Minute) // again: a no-op
}

func TestStopKillsAfterTimeout(t *testing.T) {
	p := start(t, command(t, "", "sleep", "600"))
	p.Stop(100 * time.Millisecond)
	if !exited(p) || p.cmd.ProcessState.Success() {
		t.Errorf("after Stop: exited %v (%s), want it killed", exited(p), p.cmd.ProcessState)
	}
}

func TestKill(t *testing.T) {
	p := start(t, command(t, "", "sleep", "600"))
	p.Kill()
	if !exited(p) {
		t.Error("not exited after Kill")
	}
	p.Kill() // again: a no-op
}

// TestOutput: a start appends to its log, and Output is what this start
// wrote, the directory its working directory.
func TestOutput(t *testing.T) {
	log := filepath.Join(t.TempDir(), "server.log")
	if err := os.WriteFile(log, []byte("an earlier start\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := command(t, log, "sh", "-c", "pwd; echo oops >&2")
	p := start(t, c)
	<-p.Done()
	if got, want := p.Output(), c.Dir+"\noops\n"; got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(log); string(b) != "an earlier start\n"+c.Dir+"\noops\n" {
		t.Errorf("log = %q, want the earlier start's output kept", b)
	}
}

func TestStartFails(t *testing.T) {
	if _, err := Start(command(t, "", filepath.Join(t.TempDir(), "no-java"))); err == nil {
		t.Error("Start of a missing binary: no error")
	}
	if _, err := Start(command(t, filepath.Join(t.TempDir(), "no-dir", "server.log"), "cat")); err == nil {
		t.Error("Start with a log in a missing directory: no error")
	}
}

func TestAwait(t *testing.T) {
	errRead := errors.New("bad port file")
	for _, tc := range []struct {
		name    string
		args    []string
		timeout time.Duration
		ready   func(calls int) (bool, error)
		wantErr error
	}{
		{
			name: "ready at the third call", args: []string{"cat"}, timeout: time.Minute,
			ready: func(calls int) (bool, error) { return calls == 3, nil },
		},
		{
			name: "ready's error", args: []string{"cat"}, timeout: time.Minute,
			ready: func(int) (bool, error) { return false, errRead }, wantErr: errRead,
		},
		{
			name: "exited", args: []string{"true"}, timeout: time.Minute,
			ready: func(int) (bool, error) { return false, nil }, wantErr: ErrExited,
		},
		{
			name: "never ready", args: []string{"cat"}, timeout: 200 * time.Millisecond,
			ready: func(int) (bool, error) { return false, nil }, wantErr: context.DeadlineExceeded,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, command(t, "", tc.args...))
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			calls := 0
			err := p.Await(ctx, 10*time.Millisecond, func(context.Context) (bool, error) {
				calls++
				return tc.ready(calls)
			})
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Await after %d calls: err = %v, want %v", calls, err, tc.wantErr)
			}
		})
	}
}

func TestReadPort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.port")
	if port, err := ReadPort(path); port != 0 || err != nil {
		t.Errorf("ReadPort before the file = %d, %v; want 0, nil", port, err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(40123)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if port, err := ReadPort(path); port != 40123 || err != nil {
		t.Errorf("ReadPort = %d, %v; want 40123", port, err)
	}
	if err := os.WriteFile(path, []byte("port?"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPort(path); err == nil {
		t.Error("ReadPort of a file without a port: no error")
	}
	if _, err := ReadPort(dir); err == nil {
		t.Error("ReadPort of a directory: no error")
	}

	if err := RemovePortFile(path); err != nil {
		t.Fatal(err)
	}
	if err := RemovePortFile(path); err != nil {
		t.Errorf("RemovePortFile of no file: %v", err)
	}
}
