package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Pending tables. A write that creates its table (an ingest into a new
// table) cannot create it and commit its first rows as one catalog commit:
// the table is created first, empty, and the rows follow. Such a table is
// created with the PropPending property, naming the process that created
// it, and the write's commit removes the property together with adding the
// rows (one metadata update). A process killed in between leaves an empty
// table still marked pending; SweepPending, run when a server starts,
// drops those whose creating process is gone, so nothing half-made stays
// visible after a crash.

// PropPending marks a table created by a write that has not committed yet.
const PropPending = "lakeflight.pending"

// pendingMark is PropPending's value.
type pendingMark struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
	At   int64  `json:"at"` // Unix seconds
}

// pendingStale: a pending table this old is dropped whoever made it (no
// write runs for a week).
const pendingStale = 7 * 24 * time.Hour

// Pending creates the table marked as pending (see PropPending) for this
// process.
func Pending() CreateOption {
	return func(o *createOptions) { o.pending = true }
}

func pendingValue() string {
	host, _ := os.Hostname()
	b, _ := json.Marshal(pendingMark{Host: host, PID: os.Getpid(), At: time.Now().Unix()})
	return string(b)
}

// ClearPending stages the removal of the table's pending mark, so the
// commit that carries the write's rows also makes the table a table.
func (t *Txn) ClearPending() error {
	if _, ok := t.tbl.Properties()[PropPending]; !ok {
		return nil
	}
	return t.tx.RemoveProperties([]string{PropPending})
}

// SweepPending drops the pending tables no process is still writing: those
// without a snapshot whose mark names a process of this host that is gone
// (or this very process, which cannot be writing at start), or that is
// older than a week. Tables of other hosts are left to their own sweep.
func (c *Catalog) SweepPending(ctx context.Context) ([]Ident, error) {
	ids, err := c.ListTables(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	var dropped []Ident
	var errs []error
	for _, id := range ids {
		tbl, err := c.LoadTable(ctx, id)
		if err != nil {
			continue // dropped meanwhile, or a view
		}
		v, ok := tbl.Properties()[PropPending]
		if !ok || tbl.CurrentSnapshot() != nil {
			continue
		}
		var m pendingMark
		_ = json.Unmarshal([]byte(v), &m)
		stale := time.Since(time.Unix(m.At, 0)) > pendingStale
		if !stale && (m.Host != host || (m.PID != os.Getpid() && processAlive(m.PID))) {
			continue
		}
		done, err := c.DropIfEmpty(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("dropping pending table %s: %w", id, err))
			continue
		}
		if done {
			c.log.Warn("dropped a table whose creating write never committed (the process stopped)", "table", id.String(),
				"created_by_pid", m.PID, "created_at", time.Unix(m.At, 0).UTC())
			dropped = append(dropped, id)
		}
	}
	return dropped, errors.Join(errs...)
}

// processAlive reports whether a process with this pid runs on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
