package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteReportKeepsOtherSections: a re-run rewrites flightbench's own
// figures and keeps what follows the marker.
func TestWriteReportKeepsOtherSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := writeReport(path, 10, 1, "| first |\n", "<svg/>"); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kept := keptMarker + "\n\n## CLI output\n\nfigures\n"
	if err := os.WriteFile(path, append(first, "\n"+kept...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, 10, 1, "| second |\n", "<svg/>"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	if !strings.Contains(s, "| second |") || strings.Contains(s, "| first |") || !strings.HasSuffix(s, "\n\n"+kept) {
		t.Errorf("report after re-run:\n%s", s)
	}
}
