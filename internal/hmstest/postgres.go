package hmstest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/lakeflight/lakeflight/internal/pgtest"
)

// The launcher's database, read from its environment (LoopbackMetastore's
// ENV_JDBC_*): a JDBC URL and user, never on the command line, so no
// password would show in a process listing.
const (
	envJDBCURL      = "LAKEFLIGHT_HMS_JDBC_URL"
	envJDBCUser     = "LAKEFLIGHT_HMS_JDBC_USER"
	envJDBCPassword = "LAKEFLIGHT_HMS_JDBC_PASSWORD"
)

// createTimeout bounds the CREATE DATABASE for a metastore.
const createTimeout = 30 * time.Second

// StartOnPostgres runs a server with its warehouse in dir/warehouse, its
// log and port file in dir, and its catalog in a new database on pg, which
// the server gives Hive's schema as it starts. Every call makes a new
// database: a dir used before does not bring its catalog back. pg must
// outlive the server.
func StartOnPostgres(dir string, pg *pgtest.Server) (*Server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	dsn, err := pg.NewDatabase(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating the hive metastore's database: %w", err)
	}
	db, err := postgresFromDSN(dsn)
	if err != nil {
		return nil, err
	}
	s, err := start(dir, db)
	if err != nil {
		return nil, err
	}
	s.Database = dsn
	return s, nil
}

// postgresDB is a PostgreSQL database as the launcher connects to it.
type postgresDB struct {
	url, user, password string
}

// postgresFromDSN turns a postgres://user[:password]@host:port/db?params
// URL (pgtest's) into the JDBC URL, user and password the launcher takes.
// Parameters pass through: pgjdbc knows sslmode as libpq does.
func postgresFromDSN(dsn string) (*postgresDB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the hive metastore's database URL: %w", err)
	}
	if (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" || u.User.Username() == "" {
		return nil, errors.New("the hive metastore's database URL is not postgres://user@host:port/db")
	}
	password, _ := u.User.Password()
	jdbc := url.URL{Scheme: "postgresql", Host: u.Host, Path: u.Path, RawQuery: u.RawQuery}
	return &postgresDB{url: "jdbc:" + jdbc.String(), user: u.User.Username(), password: password}, nil
}

// env is the launcher's environment for d.
func (d *postgresDB) env() []string {
	env := []string{envJDBCURL + "=" + d.url, envJDBCUser + "=" + d.user}
	if d.password != "" {
		env = append(env, envJDBCPassword+"="+d.password)
	}
	return env
}
