package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// A table created pending and never committed to is swept when its
// process is gone; a pending table whose rows committed, another host's,
// or one never pending, stays.
func TestSweepPending(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newEnv(t).open(t)
	if err := c.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatal(err)
	}
	create := func(name string, opts ...CreateOption) Ident {
		id := Ident{"bronze", name}
		if err := c.CreateTable(ctx, id, deltaSchema, opts...); err != nil {
			t.Fatal(err)
		}
		return id
	}
	mark := func(id Ident, m pendingMark) {
		b, _ := json.Marshal(m)
		err := c.commitMetadata(ctx, id, func(table.Metadata) ([]table.Update, []table.Requirement, error) {
			return []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{PropPending: string(b)})}, nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	host, _ := os.Hostname()
	const deadPIDNumber = 1 << 30 // above any pid_max: no such process

	ownCrash := create("own_crash", Pending()) // this process "restarted": its writes are gone
	deadPID := create("dead_pid")
	mark(deadPID, pendingMark{Host: host, PID: deadPIDNumber, At: time.Now().Unix()})
	otherHost := create("other_host")
	mark(otherHost, pendingMark{Host: host + "-elsewhere", PID: 1, At: time.Now().Unix()})
	stale := create("stale")
	mark(stale, pendingMark{Host: host + "-elsewhere", PID: 1, At: time.Now().Add(-8 * 24 * time.Hour).Unix()})
	empty := create("plain_empty")

	committed := create("committed", Pending())
	txn, err := c.Begin(ctx, committed)
	if err != nil {
		t.Fatal(err)
	}
	rdr := idRows(t, mem, deltaSchema, 1, 2)
	if err := txn.Append(ctx, rdr, nil); err != nil {
		t.Fatal(err)
	}
	rdr.Release()
	if err := txn.ClearPending(); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// A table still marked, but with rows (a snapshot): a table, kept.
	markedWithRows := create("marked_with_rows")
	appendIDs(t, c, mem, markedWithRows, 7)
	mark(markedWithRows, pendingMark{Host: host, PID: deadPIDNumber, At: time.Now().Unix()})
	props, err := c.Properties(ctx, committed)
	if err != nil {
		t.Fatal(err)
	}
	if _, still := props[PropPending]; still {
		t.Fatal("the commit that added the rows left the table marked pending")
	}

	if err := c.SetProperty(ctx, empty, PropPending, "{}"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("setting %s by hand: %v", PropPending, err)
	}
	dropped, err := c.SweepPending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(dropped, func(a, b Ident) int { return strings.Compare(a.Name, b.Name) })
	if want := []Ident{deadPID, ownCrash, stale}; !slices.Equal(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	for _, id := range []Ident{otherHost, empty, committed, markedWithRows} {
		if _, err := c.LoadTable(ctx, id); err != nil {
			t.Errorf("%s was dropped: %v", id, err)
		}
	}
	for _, id := range dropped {
		if _, err := c.LoadTable(ctx, id); !errors.Is(err, ErrNoSuchTable) {
			t.Errorf("%s is still there: %v", id, err)
		}
	}
}
