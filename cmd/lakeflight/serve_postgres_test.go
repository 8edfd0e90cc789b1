package main

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/internal/pgtest"
)

// The server on a PostgreSQL catalog (Debian's server, started here) is
// configured, not built differently: tables written over Flight SQL are
// rows in PostgreSQL, no SQLite file appears, and a restart finds them.
func TestServeOnPostgresCatalog(t *testing.T) {
	dsn, err := pgtest.ForTest(t).NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	onPG := func(c *config.Config) { c.Catalog.Driver, c.Catalog.URI = "postgres", dsn }
	flightAddr, httpAddr, stop := startServeWith(t, dataDir, onPG)
	if code, body := httpGet(t, "http://"+httpAddr+"/ready"); code != http.StatusOK {
		t.Fatalf("/ready: %d %s", code, body)
	}
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	for _, q := range []string{"CREATE TABLE silver.pg AS SELECT range AS x FROM range(5)", "DELETE FROM silver.pg WHERE x = 1"} {
		if err := runQuery(ctx, []string{"--server", flightAddr, q}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "catalog.db")); !os.IsNotExist(err) {
		t.Fatalf("a SQLite catalog file appeared beside a PostgreSQL catalog: %v", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var loc string
	if err := db.QueryRowContext(ctx, "SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'silver' AND table_name = 'pg'").Scan(&loc); err != nil || loc == "" {
		t.Fatalf("silver.pg in PostgreSQL: %q, %v", loc, err)
	}

	flightAddr, _, stop = startServeWith(t, dataDir, onPG)
	defer func() { _ = stop() }()
	stdout.Reset()
	if err := runQuery(ctx, []string{"--server", flightAddr, "--format", "csv", "SELECT x FROM silver.pg ORDER BY x"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "x\n0\n2\n3\n4\n" {
		t.Errorf("after a restart the table reads %q", stdout.String())
	}
}
