package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
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
	Action          string   `json:"action"` // expire_snapshots, remove_orphan_files, compact, rewrite_manifests
	DryRun          bool     `json:"dry_run,omitempty"`
	SnapshotsBefore int      `json:"snapshots_before"`
	SnapshotsAfter  int      `json:"snapshots_after"`
	FilesBefore     int      `json:"files_before"` // every file under the table's location
	FilesAfter      int      `json:"files_after"`
	BytesBefore     int64    `json:"bytes_before"`
	BytesAfter      int64    `json:"bytes_after"`
	Orphans         []string `json:"orphans,omitempty"` // remove_orphan_files: the files found (deleted unless a dry run)
	OrphanBytes     int64    `json:"orphan_bytes,omitempty"`
	// compact: the current snapshot's data files before and after, the
	// files rewritten, the partitions they were in and the commits made;
	// the old files stay for older snapshots until expiry removes them.
	DataFilesBefore int `json:"data_files_before,omitempty"`
	DataFilesAfter  int `json:"data_files_after,omitempty"`
	Rewritten       int `json:"rewritten_files,omitempty"`
	Partitions      int `json:"partitions,omitempty"`
	Commits         int `json:"commits,omitempty"`
	Conflicts       int `json:"conflicts,omitempty"` // groups skipped because another writer changed their files first
	// rewrite_manifests: the manifests merged and the ones written.
	ManifestsRewritten int     `json:"manifests_rewritten,omitempty"`
	ManifestsAdded     int     `json:"manifests_added,omitempty"`
	Seconds            float64 `json:"seconds"`
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
	return c.Maintain(ctx, id, "expire_snapshots", func(rep *MaintenanceReport) error {
		before := 0
		err := c.commitRetrying(ctx, id, func(txn *Txn) error {
			before = len(txn.Table().Metadata().Snapshots())
			if err := txn.tx.ExpireSnapshots(table.WithOlderThan(o.OlderThan), table.WithRetainLast(o.RetainLast)); err != nil {
				return fmt.Errorf("expiring snapshots of %s: %w", id, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return c.dropMetadataLog(ctx, id, before)
	})
}

// commitRetrying stages change on a fresh Txn of table id and commits it,
// again on the newer state when another commit lands first (up to four
// times). change's own error ends it.
func (c *Catalog) commitRetrying(ctx context.Context, id Ident, change func(*Txn) error) error {
	var err error
	for range 4 {
		var txn *Txn
		if txn, err = c.Begin(ctx, id); err != nil {
			return err
		}
		if err = change(txn); err != nil {
			txn.Abort()
			return err
		}
		txn.staged = true
		if _, err = txn.Commit(ctx); err == nil || !errors.Is(err, table.ErrCommitFailed) {
			return err
		}
	}
	return err
}

// dropMetadataLog drops the table's earlier metadata files, which still
// list the snapshots expiry removed (whose files may be gone), when the
// table deletes metadata files its log no longer lists
// (write.metadata.delete-after-commit.enabled): one commit keeps only the
// newest earlier file, a second puts the table's own
// write.metadata.previous-versions-max back. Neither adds a snapshot.
// Nothing happens when the table has no fewer snapshots than before.
func (c *Catalog) dropMetadataLog(ctx context.Context, id Ident, before int) error {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return err
	}
	md := tbl.Metadata()
	if len(md.Snapshots()) >= before || len(slices.Collect(md.PreviousFiles())) <= 1 ||
		!md.Properties().GetBool(table.MetadataDeleteAfterCommitEnabledKey, table.MetadataDeleteAfterCommitEnabledDefault) {
		return nil
	}
	own, had := md.Properties()[table.MetadataPreviousVersionsMaxKey]
	if err := c.commitRetrying(ctx, id, func(txn *Txn) error {
		return txn.tx.SetProperties(iceberg.Properties{table.MetadataPreviousVersionsMaxKey: "1"})
	}); err != nil {
		return fmt.Errorf("dropping the earlier metadata files of %s: %w", id, err)
	}
	err = c.commitRetrying(ctx, id, func(txn *Txn) error {
		if had {
			return txn.tx.SetProperties(iceberg.Properties{table.MetadataPreviousVersionsMaxKey: own})
		}
		return txn.tx.RemoveProperties([]string{table.MetadataPreviousVersionsMaxKey})
	})
	if err != nil {
		return fmt.Errorf("restoring %s of %s (it is 1 now; set it again): %w", table.MetadataPreviousVersionsMaxKey, id, err)
	}
	return nil
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
	return c.Maintain(ctx, id, "remove_orphan_files", func(rep *MaintenanceReport) error {
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

// Maintain runs one action on a table and reports the table's snapshots
// and files before and after it (run adds what only it knows).
func (c *Catalog) Maintain(ctx context.Context, id Ident, action string, run func(*MaintenanceReport) error) (MaintenanceReport, error) {
	start := time.Now()
	rep := MaintenanceReport{Table: id.String(), Action: action}
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return rep, err
	}
	dir := tbl.Location()
	rep.SnapshotsBefore = len(tbl.Metadata().Snapshots())
	if rep.FilesBefore, rep.BytesBefore, err = c.dirUsage(ctx, dir); err != nil {
		return rep, err
	}
	if err := run(&rep); err != nil {
		return rep, err
	}
	if tbl, err = c.LoadTable(ctx, id); err != nil {
		return rep, err
	}
	rep.SnapshotsAfter = len(tbl.Metadata().Snapshots())
	if rep.FilesAfter, rep.BytesAfter, err = c.dirUsage(ctx, dir); err != nil {
		return rep, err
	}
	rep.Seconds = time.Since(start).Seconds()
	c.log.Info("table maintained", "table", rep.Table, "action", action, "dry_run", rep.DryRun,
		"snapshots_before", rep.SnapshotsBefore, "snapshots_after", rep.SnapshotsAfter,
		"files_before", rep.FilesBefore, "files_after", rep.FilesAfter, "bytes_before", rep.BytesBefore, "bytes_after", rep.BytesAfter,
		"orphans", len(rep.Orphans), "duration", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// dirUsage counts the files under the table location loc and their bytes:
// on local disk, or through the IO of an object-store warehouse.
func (c *Catalog) dirUsage(ctx context.Context, loc string) (files int, bytes int64, err error) {
	dir := LocalPath(loc)
	walk := filepath.WalkDir
	if dir == "" {
		fsys, err := iceio.LoadFS(ctx, c.ioProps(), loc)
		if err != nil {
			return 0, 0, err
		}
		lister, ok := fsys.(iceio.ListableIO)
		if !ok {
			return 0, 0, fmt.Errorf("%w: listing %s", ErrNotSupported, loc)
		}
		dir, walk = loc, lister.WalkDir
	}
	err = walk(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Objects walked through an object store's IO are irregular
		// entries, not regular files: whatever is no directory counts.
		if !d.IsDir() && (d.Type().IsRegular() || d.Type()&fs.ModeIrregular != 0) {
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

// FileGroup is the data files of one partition (one spec, one tuple of
// partition values) at a snapshot, with the delete files that apply to
// them: what compaction may rewrite together.
type FileGroup struct {
	SpecID      int32
	Partition   string // as FileInfo renders it, "{}" when unpartitioned
	DataFiles   []DataFile
	DeleteFiles []DataFile // position deletes of these data files
}

// FileGroups groups the current snapshot's data files by partition, in a
// stable order, and returns the snapshot's id and schema with them.
func (c *Catalog) FileGroups(ctx context.Context, id Ident) ([]FileGroup, *TableState, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	cur := tbl.CurrentSnapshot()
	if cur == nil {
		st, err := c.TableState(ctx, id)
		return nil, st, err
	}
	st, err := c.TableStateAt(ctx, id, cur.SnapshotID) // the snapshot tbl knows, however many land meanwhile
	if err != nil {
		return nil, nil, err
	}
	scan := tbl.Scan(table.WithSnapshotID(st.SnapshotID))
	defer func() { _ = scan.Close() }()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("planning the files of %s: %w", id, err)
	}
	r, err := newFileRenderer(tbl.Metadata(), tbl.Schema())
	if err != nil {
		return nil, nil, err
	}
	byKey := map[string]*FileGroup{}
	var order []string
	seenDel := map[string]bool{}
	for _, task := range tasks {
		df := task.File
		part := r.partition(df)
		key := fmt.Sprintf("%d/%s", df.SpecID(), part)
		g, ok := byKey[key]
		if !ok {
			g = &FileGroup{SpecID: df.SpecID(), Partition: part}
			byKey[key] = g
			order = append(order, key)
		}
		g.DataFiles = append(g.DataFiles, dataFileOf(df))
		// The rewrite reads deletes as Parquet (file_path, pos) rows: a file
		// with any other kind would come back with its deleted rows.
		others := append(slices.Clone(task.EqualityDeleteFiles), task.DeletionVectorFiles...)
		for _, d := range task.DeleteFiles {
			if d.ContentType() != iceberg.EntryContentPosDeletes || d.FileFormat() != iceberg.ParquetFile {
				others = append(others, d)
			}
		}
		if len(others) > 0 {
			return nil, nil, fmt.Errorf("%w: data file %s of %s has %s delete file %s; compaction rewrites tables with Parquet position deletes only",
				ErrNotSupported, df.FilePath(), id, contentName(others[0].ContentType()), others[0].FilePath())
		}
		for _, d := range task.DeleteFiles {
			if !seenDel[key+d.FilePath()] {
				seenDel[key+d.FilePath()] = true
				g.DeleteFiles = append(g.DeleteFiles, dataFileOf(d))
			}
		}
	}
	slices.Sort(order)
	out := make([]FileGroup, len(order))
	for i, k := range order {
		out[i] = *byKey[k]
	}
	return out, st, nil
}

// RewriteManifests merges the current snapshot's small data manifests into
// fewer, target-sized ones (commit.manifest.target-size-bytes), one
// metadata-only snapshot; nothing when the manifests are already so.
func (c *Catalog) RewriteManifests(ctx context.Context, id Ident) (MaintenanceReport, error) {
	return c.Maintain(ctx, id, "rewrite_manifests", func(rep *MaintenanceReport) error {
		txn, err := c.Begin(ctx, id)
		if err != nil {
			return err
		}
		defer txn.Abort()
		res, err := txn.tx.RewriteManifests(ctx)
		if err != nil {
			return fmt.Errorf("rewriting the manifests of %s: %w", id, err)
		}
		if res.IsNoOp() {
			return nil
		}
		rep.ManifestsRewritten, rep.ManifestsAdded = len(res.RewrittenManifests), len(res.AddedManifests)
		txn.staged = true
		_, err = txn.Commit(ctx)
		return err
	})
}
