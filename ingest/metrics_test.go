package ingest

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lakeflight/lakeflight/catalog"
)

// TestMetricsCountOutcomes: a commit, its replay, and an input the table
// cannot take are counted under their outcomes; only the commit adds rows.
func TestMetricsCountOutcomes(t *testing.T) {
	w := NewWriter(openCatalog(t), slog.New(slog.DiscardHandler), nil)
	reg := prometheus.NewRegistry()
	if err := w.Register(reg); err != nil {
		t.Fatal(err)
	}
	id := catalog.Ident{Namespace: "bronze", Name: "events"}
	ingest := func(key string, cols ...any) error {
		_, err := w.Write(t.Context(), Request{Table: id, Key: key, Records: batchOf(t, []string{"id"}, cols...)})
		return err
	}
	if err := ingest("k1", []int64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := ingest("k1", []int64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := ingest("k2", []string{"not a number"}); err == nil {
		t.Fatal("a string into a bigint column was taken")
	}
	for outcome, want := range map[string]float64{OutcomeCommitted: 1, OutcomeReplayed: 1, OutcomeRejected: 1, OutcomeFailed: 0, OutcomeCanceled: 0} {
		if got := testutil.ToFloat64(w.m.ingests.WithLabelValues(outcome)); got != want {
			t.Errorf("requests_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.ToFloat64(w.m.rows); got != 3 {
		t.Errorf("rows_total = %v, want 3", got)
	}
}
