//go:build duckdb_arrow

package flightsql

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
)

// params builds a parameter batch: an int32 and a utf8 column.
func params(ints []int32, strs []string) arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "$1", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "$2", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues(ints, nil)
	b.Field(1).(*array.StringBuilder).AppendValues(strs, nil)
	return b.NewRecordBatch()
}

func TestPreparedQueryManyParameterRows(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()

	prep, err := cl.Prepare(ctx, `SELECT $1::INTEGER * 10 AS x, upper($2::VARCHAR) AS s`)
	if err != nil {
		t.Fatal(err)
	}
	defer prep.Close(ctx)
	if upd, ok := prep.IsUpdate(); !ok || upd {
		t.Errorf("IsUpdate = %v, %v; want false, true", upd, ok)
	}
	if n := prep.ParameterSchema().NumFields(); n != 2 {
		t.Fatalf("parameter schema has %d fields: %s", n, prep.ParameterSchema())
	}
	if got := prep.DatasetSchema().Field(0).Name; got != "x" {
		t.Errorf("dataset schema = %s", prep.DatasetSchema())
	}
	if sr, err := prep.GetSchema(ctx); err != nil || len(sr.Schema) == 0 {
		t.Errorf("GetSchemaPreparedStatement: %v", err)
	}

	for _, round := range []struct {
		ints []int32
		strs []string
		want [][]string
	}{
		{[]int32{1, 2, 3}, []string{"a", "b", "c"}, [][]string{{"10", "A"}, {"20", "B"}, {"30", "C"}}},
		{[]int32{7}, []string{"z"}, [][]string{{"70", "Z"}}},
	} {
		res := queryWith(ctx, t, cl, prep, params(round.ints, round.strs))
		if !slices.EqualFunc(res.rows, round.want, slices.Equal[[]string]) {
			t.Errorf("rows = %q, want %q", res.rows, round.want)
		}
	}
}

func TestPreparedUpdateOnTempTable(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	if _, err := cl.ExecuteUpdate(ctx, `CREATE TEMP TABLE items (n INTEGER, label VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	prep, err := cl.Prepare(ctx, `INSERT INTO items VALUES ($1, $2)`)
	if err != nil {
		t.Fatal(err)
	}
	if upd, ok := prep.IsUpdate(); !ok || !upd {
		t.Errorf("IsUpdate = %v, %v; want true, true", upd, ok)
	}
	if n := prep.DatasetSchema().NumFields(); n != 0 {
		t.Errorf("update has a dataset schema: %s", prep.DatasetSchema())
	}
	p := params([]int32{1, 2, 3, 4}, []string{"a", "b", "c", "d"})
	prep.SetParameters(p)
	p.Release()
	n, err := prep.ExecuteUpdate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("affected = %d, want 4", n)
	}
	if err := prep.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A prepared query with parameters against the same temp table.
	q, err := cl.Prepare(ctx, `SELECT label FROM items WHERE n >= $1 ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(ctx)
	res := queryWith(ctx, t, cl, q, int64Params("$1", 3))
	if want := [][]string{{"c"}, {"d"}}; !slices.EqualFunc(res.rows, want, slices.Equal[[]string]) {
		t.Errorf("rows = %q, want %q", res.rows, want)
	}
}

func TestPreparedStatementLifecycle(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	prep, err := cl.Prepare(ctx, `SELECT 42 AS answer`)
	if err != nil {
		t.Fatal(err)
	}
	// Executed twice without parameters.
	for range 2 {
		info, err := prep.Execute(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fetch(ctx, cl, info)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.rows) != 1 || res.rows[0][0] != "42" {
			t.Errorf("rows = %q", res.rows)
		}
	}
	handle := prep.Handle()
	if err := prep.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The closed handle is unknown now.
	stale := afsql.NewPreparedStatement(cl, handle)
	_, err = stale.Execute(ctx)
	wantCode(t, err, codes.NotFound)
	wantCode(t, stale.Close(ctx), codes.NotFound)
}
