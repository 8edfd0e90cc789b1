package catalog

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/internal/arrowbytes"
)

// Sort order: a table's Iceberg default sort order says how rows are
// ordered inside each data file. Writers (ingest, SQL writes, compaction)
// sort the rows of each file by it and record the order's id on the file,
// so readers can rely on min/max bounds that barely overlap, and row groups
// of a file skip well. Rows are sorted in memory, in runs of at most
// sortRunBytes; a file never spans two runs, so each file is sorted as a
// whole and a large write into a sorted table makes more, smaller files.

// PropSortOrder is the table property that sets the table's sort order
// (the same as ALTER TABLE … SET SORTED BY): the value is stored as the
// table's Iceberg default sort order, not as a property, and Properties
// shows it back from there.
const PropSortOrder = "write.sort-order"

// sortRunBytes bounds the rows (in Arrow memory) sorted at once.
var sortRunBytes int64 = 256 << 20 // a variable for tests

var (
	sortNullsRe = regexp.MustCompile(`(?i)\s+nulls\s+(first|last)$`)
	sortDirRe   = regexp.MustCompile(`(?i)\s+(asc|desc)$`)
)

// ParseSortOrder reads a sort clause, the text between the parentheses of
// SORTED BY (…): a comma list of columns, each optionally followed by ASC
// or DESC and NULLS FIRST or NULLS LAST (DuckDB's defaults: ASC, NULLS
// LAST). Columns match as in ParsePartitionSpec and must be top-level and
// primitive. An empty text is the unsorted order.
func ParseSortOrder(text string, sc *iceberg.Schema) (table.SortOrder, error) {
	if strings.TrimSpace(text) == "" {
		return table.UnsortedSortOrder, nil
	}
	terms, err := splitTerms(text)
	if err != nil {
		return table.SortOrder{}, fmt.Errorf("%w: SORTED BY (%s): unbalanced parentheses or quotes, or an empty term", ErrInvalidArgument, text)
	}
	fields := make([]table.SortField, 0, len(terms))
	seen := map[int]string{}
	for _, term := range terms {
		f := table.SortField{Transform: iceberg.IdentityTransform{}, Direction: table.SortASC, NullOrder: table.NullsLast}
		col := term
		if m := sortNullsRe.FindStringSubmatch(col); m != nil {
			if strings.EqualFold(m[1], "first") {
				f.NullOrder = table.NullsFirst
			}
			col = col[:len(col)-len(m[0])]
		}
		if m := sortDirRe.FindStringSubmatch(col); m != nil {
			if strings.EqualFold(m[1], "desc") {
				f.Direction = table.SortDESC
			}
			col = col[:len(col)-len(m[0])]
		}
		col = strings.TrimSpace(col)
		if col == "" || strings.Contains(col, "(") && !strings.HasPrefix(col, `"`) {
			return table.SortOrder{}, fmt.Errorf("%w: SORTED BY %s: want a column, then ASC or DESC and NULLS FIRST or NULLS LAST if needed", ErrInvalidArgument, term)
		}
		field, err := findColumn(sc, col)
		if err != nil {
			return table.SortOrder{}, fmt.Errorf("%w: SORTED BY %s: %w", ErrInvalidArgument, term, err)
		}
		if !sortable(field.Type) {
			return table.SortOrder{}, fmt.Errorf("%w: SORTED BY %s: column %s is %s; rows can be sorted by top-level columns of primitive types only",
				ErrInvalidArgument, term, field.Name, field.Type)
		}
		if prev, dup := seen[field.ID]; dup {
			return table.SortOrder{}, fmt.Errorf("%w: SORTED BY %s: column %s is already sorted by in %s", ErrInvalidArgument, term, field.Name, prev)
		}
		seen[field.ID] = term
		f.SourceIDs = []int{field.ID}
		fields = append(fields, f)
	}
	// The id is assigned when the order is committed (ReplaceSortOrder).
	order, err := table.NewSortOrder(1, fields)
	if err != nil {
		return table.SortOrder{}, fmt.Errorf("%w: SORTED BY (%s): %w", ErrInvalidArgument, text, err)
	}
	return order, nil
}

