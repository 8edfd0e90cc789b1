package arrowbytes

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestBatchCountsChildrenAndDictionaries(t *testing.T) {
	mem := memory.NewGoAllocator()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		{Name: "d", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	lb := b.Field(1).(*array.ListBuilder)
	for range 4 {
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	}
	db := b.Field(2).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"a", "bb", "a", "bb"} {
		if err := db.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var plain int64
	for _, c := range rec.Columns() {
		for _, buf := range c.Data().Buffers() {
			if buf != nil {
				plain += int64(buf.Len())
			}
		}
	}
	got := Batch(rec)
	child := Data(rec.Column(1).Data().Children()[0])
	dict := Data(rec.Column(2).Data().Dictionary())
	if child < 8*4 || dict < 3 || got != plain+child+dict {
		t.Fatalf("Batch %d, want the top buffers %d + the list's values %d + the dictionary %d", got, plain, child, dict)
	}
}
