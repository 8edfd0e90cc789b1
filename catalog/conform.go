package catalog

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// conformed reads another reader's batches as the table's columns, matched
// by name (Txn.Append's contract, as iceberg-go's writer had it): a
// nullable column the reader lacks reads NULL.
type conformed struct {
	array.RecordReader               // the source
	schema             *arrow.Schema // the table's
	from               []int         // source column of each table column, -1: NULL
	cur                arrow.RecordBatch
}

// conformTo returns rdr read as schema want (rdr itself, retained, when its
// columns already are the table's). A column of another type, a column the
// table has not, a missing required one or one that may hold NULLs where
// the table requires a value is an error.
func conformTo(rdr array.RecordReader, want *arrow.Schema) (array.RecordReader, error) {
	got := rdr.Schema()
	if writableAs(got, want) == nil {
		rdr.Retain()
		return rdr, nil
	}
	from := make([]int, want.NumFields())
	used := 0
	for i, f := range want.Fields() {
		idx := got.FieldIndices(f.Name)
		switch {
		case len(idx) == 0 && f.Nullable:
			from[i] = -1
		case len(idx) == 0:
			return nil, fmt.Errorf("%w: the rows have no column %s, which the table requires", ErrInvalidArgument, f.Name)
		case !fieldWritableAs(got.Field(idx[0]), f):
			return nil, fmt.Errorf("%w: column %s of the rows is %s, the table's is %s", ErrInvalidArgument, f.Name, got.Field(idx[0]), f)
		default:
			from[i] = idx[0]
			used++
		}
	}
	if used != got.NumFields() {
		for _, f := range got.Fields() {
			if !want.HasField(f.Name) {
				return nil, fmt.Errorf("%w: the table has no column %s", ErrInvalidArgument, f.Name)
			}
		}
	}
	rdr.Retain()
	return &conformed{RecordReader: rdr, schema: want, from: from}, nil
}

func (c *conformed) Schema() *arrow.Schema { return c.schema }

func (c *conformed) Next() bool {
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
	if !c.RecordReader.Next() {
		return false
	}
	src := c.RecordReader.RecordBatch()
	cols := make([]arrow.Array, len(c.from))
	for i, j := range c.from {
		if j < 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, c.schema.Field(i).Type, int(src.NumRows()))
			continue
		}
		cols[i] = src.Column(j)
		cols[i].Retain()
	}
	c.cur = array.NewRecordBatch(c.schema, cols, src.NumRows())
	for _, col := range cols {
		col.Release()
	}
	return true
}

func (c *conformed) RecordBatch() arrow.RecordBatch { return c.cur }

// Record is the deprecated name of RecordBatch.
func (c *conformed) Record() arrow.RecordBatch { return c.cur }

func (c *conformed) Release() {
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
	c.RecordReader.Release()
}

var _ array.RecordReader = (*conformed)(nil)
