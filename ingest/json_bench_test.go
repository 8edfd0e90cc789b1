package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var (
	jsonBenchOnce sync.Once
	jsonBenchData []byte
)

// jsonBenchInput is ~1M rows of 10 mixed fields, about 190 MB.
func jsonBenchInput() []byte {
	jsonBenchOnce.Do(func() {
		r := rand.New(rand.NewPCG(7, 8))
		var b bytes.Buffer
		b.Grow(200 << 20)
		words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
		for i := range 1_000_000 {
			b.WriteString(`{"id":`)
			b.WriteString(strconv.Itoa(i))
			b.WriteString(`,"price":`)
			b.WriteString(strconv.FormatFloat(r.Float64()*1000, 'f', 2, 64))
			b.WriteString(`,"name":"`)
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString(" ")
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString(`","active":`)
			b.WriteString(strconv.FormatBool(r.IntN(2) == 0))
			fmt.Fprintf(&b, `,"day":"2024-%02d-%02d"`, 1+r.IntN(12), 1+r.IntN(28))
			fmt.Fprintf(&b, `,"ts":"2024-%02d-%02dT%02d:%02d:%02d.%06dZ"`, 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e6))
			b.WriteString(`,"note":"line one\nline \"two\"\tend`)
			if i%10 == 0 {
				b.WriteString(` caf\u00e9`)
			}
			b.WriteString(`","qty":`)
			b.WriteString(strconv.Itoa(r.IntN(100)))
			b.WriteString(`,"geo":{"lat":`)
			b.WriteString(strconv.FormatFloat(r.Float64()*180-90, 'f', 5, 64))
			b.WriteString(`,"lon":`)
			b.WriteString(strconv.FormatFloat(r.Float64()*360-180, 'f', 5, 64))
			b.WriteString(`},"tag":"`)
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString("\"}\n")
		}
		jsonBenchData = b.Bytes()
	})
	return jsonBenchData
}

// BenchmarkNDJSON parses the input on GOMAXPROCS workers.
func BenchmarkNDJSON(b *testing.B) {
	data := jsonBenchInput()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := jsonCPUTime()
	b.ResetTimer()
	defer func() {
		// the machine is shared: also report throughput per CPU-second used
		if cpu := jsonCPUTime() - cpu0; cpu > 0 {
			b.ReportMetric(float64(b.N)*float64(len(data))/1e6/cpu.Seconds(), "MB/cpu-s")
		}
	}()
	for b.Loop() {
		o := Options{}.withDefaults()
		p, err := newJSONParser(context.Background(), input{r: bytes.NewReader(data)}, &o)
		if err != nil {
			b.Fatal(err)
		}
		if rows := countRows(b, context.Background(), p); rows != 1_000_000 {
			b.Fatalf("%d rows", rows)
		}
	}
}

// jsonNthLine is the offset just after the n-th newline of data.
func jsonNthLine(data []byte, n int) int {
	off := 0
	for range n {
		off += bytes.IndexByte(data[off:], '\n') + 1
	}
	return off
}

// jsonCPUTime is the user+system CPU time of the process so far.
func jsonCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNDJSONArrow is arrow-go's JSON reader on the same input and
// schema (single-threaded), the baseline.
func BenchmarkNDJSONArrow(b *testing.B) {
	data := jsonBenchInput()
	o := Options{}.withDefaults()
	p, err := newJSONParser(context.Background(), input{r: bytes.NewReader(data[:1<<20])}, &o)
	if err != nil {
		b.Fatal(err)
	}
	p.Close()
	// arrow-go's reader spins on this input's date and timestamp strings
	// (v18.8.0), so it reads them as utf8: a baseline in its favour.
	var fields []arrow.Field
	for _, f := range p.Schema().Fields() {
		switch f.Type.ID() {
		case arrow.DATE32, arrow.TIMESTAMP:
			f.Type = arrow.BinaryTypes.String
		}
		fields = append(fields, f)
	}
	schema := arrow.NewSchema(fields, nil)
	// the first 10k rows: goccy/go-json, under it, memmoves its buffer at
	// every escape in a string, which makes it quadratic on this input
	data = data[:jsonNthLine(data, 10_000)]
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		rdr := array.NewJSONReader(bytes.NewReader(data), schema, array.WithChunk(65536), array.WithAllocator(memory.DefaultAllocator))
		rows := int64(0)
		for rdr.Next() {
			rows += rdr.RecordBatch().NumRows()
		}
		if err := rdr.Err(); err != nil {
			b.Fatal(err)
		}
		rdr.Release()
		if rows != 10_000 {
			b.Fatalf("%d rows", rows)
		}
	}
}

// BenchmarkNDJSONWorker runs one worker over the input cut into 4 MB
// pieces, without the splitter and goroutines: the parsing CPU cost alone.
func BenchmarkNDJSONWorker(b *testing.B) {
	data := jsonBenchInput()
	o := Options{}.withDefaults()
	p, err := newJSONParserT(context.Background(), input{r: bytes.NewReader(data[:1<<20])}, &o)
	if err != nil {
		b.Fatal(err)
	}
	p.Close()
	root, err := newJSONCol(arrow.StructOf(p.Schema().Fields()...), "")
	if err != nil {
		b.Fatal(err)
	}
	w := &jsonWorker{root: root, schema: p.Schema(), opts: &o, pool: &jsonBufs{free: make(chan *[]byte, 1)}}
	var cuts []int
	for off := 0; off < len(data); {
		end := min(off+o.ChunkBytes, len(data))
		if k := bytes.LastIndexByte(data[off:end], '\n'); end < len(data) && k >= 0 {
			end = off + k + 1
		}
		cuts = append(cuts, end)
		off = end
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := jsonCPUTime()
	b.ResetTimer()
	for b.Loop() {
		rows, off := int64(0), 0
		for _, end := range cuts {
			piece := &jsonPiece{buf: new([]byte), data: data[off:end], bytes: int64(end - off), line: 1}
			w.parse(context.Background(), piece)
			for _, c := range piece.chunks {
				if len(c.Errs) > 0 {
					b.Fatal(c.Errs[0].Error())
				}
				if c.Batch != nil {
					rows += c.Batch.NumRows()
					c.Batch.Release()
				}
			}
			off = end
		}
		if rows != 1_000_000 {
			b.Fatalf("%d rows", rows)
		}
	}
	if cpu := jsonCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)*float64(len(data))/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}
