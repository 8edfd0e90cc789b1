//go:build duckdb_arrow

package flightsql

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lakeflight/lakeflight/internal/arrowbytes"
)

// BenchmarkStream10M streams 10M rows (int64, int64, double: 240 MB of
// Arrow buffers) through the Flight SQL client; MB/s is what the client
// receives.
func BenchmarkStream10M(b *testing.B) {
	env := newTestEnv(b)
	cl := env.client(b, true)
	ctx := context.Background()
	const sql = `SELECT i, i * 2 AS j, i::DOUBLE AS d FROM range(10000000) t(i)`
	b.ResetTimer()
	for b.Loop() {
		info, err := cl.Execute(ctx, sql)
		if err != nil {
			b.Fatal(err)
		}
		rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
		if err != nil {
			b.Fatal(err)
		}
		var rows, size int64
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rows += rec.NumRows()
			size += arrowbytes.Batch(rec)
		}
		if err := rdr.Err(); err != nil {
			b.Fatal(err)
		}
		rdr.Release()
		if rows != 10_000_000 {
			b.Fatalf("rows = %d", rows)
		}
		b.SetBytes(size)
	}
}

// BenchmarkOneRowLatency: GetFlightInfo + DoGet of a one-row query, the
// round trip a dashboard tile pays; p50 and p99 are reported.
func BenchmarkOneRowLatency(b *testing.B) { benchOneRow(b, `SELECT 42 AS answer`) }

// BenchmarkOneRowIcebergLatency reads one row of an Iceberg table: the
// statement is rewritten to read a pinned snapshot view.
func BenchmarkOneRowIcebergLatency(b *testing.B) {
	benchOneRow(b, `SELECT name FROM bronze.events WHERE id = 2`)
}

func benchOneRow(b *testing.B, sql string) {
	env := newTestEnv(b)
	cl := env.client(b, true)
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		info, err := cl.Execute(ctx, sql)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := drain(ctx, cl, info.Endpoint[0].Ticket); err != nil || n != 1 {
			b.Fatalf("%d rows, %v", n, err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
