package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
)

// committer is the table.CatalogIO that lakeflight's tables commit through.
//
// iceberg-go's Table.doCommit refreshes and replays a commit only when the
// catalog answers table.ErrCommitFailed. Its SQL catalog (v0.7.0) says so
// only when another writer wins the race between its own load and its
// compare-and-swap UPDATE; when the other writer committed earlier (the
// usual case: we spent the time writing Parquet), CommitTable finds the
// branch head moved while checking the requirements and returns a plain
// "requirement failed" error, which is never retried. Nothing was written
// at that point, so committer reports it as ErrCommitFailed and lets the
// retry loop (commit.retry.num-retries) rebase the snapshot.
type committer struct {
	backend
}

var _ table.CatalogIO = committer{}

func (c committer) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	md, loc, err := c.backend.CommitTable(ctx, ident, reqs, updates)
	if err != nil && !errors.Is(err, table.ErrCommitFailed) && isRequirementConflict(err) {
		err = fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
	}
	return md, loc, err
}

// LoadTable loads a table bound to the committer, so that its transactions
// commit (and retry) through it.
func (c committer) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	tbl, err := c.backend.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return table.New(ident, tbl.Metadata(), tbl.MetadataLocation(), tbl.FS, c), nil
}

// isRequirementConflict recognises the errors of table.Requirement.Validate,
// which iceberg-go returns unwrapped ("requirement failed: branch \"main\"
// has changed: ...").
func isRequirementConflict(err error) bool {
	return strings.HasPrefix(strings.ToLower(err.Error()), "requirement failed")
}

// borrowedReader lends a RecordReader to iceberg-go for the length of one
// call. iceberg-go wraps it in array.IterFromReader, which takes a reference
// at once but drops it only if the iterator is run to its end: an append
// that fails before writing (a schema mismatch) would leak the reader and
// its records. The caller owns the reader, so references are not forwarded.
type borrowedReader struct {
	array.RecordReader
}

func (borrowedReader) Retain()  {}
func (borrowedReader) Release() {}
