package catalog

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Metadata listings: what Iceberg's history, files and manifests metadata
// tables show, read straight from the table metadata, the manifest list and
// the manifests.

// HistoryEntry is one line of the table's snapshot log: a snapshot became
// the current one.
type HistoryEntry struct {
	MadeCurrentAt     time.Time
	SnapshotID        int64
	ParentID          int64 // 0 for none
	IsCurrentAncestor bool  // the snapshot is the current one or one of its ancestors
}

// FileInfo is one data or delete file of a snapshot, with its column
// metrics keyed by column name ("addr.city" for a nested one).
type FileInfo struct {
	Content     string // "data", "position_deletes", "equality_deletes"
	Path        string // the file's location as recorded in the manifest
	Format      string // "PARQUET"
	SpecID      int32
	Partition   string // JSON object of partition field name -> value, "{}" when unpartitioned
	RecordCount int64
	SizeBytes   int64
	ColumnSizes map[string]int64
	ValueCounts map[string]int64
	NullCounts  map[string]int64
	// LowerBounds and UpperBounds are rendered as in Iceberg's JSON
	// single-value serialization: ints in decimal, dates "2026-11-01",
	// timestamps "2026-11-01T10:00:00.000000" (with "+00:00" when the
	// column has a time zone), binary as hex. Parquet writers may truncate
	// string bounds.
	LowerBounds map[string]string
	UpperBounds map[string]string
	// SortOrderID is the id of the table sort order the file's rows are
	// in (0: unsorted), nil when the manifest does not say.
	SortOrderID *int
}

// ManifestInfo is one manifest of a snapshot's manifest list.
type ManifestInfo struct {
	Path              string
	Length            int64
	SpecID            int32
	Content           string // "data" or "deletes"
	SequenceNumber    int64
	MinSequenceNumber int64
	AddedSnapshotID   int64
	AddedFiles        int32
	ExistingFiles     int32
	DeletedFiles      int32
	AddedRows         int64
	ExistingRows      int64
	DeletedRows       int64
}

// History lists the table's snapshot log, oldest first: every time a
// snapshot became current, by a commit or a rollback.
func (c *Catalog) History(ctx context.Context, id Ident) ([]HistoryEntry, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	md := tbl.Metadata()
	ancestors := map[int64]bool{}
	for s := md.CurrentSnapshot(); s != nil && !ancestors[s.SnapshotID]; {
		ancestors[s.SnapshotID] = true
		if s.ParentSnapshotID == nil {
			break
		}
		s = md.SnapshotByID(*s.ParentSnapshotID)
	}
	out := []HistoryEntry{}
	for e := range md.SnapshotLogs() {
		h := HistoryEntry{
			MadeCurrentAt:     time.UnixMilli(e.TimestampMs).UTC(),
			SnapshotID:        e.SnapshotID,
			IsCurrentAncestor: ancestors[e.SnapshotID],
		}
		if s := md.SnapshotByID(e.SnapshotID); s != nil && s.ParentSnapshotID != nil {
			h.ParentID = *s.ParentSnapshotID
		}
		out = append(out, h)
	}
	return out, nil
}

