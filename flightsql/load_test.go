//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/lakeflight/lakeflight/ingest"
)

// Concurrent clients mixing queries, prepared statements, ingests, catalog
// listings and broken SQL for a bounded time: no error but the broken SQL's
// INVALID_ARGUMENT, every acknowledged ingest row present once, and once
// the clients are gone no goroutine, session, handle, running statement or
// Arrow buffer is left behind.
func TestLoadLeavesNothingBehind(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	setup := env.client(t, false)
	if _, err := setup.ExecuteIngest(ctx, idNameReader(t, 0, 1), ingestOpts("load", ingest.ModeCreate)); err != nil {
		t.Fatal(err)
	}
	_ = setup.Close()
	acked := atomic.Int64{}
	acked.Store(1)
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	const workers, run = 6, 3 * time.Second
	deadline := time.Now().Add(run)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var ops atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := afsql.NewClient(env.addr, nil, nil, dialInsecure())
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for i := w; time.Now().Before(deadline); i++ {
				if err := loadOp(ctx, cl, i, &acked); err != nil {
					errs <- err
					return
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("under load: %v", err)
	}
	t.Logf("%d operations by %d clients in %v", ops.Load(), workers, run)

	// Everything acknowledged is there exactly once.
	check := env.client(t, false)
	if n := countRows(t, ctx, check, "SELECT * FROM bronze.load"); n != acked.Load() {
		t.Errorf("bronze.load holds %d rows; %d were acknowledged", n, acked.Load())
	}
	_ = check.Close()

	waitFor(t, 15*time.Second, func() bool {
		env.srv.handles.mu.Lock()
		handles := len(env.srv.handles.handles)
		env.srv.handles.mu.Unlock()
		return runtime.NumGoroutine() <= baseline+5 && handles == 0 && env.eng.Stats().Running == 0 &&
			testutil.ToFloat64(env.srv.metrics.sessions) == 0 && env.mem.CurrentAlloc() == 0
	})
}

// loadOp is the i-th operation of a load client.
func loadOp(ctx context.Context, cl *afsql.Client, i int, acked *atomic.Int64) error {
	switch i % 5 {
	case 0:
		info, err := cl.Execute(ctx, "SELECT count(*), sum(amount) FROM bronze.events")
		if err != nil {
			return err
		}
		_, err = drain(ctx, cl, info.Endpoint[0].Ticket)
		return err
	case 1:
		prep, err := cl.Prepare(ctx, "SELECT name FROM bronze.events WHERE id > 1 ORDER BY id")
		if err != nil {
			return err
		}
		defer func() { _ = prep.Close(ctx) }()
		info, err := prep.Execute(ctx)
		if err != nil {
			return err
		}
		_, err = drain(ctx, cl, info.Endpoint[0].Ticket)
		return err
	case 2:
		rdr := loadBatch(i)
		defer rdr.Release()
		n, err := cl.ExecuteIngest(ctx, rdr, ingestOpts("load", ingest.ModeAppend))
		if err == nil {
			acked.Add(n)
		}
		return err
	case 3:
		info, err := cl.GetTables(ctx, &afsql.GetTablesOpts{})
		if err != nil {
			return err
		}
		_, err = drain(ctx, cl, info.Endpoint[0].Ticket)
		return err
	default:
		_, err := cl.Execute(ctx, "SELEC 1")
		if status.Code(err) != codes.InvalidArgument {
			return fmt.Errorf("broken SQL: %w, want INVALID_ARGUMENT", err)
		}
		return nil
	}
}

// loadBatch is five rows (id, name) for bronze.load.
func loadBatch(i int) array.RecordReader {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for k := range 5 {
		b.Field(0).(*array.Int64Builder).Append(int64(i*10 + k))
		b.Field(1).(*array.StringBuilder).Append("load")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec}) // one batch of sc: cannot fail
	return rdr
}

func dialInsecure() grpc.DialOption { return grpc.WithTransportCredentials(insecure.NewCredentials()) }
