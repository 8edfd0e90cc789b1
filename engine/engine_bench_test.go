//go:build duckdb_arrow

package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	bindings "github.com/duckdb/duckdb-go-bindings"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The same 10M-row query through three paths, so docs/benchmarks.md can
// give the engine as a ratio of in-process DuckDB:
//
//	BenchmarkStream10M            engine: streaming, coalesced 65536-row batches
//	BenchmarkBaselineDuckDBGo10M  duckdb-go's Arrow API (materialises, 2048-row batches)
//	BenchmarkBaselineChunks10M    raw C API streaming chunks → Arrow, no coalescing
//
// go test -tags duckdb_arrow -run '^$' -bench 10M -benchmem ./engine/
const benchQuery = "SELECT range AS id, range * 0.5 AS x, 'name ' || (range % 1000) AS s, range % 7 = 0 AS b FROM range(10000000)"

const benchRows = 10_000_000

// recordBytes is the size of a batch's Arrow buffers.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
	}
	for _, col := range rec.Columns() {
		walk(col.Data())
	}
	return n
}

// consume reads rdr to the end and returns rows and bytes.
func consume(b *testing.B, rdr array.RecordReader) (rows, bytes int64) {
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rows += rec.NumRows()
		bytes += recordBytes(rec)
	}
	if err := rdr.Err(); err != nil {
		b.Fatal(err)
	}
	return rows, bytes
}

func report(b *testing.B, rows, bytes int64) {
	if rows != int64(b.N)*benchRows {
		b.Fatalf("rows %d, want %d", rows, int64(b.N)*benchRows)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(rows)/sec, "rows/s")
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
	b.SetBytes(bytes / int64(b.N))
}

func BenchmarkStream10M(b *testing.B) { benchStream(b, memory.DefaultAllocator) }

// BenchmarkStream10MMalloc: the same with C malloc for the coalesced
// batches (no Go GC work for 386 MB of copies per run).
func BenchmarkStream10MMalloc(b *testing.B) { benchStream(b, mallocator.NewMallocator()) }

func benchStream(b *testing.B, mem memory.Allocator) {
	e, _ := openTest(b, nil)
	s := newSession(b, e)
	st, err := s.Prepare(context.Background(), benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var rows, bytes int64
	b.ResetTimer()
	for range b.N {
		rdr, err := st.Query(context.Background(), nil, mem)
		if err != nil {
			b.Fatal(err)
		}
		r, n := consume(b, rdr)
		rdr.Release()
		rows += r
		bytes += n
	}
	report(b, rows, bytes)
}

func BenchmarkBaselineDuckDBGo10M(b *testing.B) {
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	conn, err := c.Connect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		b.Fatal(err)
	}
	var rows, bytes int64
	b.ResetTimer()
	for range b.N {
		rdr, err := ar.QueryContext(context.Background(), benchQuery)
		if err != nil {
			b.Fatal(err)
		}
		r, n := consume(b, rdr)
		rdr.Release()
		rows += r
		bytes += n
	}
	report(b, rows, bytes)
}

func BenchmarkBaselineChunks10M(b *testing.B) {
	e, _ := openTest(b, nil)
	s := newSession(b, e)
	conn := s.main.c
	var ps bindings.PreparedStatement
	if bindings.Prepare(conn, benchQuery, &ps) == bindings.StateError {
		b.Fatal(bindings.PrepareError(ps))
	}
	defer bindings.DestroyPrepare(&ps)
	st, err := s.Prepare(context.Background(), benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var rows, bytes int64
	b.ResetTimer()
	for range b.N {
		var pending bindings.PendingResult
		bindings.PendingPreparedStreaming(ps, &pending)
		var res bindings.Result
		if bindings.ExecutePending(pending, &res) == bindings.StateError {
			b.Fatal(bindings.ResultError(&res))
		}
		bindings.DestroyPending(&pending)
		for {
			chunk := bindings.FetchChunk(res)
			if chunk.Ptr == nil {
				break
			}
			rec, ed := bindings.DataChunkToArrowArray(st.opts, st.schema, chunk)
			bindings.DestroyDataChunk(&chunk)
			if err := errorData(ed); err != nil {
				b.Fatal(err)
			}
			rows += rec.NumRows()
			bytes += recordBytes(rec)
			rec.Release()
		}
		bindings.DestroyResult(&res)
	}
	report(b, rows, bytes)
}
