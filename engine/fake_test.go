//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"

	"github.com/lakeflight/lakeflight/catalog"
)

// fakeTables (views_test.go) is only a TableSource: it serves fixed current
// states, so the engine over it has no time travel, metadata functions,
// SQL writes or procedures (their roles are missing).
var errNotFaked = errors.New("not part of the fake catalog")

func (fakeTables) TableStateAt(context.Context, catalog.Ident, int64) (*catalog.TableState, error) {
	return nil, errNotFaked
}
