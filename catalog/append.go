package catalog

import (
	"context"
	"fmt"
	"maps"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
)

// Append writes the reader's records as new Parquet data files and commits
// them as one snapshot, with summary recorded in the snapshot summary. It
// returns the new snapshot's id. The reader's schema must match the table's
// (by name); the reader is consumed but not released.
//
// Commits to one table are serialised inside the process; a commit that
// loses to another process is replayed on the fresh metadata (up to
// commit.retry.num-retries times) without rewriting the data files.
func (c *Catalog) Append(ctx context.Context, id Ident, rdr array.RecordReader, summary map[string]string) (int64, error) {
	if err := id.validate(); err != nil {
		return 0, err
	}
	mu := c.tableLock(id)
	mu.Lock()
	defer mu.Unlock()

	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return 0, err
	}
	props := iceberg.Properties{}
	maps.Copy(props, summary)
	committed, err := tbl.Append(ctx, borrowedReader{rdr}, props)
	if err != nil {
		return 0, fmt.Errorf("appending to %s: %w", id, err)
	}
	snap := committed.CurrentSnapshot()
	if snap == nil {
		return 0, fmt.Errorf("appending to %s: commit left no current snapshot", id)
	}
	c.log.Debug("snapshot committed", "table", id.String(), "snapshot", snap.SnapshotID,
		"metadata", committed.MetadataLocation())
	return snap.SnapshotID, nil
}
