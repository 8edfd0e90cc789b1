//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Snapshot management as SQL procedures, named like Iceberg's Spark
// procedures:
//
//	CALL iceberg_rollback_to_snapshot('bronze.events', 8123456789)
//	CALL iceberg_create_tag('bronze.events', 'v1' [, snapshot_id])
//	CALL iceberg_create_branch('bronze.events', 'audit' [, snapshot_id])
//	CALL iceberg_drop_tag('bronze.events', 'v1')
//	CALL iceberg_drop_branch('bronze.events', 'audit')
//	CALL iceberg_set_property('bronze.events', 'write.delete.mode', 'copy-on-write')
//	CALL iceberg_unset_property('bronze.events', 'write.delete.mode')
//
// Each is an update statement (one row affected). Arguments are any SQL
// expressions, parameters included; DuckDB evaluates them.

// SnapshotManager is what the procedures change: the current snapshot,
// tags and branches, table properties.
type SnapshotManager interface {
	Rollback(ctx context.Context, id catalog.Ident, snapshotID int64) error
	CreateTag(ctx context.Context, id catalog.Ident, name string, snapshotID int64) (int64, error)
	CreateBranch(ctx context.Context, id catalog.Ident, name string, snapshotID int64) (int64, error)
	DropRef(ctx context.Context, id catalog.Ident, name string) error
	SetProperty(ctx context.Context, id catalog.Ident, key, value string) error
}

// procedure is one snapshot-management procedure.
type procedure struct {
	args    string // usage, for messages
	minArgs int
	maxArgs int
	run     func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error
}

var procedures = map[string]*procedure{
	"iceberg_rollback_to_snapshot": {args: "('namespace.table', snapshot_id)", minArgs: 2, maxArgs: 2,
		run: func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error {
			snap, err := snapshotArg(args[1])
			if err != nil {
				return err
			}
			return e.snaps.Rollback(ctx, id, snap)
		}},
	"iceberg_create_tag": {args: "('namespace.table', 'name'[, snapshot_id])", minArgs: 2, maxArgs: 3,
		run: func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error {
			snap, err := optionalSnapshot(args)
			if err != nil {
				return err
			}
			_, err = e.snaps.CreateTag(ctx, id, args[1], snap)
			return err
		}},
	"iceberg_create_branch": {args: "('namespace.table', 'name'[, snapshot_id])", minArgs: 2, maxArgs: 3,
		run: func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error {
			snap, err := optionalSnapshot(args)
			if err != nil {
				return err
			}
			_, err = e.snaps.CreateBranch(ctx, id, args[1], snap)
			return err
		}},
	"iceberg_set_property": {args: "('namespace.table', 'key', 'value')", minArgs: 3, maxArgs: 3,
		run: func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error {
			if args[2] == "" {
				return newError(ErrInvalidSQL, "iceberg_set_property needs a value; iceberg_unset_property removes a property")
			}
			return e.snaps.SetProperty(ctx, id, args[1], args[2])
		}},
	"iceberg_unset_property": {args: "('namespace.table', 'key')", minArgs: 2, maxArgs: 2,
		run: func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error {
			return e.snaps.SetProperty(ctx, id, args[1], "")
		}},
	"iceberg_drop_tag":    {args: "('namespace.table', 'name')", minArgs: 2, maxArgs: 2, run: dropRef("tag")},
	"iceberg_drop_branch": {args: "('namespace.table', 'name')", minArgs: 2, maxArgs: 2, run: dropRef("branch")},
}

// dropRef drops a tag or branch, checking that the name is of that kind.
func dropRef(kind string) func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error {
	return func(ctx context.Context, e *Engine, id catalog.Ident, args []string) error {
		refs, err := e.meta.Refs(ctx, id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(refs, func(r catalog.Ref) bool { return r.Name == args[1] })
		if i >= 0 && refs[i].Type != kind {
			return newError(ErrInvalidSQL, fmt.Sprintf("%q of %s is a %s, not a %s", args[1], id, refs[i].Type, kind))
		}
		return e.snaps.DropRef(ctx, id, args[1])
	}
}

func snapshotArg(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, newError(ErrInvalidSQL, "snapshot id "+strconv.Quote(v)+" is not a number")
	}
	return n, nil
}

// optionalSnapshot is the third argument, 0 (the current snapshot) if absent or NULL.
func optionalSnapshot(args []string) (int64, error) {
	if len(args) < 3 || args[2] == "" {
		return 0, nil
	}
	return snapshotArg(args[2])
}

