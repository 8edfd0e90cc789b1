//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/querycases"
)

func TestSnapshotProcedures(t *testing.T) {
	e, cat, fx, _ := historyEnv(t)
	s := newSession(t, e)
	ctx := context.Background()
	s1, s3 := fx.Snapshots[0], fx.Snapshots[2]
	count := func() string { return mustQuery(t, s, "SELECT count(*) FROM bronze.history")[0][0] }

	if n := execN(t, s, fmt.Sprintf("CALL iceberg_create_tag('bronze.history', 'first', %d)", s1)); n != 1 {
		t.Fatalf("create_tag affected %d", n)
	}
	execN(t, s, "CALL iceberg_create_branch('bronze.history', 'dev')")
	refs := mustQuery(t, s, "SELECT name, type, snapshot_id FROM iceberg_refs('bronze.history') ORDER BY name")
	want := [][]string{
		{"audit", "branch", fmt.Sprint(fx.Snapshots[1])}, {"dev", "branch", fmt.Sprint(s3)},
		{"first", "tag", fmt.Sprint(s1)}, {"main", "branch", fmt.Sprint(s3)}, {"v1", "tag", fmt.Sprint(s1)},
	}
	if !slices.EqualFunc(refs, want, slices.Equal[[]string]) {
		t.Fatalf("refs %q, want %q", refs, want)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.history AT (VERSION => 'first')")[0][0]; got != "3" {
		t.Fatalf("AT the new tag: %s", got)
	}

	// Rollback moves main; queries see it at once; rolling forward works too.
	execN(t, s, fmt.Sprintf("CALL iceberg_rollback_to_snapshot('bronze.history', %d)", s1))
	if got := count(); got != "3" {
		t.Fatalf("after rollback: %s rows", got)
	}
	st, err := s.Prepare(ctx, "CALL iceberg_rollback_to_snapshot('bronze.history', ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.IsQuery() || st.ParameterSchema().NumFields() != 1 {
		t.Fatalf("prepared CALL: IsQuery %v, params %v", st.IsQuery(), st.ParameterSchema())
	}
	if _, err := st.Exec(ctx, int64Params(t, s3)); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "6" {
		t.Fatalf("after rolling forward: %s rows", got)
	}

	execN(t, s, "CALL iceberg_drop_tag('bronze.history', 'first')")
	execN(t, s, "CALL iceberg_drop_branch('bronze.history', 'dev')")
	if got := mustQuery(t, s, "SELECT count(*) FROM iceberg_refs('bronze.history')")[0][0]; got != "3" {
		t.Fatalf("refs after drops: %s", got)
	}
	before := snapshotCount(t, cat, querycasesTable)
	for _, c := range []struct {
		sql  string
		kind error
		msg  string
	}{
		{"CALL iceberg_drop_tag('bronze.history', 'audit')", ErrInvalidSQL, `"audit" of bronze.history is a branch, not a tag`},
		{"CALL iceberg_create_tag('bronze.history', 'v1')", catalog.ErrRefExists, "v1"},
		{"CALL iceberg_rollback_to_snapshot('bronze.history', 42)", catalog.ErrNoSuchSnapshot, "42"},
		{"CALL iceberg_rollback_to_snapshot('bronze.nope', 1)", ErrNotFound, `no Iceberg table "bronze.nope"`},
		{"CALL iceberg_rollback_to_snapshot('bronze.history')", ErrInvalidSQL, "takes 2 to 2 arguments"},
		{"CALL iceberg_create_tag('bronze.history', 'x', 'y')", ErrInvalidSQL, "is not a number"},
		{"CALL iceberg_drop_branch('bronze.history', 'main')", catalog.ErrInvalidArgument, "main"},
	} {
		if _, err := s.Exec(ctx, c.sql); !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v containing %q", c.sql, err, c.kind, c.msg)
		}
	}
	if after := snapshotCount(t, cat, querycasesTable); after != before {
		t.Fatalf("refused procedures made snapshots")
	}
}

var querycasesTable = querycases.Table

// int64Params is one row of BIGINT parameters.
func int64Params(t *testing.T, vals ...int64) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(vals))
	cols := make([]arrow.Array, len(vals))
	for i, v := range vals {
		fields[i] = arrow.Field{Name: fmt.Sprint("p", i), Type: arrow.PrimitiveTypes.Int64}
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.Append(v)
		cols[i] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 1)
	for _, c := range cols {
		c.Release()
	}
	t.Cleanup(rec.Release)
	return rec
}
