//go:build duckdb_arrow

package flightsql

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// A row bigger than the per-row limit is refused with ResourceExhausted
// naming the row and the setting, never sent as a message clients refuse;
// big rows under the limit still reach the client, however the batch was
// sliced around them.
func TestResultRowLimit(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.MaxRowBytes = 1 << 20 })
	cl := env.client(t, true)
	ctx := context.Background()

	// Rows 0..3 are small, row 4 holds 2 MB: the refusal names row 4.
	info, err := cl.Execute(ctx, "SELECT i, CASE WHEN i = 4 THEN repeat('x', 2000000) ELSE 'small' END AS s FROM range(10) t(i) ORDER BY i")
	if err != nil {
		t.Fatal(err)
	}
	_, err = fetch(ctx, cl, info)
	st := wantCode(t, err, codes.ResourceExhausted)
	for _, want := range []string{"result row 4 ", "--max-result-row-bytes", "1048576"} {
		if !strings.Contains(st.Message(), want) {
			t.Errorf("message %q lacks %q", st.Message(), want)
		}
	}

	// Many rows of 300 KB each: every one fits, the batch is cut to fit.
	res := query(t, cl, "SELECT i, length(repeat('y', 300000)) AS n, repeat('y', 300000) AS s FROM range(40) t(i) ORDER BY i")
	if len(res.rows) != 40 {
		t.Fatalf("got %d rows, want 40", len(res.rows))
	}
	for i, r := range res.rows {
		if r[1] != "300000" || len(r[2]) != 300000 {
			t.Fatalf("row %d: n=%s len(s)=%d", i, r[1], len(r[2]))
		}
	}

	// The connection stays usable.
	if got := query(t, cl, "SELECT 42").rows; got[0][0] != "42" {
		t.Fatalf("after the refusal: %q", got)
	}
}
