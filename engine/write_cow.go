//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"

	"github.com/lakeflight/lakeflight/catalog"
)

// Copy-on-write. Iceberg's table properties write.delete.mode,
// write.update.mode and write.merge.mode choose how DELETE, UPDATE and
// MERGE remove rows. lakeflight's default is merge-on-read: position-delete
// files, cheap to write, applied by every reader. A table set to
// copy-on-write gets each data file the statement touches rewritten
// instead: the file's surviving rows are read back through DuckDB (with the
// deletes already committed applied), the statement's removed rows are left
// out, and catalog.Txn.Replace swaps the old file for the new one.

// copyOnWrite reports whether a statement of kind removes rows from a table
// with props by rewriting files.
func copyOnWrite(props iceberg.Properties, kind writeKind) bool {
	key := ""
	switch kind {
	case writeDelete:
		key = catalog.PropDeleteMode
	case writeUpdate:
		key = catalog.PropUpdateMode
	case writeMerge:
		key = catalog.PropMergeMode
	default:
		return false
	}
	return props[key] == catalog.ModeCopyOnWrite
}

// survivors reads the rows of the data files that ch deletes from, minus
// the rows ch deletes, in the table's Arrow schema: what replaces those
// files. It returns the batches and the files' locations.
func survivors(ctx context.Context, dc *dconn, base *catalog.TableState, ch *changes, target *arrow.Schema, norm string) ([]arrow.RecordBatch, []string, error) {
	index := make(map[string]int, len(base.DataFiles))
	for i, f := range base.DataFiles {
		index[f.Location] = i
	}
	touched := *base
	touched.DataFiles = make([]catalog.DataFile, 0, len(ch.deletes))
	gone := make([][]uint64, 0, len(ch.deletes)) // per touched file, a bit per row
	locations := make([]string, 0, len(ch.deletes))
	for _, d := range ch.deletes {
		i, ok := index[d.DataFile]
		if !ok {
			return nil, nil, fmt.Errorf("data file %s is not in snapshot %d: %w", d.DataFile, base.SnapshotID, ErrInternal)
		}
		rows := base.DataFiles[i].RecordCount
		set := make([]uint64, (rows+63)/64)
		for _, p := range d.Positions {
			if p < 0 || p >= rows {
				return nil, nil, fmt.Errorf("position %d of data file %s, which has %d rows: %w", p, d.DataFile, rows, ErrInternal)
			}
			set[p/64] |= 1 << (p % 64)
		}
		touched.DataFiles = append(touched.DataFiles, base.DataFiles[i])
		gone = append(gone, set)
		locations = append(locations, d.DataFile)
	}
	q, err := viewSQLWith(&touched, true, norm)
	if err != nil {
		return nil, nil, err
	}
	recs, _, err := queryRecords(ctx, dc, q)
	defer releaseAll(recs)
	if err != nil {
		return nil, nil, err
	}
	n := target.NumFields()
	var out []arrow.RecordBatch
	for _, rec := range recs {
		files, fok := rec.Column(n).(*array.Int32)
		pos, pok := rec.Column(n + 1).(*array.Int64)
		if !fok || !pok {
			releaseAll(out)
			return nil, nil, fmt.Errorf("row identities came back as %s, %s: %w", rec.Column(n).DataType(), rec.Column(n+1).DataType(), ErrInternal)
		}
		keep := func(r int) bool {
			p := pos.Value(r)
			return gone[files.Value(r)][p/64]&(1<<(p%64)) == 0
		}
		b, err := conformRows(ctx, rec, 0, target, keep)
		if err != nil {
			releaseAll(out)
			return nil, nil, err
		}
		if b != nil {
			out = append(out, b)
		}
	}
	return out, locations, nil
}
