package catalog

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	pgxstdlib "github.com/jackc/pgx/v5/stdlib"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// reachConnector wraps a database/sql connector so that failing to connect
// to the catalog database (down, restarting, a network between) is an
// Unavailable error that says so, instead of an internal error: a client
// hears UNAVAILABLE / 503 with the reason, and retries once it is back.
// database/sql replaces a pooled connection the server dropped by calling
// Connect again, so the first request after the outage gets through.
type reachConnector struct {
	driver.Connector
	dsn string // for redacting the password from errors
}

func (c reachConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // the request's own cancel or deadline
		}
		return nil, &unreachableError{err: redactDSN(err, c.dsn)}
	}
	if pc, ok := conn.(*pgxstdlib.Conn); ok {
		return reachConn{pc}, nil
	}
	return conn, nil
}

// reachConn is a pooled connection whose errors that mean the server went
// away (it shut down, crashed, or the connection broke) are unreachable
// errors too. The embedded connection keeps every optional interface of
// database/sql's driver API.
type reachConn struct{ *pgxstdlib.Conn }

func (c reachConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.Conn.ExecContext(ctx, query, args)
	return r, connError(ctx, err)
}

func (c reachConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.Conn.QueryContext(ctx, query, args)
	return r, connError(ctx, err)
}

func (c reachConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	return tx, connError(ctx, err)
}

func (c reachConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, query)
	return st, connError(ctx, err)
}

func (c reachConn) Ping(ctx context.Context) error { return connError(ctx, c.Conn.Ping(ctx)) }

// connError marks err unreachable when it says the connection or the
// server is gone: SQLSTATE class 08 (connection exception) or 57P01-57P03
// (shutdown, crash, not accepting connections), or a network error. Other
// errors, database/sql's ErrBadConn (it retries on a new connection) and
// the request's own cancellation pass unchanged.
func connError(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, driver.ErrBadConn) || ctx.Err() != nil {
		return err
	}
	var pg *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"):
	case errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
	default:
		return err
	}
	return &unreachableError{err: err}
}

// unreachableError is a failed connection to the catalog database.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string {
	return fmt.Sprintf("the catalog database cannot be reached (%v); requests that need it fail, committing nothing, until it is back", e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// ErrorKind makes it UNAVAILABLE / 503.
func (e *unreachableError) ErrorKind() errkind.Kind { return errkind.Unavailable }
