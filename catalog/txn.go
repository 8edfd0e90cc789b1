package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Txn is a write to one table that is staged first and committed later:
// data files are written while the caller streams (Append, Overwrite), and
// nothing is visible until Commit. The table's commit lock is held from
// Begin until Commit or Abort, so a caller can check the table's history
// (an idempotency key) and commit without another writer of this process in
// between. Hold several Txns only in a fixed order (a table before its
// rejects table).
type Txn struct {
	c      *Catalog
	id     Ident
	tbl    *table.Table
	tx     *table.Transaction
	unlock func()
	staged bool

	base    *TableState // State, planned on first use
	pinned  bool        // position deletes staged: main must not move (delta.go)
	orphans []func()    // each removes the files one Delta staged, after a conflict

	files      *txnFiles // every file written through the Txn's table
	committing bool      // Commit was called: the files may be referenced
}

// Begin locks the table and loads its current metadata.
func (c *Catalog) Begin(ctx context.Context, id Ident) (*Txn, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	mu := c.tableLock(id)
	mu.Lock()
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		mu.Unlock()
		return nil, err
	}
	files := &txnFiles{serverMetadata: c.driver == driverREST}
	tbl = table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(), files.fsys(tbl.FS), committer{c.ice})
	var once sync.Once
	return &Txn{c: c, id: id, tbl: tbl, tx: tbl.NewTransaction(), unlock: func() { once.Do(mu.Unlock) }, files: files}, nil
}

// Table is the table as loaded by Begin (before this Txn's changes).
func (t *Txn) Table() *table.Table { return t.tbl }

// ArrowSchema is the table's current schema as Arrow, after any schema
// change staged in this Txn. Incoming batches must match it exactly.
func (t *Txn) ArrowSchema() (*arrow.Schema, error) {
	sc := t.tbl.Schema()
	if t.staged {
		st, err := t.tx.StagedTable()
		if err != nil {
			return nil, fmt.Errorf("staging %s: %w", t.id, err)
		}
		sc = st.Schema()
	}
	as, err := table.SchemaToArrowSchema(sc, nil, false, false)
	if err != nil {
		return nil, fmt.Errorf("converting schema of %s: %w", t.id, err)
	}
	return as, nil
}

// EvolveSchema stages a schema change: fn receives the table's schema
// updater; the change commits with the data. An error from fn stages
// nothing and is returned, wrapped, as is. A change past MaxColumns is
// ErrInvalidArgument, and the Txn must then be aborted.
func (t *Txn) EvolveSchema(fn func(*table.UpdateSchema) error) error {
	u := t.tx.UpdateSchema(true, false)
	if err := fn(u); err != nil {
		return fmt.Errorf("changing the schema of %s: %w", t.id, err)
	}
	if err := u.Commit(); err != nil {
		return fmt.Errorf("changing the schema of %s: %w", t.id, err)
	}
	t.staged = true
	// Checked once staged (iceberg-go's Apply before Commit would add the
	// columns twice): the error makes the caller abort, nothing commits.
	if st, err := t.tx.StagedTable(); err == nil {
		if n := len(st.Schema().Fields()); n > MaxColumns {
			return fmt.Errorf("%w: changing the schema of %s would give it %d columns; a table has at most %d "+
				"(its schema must fit the metadata of every data file's manifest)", ErrInvalidArgument, t.id, n, MaxColumns)
		}
		if err := checkSchemaNesting(t.id, st.Schema()); err != nil {
			return err
		}
	}
	return nil
}

// ReplaceSchema stages sc as the table's whole new schema (CREATE OR
// REPLACE): every current column is dropped and sc's columns are added in
// its order, with fresh field ids, so old snapshots keep reading with
// their own schema. The change commits with the data.
func (t *Txn) ReplaceSchema(sc *iceberg.Schema) error {
	if n := len(sc.Fields()); n > MaxColumns {
		return fmt.Errorf("%w: table %s would have %d columns; a table has at most %d "+
			"(its schema must fit the metadata of every data file's manifest)", ErrInvalidArgument, t.id, n, MaxColumns)
	}
	if err := checkSchemaNesting(t.id, sc); err != nil {
		return err
	}
	u := t.tx.UpdateSchema(true, true)
	cur := t.tbl.Schema()
	if t.staged {
		st, err := t.tx.StagedTable()
		if err != nil {
			return err
		}
		cur = st.Schema()
	}
	for _, f := range cur.Fields() {
		u.DeleteColumn([]string{f.Name})
	}
	for _, f := range sc.Fields() {
		u.AddColumn([]string{f.Name}, f.Type, f.Doc, f.Required, nil)
	}
	if err := u.Commit(); err != nil {
		return fmt.Errorf("replacing the schema of %s: %w", t.id, err)
	}
	t.staged = true
	return nil
}

