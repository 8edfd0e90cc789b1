package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
)

// Copy-on-write. A row-level write to a table whose write.<op>.mode is
// copy-on-write rewrites every data file it touches instead of adding
// position-delete files: the engine reads each touched file's surviving
// rows, and Replace commits them (with the statement's new rows) as one
// "overwrite" snapshot that removes the old files, and the position-delete
// files that applied only to them. Readers then pay nothing for the
// deletes; the writer pays for rewriting whole files.

// Write-mode properties, as Iceberg names them, and their values.
const (
	PropDeleteMode = "write.delete.mode"
	PropUpdateMode = "write.update.mode"
	PropMergeMode  = "write.merge.mode"

	ModeCopyOnWrite = "copy-on-write"
	ModeMergeOnRead = "merge-on-read"
)

// Replace stages one copy-on-write change, which Commit makes one snapshot:
// the data files of the Txn's base snapshot at the locations in replaced
// are removed, with every position-delete file that names one of them as
// its referenced data file, and rows (nil allowed; its schema must be
// ArrowSchema's) become new data files: the survivors of the removed files
// and the statement's new rows. Like Delta, it pins main to the base
// snapshot, so a writer that commits first makes Commit fail with
// ErrConflict. The reader is consumed, not released.
func (t *Txn) Replace(ctx context.Context, rows array.RecordReader, replaced []string, summary map[string]string, writers int) error {
	if len(replaced) == 0 {
		return t.Delta(ctx, rows, nil, summary, writers)
	}
	dataFiles, delFiles, err := t.replacedFiles(ctx, replaced)
	if err != nil {
		return fmt.Errorf("rewriting files of %s: %w", t.id, err)
	}
	return t.replace(ctx, rows, dataFiles, delFiles, summary, writers)
}

// replace writes rows as data files and stages one snapshot that adds them
// and removes dataFiles and delFiles, pinned to the base snapshot.
func (t *Txn) replace(ctx context.Context, rows array.RecordReader, dataFiles, delFiles []iceberg.DataFile, summary map[string]string, writers int) error {
	w, files, err := t.writeRows(ctx, rows, writers)
	if err != nil {
		return err
	}
	if err := t.pinMain(); err != nil {
		w.remove(files)
		return fmt.Errorf("staging changes of %s: %w", t.id, err)
	}
	t.staged = true
	if err := t.tx.ReplaceFiles(ctx, dataFiles, files, delFiles, iceberg.Properties(summary)); err != nil {
		w.remove(files)
		return fmt.Errorf("staging changes of %s: %w", t.id, err)
	}
	t.orphans = append(t.orphans, func() { w.remove(files) })
	return nil
}

// ReplaceAll stages a snapshot that holds only rows (nil: no rows): every
// data file and every delete file of the base snapshot leaves the table.
// On a table without a snapshot it is an append. The reader is consumed,
// not released.
func (t *Txn) ReplaceAll(ctx context.Context, rows array.RecordReader, summary map[string]string, writers int) error {
	snap := t.tbl.CurrentSnapshot()
	if snap == nil {
		return t.Delta(ctx, rows, nil, summary, writers)
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		return err
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return fmt.Errorf("listing files of %s: %w", t.id, err)
	}
	var data, deletes []iceberg.DataFile
	for _, m := range manifests {
		for e, err := range m.Entries(fs, true) {
			if err != nil {
				return fmt.Errorf("listing files of %s: %w", t.id, err)
			}
			if df := e.DataFile(); df.ContentType() == iceberg.EntryContentData {
				data = append(data, df)
			} else {
				deletes = append(deletes, df)
			}
		}
	}
	return t.replace(ctx, rows, data, deletes, summary, writers)
}

// replacedFiles finds, among the live entries of the base snapshot, the
// data files at the given locations (each must be there) and the
// position-delete files that reference one of them.
func (t *Txn) replacedFiles(ctx context.Context, locations []string) (data, deletes []iceberg.DataFile, err error) {
	snap := t.tbl.CurrentSnapshot()
	if snap == nil {
		return nil, nil, fmt.Errorf("%w: the table has no snapshot", ErrInvalidArgument)
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		return nil, nil, err
	}
	want := make(map[string]bool, len(locations))
	for _, l := range locations {
		want[l] = true
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return nil, nil, err
	}
	found := map[string]bool{}
	for _, m := range manifests {
		for e, err := range m.Entries(fs, true) {
			if err != nil {
				return nil, nil, err
			}
			df := e.DataFile()
			switch df.ContentType() {
			case iceberg.EntryContentData:
				if want[df.FilePath()] && !found[df.FilePath()] {
					found[df.FilePath()] = true
					data = append(data, df)
				}
			case iceberg.EntryContentPosDeletes:
				if ref, ok := onlyDataFile(df); ok && want[ref] {
					deletes = append(deletes, df)
				}
			}
		}
	}
	if len(found) != len(want) {
		for _, l := range slices.Sorted(maps.Keys(want)) {
			if !found[l] {
				return nil, nil, fmt.Errorf("%w: data file %q is not in snapshot %d", ErrInvalidArgument, l, snap.SnapshotID)
			}
		}
	}
	return data, deletes, nil
}

// onlyDataFile is the one data file a position-delete file applies to: its
// referenced_data_file, or else the file_path column's bounds when both are
// that one location (iceberg-go keeps referenced_data_file out of format v2
// manifests, so lakeflight's own delete files are known by their bounds).
func onlyDataFile(df iceberg.DataFile) (string, bool) {
	if ref := df.ReferencedDataFile(); ref != nil {
		return *ref, true
	}
	pathID := iceberg.PositionalDeleteSchema.Fields()[0].ID
	lo, lok := df.LowerBoundValues()[pathID]
	hi, hok := df.UpperBoundValues()[pathID]
	if !lok || !hok || string(lo) != string(hi) {
		return "", false
	}
	return string(lo), true
}