// sortable reports a column type writers can sort by.
func sortable(t iceberg.Type) bool {
	switch t.(type) {
	case iceberg.BooleanType, iceberg.Int32Type, iceberg.Int64Type, iceberg.Float32Type, iceberg.Float64Type,
		iceberg.DecimalType, iceberg.DateType, iceberg.TimeType, iceberg.TimestampType, iceberg.TimestampTzType,
		iceberg.TimestampNsType, iceberg.TimestampTzNsType, iceberg.StringType, iceberg.BinaryType, iceberg.FixedType,
		iceberg.UUIDType:
		return true
	}
	return false
}

// SortOrderClause renders order as the inside of a SORTED BY clause, the
// form ParseSortOrder reads ("" for the unsorted order). A field of
// another engine's order that is not a plain column shows its transform,
// as in day(ts).
func SortOrderClause(order table.SortOrder, sc *iceberg.Schema) string {
	var parts []string
	for _, f := range order.Fields() {
		col, _ := sc.FindColumnName(f.SourceID())
		if _, ok := f.Transform.(iceberg.IdentityTransform); !ok {
			col = f.Transform.String() + "(" + col + ")"
		}
		if f.Direction == table.SortDESC {
			col += " DESC"
		}
		if f.NullOrder == table.NullsFirst {
			col += " NULLS FIRST"
		}
		parts = append(parts, col)
	}
	return strings.Join(parts, ", ")
}

// SetSortOrder stages the table's new sort order (ALTER TABLE … SET SORTED
// BY): clause's columns, or unsorted for "". Files already written keep
// the order they were written with.
func (t *Txn) SetSortOrder(clause string) error {
	st, err := t.tx.StagedTable()
	if err != nil {
		return err
	}
	order, err := ParseSortOrder(clause, st.Schema())
	if err != nil {
		return fmt.Errorf("table %s: %w", t.id, err)
	}
	if err := t.tx.ReplaceSortOrder(order); err != nil {
		return fmt.Errorf("%w: sorting %s: %w", ErrInvalidArgument, t.id, err)
	}
	return nil
}

// setSortOrder commits the sort order clause as the table's own (the
// PropSortOrder property).
func (c *Catalog) setSortOrder(ctx context.Context, id Ident, clause string) error {
	return c.commitMetadata(ctx, id, func(md table.Metadata) ([]table.Update, []table.Requirement, error) {
		order, err := ParseSortOrder(clause, md.CurrentSchema())
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: %w", id, err)
		}
		cur := md.SortOrder()
		if sameSortOrder(cur, order) {
			return nil, nil, nil
		}
		reqs := []table.Requirement{table.AssertDefaultSortOrderID(md.DefaultSortOrder())}
		// An order the table had before is made the default again by its
		// id: Java's catalogs drop an added order equal to a known one, and
		// then refuse "the last added" (-1) as no order added.
		for _, known := range md.SortOrders() {
			if sameSortOrder(known, order) {
				return []table.Update{table.NewSetDefaultSortOrderUpdate(known.OrderID())}, reqs, nil
			}
		}
		return []table.Update{table.NewAddSortOrderUpdate(&order), table.NewSetDefaultSortOrderUpdate(-1)}, reqs, nil
	})
}

func sameSortOrder(a, b table.SortOrder) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := range a.Len() {
		if !a.Field(i).Equals(b.Field(i)) {
			return false
		}
	}
	return true
}

// sortKeysOf is how writers sort rows of schema sc (whose top-level
// columns are the written batches' columns, in order) for order; ok is
// false for the unsorted order, and for an order writers cannot honour
// exactly (a bucket or void transform, a nested source column): files are
// then written unsorted and claim no order.
func sortKeysOf(order table.SortOrder, sc *iceberg.Schema) (keys []compute.SortKey, ok bool) {
	if order.IsUnsorted() {
		return nil, false
	}
	fields := sc.Fields()
	last := order.Len() - 1
	for i, f := range order.Fields() {
		switch f.Transform.(type) {
		case iceberg.IdentityTransform:
		case iceberg.YearTransform, iceberg.MonthTransform, iceberg.DayTransform, iceberg.HourTransform, iceberg.TruncateTransform:
			// These keep order: rows sorted by the source column are sorted
			// by the transformed value too, but ties of the transformed
			// value are then not sorted by the fields after it. So only
			// the last field may be one.
			if i != last {
				return nil, false
			}
		default:
			return nil, false
		}
		if len(f.SourceIDs) != 1 {
			return nil, false
		}
		idx := -1
		for i, c := range fields {
			if c.ID == f.SourceID() {
				idx = i
			}
		}
		if idx < 0 || !sortable(fields[idx].Type) {
			return nil, false
		}
		k := compute.SortKey{ColumnIndex: idx, Order: compute.SortOrderAscending, NullPlacement: compute.SortNullsAtEnd}
		if f.Direction == table.SortDESC {
			k.Order = compute.SortOrderDescending
		}
		if f.NullOrder == table.NullsFirst {
			k.NullPlacement = compute.SortNullsAtStart
		}
		keys = append(keys, k)
	}
	return keys, true
}

