//go:build duckdb_arrow

package flightsql

import (
	"context"

	"github.com/lakeflight/lakeflight/engine"
)

// engineQuerier adapts *engine.Engine to querier (Go has no covariant
// returns, so the concrete *engine.Session/*engine.Statement need a wrapper).
type engineQuerier struct{ e *engine.Engine }

func (q engineQuerier) NewSession(ctx context.Context) (conn, error) {
	s, err := q.e.NewSession(ctx)
	if err != nil {
		return nil, err
	}
	return engineConn{s}, nil
}

type engineConn struct{ *engine.Session }

func (c engineConn) Prepare(ctx context.Context, sql string) (stmt, error) {
	st, err := c.Session.Prepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	return st, nil
}

var (
	_ querier = engineQuerier{}
	_ conn    = engineConn{}
	_ stmt    = (*engine.Statement)(nil)
)
