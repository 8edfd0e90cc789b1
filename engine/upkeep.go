//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/lakeflight/lakeflight/catalog"
)

// Automatic upkeep. After a commit to a table (a SQL write's Refresh, an
// ingest's Notice), the table is queued for the upkeep its properties ask
// for (catalog.UpkeepOf: compaction past a number of small files in a
// partition, snapshot expiry past an age), which one background worker
// runs, a table at a time. Tables without those properties cost a look at
// their properties. Close stops the worker; what it was doing then fails
// with the cancelled context and commits nothing partial.

type upkeeper struct {
	mu      sync.Mutex
	queued  map[catalog.Ident]bool
	order   []catalog.Ident
	running bool
	idle    *sync.Cond // signalled when the queue empties and nothing runs
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

func newUpkeeper() *upkeeper {
	u := &upkeeper{queued: map[catalog.Ident]bool{}}
	u.idle = sync.NewCond(&u.mu)
	u.ctx, u.stop = context.WithCancel(context.Background())
	return u
}

// scheduleUpkeep queues table id for upkeep.
func (e *Engine) scheduleUpkeep(id catalog.Ident) {
	u := e.upkeep
	if u == nil || e.writer == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ctx.Err() != nil || u.queued[id] {
		return
	}
	u.queued[id] = true
	u.order = append(u.order, id)
	if !u.running {
		u.running = true
		u.wg.Go(func() { e.upkeepLoop(u) })
	}
}

// upkeepLoop runs the queued tables' upkeep until the queue is empty.
func (e *Engine) upkeepLoop(u *upkeeper) {
	for {
		u.mu.Lock()
		if len(u.order) == 0 || u.ctx.Err() != nil {
			u.running = false
			u.order, u.queued = nil, map[catalog.Ident]bool{}
			u.idle.Broadcast()
			u.mu.Unlock()
			return
		}
		id := u.order[0]
		u.order = u.order[1:]
		delete(u.queued, id)
		u.mu.Unlock()
		e.upkeepTable(u.ctx, id)
	}
}

// upkeepTable runs what table id's properties ask for.
func (e *Engine) upkeepTable(ctx context.Context, id catalog.Ident) {
	tbl, err := e.writer.LoadTable(ctx, id)
	if err != nil {
		if !errors.Is(err, catalog.ErrNoSuchTable) && ctx.Err() == nil {
			e.log.Warn("upkeep: loading the table", "table", id.String(), "err", err)
		}
		return
	}
	want, err := catalog.UpkeepOf(tbl.Properties())
	if err != nil {
		e.log.Warn("upkeep: the table's properties", "table", id.String(), "err", err)
		return
	}
	if want.CompactMinFiles > 0 {
		rep, err := e.Compact(ctx, id, CompactOptions{MinFiles: want.CompactMinFiles})
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("upkeep: compaction", "table", id.String(), "err", err)
		case err == nil && rep.Commits > 0:
			e.log.Info("upkeep: compacted", "table", id.String(), "rewritten", rep.Rewritten,
				"data_files_before", rep.DataFilesBefore, "data_files_after", rep.DataFilesAfter)
		}
	}
	if want.Expire {
		rep, err := e.writer.ExpireSnapshots(ctx, id, want.ExpireOptions)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("upkeep: snapshot expiry", "table", id.String(), "err", err)
		case err == nil && rep.SnapshotsAfter < rep.SnapshotsBefore:
			e.log.Info("upkeep: snapshots expired", "table", id.String(), "before", rep.SnapshotsBefore, "after", rep.SnapshotsAfter)
		}
	}
}

// WaitUpkeep waits until the upkeep worker has nothing queued or running
// (or ctx ends).
func (e *Engine) WaitUpkeep(ctx context.Context) error {
	u := e.upkeep
	if u == nil {
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		u.mu.Lock()
		u.idle.Broadcast()
		u.mu.Unlock()
	})
	defer stop()
	u.mu.Lock()
	defer u.mu.Unlock()
	for u.running && ctx.Err() == nil {
		u.idle.Wait()
	}
	return ctx.Err()
}

// stopUpkeep cancels the worker and waits for it.
func (e *Engine) stopUpkeep() {
	if u := e.upkeep; u != nil {
		u.mu.Lock() // scheduleUpkeep checks the context and starts the worker under it
		u.stop()
		u.mu.Unlock()
		u.wg.Wait()
	}
}
