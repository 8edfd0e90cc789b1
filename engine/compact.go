//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/catalog"
)

// Compaction rewrites a partition's small files (and files with position
// deletes) into few files of the table's current layout and partitioning:
// DuckDB reads them through a view of just those files, deletes applied,
// and one snapshot replaces them with the new files. Each group of files
// is its own commit (catalog.Compact): when other writers only appended
// meanwhile it commits on top of them, and when one deleted or rewrote
// rows, that group's commit fails cleanly (counted as a conflict; the next
// pass or run takes it up). Nothing a concurrent writer committed is lost.

// CompactOptions say what compaction rewrites.
type CompactOptions struct {
	// TargetBytes: a data file under three quarters of this is small
	// (default: the table's write.target-file-size-bytes if set, else
	// DefaultCompactTarget).
	TargetBytes int64
	// MinFiles: a partition is compacted when it has at least this many
	// small files; any partition with position deletes is.
	MinFiles int
	// MaxGroupBytes bounds the Parquet bytes one commit rewrites: their
	// rows pass through memory as Arrow, a few times that size (default
	// 256 MiB).
	MaxGroupBytes int64
}

// Compaction defaults: Iceberg's own target file size is 512 MB; lakeflight
// writes files of up to 8Mi rows.
const (
	DefaultCompactTarget   = 128 << 20
	DefaultCompactMinFiles = 2
	defaultCompactMaxGroup = 256 << 20
)

// Compact compacts table id and reports what it did.
func (e *Engine) Compact(ctx context.Context, id catalog.Ident, o CompactOptions) (catalog.MaintenanceReport, error) {
	if e.writer == nil {
		return catalog.MaintenanceReport{}, newError(ErrUnsupported, "this engine's catalog takes no writes")
	}
	if o.TargetBytes <= 0 {
		o.TargetBytes = DefaultCompactTarget
		tbl, err := e.writer.LoadTable(ctx, id)
		if err != nil {
			return catalog.MaintenanceReport{}, err
		}
		if _, set := tbl.Properties()[catalog.PropTargetFileSize]; set {
			if o.TargetBytes, err = catalog.TargetFileSize(tbl.Properties()); err != nil {
				return catalog.MaintenanceReport{}, err // the writers would refuse it too
			}
		}
	}
	if o.MinFiles <= 0 {
		o.MinFiles = DefaultCompactMinFiles
	}
	if o.MaxGroupBytes <= 0 {
		o.MaxGroupBytes = defaultCompactMaxGroup
	}
	rep, err := e.writer.Maintain(ctx, id, "compact", func(rep *catalog.MaintenanceReport) error {
		// A pass plans the groups and compacts them one commit each, each
		// based on the snapshot the last one made; another writer's commit
		// ends the pass (a conflict), and the next pass plans again.
		for pass := range compactPasses {
			groups, st, err := e.writer.FileGroups(ctx, id)
			if err != nil {
				return err
			}
			if pass == 0 {
				for _, g := range groups {
					rep.DataFilesBefore += len(g.DataFiles)
				}
			}
			conflict := false
			for _, g := range groups {
				for _, batch := range compactBatches(g, o) {
					if conflict {
						break
					}
					snap, err := e.compactFiles(ctx, id, st, batch, g.DeleteFiles, o.TargetBytes)
					switch {
					case errors.Is(err, catalog.ErrConflict):
						rep.Conflicts++
						conflict = true
					case err != nil:
						return err
					default:
						rep.Commits++
						rep.Partitions++
						rep.Rewritten += len(batch)
						st = &catalog.TableState{Ident: st.Ident, SnapshotID: snap, Schema: st.Schema}
					}
				}
			}
			if !conflict {
				break
			}
		}
		after, _, err := e.writer.FileGroups(ctx, id)
		for _, g := range after {
			rep.DataFilesAfter += len(g.DataFiles)
		}
		return err
	})
	if err == nil && rep.Commits > 0 {
		err = e.Refresh(ctx, id)
	}
	return rep, err
}

// compactBatches picks a group's files to rewrite, in batches of at most
// o.MaxGroupBytes: every file when the group has deletes, else its small
// files when there are at least o.MinFiles of them.
func compactBatches(g catalog.FileGroup, o CompactOptions) [][]catalog.DataFile {
	var pick []catalog.DataFile
	for _, f := range g.DataFiles {
		if len(g.DeleteFiles) > 0 || f.SizeBytes < o.TargetBytes*3/4 {
			pick = append(pick, f)
		}
	}
	if len(g.DeleteFiles) == 0 && len(pick) < o.MinFiles {
		return nil
	}
	var out [][]catalog.DataFile
	var cur []catalog.DataFile
	var size int64
	for _, f := range pick {
		if len(cur) > 0 && size+f.SizeBytes > o.MaxGroupBytes {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur, size = append(cur, f), size+f.SizeBytes
	}
	if len(cur) > 1 || (len(cur) == 1 && len(g.DeleteFiles) > 0) {
		out = append(out, cur)
	}
	return out
}

// compactPasses bounds the plans one Compact makes when other writers
// keep committing.
const compactPasses = 3

// compactFiles rewrites files (of snapshot st, deletes applied) as one
// snapshot, whose id it returns.
func (e *Engine) compactFiles(ctx context.Context, id catalog.Ident, st *catalog.TableState, files, deletes []catalog.DataFile, targetBytes int64) (int64, error) {
	sub := &catalog.TableState{Ident: id, SnapshotID: st.SnapshotID, Schema: st.Schema, DataFiles: files, DeleteFiles: deletes}
	sub, release, err := e.localize(ctx, sub)
	if err != nil {
		return 0, err
	}
	defer release()
	q, err := viewSQL(sub, e.norm())
	if err != nil {
		return 0, err
	}
	var recs []arrow.RecordBatch
	err = e.ddl(func(conn bindings.Connection) error {
		var err error
		recs, _, err = queryRecords(ctx, &dconn{c: conn}, q)
		return err
	})
	defer func() { releaseAll(recs) }()
	if err != nil {
		return 0, fmt.Errorf("compacting %s: reading %d files: %w", id, len(files), err)
	}
	target, err := table.SchemaToArrowSchema(st.Schema, nil, false, false)
	if err != nil {
		return 0, err
	}
	var rows []arrow.RecordBatch
	defer func() { releaseAll(rows) }()
	for _, rec := range recs {
		b, err := conformRows(ctx, rec, 0, target, nil)
		if err != nil {
			return 0, fmt.Errorf("compacting %s: %w", id, err)
		}
		if b != nil {
			rows = append(rows, b)
		}
	}
	rdr, err := array.NewRecordReader(target, rows)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	locations := make([]string, len(files))
	for i, f := range files {
		locations[i] = f.Location
	}
	summary := map[string]string{"lakeflight.maintenance": "compact"}
	// One writer per target's worth of input (each writer makes its own
	// files): a group smaller than the target becomes one file.
	var size int64
	for _, f := range files {
		size += f.SizeBytes
	}
	writers := int(min(int64(runtime.GOMAXPROCS(0)), size/targetBytes+1))
	return e.writer.Compact(ctx, id, st.SnapshotID, rdr, locations, summary, writers)
}
