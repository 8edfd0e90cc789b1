package main

import (
	"io"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchBatchRows matches the server's default --batch-rows, so each Write
// sees a batch the size lakeflight sends.
const benchBatchRows = 65536

// benchBatch builds one batch shaped like the docs/benchmarks.md query:
// id, twice (BIGINT), third (DOUBLE), label (short VARCHAR), day (DATE).
func benchBatch(b *testing.B, mem memory.Allocator) arrow.RecordBatch {
	b.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "twice", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "third", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	const first = 5_000_000 // mid-range values: 7-digit ids, 17-digit thirds
	epoch2020 := arrow.Date32(18262)
	for i := int64(first); i < first+benchBatchRows; i++ {
		rb.Field(0).(*array.Int64Builder).Append(i)
		rb.Field(1).(*array.Int64Builder).Append(i * 2)
		rb.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
		rb.Field(3).(*array.StringBuilder).Append(strconv.FormatInt(i%1000, 10))
		rb.Field(4).(*array.Date32Builder).Append(epoch2020 + arrow.Date32(i%3650))
	}
	return rb.NewRecordBatch()
}

func benchWrite(b *testing.B, format string) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	rec := benchBatch(b, mem)
	defer rec.Release()

	w := newResultWriter(format, io.Discard)
	if err := w.Begin(rec.Schema()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.End(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)*benchBatchRows/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteCSV is the CSV formatter alone over 64Ki-row batches.
func BenchmarkWriteCSV(b *testing.B) { benchWrite(b, "csv") }

// BenchmarkWriteJSON is the JSON-lines formatter alone over 64Ki-row batches.
func BenchmarkWriteJSON(b *testing.B) { benchWrite(b, "json") }
