package catalog

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// TableState loads the table's current snapshot: its schema (with field ids)
// and the data files a reader must scan. A table without a snapshot has
// SnapshotID 0 and no files.
func (c *Catalog) TableState(ctx context.Context, id Ident) (*TableState, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.currentState(ctx, id, tbl)
}

// currentState is the TableState of tbl's current snapshot, with the
// table's current schema: a column added since that snapshot (ALTER TABLE
// ADD COLUMN commits no snapshot) reads as null.
func (c *Catalog) currentState(ctx context.Context, id Ident, tbl *table.Table) (*TableState, error) {
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return &TableState{Ident: id, MetadataLocation: tbl.MetadataLocation(), Schema: tbl.Schema(), FilesMatchSchema: true}, nil
	}
	return c.stateAt(ctx, id, tbl, snap, tbl.Schema())
}

// TableStateAt is TableState at an older snapshot (time travel), with the
// schema that snapshot was written with. An unknown snapshot id wraps
// ErrNoSuchSnapshot.
func (c *Catalog) TableStateAt(ctx context.Context, id Ident, snapshotID int64) (*TableState, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	snap := tbl.SnapshotByID(snapshotID)
	if snap == nil {
		return nil, fmt.Errorf("loading %s at snapshot %d: %w", id, snapshotID, ErrNoSuchSnapshot)
	}
	return c.stateAt(ctx, id, tbl, snap, snapshotSchema(tbl, snap))
}

// SnapshotAsOf is the id of the snapshot that was current at ts (the last
// one committed at or before it). None wraps ErrNoSuchSnapshot.
func (c *Catalog) SnapshotAsOf(ctx context.Context, id Ident, ts time.Time) (int64, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return 0, err
	}
	snap := tbl.SnapshotAsOf(ts.UnixMilli(), true)
	if snap == nil {
		return 0, fmt.Errorf("resolving %s as of %s: %w", id, ts.Format(time.RFC3339Nano), ErrNoSuchSnapshot)
	}
	return snap.SnapshotID, nil
}

// stateAt plans the files of snap (plan.go), to be read with schema. The
// file lists are the caller's own.
func (c *Catalog) stateAt(ctx context.Context, id Ident, tbl *table.Table, snap *table.Snapshot, schema *iceberg.Schema) (*TableState, error) {
	p, err := c.planOf(ctx, tbl, snap)
	if err != nil {
		return nil, fmt.Errorf("planning files of %s at snapshot %d: %w", id, snap.SnapshotID, err)
	}
	return &TableState{
		Ident:            id,
		MetadataLocation: tbl.MetadataLocation(),
		SnapshotID:       snap.SnapshotID,
		Schema:           schema,
		DataFiles:        slices.Clone(p.data),
		DeleteFiles:      slices.Clone(p.deletes),
		FilesMatchSchema: filesMatch(tbl, snap, schema, p.minSeq),
	}, nil
}

// filesMatch reports whether the data files of snap were all written with
// schema: the table never had another schema, or every snapshot that may
// have added one of them (sequence numbers from the data manifests' least
// up to snap's) was committed with schema. One pass over the snapshots, not
// a walk of the lineage by id (quadratic in iceberg-go); a snapshot of
// another branch in that range counts too, which can only make the answer
// no. A snapshot that does not record its schema counts as another one.
func filesMatch(tbl *table.Table, snap *table.Snapshot, schema *iceberg.Schema, minSeq int64) bool {
	md := tbl.Metadata()
	if len(md.Schemas()) == 1 {
		return true
	}
	for _, s := range md.Snapshots() {
		if s.SequenceNumber < minSeq || s.SequenceNumber > snap.SequenceNumber {
			continue
		}
		if s.SchemaID == nil || *s.SchemaID != schema.ID {
			return false
		}
	}
	return true
}

// Snapshots lists every snapshot of the table, oldest first.
func (c *Catalog) Snapshots(ctx context.Context, id Ident) ([]Snapshot, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	snaps := tbl.Metadata().Snapshots()
	out := make([]Snapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, toSnapshot(s))
	}
	slices.SortStableFunc(out, func(a, b Snapshot) int {
		if a.SequenceNumber != b.SequenceNumber {
			return cmp.Compare(a.SequenceNumber, b.SequenceNumber)
		}
		return a.Timestamp.Compare(b.Timestamp)
	})
	return out, nil
}

func toSnapshot(s table.Snapshot) Snapshot {
	out := Snapshot{
		SnapshotID:     s.SnapshotID,
		SequenceNumber: s.SequenceNumber,
		Timestamp:      time.UnixMilli(s.TimestampMs).UTC(),
		ManifestList:   s.ManifestList,
		Summary:        map[string]string{},
	}
	if s.ParentSnapshotID != nil {
		out.ParentID = *s.ParentSnapshotID
	}
	if s.Summary != nil {
		out.Operation = string(s.Summary.Operation)
		for k, v := range s.Summary.Properties {
			out.Summary[k] = v
		}
	}
	return out
}
