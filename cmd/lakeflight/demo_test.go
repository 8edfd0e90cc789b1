//go:build duckdb_arrow

package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/internal/demo"
)

// lakeflight demo loads the generator's files into the three bronze
// tables through the ingest path; a step loaded again is a replay, and later
// steps add rows.
func TestDemoCommand(t *testing.T) {
	flightAddr, _, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	out := t.TempDir()
	code, stdout, stderr := cli(t, "demo", "--server", flightAddr, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files, err := demo.Generate(t.TempDir(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, f := range files {
		want[f.Table] = f.Rows
	}
	for table, n := range want {
		if got := count(t, flightAddr, table); got != strconv.Itoa(n) {
			t.Errorf("%s: %s rows, want %d", table, got, n)
		}
		if !strings.Contains(stdout, table+": "+strconv.Itoa(n)+" rows") {
			t.Errorf("summary lacks %s: %s", table, stdout)
		}
	}
	if got := sqlLines(t, flightAddr, "SELECT typeof(items), typeof(ship_to) FROM bronze.orders LIMIT 1")[1]; !strings.HasPrefix(got, `"STRUCT(product_id BIGINT`) {
		t.Errorf("orders keep their nested items: %s", got)
	}

	// Again, into another directory: replayed, nothing added.
	code, stdout, stderr = cli(t, "demo", "--server", flightAddr)
	if code != 0 || strings.Count(stdout, "replayed") != 3 {
		t.Fatalf("second run: exit %d, %s %s", code, stdout, stderr)
	}
	if got := count(t, flightAddr, "bronze.customers"); got != strconv.Itoa(want["bronze.customers"]) {
		t.Errorf("customers after the replay: %s", got)
	}

	// Two more days.
	code, _, stderr = cli(t, "demo", "--server", flightAddr, "--step", "1", "--steps", "2")
	if code != 0 {
		t.Fatalf("steps 1-2: exit %d: %s", code, stderr)
	}
	orders, _ := strconv.Atoi(count(t, flightAddr, "bronze.orders"))
	if orders <= want["bronze.orders"]+2*demo.OrdersPerDay {
		t.Errorf("orders after two more days: %d, first load %d", orders, want["bronze.orders"])
	}

	for _, args := range [][]string{{"--scale", "0"}, {"--step", "-1"}, {"--steps", "0"}, {"extra"}} {
		if code, _, _ := cli(t, append([]string{"demo", "--server", flightAddr}, args...)...); code != 2 {
			t.Errorf("demo %v: exit %d, want 2", args, code)
		}
	}
}

// A table ingest creates is known to the engine at once: a write reading it
// (no query has read it yet) and the listing see it.
func TestIngestedTableIsQueryableAtOnce(t *testing.T) {
	flightAddr, _, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	path := filepath.Join(t.TempDir(), "fresh.parquet")
	writeIDs(t, path, 0, 3)
	if code, _, stderr := cli(t, "ingest", "--server", flightAddr, "--table", "bronze.fresh", path); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := cli(t, "query", "--server", flightAddr, "CREATE TABLE silver.fresh_copy AS SELECT * FROM bronze.fresh"); code != 0 {
		t.Fatalf("a write over the fresh table: %s", stderr)
	}
	if got := count(t, flightAddr, "silver.fresh_copy"); got != "3" {
		t.Fatalf("copy has %s rows", got)
	}
}
