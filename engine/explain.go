//go:build duckdb_arrow

package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ExplainScanKey is the explain_key of the rows EXPLAIN gains for the
// Iceberg tables it reads: one per reference, its explain_value saying the
// snapshot read and how many of its data files were planned with which
// filter, or why all are read (see scanNote).
const ExplainScanKey = "iceberg_scan"

// explainReader is DuckDB's EXPLAIN result followed by one batch of
// (ExplainScanKey, note) rows.
type explainReader struct {
	array.RecordReader
	mem   memory.Allocator
	notes []scanNote
	extra arrow.RecordBatch
	done  bool
}

// withScanNotes wraps r, an EXPLAIN result, to end with notes. A result not
// shaped as DuckDB's EXPLAIN (two string columns) is returned as it is.
func withScanNotes(r array.RecordReader, notes []scanNote, mem memory.Allocator) array.RecordReader {
	sc := r.Schema()
	if len(notes) == 0 || sc.NumFields() != 2 || !isStringType(sc.Field(0).Type) || !isStringType(sc.Field(1).Type) {
		return r
	}
	return &explainReader{RecordReader: r, mem: mem, notes: notes}
}

func isStringType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

func (r *explainReader) Next() bool {
	if r.extra != nil {
		r.extra.Release()
		r.extra = nil
	}
	if r.done {
		return false
	}
	if r.RecordReader.Next() {
		return true
	}
	if r.Err() != nil {
		r.done = true
		return false
	}
	r.done = true
	sc := r.Schema()
	b := array.NewRecordBuilder(r.mem, sc)
	defer b.Release()
	for _, n := range r.notes {
		appendString(b.Field(0), ExplainScanKey)
		appendString(b.Field(1), n.String())
	}
	r.extra = b.NewRecordBatch()
	return true
}

func (r *explainReader) RecordBatch() arrow.RecordBatch {
	if r.extra != nil {
		return r.extra
	}
	return r.RecordReader.RecordBatch()
}

// Record is RecordBatch, for callers of the older name.
func (r *explainReader) Record() arrow.RecordBatch { return r.RecordBatch() }

func (r *explainReader) Release() {
	if r.extra != nil {
		r.extra.Release()
		r.extra = nil
	}
	r.RecordReader.Release()
}

func appendString(b array.Builder, s string) {
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(s)
	case *array.LargeStringBuilder:
		b.Append(s)
	case *array.StringViewBuilder:
		b.Append(s)
	}
}
