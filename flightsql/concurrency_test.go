//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// Several clients at once, each with its own session, mixing ad-hoc
// queries, prepared statements with parameters and metadata calls.
func TestConcurrentClients(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for c := range 4 {
		cl := env.client(t, c%2 == 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				info, err := cl.Execute(ctx, fmt.Sprintf(`SELECT i + %d AS v FROM range(5000) t(i)`, i))
				if err != nil {
					errs <- err
					return
				}
				if res, err := fetch(ctx, cl, info); err != nil || len(res.rows) != 5000 {
					errs <- fmt.Errorf("client %d: %d rows, %w", c, len(res.rows), err)
					return
				}
				prep, err := cl.Prepare(ctx, `SELECT $1::INTEGER * 10 AS x, $2::VARCHAR AS s`)
				if err != nil {
					errs <- err
					return
				}
				p := params([]int32{int32(i), int32(i + 1)}, []string{"a", "b"})
				prep.SetParameters(p)
				p.Release()
				info, err = prep.Execute(ctx)
				if err == nil {
					var res result
					res, err = fetch(ctx, cl, info)
					if err == nil && len(res.rows) != 2 {
						err = fmt.Errorf("prepared rows %q", res.rows)
					}
				}
				if cerr := prep.Close(ctx); err == nil {
					err = cerr
				}
				if err != nil {
					errs <- err
					return
				}
				info, err = cl.GetTables(ctx, nil)
				if err == nil {
					_, err = fetch(ctx, cl, info)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Server.Close interrupts running streams instead of waiting for them.
func TestCloseInterruptsStreams(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	info, err := cl.Execute(ctx, slowQuery)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := drain(ctx, cl, info.Endpoint[0].Ticket); done <- err }()
	waitFor(t, 10*time.Second, func() bool {
		env.srv.handles.mu.Lock()
		defer env.srv.handles.mu.Unlock()
		for _, h := range env.srv.handles.handles {
			if h.running {
				return true
			}
		}
		return false
	})
	start := time.Now()
	if err := env.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-done:
		wantCode(t, err, codes.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("stream still running after Close")
	}
	if st := env.eng.Stats(); st.Sessions != 0 {
		t.Errorf("engine sessions open after Close: %d", st.Sessions)
	}
	// New calls are refused once closed.
	_, err = cl.Execute(ctx, `SELECT 1`)
	wantCode(t, err, codes.Unavailable)
}
