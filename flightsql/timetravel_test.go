//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/internal/querycases"
)

// The shared time-travel and metadata cases, through a real Flight SQL
// client: as plain statements and as prepared statements.
func TestTimeTravelCasesOverFlight(t *testing.T) {
	env := newTestEnv(t)
	_, cases, err := querycases.Build(context.Background(), env.cat)
	if err != nil {
		t.Fatal(err)
	}
	cl := env.client(t, true)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			check := func(how string, res result, err error) {
				t.Helper()
				if c.Err != "" {
					if err == nil || !strings.Contains(err.Error(), c.Err) {
						t.Errorf("%s: error = %v, want one containing %q", how, err, c.Err)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if !slices.EqualFunc(res.rows, c.Want, slices.Equal[[]string]) {
					t.Errorf("%s: rows = %q, want %q", how, res.rows, c.Want)
				}
			}
			if c.Params == nil {
				info, err := cl.Execute(ctx, c.SQL)
				var res result
				if err == nil {
					res, err = fetch(ctx, cl, info)
				}
				check("statement", res, err)
			}
			prep, err := cl.Prepare(ctx, c.SQL)
			if err != nil {
				check("prepare", result{}, err)
				return
			}
			defer prep.Close(ctx)
			if c.Params != nil {
				b := array.NewInt64Builder(memory.DefaultAllocator)
				b.AppendValues(c.Params, nil)
				col := b.NewArray()
				b.Release()
				fields := make([]arrow.Field, len(c.Params))
				for i := range fields {
					fields[i] = arrow.Field{Name: fmt.Sprint("p", i), Type: arrow.PrimitiveTypes.Int64}
				}
				p := array.NewRecordBatch(arrow.NewSchema(fields[:1], nil), []arrow.Array{col}, int64(col.Len()))
				col.Release()
				prep.SetParameters(p)
				p.Release()
			}
			info, err := prep.Execute(ctx)
			var res result
			if err == nil {
				res, err = fetch(ctx, cl, info)
			}
			check("prepared", res, err)
		})
	}
}
