//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSandbox(t *testing.T) {
	e, wh := openTest(t, nil)
	s := newSession(t, e)
	// A catalog database next to (not inside) the warehouse, and a Parquet
	// file inside it written by the test itself.
	catDB := filepath.Join(filepath.Dir(wh), "catalog.db")
	if err := os.WriteFile(catDB, []byte("SQLite format 3\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "x.csv")
	cases := []struct {
		sql  string
		kind error // nil: any error
	}{
		{"SELECT * FROM read_csv('/etc/passwd')", ErrPermission},
		{"SELECT * FROM glob('/etc/*')", ErrPermission},
		{"SELECT * FROM read_text('/etc/hostname')", ErrPermission},
		{"SELECT * FROM read_blob('/etc/hostname')", ErrPermission},
		{"SELECT * FROM read_parquet('" + wh + "/../catalog.db')", ErrPermission},
		{"SELECT * FROM read_blob('" + catDB + "')", ErrPermission},
		{"SELECT * FROM read_csv('" + wh + "/../../../etc/passwd')", ErrPermission},
		{"COPY (SELECT 1) TO '" + outside + "'", ErrUnsupported},
		{"COPY (SELECT 1) TO '" + wh + "/x.parquet'", ErrUnsupported},
		{"/* hidden */ copy (select 1) to '" + wh + "/y.parquet'", ErrUnsupported},
		{"EXPORT DATABASE '" + wh + "/exp'", ErrUnsupported},
		{"IMPORT DATABASE '" + wh + "/exp'", ErrUnsupported},
		{"ATTACH '" + catDB + "' AS cat", ErrPermission},
		{"ATTACH ':memory:' AS other", ErrPermission},
		{"DETACH lakehouse", ErrPermission},
		{"INSTALL httpfs", ErrPermission},
		{"LOAD httpfs", ErrPermission},
		{"SET enable_external_access = true", ErrPermission},
		{"SET lock_configuration = false", ErrPermission},
		{"SET allowed_directories = ['/']", ErrPermission},
		{"SET GLOBAL TimeZone = 'UTC'", ErrPermission},
		{"SET memory_limit = '1TB'", ErrPermission},
		{"SET threads = 64", ErrPermission},
		{"PRAGMA enable_profiling", ErrPermission},
		{"SET profiling_output = '" + outside + "'", ErrPermission},
		{"SET log_query_path = '" + outside + "'", ErrPermission},
		{"CREATE TABLE lakehouse.bronze.sneaky (a INT)", ErrUnsupported},
		{"CREATE TABLE memory.main.sneaky (a INT)", ErrUnsupported},
		{"CREATE SCHEMA lakehouse.evil", ErrUnsupported},
		{"CREATE VIEW bronze.v AS SELECT 1", ErrUnsupported},
		{"CREATE OR REPLACE VIEW lakehouse.bronze.v AS SELECT 1", ErrUnsupported},
		{"DROP SCHEMA bronze CASCADE", ErrUnsupported},
		{"DROP VIEW IF EXISTS lakehouse.bronze.x", ErrUnsupported},
		{"ALTER VIEW bronze.x RENAME TO y", nil},
		{"CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", nil},
		{"PREPARE p AS SELECT 1", ErrUnsupported},
		{"CHECKPOINT", ErrUnsupported},
		{"CALL enable_logging(storage='file', storage_path='" + wh + "/logs')", ErrPermission},
		{"SELECT * FROM ENABLE_LOGGING(storage='file', storage_path='" + wh + "/logs')", ErrPermission},
		{"SELECT * FROM system.main.\"enable_logging\"()", ErrPermission},
		{"SELECT * FROM query('SELECT * FROM enable_logging()')", ErrPermission},
		{"SELECT * FROM disable_peg_parser()", ErrPermission},
		{"SELECT * FROM force_checkpoint()", ErrPermission},
		{"SELECT * FROM arrow_scan(1, 2, 3)", ErrPermission},
		{"CREATE TEMP MACRO m() AS TABLE SELECT * FROM enable_profiling()", ErrPermission},
	}
	for _, tc := range cases {
		_, err := s.Exec(context.Background(), tc.sql)
		if err == nil {
			t.Errorf("%s: succeeded", tc.sql)
			continue
		}
		if tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v, want %v", tc.sql, err, tc.kind)
		}
	}
	for _, p := range []string{outside, wh + "/x.parquet", wh + "/y.parquet", wh + "/exp", wh + "/logs"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	// Reading inside the warehouse works.
	if got := mustQuery(t, s, "SELECT count(*) FROM glob('"+wh+"/*')"); got[0][0] != "0" {
		t.Errorf("glob in warehouse: %v", got)
	}
	// And the session still works, with SET of a session setting allowed.
	mustExec(t, s, "SET TimeZone = 'UTC'")
	mustExec(t, s, "SET search_path = 'lakehouse.gold,lakehouse.bronze'")
	mustExec(t, s, "RESET TimeZone")
}

func TestWritesToLakehouseViews(t *testing.T) {
	e, _ := openTest(t, nil)
	// A view standing in for an Iceberg table.
	e.mu.Lock()
	if err := execSQL(e.admin, "CREATE VIEW lakehouse.bronze.events AS SELECT 1 AS id"); err != nil {
		t.Fatal(err)
	}
	e.mu.Unlock()
	s := newSession(t, e)
	for _, q := range []string{
		"INSERT INTO bronze.events VALUES (2)",
		"INSERT INTO lakehouse.bronze.events SELECT 3",
		"UPDATE bronze.events SET id = 3",
		"DELETE FROM bronze.events",
		"DROP VIEW bronze.events",
		"CREATE OR REPLACE TABLE bronze.events AS SELECT 1",
	} {
		_, err := s.Exec(context.Background(), q)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", q, err)
		}
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.events"); got[0][0] != "1" {
		t.Errorf("events changed: %v", got)
	}
}
