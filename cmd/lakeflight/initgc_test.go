package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestInitGCRunsFirst checks that internal/initgc turns the collector off
// before iceberg-go's Substrait set-up runs: package initialisation order
// is dependency order with ties broken by import path, so a new import can
// move it. It re-runs this test binary (same packages as the command) with
// GODEBUG=inittrace=1, which prints each package's init as it runs.
func TestInitGCRunsFirst(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running the test binary: %v\n%s", err, out)
	}
	text := string(out)
	gc := strings.Index(text, "init github.com/lakeflight/lakeflight/internal/initgc ")
	heavy := strings.Index(text, "init github.com/apache/iceberg-go/table/substrait ")
	switch {
	case gc < 0:
		t.Fatal("internal/initgc's init did not run (is it still imported by main?)")
	case heavy < 0:
		// internal/initgc exists for this package's start-up garbage: if
		// it is gone, so is the reason to keep the collector off.
		t.Fatal("iceberg-go/table/substrait is no longer initialised at start: remove internal/initgc, " +
			"or point this test at the package whose start-up it now shields")
	case gc > heavy:
		t.Fatal("iceberg-go/table/substrait initialised before internal/initgc: its start-up garbage is collected again")
	}
}
