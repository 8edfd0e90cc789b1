package ingest

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// RejectsSuffix names a table's rejects table: bronze.events keeps its bad
// rows in bronze.events__rejects.
const RejectsSuffix = "__rejects"

// rejectsSchema is the layout of every rejects table.
var rejectsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "source", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "line", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "column_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "expected_type", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "reason", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "raw", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ingest_key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "rejected_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

// RejectsSchema is the Arrow schema of rejects tables.
func RejectsSchema() *arrow.Schema { return rejectsSchema }

// rejectsBatch builds one batch of rejected rows. Text that is not valid
// UTF-8 (the raw line of a row rejected for exactly that) is stored with
// the invalid bytes written as \xNN, so the rejects table stays readable.
func rejectsBatch(mem memory.Allocator, rows []RowError, key string, at time.Time) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, rejectsSchema)
	defer b.Release()
	ts := arrow.Timestamp(at.UTC().UnixMicro())
	str := func(i int, s string) {
		sb := b.Field(i).(*array.StringBuilder)
		if s == "" && i != 6 {
			sb.AppendNull()
			return
		}
		sb.Append(escapeInvalidUTF8(s))
	}
	for i := range rows {
		r := &rows[i]
		str(0, r.Source)
		b.Field(1).(*array.Int64Builder).Append(r.Line)
		str(2, r.Column)
		str(3, r.Value)
		str(4, r.Expected)
		str(5, r.Reason)
		str(6, r.Raw)
		str(7, key)
		b.Field(8).(*array.TimestampBuilder).Append(ts)
	}
	return b.NewRecordBatch()
}
