package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// compactAttempts bounds the commits one compaction tries when other
// writers keep appending.
const compactAttempts = 8

// errOutcomeUnknown: a commit failed in a way that does not say whether
// the catalog took it.
var errOutcomeUnknown = errors.New("the commit's outcome is unknown")

// Compact replaces the data files at the locations in replaced, as
// snapshot base had them, and the position-delete files that apply to
// them, with rows (their surviving rows, which it writes once). Unlike
// Replace it is not left to fail when another writer commits first: if
// every snapshot committed since base only appended (added data files,
// removed none, added no delete files), the replaced files and their rows
// are unchanged, and it stages the same replacement on the newer snapshot
// and commits again. Anything else fails with ErrConflict and leaves no
// file behind. It returns the snapshot it committed.
func (c *Catalog) Compact(ctx context.Context, id Ident, base int64, rows array.RecordReader, replaced []string, summary map[string]string, writers int) (int64, error) {
	txn, err := c.Begin(ctx, id)
	if err != nil {
		return 0, err
	}
	if err := appendsOnlySince(txn.tbl, base); err != nil {
		txn.Abort()
		return 0, fmt.Errorf("compacting %s: %w", id, err)
	}
	w, files, err := txn.writeRows(ctx, rows, writers)
	if err != nil {
		txn.Abort()
		return 0, err
	}
	txn.committing = true // the new files outlive this Txn: removed below on failure
	for attempt := 1; ; attempt++ {
		snap, err := txn.stageCompaction(ctx, files, replaced, summary)
		if err == nil {
			return snap, nil
		}
		if !errors.Is(err, table.ErrCommitFailed) || attempt == compactAttempts {
			// A commit whose outcome is unknown (the catalog went away
			// mid-way) may reference the files: leave them to orphan removal.
			if !errors.Is(err, errOutcomeUnknown) {
				w.remove(files)
			}
			return 0, fmt.Errorf("compacting %s: %w", id, err)
		}
		if txn, err = c.Begin(ctx, id); err != nil {
			w.remove(files)
			return 0, err
		}
		txn.committing = true
		if err := appendsOnlySince(txn.tbl, base); err != nil {
			txn.Abort()
			w.remove(files)
			return 0, fmt.Errorf("compacting %s: %w", id, err)
		}
	}
}

// stageCompaction stages the replacement on the Txn's base snapshot,
// pinned to it (so iceberg-go never rebases it unchecked), and commits.
func (t *Txn) stageCompaction(ctx context.Context, files []iceberg.DataFile, replaced []string, summary map[string]string) (int64, error) {
	defer t.unlock()
	dataFiles, delFiles, err := t.replacedFiles(ctx, replaced)
	if errors.Is(err, ErrInvalidArgument) {
		// A file compacted is no longer in the table: another writer won.
		return 0, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	if err != nil {
		return 0, err
	}
	if err := t.tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		return 0, err
	}
	// A rewrite: a replace snapshot, the table's rows unchanged (readers
	// of its changes, such as Spark's streaming reads, skip it).
	rw := t.tx.NewRewrite(iceberg.Properties(summary))
	for _, f := range dataFiles {
		rw.DeleteFile(f)
	}
	for _, f := range delFiles {
		rw.DeleteFile(f)
	}
	for _, f := range files {
		rw.AddDataFile(f)
	}
	if err := rw.Commit(ctx); err != nil {
		return 0, err
	}
	committed, err := t.tx.Commit(ctx)
	if err != nil && !errors.Is(err, table.ErrCommitFailed) {
		return 0, fmt.Errorf("%w: %w", errOutcomeUnknown, err)
	}
	if err != nil {
		return 0, err
	}
	var snap int64
	if s := committed.CurrentSnapshot(); s != nil {
		snap = s.SnapshotID
	}
	return snap, nil
}

// appendsOnlySince checks that every snapshot of main after base (base
// included in main's history) only appended data files: then files base
// had are unchanged, with the same deletes.
func appendsOnlySince(tbl *table.Table, base int64) error {
	cur := tbl.CurrentSnapshot()
	for cur != nil && cur.SnapshotID != base {
		s := cur.Summary
		if s == nil || s.Operation != table.OpAppend || s.Properties.GetInt("added-delete-files", 0) > 0 ||
			s.Properties.GetInt("deleted-data-files", 0) > 0 {
			op := "unknown"
			if s != nil {
				op = string(s.Operation)
			}
			return fmt.Errorf("%w: snapshot %d (%s) changed the table after snapshot %d, which the compaction read", ErrConflict, cur.SnapshotID, op, base)
		}
		if cur.ParentSnapshotID == nil {
			return fmt.Errorf("%w: snapshot %d, which the compaction read, is no longer in the table's history", ErrConflict, base)
		}
		cur = tbl.SnapshotByID(*cur.ParentSnapshotID)
	}
	if cur == nil {
		return fmt.Errorf("%w: snapshot %d, which the compaction read, is no longer in the table's history", ErrConflict, base)
	}
	return nil
}
