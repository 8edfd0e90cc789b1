package hmstest

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	icetable "github.com/apache/iceberg-go/table"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

func TestPostgresFromDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn                 string
		url, user, password string
		wantErr             bool
	}{
		{
			dsn: "postgres://postgres@127.0.0.1:5433/t1_2?sslmode=disable",
			url: "jdbc:postgresql://127.0.0.1:5433/t1_2?sslmode=disable", user: "postgres",
		},
		{
			dsn: "postgresql://hive:s%40cret@db.example:5432/metastore",
			url: "jdbc:postgresql://db.example:5432/metastore", user: "hive", password: "s@cret",
		},
		{dsn: "mysql://hive@127.0.0.1/metastore", wantErr: true},
		{dsn: "postgres://127.0.0.1:5432/metastore", wantErr: true}, // no user
		{dsn: "postgres:///metastore", wantErr: true},
	} {
		db, err := postgresFromDSN(tc.dsn)
		if tc.wantErr {
			if err == nil {
				t.Errorf("postgresFromDSN(%q) = %+v, want an error", tc.dsn, db)
			}
			continue
		}
		if err != nil {
			t.Errorf("postgresFromDSN(%q): %v", tc.dsn, err)
			continue
		}
		if want := (postgresDB{url: tc.url, user: tc.user, password: tc.password}); *db != want {
			t.Errorf("postgresFromDSN(%q) = %+v, want %+v", tc.dsn, *db, want)
		}
	}
}

// TestOnPostgres: the suite's metastore keeps its catalog in its
// PostgreSQL database, in the tables Hive's postgres schema made.
func TestOnPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if srv.Database == "" {
		t.Fatal("the suite's metastore has no PostgreSQL database")
	}
	cat := open(t, srv)
	ns := icetable.Identifier{"on_postgres"}
	if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.DropNamespace(context.Background(), ns); err != nil {
			t.Error(err)
		}
	})

	db, err := sql.Open("pgx", srv.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rs, err := db.QueryContext(ctx, `SELECT "NAME" FROM "DBS"`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rs.Close() }()
	var names []string
	for rs.Next() {
		var name string
		if err := rs.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "on_postgres") {
		t.Errorf(`databases in PostgreSQL's "DBS" = %v, want on_postgres among them`, names)
	}
	var version string
	if err := db.QueryRowContext(ctx, `SELECT "SCHEMA_VERSION" FROM "VERSION"`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != "4.0.0" {
		t.Errorf("hive schema version %q, want 4.0.0", version)
	}
}

// TestReset: Reset leaves only the metastore's "default" database.
func TestReset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cat := open(t, srv)
	if err := cat.CreateNamespace(ctx, icetable.Identifier{"to_reset"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateTable(ctx, icetable.Identifier{"to_reset", "t"}, schema); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	namespaces, err := cat.ListNamespaces(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(namespaces) != 1 || !slices.Equal(namespaces[0], icetable.Identifier{"default"}) {
		t.Errorf("namespaces after Reset = %v, want only default", namespaces)
	}
}
