//go:build duckdb_arrow

package flightsql

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
)

// A bulk ingest stream is bounded in total, not only per message: past the
// limit it is refused with ResourceExhausted naming the setting, and neither
// a new table nor a snapshot of an existing one is left behind.
func TestIngestStreamLimit(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.MaxIngestBytes = 64 << 10 })
	cl := env.client(t, true)
	ctx := context.Background()

	// 1,000 rows are about 13 KB of Arrow data: under the limit.
	if n, err := cl.ExecuteIngest(ctx, idNameReader(t, 0, 1000), ingestOpts("capped", ingest.ModeCreate)); err != nil || n != 1000 {
		t.Fatalf("small ingest: %d rows, %v", n, err)
	}
	// Ten batches of 1,000 rows: each message is small, the stream is not.
	sizes := []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}
	_, err := cl.ExecuteIngest(ctx, idNameReader(t, 1000, sizes...), ingestOpts("capped", ingest.ModeAppend))
	st := wantCode(t, err, codes.ResourceExhausted)
	for _, want := range []string{"65536 bytes", "--max-ingest-decompressed-bytes", "nothing was committed"} {
		if !strings.Contains(st.Message(), want) {
			t.Errorf("message %q lacks %q", st.Message(), want)
		}
	}
	snaps, err := env.cat.Snapshots(ctx, catalog.Ident{Namespace: "bronze", Name: "capped"})
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots after the refused append: %d, %v", len(snaps), err)
	}
	_, err = cl.ExecuteIngest(ctx, idNameReader(t, 0, sizes...), ingestOpts("capped_new", ingest.ModeCreate))
	wantCode(t, err, codes.ResourceExhausted)
	if _, err := env.cat.Snapshots(ctx, catalog.Ident{Namespace: "bronze", Name: "capped_new"}); err == nil {
		t.Fatal("a refused create left its table behind")
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.capped").rows; got[0][0] != "1000" {
		t.Fatalf("rows after the refusals: %q", got)
	}
}