// Append writes the reader's batches as data files of one new snapshot,
// staged until Commit. The reader is consumed, not released. The summary map is read when the
// reader ends, so a caller may fill in entries (counts known only then)
// until its reader reports the end. Columns are matched to the table's by
// name; a nullable column the reader lacks is NULL. The files are lakeflight's own
// (AppendParallel with one writer), so they follow the table's layout
// properties: iceberg-go's writer cannot write lz4, the default codec.
func (t *Txn) Append(ctx context.Context, rdr array.RecordReader, summary map[string]string) error {
	want, err := t.ArrowSchema()
	if err != nil {
		return err
	}
	byName, err := conformTo(rdr, want)
	if err != nil {
		return fmt.Errorf("writing to %s: %w", t.id, err)
	}
	defer byName.Release()
	return t.AppendParallel(ctx, byName, summary, 1)
}

// Overwrite is Append that also removes every existing row, in the same
// snapshot.
func (t *Txn) Overwrite(ctx context.Context, rdr array.RecordReader, summary map[string]string) error {
	if err := t.ReplaceAll(ctx, rdr, summary, 1); err != nil {
		return fmt.Errorf("overwriting %s: %w", t.id, err)
	}
	return nil
}

// Commit makes the staged changes visible as one snapshot and returns its
// id. A Txn that staged only a schema change makes no snapshot: Commit
// returns the current one (0: the table has none). A Txn that staged
// position deletes fails with ErrConflict if another writer committed to
// the table since Begin. The lock is released either way.
func (t *Txn) Commit(ctx context.Context) (int64, error) {
	defer t.unlock()
	t.committing = true
	committed, err := t.tx.Commit(ctx)
	if err != nil && t.pinned && errors.Is(err, table.ErrCommitFailed) {
		// A clean conflict: nothing committed, the files are nobody's.
		for _, remove := range t.orphans {
			remove()
		}
		return 0, fmt.Errorf("committing to %s: %w: the change was based on snapshot %d, re-run it: %w", t.id, ErrConflict, t.BaseSnapshot(), err)
	}
	if err != nil {
		return 0, fmt.Errorf("committing to %s: %w", t.id, err)
	}
	var id int64
	if snap := committed.CurrentSnapshot(); snap != nil {
		id = snap.SnapshotID
	}
	t.c.log.Debug("table committed", "table", t.id.String(), "snapshot", id,
		"metadata", committed.MetadataLocation())
	return id, nil
}

// Abort drops the staged changes, removes the files written for them and
// releases the lock. Safe after Commit, when it only releases the lock: a
// commit whose outcome is unknown may reference its files.
func (t *Txn) Abort() {
	if !t.committing {
		if err := t.files.remove(); err != nil {
			t.c.log.Warn("aborted write's files not all removed (orphan-file removal will find them)", "table", t.id.String(), "err", err)
		}
		t.committing = true // once
	}
	t.unlock()
}

// Undo moves the table's main branch back to parent, the snapshot that was
// current before snapshot (0: the table had none, so it is dropped). It
// takes back a commit whose companion commit failed.
func (c *Catalog) Undo(ctx context.Context, id Ident, snapshot, parent int64) error {
	if parent == 0 {
		return c.DropTable(ctx, id)
	}
	t, err := c.Begin(ctx, id)
	if err != nil {
		return err
	}
	defer t.Abort()
	if cur := t.tbl.CurrentSnapshot(); cur == nil || cur.SnapshotID != snapshot {
		return fmt.Errorf("undoing snapshot %d of %s: the table moved on since", snapshot, id)
	}
	if err := t.tx.RollbackToSnapshot(parent); err != nil {
		return fmt.Errorf("undoing snapshot %d of %s: %w", snapshot, id, err)
	}
	if _, err := t.tx.Commit(ctx); err != nil {
		return fmt.Errorf("undoing snapshot %d of %s: %w", snapshot, id, err)
	}
	return nil
}
