package ingest

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Type hints (an existing table's types) replace inference for columns the
// input has, are ignored for the others, and lose to ColumnTypes.
func TestTypeHints(t *testing.T) {
	hints := map[string]arrow.DataType{
		"amount":  arrow.PrimitiveTypes.Float64,
		"id":      arrow.PrimitiveTypes.Int32,
		"missing": arrow.PrimitiveTypes.Int64,
		"tags":    arrow.ListOf(arrow.PrimitiveTypes.Int64), // CSV cannot make lists: ignored there
	}
	for _, tc := range []struct{ name, src string }{
		{"csv", "id,amount,tags\n1,2.5,a\n2,x,b\n3,4,c\n"},
		{"json", `{"id":1,"amount":2.5,"tags":[1]}` + "\n" + `{"id":2,"amount":"x","tags":[2]}` + "\n" + `{"id":3,"amount":4,"tags":[]}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r, err := Open(context.Background(), strings.NewReader(tc.src), Options{
				Source: "h." + tc.name, Allocator: mem, Policy: PolicyRejects, TypeHints: hints,
				ColumnTypes: map[string]arrow.DataType{"id": arrow.PrimitiveTypes.Int64},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			sc := r.Schema()
			if sc.HasField("missing") {
				t.Fatalf("a hint for a column the input lacks added it: %v", sc)
			}
			if got := sc.Field(sc.FieldIndices("amount")[0]).Type; got.ID() != arrow.FLOAT64 {
				t.Fatalf("amount: %s, want the hinted float64", got)
			}
			if got := sc.Field(sc.FieldIndices("id")[0]).Type; got.ID() != arrow.INT64 {
				t.Fatalf("id: %s, want int64 from ColumnTypes over the hint", got)
			}
			var rows int64
			for r.Next() {
				rows += r.RecordBatch().NumRows()
			}
			if r.Err() != nil {
				t.Fatal(r.Err())
			}
			rej := r.TakeRejects()
			if rows != 2 || len(rej) != 1 || rej[0].Line != 3-boolInt(tc.name == "json") || rej[0].Column != "amount" {
				t.Fatalf("rows %d, rejects %+v", rows, rej)
			}
		})
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
