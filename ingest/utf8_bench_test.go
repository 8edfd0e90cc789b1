package ingest

import (
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkFixBatchUTF8 is the Writer's check of every batch (valid text,
// the common case) on 65,536 rows: columns without text, top-level
// strings, and strings inside a list and a struct.
//
//	go test -tags duckdb_arrow -run '^$' -bench FixBatchUTF8 -benchmem ./ingest/
func BenchmarkFixBatchUTF8(b *testing.B) {
	const rows = 65536
	mem := memory.DefaultAllocator
	text := func(i int) string { return "value " + strconv.Itoa(i) + " é" }
	ints := func() arrow.Array {
		ib := array.NewInt64Builder(mem)
		defer ib.Release()
		for i := range rows {
			ib.Append(int64(i))
		}
		return ib.NewArray()
	}
	strs := func() arrow.Array {
		sb := array.NewStringBuilder(mem)
		defer sb.Release()
		for i := range rows {
			sb.Append(text(i))
		}
		return sb.NewArray()
	}
	list := func() arrow.Array {
		lb := array.NewListBuilder(mem, arrow.BinaryTypes.String)
		defer lb.Release()
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for i := range rows {
			lb.Append(true)
			vb.Append(text(i))
			vb.Append("x")
		}
		return lb.NewArray()
	}
	strct := func() arrow.Array {
		sb := array.NewStructBuilder(mem, arrow.StructOf(
			arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}))
		defer sb.Release()
		for i := range rows {
			sb.Append(true)
			sb.FieldBuilder(0).(*array.Int64Builder).Append(int64(i))
			sb.FieldBuilder(1).(*array.StringBuilder).Append(text(i))
		}
		return sb.NewArray()
	}
	for _, c := range []struct {
		name string
		cols []func() arrow.Array
	}{
		{"no text", []func() arrow.Array{ints, ints, ints, ints}},
		{"strings", []func() arrow.Array{ints, strs, strs}},
		{"nested", []func() arrow.Array{ints, list, strct}},
	} {
		b.Run(c.name, func(b *testing.B) {
			cols := make([]arrow.Array, len(c.cols))
			fields := make([]arrow.Field, len(c.cols))
			for i, f := range c.cols {
				cols[i] = f()
				defer cols[i].Release()
				fields[i] = arrow.Field{Name: "c" + strconv.Itoa(i), Type: cols[i].DataType(), Nullable: true}
			}
			rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rows)
			defer rec.Release()
			b.ReportAllocs()
			for b.Loop() {
				out, bad := fixBatchUTF8(mem, rec, false)
				if bad != nil {
					b.Fatal(bad)
				}
				out.Release()
			}
		})
	}
}
