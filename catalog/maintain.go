package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/apache/iceberg-go/table"
)

// Table maintenance: snapshot expiry and orphan-file removal, each with a
// report of what the table's directory held before and after.

// DefaultOrphanAge is how old a file no metadata references must be before
// orphan removal deletes it: a file that young may belong to a write that
// has not committed yet (an ingest streams its files before its commit).
const DefaultOrphanAge = 72 * time.Hour

// MinOrphanAge is the shortest window orphan removal accepts.
const MinOrphanAge = time.Hour

// MaintenanceReport says what one maintenance action did to a table.
type MaintenanceReport struct {
	Table           string   `json:"table"`
	Action          string   `json:"action"` // expire_snapshots, remove_orphan_files
	DryRun          bool     `json:"dry_run,omitempty"`
	SnapshotsBefore int      `json:"snapshots_before"`
	SnapshotsAfter  int      `json:"snapshots_after"`
	FilesBefore     int      `json:"files_before"` // every file under the table's location
	FilesAfter      int      `json:"files_after"`
	BytesBefore     int64    `json:"bytes_before"`
	BytesAfter      int64    `json:"bytes_after"`
	Orphans         []string `json:"orphans,omitempty"` // remove_orphan_files: the files found (deleted unless a dry run)
	OrphanBytes     int64    `json:"orphan_bytes,omitempty"`
	Seconds         float64  `json:"seconds"`
}

// ExpireOptions say which snapshots expiry keeps besides the current one
// and every tagged or branch-head one: the last RetainLast of main's
// history (at least 1) and those newer than OlderThan.
type ExpireOptions struct {
	OlderThan  time.Duration
	RetainLast int
}

// ExpireSnapshots removes the snapshots o does not keep, then the
// manifests, manifest lists and data files only they used. Time travel to
// an expired snapshot then fails with ErrNoSuchSnapshot; the current
// snapshot, tags and branches never lose a file. A commit that lands
// meanwhile makes it retry on the new state.
func (c *Catalog) ExpireSnapshots(ctx context.Context, id Ident, o ExpireOptions) (MaintenanceReport, error) {
	if o.RetainLast < 1 {
		return MaintenanceReport{}, fmt.Errorf("%w: expiring snapshots of %s: retain_last is %d; at least the current snapshot stays (1)", ErrInvalidArgument, id, o.RetainLast)
	}
	if o.OlderThan < 0 {
		return MaintenanceReport{}, fmt.Errorf("%w: expiring snapshots of %s: older_than %s is negative", ErrInvalidArgument, id, o.OlderThan)
	}
	return c.maintain(ctx, id, "expire_snapshots", func(rep *MaintenanceReport) error {
		const attempts = 4
		var err error
		for range attempts {
			var txn *Txn
			if txn, err = c.Begin(ctx, id); err != nil {
				return err
			}
			if err = txn.tx.ExpireSnapshots(table.WithOlderThan(o.OlderThan), table.WithRetainLast(o.RetainLast)); err != nil {
				txn.Abort()
				return fmt.Errorf("expiring snapshots of %s: %w", id, err)
			}
			txn.staged = true
			if _, err = txn.Commit(ctx); err == nil || !errors.Is(err, table.ErrCommitFailed) {
				return err
			}
		}
		return err
	})
}

// RemoveOrphanFiles deletes the files under the table's location that no
// metadata of the table references (data, delete, manifest, metadata
// files) and that are older than olderThan (at least MinOrphanAge); with
// dryRun it only lists them.
func (c *Catalog) RemoveOrphanFiles(ctx context.Context, id Ident, olderThan time.Duration, dryRun bool) (MaintenanceReport, error) {
	if olderThan < MinOrphanAge {
		return MaintenanceReport{}, fmt.Errorf("%w: removing orphan files of %s: older_than %s is under %s; a younger file may belong to a write that has not committed yet",
			ErrInvalidArgument, id, olderThan, MinOrphanAge)
	}
	return c.maintain(ctx, id, "remove_orphan_files", func(rep *MaintenanceReport) error {
		tbl, err := c.LoadTable(ctx, id)
		if err != nil {
			return err
		}
		res, err := tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(olderThan), table.WithDryRun(dryRun))
		if err != nil {
			return fmt.Errorf("removing orphan files of %s: %w", id, err)
		}
		rep.DryRun = dryRun
		rep.Orphans, rep.OrphanBytes = res.OrphanFileLocations, res.TotalSizeBytes
		return nil
	})
}

// maintain runs one action on a table and reports the table's snapshots
// and files before and after it.
func (c *Catalog) maintain(ctx context.Context, id Ident, action string, run func(*MaintenanceReport) error) (MaintenanceReport, error) {
	start := time.Now()
	rep := MaintenanceReport{Table: id.String(), Action: action}
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return rep, err
	}
	dir := LocalPath(tbl.Location())
	rep.SnapshotsBefore = len(tbl.Metadata().Snapshots())
	if rep.FilesBefore, rep.BytesBefore, err = dirUsage(dir); err != nil {
		return rep, err
	}
	if err := run(&rep); err != nil {
		return rep, err
	}
	if tbl, err = c.LoadTable(ctx, id); err != nil {
		return rep, err
	}
	rep.SnapshotsAfter = len(tbl.Metadata().Snapshots())
	if rep.FilesAfter, rep.BytesAfter, err = dirUsage(dir); err != nil {
		return rep, err
	}
	rep.Seconds = time.Since(start).Seconds()
	c.log.Info("table maintained", "table", rep.Table, "action", action, "dry_run", rep.DryRun,
		"snapshots_before", rep.SnapshotsBefore, "snapshots_after", rep.SnapshotsAfter,
		"files_before", rep.FilesBefore, "files_after", rep.FilesAfter, "bytes_before", rep.BytesBefore, "bytes_after", rep.BytesAfter,
		"orphans", len(rep.Orphans), "duration", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// dirUsage counts the files under dir and their bytes.
func dirUsage(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			files++
			bytes += info.Size()
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return files, bytes, err
}
