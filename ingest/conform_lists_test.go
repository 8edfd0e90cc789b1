package ingest

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// hiddenList is a list<int64> of three rows, [1 2], null, [5], whose null
// slot still spans the values 3 and 4: valid Arrow the Parquet writer
// refuses as it is.
func hiddenList(t *testing.T) arrow.Array {
	t.Helper()
	vb := array.NewInt64Builder(memory.DefaultAllocator)
	defer vb.Release()
	vb.AppendValues([]int64{1, 2, 3, 4, 5}, nil)
	vals := vb.NewArray()
	defer vals.Release()
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 2, 4, 5}))
	valid := memory.NewBufferBytes([]byte{0b101})
	data := array.NewData(arrow.ListOf(arrow.PrimitiveTypes.Int64), 3, []*memory.Buffer{valid, offsets}, []arrow.ArrayData{vals.Data()}, 1, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// Lists whose null slots span values, at the top, inside a struct and
// inside another list, are written as the rows they mean.
func TestIngestListsWithHiddenValues(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	l := hiddenList(t)
	defer l.Release()
	if !hiddenListValues(l) {
		t.Fatal("the test list has no hidden values")
	}
	st, err := array.NewStructArray([]arrow.Array{l}, []string{"l"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	outerOffsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 3}))
	outerData := array.NewData(arrow.ListOf(l.DataType()), 1, []*memory.Buffer{nil, outerOffsets}, []arrow.ArrayData{l.Data()}, 0, 0)
	defer outerData.Release()
	outer := array.MakeFromData(outerData)
	defer outer.Release()
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	defer ib.Release()
	ib.AppendValues([]int64{1, 2, 3}, nil)
	ids := ib.NewArray()
	defer ids.Release()

	for name, col := range map[string]arrow.Array{"top": l, "in_struct": st} {
		sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: ids.DataType(), Nullable: true}, {Name: "v", Type: col.DataType(), Nullable: true}}, nil)
		rec := array.NewRecordBatch(sc, []arrow.Array{ids, col}, 3)
		rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		rec.Release()
		id := catalog.Ident{Namespace: "bronze", Name: name}
		if _, err := w.Write(t.Context(), Request{Table: id, Records: rdr}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rdr.Release()
		got := scan(t, c, id)
		slices.Sort(got)
		want := map[string][]string{
			"top":       {"id=1 v=[1,2]", "id=2 v=(null)", "id=3 v=[5]"},
			"in_struct": {`id=1 v={"l":[1,2]}`, `id=2 v={"l":null}`, `id=3 v={"l":[5]}`},
		}[name]
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "v", Type: outer.DataType(), Nullable: true}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{outer}, 1)
	rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	rec.Release()
	defer rdr.Release()
	id := catalog.Ident{Namespace: "bronze", Name: "nested"}
	if _, err := w.Write(t.Context(), Request{Table: id, Records: rdr}); err != nil {
		t.Fatalf("list of lists: %v", err)
	}
	if got := scan(t, c, id); !slices.Equal(got, []string{"v=[[1,2],null,[5]]"}) {
		t.Errorf("list of lists: %q", got)
	}
}