// sortedRuns reads its source in runs of at most limit bytes, and gives
// each run's rows sorted by keys, in batches of at most sortBatchRows;
// runEnded tells, after each batch, whether it was its run's last.
type sortedRuns struct {
	src    array.RecordReader
	schema *arrow.Schema
	keys   []compute.SortKey
	limit  int64
	ctx    context.Context

	out  []arrow.RecordBatch // the current run's batches still to give
	cur  arrow.RecordBatch
	last bool
	err  error
}

const sortBatchRows = 64 << 10

func newSortedRuns(ctx context.Context, src array.RecordReader, schema *arrow.Schema, keys []compute.SortKey, limit int64) *sortedRuns {
	return &sortedRuns{src: src, schema: schema, keys: keys, limit: limit, ctx: ctx}
}

func (r *sortedRuns) Schema() *arrow.Schema { return r.schema }

func (r *sortedRuns) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if len(r.out) == 0 && (r.err != nil || !r.fill()) {
		return false
	}
	r.cur, r.out = r.out[0], r.out[1:]
	r.last = len(r.out) == 0
	return true
}

// runEnded reports whether the batch Next gave last ended its run.
func (r *sortedRuns) runEnded() bool { return r.cur != nil && r.last }

func (r *sortedRuns) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch, for the RecordReader interface.
func (r *sortedRuns) Record() arrow.RecordBatch { return r.cur }

// Retain and Release do nothing: writeData owns the reader and frees it
// with release.
func (r *sortedRuns) Retain()  {}
func (r *sortedRuns) Release() {}

func (r *sortedRuns) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.src.Err()
}

func (r *sortedRuns) release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for _, b := range r.out {
		b.Release()
	}
	r.out = nil
}

// fill reads the next run and sorts it into r.out; false at the end of the
// source or on error.
func (r *sortedRuns) fill() bool {
	var run []arrow.RecordBatch
	defer func() {
		for _, b := range run {
			b.Release()
		}
	}()
	var size int64
	for size < r.limit && r.src.Next() {
		rec := r.src.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		b := array.NewRecordBatch(r.schema, rec.Columns(), rec.NumRows())
		run = append(run, b)
		size += arrowbytes.Batch(b)
	}
	if len(run) == 0 {
		return false
	}
	all, err := concatBatches(r.schema, run)
	if err != nil {
		r.err = err
		return false
	}
	for _, b := range run {
		b.Release()
	}
	run = nil
	defer all.Release()
	idx, err := compute.SortIndicesRecordBatch(r.ctx, all, r.keys)
	if err != nil {
		r.err = fmt.Errorf("sorting rows: %w", err)
		return false
	}
	defer idx.Release()
	out, err := compute.Take(r.ctx, *compute.DefaultTakeOptions(), compute.NewDatumWithoutOwning(all), compute.NewDatumWithoutOwning(idx))
	if err != nil {
		r.err = fmt.Errorf("sorting rows: %w", err)
		return false
	}
	sorted := out.(*compute.RecordDatum).Value
	for off := int64(0); off < sorted.NumRows(); off += sortBatchRows {
		r.out = append(r.out, sorted.NewSlice(off, min(off+sortBatchRows, sorted.NumRows())))
	}
	out.Release()
	return true
}

// withSortOrder is md's properties with PropSortOrder showing its sort
// order, when it has one.
func withSortOrder(props map[string]string, md table.Metadata) map[string]string {
	if order := md.SortOrder(); !order.IsUnsorted() {
		props[PropSortOrder] = SortOrderClause(order, md.CurrentSchema())
	}
	return props
}
