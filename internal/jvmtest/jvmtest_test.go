package jvmtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestJava(t *testing.T) {
	javaHome := t.TempDir()
	java := filepath.Join(javaHome, "bin", "java")
	if err := os.MkdirAll(filepath.Dir(java), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(java, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	onPath := t.TempDir()
	if err := os.WriteFile(filepath.Join(onPath, "java"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, javaHome, path string
		want                 string
		wantErr              error
	}{
		{name: "JAVA_HOME first", javaHome: javaHome, path: onPath, want: java},
		{name: "PATH without JAVA_HOME", path: onPath, want: filepath.Join(onPath, "java")},
		{name: "PATH when JAVA_HOME has none", javaHome: t.TempDir(), path: onPath, want: filepath.Join(onPath, "java")},
		{name: "none", javaHome: t.TempDir(), path: t.TempDir(), wantErr: ErrNoJava},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("JAVA_HOME", tc.javaHome)
			t.Setenv("PATH", tc.path)
			got, err := Java()
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("Java() = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFixtureDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("JVMTEST_DIR", "")
	if got, err := FixtureDir("JVMTEST_DIR", "server"); err != nil || got != filepath.Join(home, ".cache", "lakeflight", "server") {
		t.Errorf("FixtureDir without the variable = %q, %v; want server under ~/.cache/lakeflight", got, err)
	}
	t.Chdir(home)
	t.Setenv("JVMTEST_DIR", "built")
	if got, err := FixtureDir("JVMTEST_DIR", "server"); err != nil || got != filepath.Join(home, "built") {
		t.Errorf("FixtureDir with a relative variable = %q, %v; want %s", got, err, filepath.Join(home, "built"))
	}
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.log")
	if err := os.WriteFile(short, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := LogTail(short), short+":\none\ntwo\n"; got != want {
		t.Errorf("LogTail of a short log = %q, want %q", got, want)
	}

	long := filepath.Join(dir, "long.log")
	line := strings.Repeat("x", 99) + "\n"
	if err := os.WriteFile(long, []byte("first\n"+strings.Repeat(line, 100)+"last\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := LogTail(long)
	header, body, _ := strings.Cut(got, "\n")
	if header != "… "+long+" ends:" {
		t.Errorf("LogTail of a long log starts %q", header)
	}
	if !strings.HasPrefix(body, line) || !strings.HasSuffix(body, line+"last\n") || len(body) > 4<<10 {
		t.Errorf("LogTail of a long log: %d bytes from a line's start to the end wanted, got %q…", len(body), body[:min(len(body), 120)])
	}

	if got, want := LogTail(filepath.Join(dir, "missing.log")), filepath.Join(dir, "missing.log")+":\n"; got != want {
		t.Errorf("LogTail of no log = %q, want %q", got, want)
	}
}

// suite is a test suite's m.
type suite struct {
	code int
	ran  bool
}

func (s *suite) Run() int { s.ran = true; return s.code }

func TestRunSuite(t *testing.T) {
	errStop := errors.New("stop failed")
	for _, tc := range []struct {
		name               string
		code               int
		startErr, stopErr  error
		wantCode           int
		wantRan, wantStops bool
	}{
		{name: "passing suite", wantCode: 0, wantRan: true, wantStops: true},
		{name: "failing suite", code: 3, wantCode: 3, wantRan: true, wantStops: true},
		{name: "failed stop", stopErr: errStop, wantCode: 1, wantRan: true, wantStops: true},
		{name: "failed stop of a failing suite", code: 3, stopErr: errStop, wantCode: 3, wantRan: true, wantStops: true},
		{name: "failed start", startErr: errors.New("no server"), wantCode: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &suite{code: tc.code}
			var dir string
			stopped := false
			code := RunSuite(m, "the test server", func(d string) (func() error, error) {
				dir = d
				if _, err := os.Stat(d); err != nil {
					t.Errorf("start's directory: %v", err)
				}
				if tc.startErr != nil {
					return nil, tc.startErr
				}
				return func() error { stopped = true; return tc.stopErr }, nil
			})
			if code != tc.wantCode || m.ran != tc.wantRan || stopped != tc.wantStops {
				t.Errorf("RunSuite = %d, suite ran %v, server stopped %v; want %d, %v, %v",
					code, m.ran, stopped, tc.wantCode, tc.wantRan, tc.wantStops)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the server's directory after the suite: %v, want it removed", err)
			}
		})
	}
}
