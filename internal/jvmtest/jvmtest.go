// Package jvmtest is the process plumbing of the Java servers the tests
// run as real external catalogs: internal/resttest's Iceberg REST catalog
// and internal/hmstest's Hive Metastore. It finds java and a fixture's
// built jars, starts the JVM with its output in a log file and on a
// lifeline it dies with (Process), quotes the log in errors (LogTail), and
// runs a suite against one server (RunSuite). What a server is — its
// arguments, its environment, how it answers — stays with its package.
//
// The jars come from a fixture's build.sh, which sources build-lib.sh
// here: the hash stamp that skips an unchanged build, and the build beside
// the last good one that replaces it whole.
package jvmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoJava reports that neither $JAVA_HOME/bin nor PATH has a java.
var ErrNoJava = errors.New("no java at $JAVA_HOME/bin or on PATH")

// Java is $JAVA_HOME/bin/java, else java on PATH. Which versions a server
// runs on is its package's to say.
func Java() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		b := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(b); err == nil {
			return b, nil
		}
	}
	b, err := exec.LookPath("java")
	if err != nil {
		return "", ErrNoJava
	}
	return b, nil
}

// FixtureDir is the directory a fixture's build.sh fills, made absolute:
// the one the environment variable env names, else
// $HOME/.cache/lakeflight/name. Whether the build is there is the
// caller's to check.
func FixtureDir(env, name string) (string, error) {
	dir := os.Getenv(env)
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no %s and no home directory: %w", env, err)
		}
		dir = filepath.Join(home, ".cache", "lakeflight", name)
	}
	return filepath.Abs(dir)
}

// LogTail is the end of the log at path, for error messages: its last
// 4 KiB from a line's start, headed by the path.
func LogTail(path string) string {
	const keep = 4 << 10
	b, _ := os.ReadFile(path)
	if len(b) > keep {
		b = b[len(b)-keep:]
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
		return "… " + path + " ends:\n" + string(b)
	}
	return path + ":\n" + string(b)
}

// RunSuite runs a test suite (m.Run) against one server and returns the
// suite's exit code. start runs the server in a temporary directory,
// removed after the suite, hands it to the suite and returns how to stop
// it; name, such as "the Hive metastore", is for the messages of a failed
// start or stop.
func RunSuite(m interface{ Run() int }, name string, start func(dir string) (stop func() error, err error)) int {
	dir, err := os.MkdirTemp("", "lakeflight-jvm-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting %s for the tests: %v\n", name, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	stop, err := start(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting %s for the tests: %v\n", name, err)
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping %s after the tests: %v\n", name, err)
		return max(code, 1)
	}
	return code
}