// procPlan is a prepared procedure call.
type procPlan struct {
	name  string
	proc  *procedure
	args  string // SELECT of the arguments, prepared to evaluate them
	nargs int
}

// parseCall recognises CALL of one of the procedures: its name and the
// text of its argument list.
func parseCall(sql string, toks sqltext.Tokens) (*procPlan, bool) {
	if !toks.Word(0, "call") || len(toks) < 3 || toks[1].Kind != sqltext.Word {
		return nil, false
	}
	p, ok := procedures[toks[1].Text]
	if !ok {
		return nil, false
	}
	end := toks.Close(2)
	if end < 0 {
		return nil, false
	}
	args := toks.Args(sql, 2, end)
	return &procPlan{name: toks[1].Text, proc: p, args: "SELECT " + strings.Join(args, ", "), nargs: len(args)}, true
}

// prepareCall prepares a procedure call on dc, the session's main
// connection (see prepareOnMain).
func (s *Session) prepareCall(dc *dconn, sql string, toks sqltext.Tokens, p *procPlan) (*Statement, error) {
	if s.e.snaps == nil || s.e.meta == nil {
		return nil, newError(ErrUnsupported, p.name+" needs an Iceberg catalog")
	}
	if err := s.refuseInTransaction("CALL "+p.name, ""); err != nil {
		return nil, err
	}
	usage := "call it as CALL " + p.name + p.proc.args
	if strings.TrimSpace(strings.TrimPrefix(p.args, "SELECT")) == "" {
		return nil, newError(ErrInvalidSQL, usage)
	}
	if n := p.nargs; n < p.proc.minArgs || n > p.proc.maxArgs {
		return nil, newError(ErrInvalidSQL, fmt.Sprintf("%s takes %d to %d arguments, not %d: %s", p.name, p.proc.minArgs, p.proc.maxArgs, n, usage))
	}
	st := &Statement{s: s, sql: sql, text: sql, toks: toks, home: dc, class: classSession, schema: emptySchema,
		params: emptySchema, streams: map[*stream]struct{}{}, proc: p}
	if err := st.describeText(p.args); err != nil {
		return nil, fmt.Errorf("%s: %w", usage, err)
	}
	return st, nil
}

// execCall evaluates the arguments (once per parameter row) and runs the
// procedure; it reports one row affected per call.
func (st *Statement) execCall(ctx context.Context, params arrow.RecordBatch) (int64, error) {
	if !st.s.take(st.home) {
		return 0, newError(ErrBusy, "the session is streaming a result: read it to the end or close it before changing tables")
	}
	dc, p, e := st.home, st.proc, st.s.e
	if err := st.s.refuseInTransaction("CALL "+p.name, ""); err != nil {
		st.s.releaseConn(dc)
		return 0, err
	}
	type call struct {
		id   catalog.Ident
		args []string
	}
	var calls []call
	err := withPrepared(dc, p.args, func(ps bindings.PreparedStatement, opts bindings.ArrowOptions) error {
		n := 1
		if params != nil {
			n = int(params.NumRows())
		}
		for r := 0; r < n; r++ {
			if params != nil {
				if err := bindRow(ps, params, r); err != nil {
					return err
				}
			}
			recs, err := executeRecords(ctx, ps, opts)
			if err != nil {
				return err
			}
			rows := [][]string(nil)
			for _, rec := range recs {
				rows = appendStrings(rows, rec)
			}
			releaseAll(recs)
			if len(rows) != 1 {
				return newError(ErrInternal, p.name+": evaluating the arguments gave no row")
			}
			id, err := st.s.procTable(dc, p, rows[0][0])
			if err != nil {
				return err
			}
			calls = append(calls, call{id: id, args: rows[0]})
		}
		return nil
	})
	st.s.releaseConn(dc)
	if err != nil {
		return 0, err
	}
	var done int64
	for _, c := range calls {
		if err := p.proc.run(ctx, e, c.id, c.args); err != nil {
			return done, fmt.Errorf("%s(%s): %w", p.name, c.id, err)
		}
		if err := e.Refresh(ctx, c.id); err != nil {
			e.log.Warn("rebinding after "+p.name, "table", c.id.String(), "err", err)
		}
		done++
	}
	return done, nil
}

// procTable resolves a procedure's table argument.
func (s *Session) procTable(dc *dconn, p *procPlan, arg string) (catalog.Ident, error) {
	id, err := s.metaTarget(dc, arg)
	if err != nil {
		return id, newError(ErrNotFound, p.name+": "+err.Error())
	}
	return id, nil
}
