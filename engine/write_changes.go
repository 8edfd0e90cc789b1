//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// changes is what one write statement does to its table: rows to add (in
// the table's Arrow schema) and rows to remove, by data file and position.
type changes struct {
	rows     []arrow.RecordBatch
	deletes  []catalog.PositionDeletes
	affected int64
}

func (c *changes) release() { releaseAll(c.rows) }

// collectChanges reads the RETURNING rows of a write run on the stand-in.
// Their layout depends on the statement: INSERT returns the new rows;
// UPDATE the new rows and the identity of the rows they replace; DELETE
// the identities; MERGE the action, the row and the identity (NULL for an
// inserted row).
func collectChanges(ctx context.Context, p *writePlan, base *catalog.TableState, target *arrow.Schema, out []arrow.RecordBatch) (*changes, error) {
	n := target.NumFields()
	rowsAt, identAt := 0, -1
	switch p.stmt.Kind {
	case writeUpdate:
		identAt = n
	case writeDelete:
		rowsAt, identAt = -1, 0
	case writeMerge:
		rowsAt, identAt = 1, n+1
	}
	ch := &changes{}
	dels := map[int32][]int64{}       // by index in base.DataFiles (viewSQLWith)
	var seen map[int32]map[int64]bool // MERGE: a target row may be changed once
	if p.stmt.Kind == writeMerge {
		seen = map[int32]map[int64]bool{}
	}
	ctx = compute.WithAllocator(ctx, memory.DefaultAllocator)
	for _, rec := range out {
		ch.affected += rec.NumRows()
		var action func(int) string
		if p.stmt.Kind == writeMerge {
			action = stringsOf(rec.Column(0))
		}
		if identAt >= 0 {
			files, fok := rec.Column(identAt).(*array.Int32)
			ints, pok := rec.Column(identAt + 1).(*array.Int64)
			if !fok || !pok {
				ch.release()
				return nil, fmt.Errorf("%s %s: row identities came back as %s, %s: %w", p.stmt.Kind, p.id,
					rec.Column(identAt).DataType(), rec.Column(identAt+1).DataType(), ErrInternal)
			}
			for r := 0; r < int(rec.NumRows()); r++ {
				if action != nil && action(r) == "INSERT" {
					continue
				}
				f, at := files.Value(r), ints.Value(r)
				if f < 0 || int(f) >= len(base.DataFiles) {
					ch.release()
					return nil, fmt.Errorf("%s %s: row identity names file %d of %d: %w", p.stmt.Kind, p.id, f, len(base.DataFiles), ErrInternal)
				}
				if seen != nil {
					if seen[f] == nil {
						seen[f] = map[int64]bool{}
					}
					if seen[f][at] {
						ch.release()
						return nil, newError(ErrInvalidSQL, fmt.Sprintf("MERGE INTO %s: several source rows match the same target row "+
							"(row %d of %s); make the ON condition match at most one source row per target row", p.id, at, base.DataFiles[f].Location))
					}
					seen[f][at] = true
				}
				dels[f] = append(dels[f], at)
			}
		}
		if rowsAt < 0 {
			continue
		}
		var keep func(int) bool
		if action != nil {
			keep = func(r int) bool { return action(r) != "DELETE" }
		}
		batch, err := conformRows(ctx, rec, rowsAt, target, keep)
		if err != nil {
			ch.release()
			return nil, fmt.Errorf("%s %s: %w", p.stmt.Kind, p.id, err)
		}
		if batch != nil {
			ch.rows = append(ch.rows, batch)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(dels)) {
		ch.deletes = append(ch.deletes, catalog.PositionDeletes{DataFile: base.DataFiles[f].Location, Positions: dels[f]})
	}
	return ch, nil
}

// conformRows takes the target's columns of rec (starting at column from),
// keeps the rows keep accepts (all when keep is nil), and casts each column
// to the table's type. nil when no row is kept.
func conformRows(ctx context.Context, rec arrow.RecordBatch, from int, target *arrow.Schema, keep func(int) bool) (arrow.RecordBatch, error) {
	n := target.NumFields()
	cols := make([]arrow.Array, n)
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var mask arrow.Array
	if keep != nil {
		b := array.NewBooleanBuilder(memory.DefaultAllocator)
		kept := 0
		for r := 0; r < int(rec.NumRows()); r++ {
			k := keep(r)
			b.Append(k)
			if k {
				kept++
			}
		}
		mask = b.NewArray()
		b.Release()
		defer mask.Release()
		if kept == 0 {
			return nil, nil
		}
		if kept == int(rec.NumRows()) {
			mask.Release()
			mask = nil
		}
	}
	rows := rec.NumRows()
	for i, f := range target.Fields() {
		col := rec.Column(from + i)
		col.Retain()
		if mask != nil {
			kept, err := compute.FilterArray(ctx, col, mask, *compute.DefaultFilterOptions())
			col.Release()
			if err != nil {
				return nil, err
			}
			col = kept
		}
		if !arrow.TypeEqual(col.DataType(), f.Type) {
			cast, err := compute.CastArray(ctx, col, compute.SafeCastOptions(f.Type))
			col.Release()
			if err != nil {
				return nil, fmt.Errorf("column %s: cannot store %s as %s: %w", f.Name, col.DataType(), f.Type, err)
			}
			col = cast
		}
		if !f.Nullable && col.NullN() > 0 {
			col.Release()
			return nil, newError(ErrConstraint, fmt.Sprintf("column %s is required (NOT NULL) but %d new rows have no value", f.Name, col.NullN()))
		}
		cols[i] = col
		rows = int64(col.Len())
	}
	return array.NewRecordBatch(target, cols, rows), nil
}

// stringsOf reads a string column (any Arrow string layout) by row.
func stringsOf(a arrow.Array) func(int) string {
	switch a := a.(type) {
	case *array.String:
		return a.Value
	case *array.LargeString:
		return a.Value
	case *array.StringView:
		return a.Value
	}
	return func(r int) string { return a.ValueStr(r) }
}
