//go:build duckdb_arrow

package flightsql

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

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
	return describedStmt{Statement: st, schema: describeResult(st.Schema())}, nil
}

// describedStmt hands out result schemas with Flight SQL column metadata
// (resultmeta.go), computed once per statement: every schema a client sees
// (FlightInfo, dataset schema, GetSchema) comes through here.
type describedStmt struct {
	*engine.Statement
	schema *arrow.Schema
}

func (d describedStmt) Schema() *arrow.Schema { return d.schema }

func (d describedStmt) Fresh(ctx context.Context) (stmt, error) {
	st, err := d.Statement.Fresh(ctx)
	if err != nil || st == d.Statement {
		return d, err
	}
	return describedStmt{Statement: st, schema: describeResult(st.Schema())}, nil
}

func (d describedStmt) SchemaFor(ctx context.Context, params arrow.RecordBatch) (*arrow.Schema, error) {
	if !d.SchemaOpen() {
		return d.schema, nil
	}
	sc, err := d.Statement.SchemaFor(ctx, params)
	if err != nil {
		return nil, err
	}
	return describeResult(sc), nil
}

var (
	_ querier = engineQuerier{}
	_ conn    = engineConn{}
	_ stmt    = describedStmt{}
)
