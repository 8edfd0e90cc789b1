package hmstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hive"
	icetable "github.com/apache/iceberg-go/table"
)

// TestConcurrentCommits: two clients, each with its own connection to the
// metastore, append to one table at once, four times each. Every commit
// takes the metastore's table lock; a client that finds it held, or the
// table moved on, fails with ErrCommitFailed and iceberg-go refreshes and
// retries (commit.retry.num-retries). On PostgreSQL all eight appends land
// in about a second. On Derby the lock tables deadlock and Hive's
// minute-long retries stall them for minutes, past this test's deadline
// (which the hive client's Thrift calls do not heed: the test would hang
// until go test's -timeout).
func TestConcurrentCommits(t *testing.T) {
	const (
		clients   = 2
		appends   = 4 // per client
		perAppend = 3 // rows
		deadline  = 60 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)

	ns := icetable.Identifier{"concurrent"}
	ident := icetable.Identifier{"concurrent", "events"}
	setup := open(t, srv)
	if err := setup.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	_, err := setup.CreateTable(ctx, ident, schema, icecatalog.WithProperties(iceberg.Properties{
		icetable.CommitNumRetriesKey:     "10",
		icetable.CommitMinRetryWaitMsKey: "20",
		icetable.CommitMaxRetryWaitMsKey: "1000",
	}))
	if err != nil {
		t.Fatal(err)
	}

	var conflicts atomic.Int64
	cats := make([]rebasing, clients)
	for c := range cats {
		cats[c] = rebasing{open(t, srv), &conflicts}
	}
	began := time.Now()
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for c, cat := range cats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range appends {
				first := int64((c*appends + i) * perAppend)
				if err := appendRows(ctx, cat, ident, mem, first, perAppend); err != nil {
					errs[c] = fmt.Errorf("client %d, append %d: %w", c, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	t.Logf("%d clients × %d appends took %s, %d commit attempts retried", clients, appends, took.Round(time.Millisecond), conflicts.Load())
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("after %s: %v", took.Round(time.Millisecond), err)
	}

	tbl, err := setup.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(tbl.Metadata().Snapshots()), clients*appends; got != want {
		t.Errorf("%d snapshots, want %d (one per append)", got, want)
	}
	got, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	var ids []int64
	for _, chunk := range got.Column(0).Data().Chunks() {
		ids = append(ids, chunk.(*array.Int64).Int64Values()...)
	}
	slices.Sort(ids)
	want := make([]int64, clients*appends*perAppend)
	for i := range want {
		want[i] = int64(i)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("ids after the appends = %v, want 0 to %d once each", ids, len(want)-1)
	}
}

// rebasing is iceberg-go's hive catalog with the fix lakeflight's catalog
// (catalog.committer) makes: iceberg-go v0.7.0's hive CommitTable reports a
// lock it could not take as ErrCommitFailed, which the commit loop retries,
// but a branch head that moved before it took the lock as a plain
// "requirement failed" error, which the loop never retries. Nothing was
// written then, so rebasing reports it as ErrCommitFailed too.
type rebasing struct {
	*hive.Catalog
	conflicts *atomic.Int64 // commits answered ErrCommitFailed, and so retried
}

var _ icetable.CatalogIO = rebasing{}

func (c rebasing) CommitTable(ctx context.Context, ident icetable.Identifier, reqs []icetable.Requirement, updates []icetable.Update) (icetable.Metadata, string, error) {
	md, loc, err := c.Catalog.CommitTable(ctx, ident, reqs, updates)
	if err != nil && !errors.Is(err, icetable.ErrCommitFailed) && strings.HasPrefix(err.Error(), "requirement failed") {
		err = fmt.Errorf("%w: %w", icetable.ErrCommitFailed, err)
	}
	if errors.Is(err, icetable.ErrCommitFailed) {
		c.conflicts.Add(1)
	}
	return md, loc, err
}

// LoadTable loads a table that commits (and retries) through c.
func (c rebasing) LoadTable(ctx context.Context, ident icetable.Identifier) (*icetable.Table, error) {
	tbl, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return icetable.New(ident, tbl.Metadata(), tbl.MetadataLocation(), tbl.FS, c), nil
}

// appendRows appends rows first…first+n-1 to the table in a transaction of
// its own, loaded afresh from cat.
func appendRows(ctx context.Context, cat rebasing, ident icetable.Identifier, mem memory.Allocator, first int64, n int) error {
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		return err
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	rec, err := batch(mem, ids...)
	if err != nil {
		return err
	}
	defer rec.Release()
	data := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
	defer data.Release()
	tx := tbl.NewTransaction()
	if err := tx.AppendTable(ctx, data, int64(n), iceberg.Properties{"appended-by": strconv.FormatInt(first, 10)}); err != nil {
		return err
	}
	_, err = tx.Commit(ctx)
	return err
}
