package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMaintainCommand(t *testing.T) {
	flightAddr, httpAddr, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	a := filepath.Join(dir, "a.parquet")
	writeIDs(t, a, 0, 100)
	for _, table := range []string{"m1", "m1", "m1", "m2"} {
		if code, _, errOut := cli(t, "ingest", "--server", flightAddr, "--table", table, "--no-key", "--progress", "none", a); code != 0 {
			t.Fatal(errOut)
		}
	}
	maintain := func(args ...string) (int, string, string) {
		return cli(t, append([]string{"maintain", "--http", httpAddr, "--server", flightAddr}, args...)...)
	}

	// Defaults keep everything younger than five days.
	code, out, errOut := maintain("bronze.m1", "expire")
	if code != 0 || !strings.HasPrefix(out, "bronze.m1: expire snapshots: snapshots 3 → 3, files ") {
		t.Fatalf("exit %d: %q %s", code, out, errOut)
	}
	code, out, errOut = maintain("--older-than", "0d", "m1", "expire", "--retain-last", "2")
	if code != 0 || !strings.HasPrefix(out, "bronze.m1: expire snapshots: snapshots 3 → 2, ") {
		t.Fatalf("exit %d: %q %s", code, out, errOut)
	}
	if n := count(t, flightAddr, "bronze.m1"); n != "300" {
		t.Fatalf("rows after expiry: %s", n)
	}
	// --all: every table, one JSON report each.
	code, out, errOut = maintain("--all", "orphans", "--dry-run", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(lines[0], `"table":"bronze.m1"`) || !strings.Contains(lines[1], `"table":"bronze.m2"`) ||
		!strings.Contains(lines[0], `"dry_run":true`) {
		t.Fatalf("exit %d: %q %s", code, out, errOut)
	}

	// rewrite-manifests: m2's one manifest is already as it should be.
	code, out, errOut = maintain("m2", "rewrite-manifests")
	if code != 0 || !strings.HasPrefix(out, "bronze.m2: rewrite manifests: snapshots 1 → 1") {
		t.Fatalf("rewrite-manifests: exit %d: %q %s", code, out, errOut)
	}
	// compact: m1's three files (one per ingest) become one.
	code, out, errOut = maintain("m1", "compact")
	if code != 0 || !strings.Contains(out, "data files 3 → 1 (3 rewritten in 1 commits)") {
		t.Fatalf("compact: exit %d: %q %s", code, out, errOut)
	}
	if n := count(t, flightAddr, "bronze.m1"); n != "300" {
		t.Fatalf("rows after compaction: %s", n)
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"m1"}, 2, "unknown action \"m1\""},
		{[]string{"m1", "compact", "--older-than", "1d"}, 2, "--older-than is for expire and orphans"},
		{[]string{"--all", "m1", "expire"}, 2, "not both"},
		{[]string{"expire"}, 2, "no table given"},
		{[]string{"m1", "expire", "--dry-run"}, 2, "--dry-run is for orphans"},
		{[]string{"m1", "orphans", "--older-than", "5m"}, 1, "is under 1h0m0s"},
		{[]string{"nope", "expire"}, 1, "bronze.nope"},
	} {
		code, _, errOut := maintain(c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want %d with %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}
