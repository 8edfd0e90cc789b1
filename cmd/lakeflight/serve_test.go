package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/web"
)

// startServe runs serve() on ephemeral ports and returns its addresses and a
// stop function that cancels it and waits for a clean exit.
func startServe(t testing.TB, dataDir string) (flightAddr, httpAddr string, stop func() error) {
	t.Helper()
	return startServeWith(t, dataDir, nil)
}

// startServeWith is startServe with the configuration adjusted by edit.
func startServeWith(t testing.TB, dataDir string, edit func(*config.Config)) (flightAddr, httpAddr string, stop func() error) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.FlightAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- serve(ctx, cfg, log, func(f, h string) { addrs <- [2]string{f, h} })
	}()
	select {
	case a := <-addrs:
		flightAddr, httpAddr = a[0], a[1]
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60s")
	}
	var stopped bool
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop within 20s")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return flightAddr, httpAddr, stop
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeEndToEnd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	flightAddr, httpAddr, stop := startServe(t, dataDir)

	if code, _ := httpGet(t, "http://"+httpAddr+"/health"); code != http.StatusOK {
		t.Fatalf("/health: %d", code)
	}
	if code, body := httpGet(t, "http://"+httpAddr+"/ready"); code != http.StatusOK {
		t.Fatalf("/ready: %d %s", code, body)
	}

	cl, err := afsql.NewClient(flightAddr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	info, err := cl.Execute(ctx, "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'lakehouse' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	var schemas []string
	for rdr.Next() {
		col := rdr.RecordBatch().Column(0).(*array.String)
		for i := range col.Len() {
			schemas = append(schemas, col.Value(i))
		}
	}
	rdr.Release()
	for _, want := range layers {
		if !slices.Contains(schemas, want) {
			t.Errorf("namespace %s missing; lakehouse schemas: %v", want, schemas)
		}
	}

	_, metrics := httpGet(t, "http://"+httpAddr+"/metrics")
	for _, want := range []string{"lakeflight_build_info{", "go_goroutines", "lakeflight_scan_pruned_files_total 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// lakeflight query: a write reports the rows it changed; a query prints them.
	var stdout, stderr bytes.Buffer
	for _, q := range []string{"CREATE TABLE silver.cli AS SELECT range AS x FROM range(3)", "DELETE FROM silver.cli WHERE x = 1"} {
		if err := runQuery(ctx, []string{"--server", flightAddr, q}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if stderr.String() != "3 rows affected\n1 row affected\n" || stdout.Len() != 0 {
		t.Errorf("writes printed %q and %q", stdout.String(), stderr.String())
	}
	if err := runQuery(ctx, []string{"--server", flightAddr, "--format", "csv", "SELECT x FROM silver.cli ORDER BY x"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "x\n0\n2\n" {
		t.Errorf("query printed %q", stdout.String())
	}

	// The snapshot endpoints reach the catalog.
	if code, body := httpGet(t, "http://"+httpAddr+"/v1/tables/bronze/nope/snapshots"); code != http.StatusNotFound || !strings.Contains(body, "bronze.nope") {
		t.Errorf("snapshots of a missing table: %d %s", code, body)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve returned %v on shutdown", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "catalog.db")); err != nil {
		t.Fatalf("catalog database not under the data dir: %v", err)
	}
	if resp, err := http.Get("http://" + httpAddr + "/health"); err == nil {
		_ = resp.Body.Close()
		t.Fatal("http still answering after shutdown")
	}

	// A restart on the same data dir finds the same lakehouse.
	_, httpAddr2, stop2 := startServe(t, dataDir)
	if code, body := httpGet(t, "http://"+httpAddr2+"/ready"); code != http.StatusOK {
		t.Fatalf("/ready after restart: %d %s", code, body)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
}

// TestLateCatalogStarting: until serve stores the catalog, the snapshot
// endpoints answer 503 "starting".
func TestLateCatalogStarting(t *testing.T) {
	srv := web.New(web.Options{Snapshots: lateCatalog{new(atomic.Pointer[catalog.Catalog])}})
	srv.SetReady(true)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/tables/bronze/t/snapshots", ""},
		{http.MethodGet, "/v1/tables/bronze/t/refs", ""},
		{http.MethodGet, "/v1/tables/bronze/t/history", ""},
		{http.MethodPost, "/v1/tables/bronze/t/rollback", `{"snapshot_id": 1}`},
		{http.MethodPost, "/v1/tables/bronze/t/tags", `{"name": "v1"}`},
		{http.MethodPost, "/v1/tables/bronze/t/branches", `{"name": "b"}`},
		{http.MethodDelete, "/v1/tables/bronze/t/refs/v1", ""},
	} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(r.method, r.path, strings.NewReader(r.body)))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "starting") {
			t.Errorf("%s %s before the catalog opened: %d %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
}

func TestServeRefusesBusyPort(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	flightAddr, _, _ := startServe(t, dataDir)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "other")
	cfg.FlightAddr = flightAddr
	cfg.HTTPAddr = "127.0.0.1:0"
	err := serve(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "listening for Flight SQL on "+flightAddr) {
		t.Fatalf("want a clear port-in-use error, got %v", err)
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"frobnicate"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) || exitCode(err) != 2 {
		t.Fatalf("got %v (exit %d)", err, exitCode(err))
	}
}

// A stop that does not finish within its bound exits the process (status
// 3); one that finishes in time does not.
func TestWatchShutdown(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	exited := make(chan int, 1)
	stuck := make(chan struct{}) // never closed: the stop hangs
	watchShutdown(ctx, stuck, time.Millisecond, log, func(code int) { exited <- code })
	if code := <-exited; code != 3 {
		t.Fatalf("exit status %d, want 3", code)
	}
	done := make(chan struct{})
	close(done)
	watchShutdown(ctx, done, time.Hour, log, func(code int) { t.Fatalf("exited %d after a stop that finished", code) })
	if got := shutdownBound(15 * time.Second); got != 40*time.Second {
		t.Fatalf("bound for 15s: %s", got)
	}
}

// With no authentication, serve refuses a non-loopback address (before it
// opens anything) unless --insecure says to serve it anyway.
func TestServeRefusesExposedAddressWithoutInsecure(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		cfg := config.Default()
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
		cfg.FlightAddr, cfg.HTTPAddr = addr, "127.0.0.1:0"
		err := serve(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
		if err == nil || !strings.Contains(err.Error(), "refusing to listen on "+addr) || !strings.Contains(err.Error(), "--insecure") {
			t.Fatalf("%s: want a refusal naming the address and --insecure, got %v", addr, err)
		}
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "catalog.db")); !os.IsNotExist(err) {
			t.Fatalf("%s: the refused server opened its catalog: %v", addr, err)
		}
	}
	flightAddr, _, stop := startServeWith(t, filepath.Join(t.TempDir(), "data"), func(c *config.Config) {
		c.HTTPAddr, c.Insecure = "0.0.0.0:0", true
	})
	if flightAddr == "" {
		t.Fatal("no Flight address")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