// Files lists the live files of a snapshot (0: the current one): its data
// files, then its delete files, each in the order of the manifest list. A
// table without a snapshot has none. Each manifest is read once, several at
// a time, and nothing else is loaded per file.
func (c *Catalog) Files(ctx context.Context, id Ident, snapshotID int64) ([]FileInfo, error) {
	tbl, snap, err := c.loadSnapshot(ctx, id, snapshotID)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		return []FileInfo{}, nil
	}
	manifests, err := c.manifestsOf(ctx, id, tbl, snap)
	if err != nil {
		return nil, err
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing files of %s: %w", id, err)
	}
	r, err := newFileRenderer(tbl.Metadata(), snapshotSchema(tbl, snap))
	if err != nil {
		return nil, fmt.Errorf("listing files of %s: %w", id, err)
	}
	perManifest := make([][]FileInfo, len(manifests))
	err = forEach(ctx, len(manifests), runtime.GOMAXPROCS(0), func(i int) error {
		m := manifests[i]
		perManifest[i] = make([]FileInfo, 0, max(0, int(m.AddedDataFiles())+int(m.ExistingDataFiles())))
		for entry, err := range m.Entries(fs, true) {
			if err != nil {
				return fmt.Errorf("reading manifest %s: %w", m.FilePath(), err)
			}
			if err := ctx.Err(); err != nil {
				return context.Cause(ctx)
			}
			perManifest[i] = append(perManifest[i], r.file(entry.DataFile()))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing files of %s: %w", id, err)
	}
	var data, deletes []FileInfo
	for _, files := range perManifest {
		for _, f := range files {
			if f.Content == contentData {
				data = append(data, f)
			} else {
				deletes = append(deletes, f)
			}
		}
	}
	return append(append(make([]FileInfo, 0, len(data)+len(deletes)), data...), deletes...), nil
}

// Manifests lists the manifests of a snapshot (0: the current one) in the
// order of its manifest list. A table without a snapshot has none.
func (c *Catalog) Manifests(ctx context.Context, id Ident, snapshotID int64) ([]ManifestInfo, error) {
	tbl, snap, err := c.loadSnapshot(ctx, id, snapshotID)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		return []ManifestInfo{}, nil
	}
	manifests, err := c.manifestsOf(ctx, id, tbl, snap)
	if err != nil {
		return nil, err
	}
	out := make([]ManifestInfo, 0, len(manifests))
	for _, m := range manifests {
		content := "data"
		if m.ManifestContent() == iceberg.ManifestContentDeletes {
			content = "deletes"
		}
		out = append(out, ManifestInfo{
			Path:              m.FilePath(),
			Length:            m.Length(),
			SpecID:            m.PartitionSpecID(),
			Content:           content,
			SequenceNumber:    m.SequenceNum(),
			MinSequenceNumber: m.MinSequenceNum(),
			AddedSnapshotID:   m.SnapshotID(),
			AddedFiles:        m.AddedDataFiles(),
			ExistingFiles:     m.ExistingDataFiles(),
			DeletedFiles:      m.DeletedDataFiles(),
			AddedRows:         m.AddedRows(),
			ExistingRows:      m.ExistingRows(),
			DeletedRows:       m.DeletedRows(),
		})
	}
	return out, nil
}

// loadSnapshot loads the table and its snapshot snapshotID, or its current
// one (nil when it has none) for 0. An unknown id wraps ErrNoSuchSnapshot.
func (c *Catalog) loadSnapshot(ctx context.Context, id Ident, snapshotID int64) (*table.Table, *table.Snapshot, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if snapshotID == 0 {
		return tbl, tbl.CurrentSnapshot(), nil
	}
	snap := tbl.SnapshotByID(snapshotID)
	if snap == nil {
		return nil, nil, fmt.Errorf("%w: table %s has no snapshot %d", ErrNoSuchSnapshot, id, snapshotID)
	}
	return tbl, snap, nil
}

// manifestsOf reads the snapshot's manifest list.
func (c *Catalog) manifestsOf(ctx context.Context, id Ident, tbl *table.Table, snap *table.Snapshot) ([]iceberg.ManifestFile, error) {
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading manifest list of %s: %w", id, err)
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return nil, fmt.Errorf("reading manifest list of %s at snapshot %d: %w", id, snap.SnapshotID, err)
	}
	return manifests, nil
}

// snapshotSchema is the schema the snapshot was written with (the table's
// current one when the snapshot does not say).
func snapshotSchema(tbl *table.Table, snap *table.Snapshot) *iceberg.Schema {
	if snap.SchemaID != nil {
		if sc, ok := tbl.Schemas()[*snap.SchemaID]; ok {
			return sc
		}
	}
	return tbl.Schema()
}

// forEach calls fn(0) … fn(n-1) on up to workers goroutines and returns the
// first error; after one, calls not yet started are skipped.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed() || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return firstErr
}
