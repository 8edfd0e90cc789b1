package main

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// countingWriter counts the writes it gets.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// sharedColumns keeps the columns of rec whose appenders goroutines may
// share, so the writer splits its rows.
func sharedColumns(t *testing.T, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	var fields []arrow.Field
	var cols []arrow.Array
	for i, col := range rec.Columns() {
		if _, shared := newCellAppender(col, csvText); shared {
			fields = append(fields, rec.Schema().Field(i))
			cols = append(cols, col)
		}
	}
	if len(cols) < 2 {
		t.Fatalf("only %d shareable columns", len(cols))
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// TestTextWriterPartsInOrder formats the same batch with its rows split
// among goroutines in tiny rounds, so every boundary is crossed, and on one
// goroutine: the output must be the same.
func TestTextWriterPartsInOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	edge := newEdgeRecord(t, mem)
	defer edge.Release()
	rec := sharedColumns(t, edge)
	defer rec.Release()

	write := func(tw *textWriter) *countingWriter {
		t.Helper()
		out := &countingWriter{}
		tw.w = out
		if err := tw.Begin(rec.Schema()); err != nil {
			t.Fatal(err)
		}
		if err := tw.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := tw.End(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, f := range []textFormat{csvText, jsonText} {
		one := newTextWriter(nil, f)
		one.parts = 1
		want := write(one)
		for _, parts := range []int{2, 3, 4} {
			for _, rows := range []int{1, 2, 5} {
				tw := newTextWriter(nil, f)
				tw.parts, tw.partRows, tw.minPartRows = parts, rows, 1
				tw.bufs = make([][]byte, parts)
				got := write(tw)
				if got.String() != want.String() {
					t.Errorf("format %d, %d parts of %d rows:\n%s\nwant:\n%s", f, parts, rows, got.String(), want.String())
				}
				if got.writes <= want.writes {
					t.Errorf("format %d, %d parts of %d rows: %d writes, so the rows were not split", f, parts, rows, got.writes)
				}
			}
		}
	}
}

// TestTextWriterKeepsUnsharedColumnsOnOneGoroutine: a dictionary column
// builds its values array on first use, so a batch holding one is formatted
// by one goroutine (the race detector would see the other way).
func TestTextWriterKeepsUnsharedColumnsOnOneGoroutine(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for i := range 64 {
		_ = b.AppendString([]string{"red", "blue"}[i%2])
	}
	arr := b.NewArray()
	defer arr.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "c", Type: dt}}, nil), []arrow.Array{arr}, 64)
	defer rec.Release()

	out := &countingWriter{}
	tw := newTextWriter(out, csvText)
	tw.parts, tw.partRows, tw.minPartRows = 4, 1, 1
	tw.bufs = make([][]byte, 4)
	if err := tw.Begin(rec.Schema()); err != nil {
		t.Fatal(err)
	}
	if err := tw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if out.writes != 2 { // header, rows
		t.Errorf("%d writes: rows were split", out.writes)
	}
	if want := "c\nred\nblue\n"; !bytes.HasPrefix(out.Bytes(), []byte(want)) {
		t.Errorf("output starts %q", out.String()[:20])
	}
}
