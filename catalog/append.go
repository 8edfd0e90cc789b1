package catalog

import (
	"context"
	"fmt"
	"maps"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Append writes the reader's records as new Parquet data files and commits
// them as one snapshot, with summary recorded in the snapshot summary. It
// returns the new snapshot's id. The reader's schema must be the table's
// (Txn.ArrowSchema); the reader is consumed but not released.
//
// Commits to one table are serialised inside the process; a commit that
// loses to another process is replayed on the fresh metadata (up to
// commit.retry.num-retries times) without rewriting the data files.
func (c *Catalog) Append(ctx context.Context, id Ident, rdr array.RecordReader, summary map[string]string) (int64, error) {
	if err := id.validate(); err != nil {
		return 0, err
	}
	txn, err := c.Begin(ctx, id)
	if err != nil {
		return 0, err
	}
	props := maps.Clone(summary)
	if props == nil {
		props = map[string]string{}
	}
	if err := txn.Append(ctx, rdr, props); err != nil {
		txn.Abort()
		return 0, fmt.Errorf("appending to %s: %w", id, err)
	}
	snap, err := txn.Commit(ctx)
	if err != nil {
		return 0, fmt.Errorf("appending to %s: %w", id, err)
	}
	return snap, nil
}
