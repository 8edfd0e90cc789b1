package catalog

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Row-level writes. The engine works out, from the Txn's base snapshot
// (State), the rows an INSERT, DELETE, UPDATE or MERGE adds and the rows it
// removes, as (data file, row position) pairs; Delta stages both as one
// snapshot of new data files and position-delete files (merge-on-read: no
// data file is rewritten).
//
// Position deletes are valid only against the snapshot they were computed
// from, so a Txn that stages them pins the table's main branch to that
// snapshot: if another writer commits first, Commit fails with ErrConflict
// rather than let iceberg-go's retry loop replay the deletes onto the newer
// snapshot (two UPDATEs of one row would both "succeed" and leave two
// copies of it). Appends keep being replayed.

// PositionDeletes lists rows to delete from one data file of the Txn's base
// snapshot.
type PositionDeletes struct {
	DataFile  string  // the data file's Location (as in TableState.DataFiles[i].Location)
	Positions []int64 // 0-based row positions in that file; any order, duplicates allowed
}

// BaseSnapshot is the snapshot id the Txn started from (0: the table had
// none).
func (t *Txn) BaseSnapshot() int64 {
	if s := t.tbl.CurrentSnapshot(); s != nil {
		return s.SnapshotID
	}
	return 0
}

// State is the TableState of the Txn's base snapshot: what a statement must
// compute its changes from. It is planned once per Txn and shared; callers
// must not modify it.
func (t *Txn) State(ctx context.Context) (*TableState, error) {
	if t.base == nil {
		st, err := t.c.currentState(ctx, t.id, t.tbl)
		if err != nil {
			return nil, err
		}
		t.base = st
	}
	return t.base, nil
}

// Delta stages one row-level change, which Commit makes one snapshot: rows
// (nil allowed; its schema must be ArrowSchema's) become data files written
// by writers goroutines as in AppendParallel, deletes become one
// position-delete file per data file. The snapshot's operation is
// "overwrite" for rows and deletes, "delete" for deletes only, "append" for
// rows only; summary entries go into its summary. With neither rows nor
// deletes Delta stages nothing (and Commit returns the base snapshot). The
// reader is consumed, not released.
func (t *Txn) Delta(ctx context.Context, rows array.RecordReader, deletes []PositionDeletes, summary map[string]string, writers int) error {
	dels, err := t.planDeletes(ctx, deletes)
	if err != nil {
		return fmt.Errorf("deleting from %s: %w", t.id, err)
	}
	if rows == nil && len(dels) == 0 {
		return nil
	}
	w, files, err := t.writeRows(ctx, rows, writers)
	if err != nil {
		return err
	}
	if len(files) == 0 && len(dels) == 0 {
		return nil
	}
	delFiles, err := w.writeDeletes(ctx, dels, writers)
	if err != nil {
		w.remove(files)
		return fmt.Errorf("writing deletes of %s: %w", t.id, err)
	}
	written := func() { w.remove(files); w.remove(delFiles) }
	if err := t.stageDelta(ctx, files, delFiles, summary); err != nil {
		written()
		return fmt.Errorf("staging changes of %s: %w", t.id, err)
	}
	t.orphans = append(t.orphans, written)
	return nil
}

// stageDelta adds the files to the Txn as one snapshot.
func (t *Txn) stageDelta(ctx context.Context, files, delFiles []iceberg.DataFile, summary map[string]string) error {
	if len(delFiles) > 0 {
		if err := t.pinMain(); err != nil {
			return err
		}
	}
	t.staged = true
	return t.tx.NewRowDelta(iceberg.Properties(summary)).AddRows(files...).AddDeletes(delFiles...).Commit(ctx)
}

// pinMain makes Commit fail with ErrConflict if another writer moved main
// since the base snapshot: iceberg-go never rewrites an explicit ref
// assertion when it retries.
func (t *Txn) pinMain() error {
	if t.pinned {
		return nil
	}
	if err := t.tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		return err
	}
	t.pinned = true
	return nil
}

// writeRows writes rows (nil allowed; writeData checks they have the
// table's columns) as data files by writers goroutines, not yet staged.
func (t *Txn) writeRows(ctx context.Context, rows array.RecordReader, writers int) (*target, []iceberg.DataFile, error) {
	w, err := t.target(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("writing to %s: %w", t.id, err)
	}
	if rows == nil {
		return w, nil, nil
	}
	files, err := w.writeData(ctx, rows, writers)
	if err != nil {
		return nil, nil, fmt.Errorf("writing to %s: %w", t.id, err)
	}
	return w, files, nil
}

// planDeletes checks deletes against the base snapshot and gathers them into
// sorted, distinct positions per data file, ordered by data file.
func (t *Txn) planDeletes(ctx context.Context, deletes []PositionDeletes) ([]posDeletes, error) {
	if len(deletes) == 0 {
		return nil, nil
	}
	st, err := t.State(ctx)
	if err != nil {
		return nil, err
	}
	rows := make(map[string]int64, len(st.DataFiles))
	for _, f := range st.DataFiles {
		rows[f.Location] = f.RecordCount
	}
	byFile := map[string][]int64{}
	for _, d := range deletes {
		if len(d.Positions) == 0 {
			continue
		}
		n, ok := rows[d.DataFile]
		if !ok {
			return nil, fmt.Errorf("%w: data file %q is not in snapshot %d", ErrInvalidArgument, d.DataFile, st.SnapshotID)
		}
		for _, p := range d.Positions {
			if p < 0 || p >= n {
				return nil, fmt.Errorf("%w: position %d of data file %q, which has %d rows", ErrInvalidArgument, p, d.DataFile, n)
			}
		}
		byFile[d.DataFile] = append(byFile[d.DataFile], d.Positions...)
	}
	parts, err := t.partitionsOf(ctx, st.SnapshotID)
	if err != nil {
		return nil, err
	}
	out := make([]posDeletes, 0, len(byFile))
	for f, pos := range byFile {
		slices.Sort(pos)
		d := posDeletes{dataFile: f, pos: slices.Compact(pos)}
		if parts != nil {
			part, ok := parts[f]
			if !ok {
				return nil, fmt.Errorf("%w: data file %q has no partition in snapshot %d", ErrInvalidArgument, f, st.SnapshotID)
			}
			d.part = &part
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b posDeletes) int { return cmp.Compare(a.dataFile, b.dataFile) })
	return out, nil
}

// partitionsOf maps each data file of snapshot snap to its spec and
// partition, for a table that has ever had a partitioned spec; nil for one
// that never had (its delete files are unpartitioned too). It plans the
// snapshot with iceberg-go, which reads the partitions lakeflight's own
// planner skips.
func (t *Txn) partitionsOf(ctx context.Context, snap int64) (map[string]filePartition, error) {
	md := t.tbl.Metadata()
	partitioned := false
	for _, spec := range md.PartitionSpecs() {
		partitioned = partitioned || !spec.IsUnpartitioned()
	}
	if !partitioned {
		return nil, nil
	}
	scan := t.tbl.Scan(table.WithSnapshotID(snap))
	defer func() { _ = scan.Close() }()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("planning the partitions of %s: %w", t.id, err)
	}
	out := make(map[string]filePartition, len(tasks))
	for _, task := range tasks {
		spec := md.PartitionSpecByID(int(task.File.SpecID()))
		if spec == nil {
			return nil, fmt.Errorf("%w: data file %q names partition spec %d, which the table does not have", table.ErrInvalidMetadata, task.File.FilePath(), task.File.SpecID())
		}
		out[task.File.FilePath()] = filePartition{spec: *spec, values: task.File.Partition()}
	}
	return out, nil
}
