package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// genCSV writes a header and rows of ten mixed columns: int, float,
// string, bool, date, timestamp, quoted string with commas, int, float,
// string.
func genCSV(rows int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 42))
	var b bytes.Buffer
	b.Grow(rows * 110)
	b.WriteString("id,price,name,active,day,at,note,qty,ratio,code\n")
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var num []byte
	for i := range rows {
		num = strconv.AppendInt(num[:0], int64(i), 10)
		b.Write(num)
		b.WriteByte(',')
		num = strconv.AppendFloat(num[:0], rng.Float64()*1000, 'f', 2, 64)
		b.Write(num)
		b.WriteByte(',')
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteByte(',')
		b.WriteString(strconv.FormatBool(rng.IntN(2) == 0))
		b.WriteByte(',')
		t := base.Add(time.Duration(rng.Int64N(int64(4 * 365 * 24 * time.Hour))))
		b.WriteString(t.Format("2006-01-02"))
		b.WriteByte(',')
		b.WriteString(t.Format("2006-01-02 15:04:05.000000"))
		b.WriteString(",\"")
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteString(", ")
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteString("\",")
		num = strconv.AppendInt(num[:0], rng.Int64N(100000)-50000, 10)
		b.Write(num)
		b.WriteByte(',')
		num = strconv.AppendFloat(num[:0], rng.NormFloat64(), 'g', -1, 64)
		b.Write(num)
		b.WriteByte(',')
		b.WriteString("C")
		num = strconv.AppendInt(num[:0], rng.Int64N(1000000), 36)
		b.Write(num)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

var benchData = sync.OnceValue(func() []byte { return genCSV(1_000_000, 1) })

// BenchmarkCSV parses a ~1M-row, 10-column mixed file end to end.
//
//	go test -tags duckdb_arrow -run '^$' -bench CSV -benchmem ./ingest/
func BenchmarkCSV(b *testing.B) {
	data := benchData()
	for _, workers := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				o := Options{Workers: workers}.withDefaults()
				in := input{r: bytes.NewReader(data), at: bytes.NewReader(data), size: int64(len(data))}
				p, err := newCSVParser(ctx, in, &o)
				if err != nil {
					b.Fatal(err)
				}
				if rows := countRows(b, ctx, p); rows != 1_000_000 {
					b.Fatalf("parsed %d rows", rows)
				}
			}
		})
	}
}

// BenchmarkCSVBaselineEncodingCSV only splits the same file into records
// with encoding/csv, on one core: a yardstick measured in the same run, as
// the machine's speed varies with its load.
func BenchmarkCSVBaselineEncodingCSV(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCSVPiece parses one 4 MiB piece of the benchmark file on one
// goroutine, without the splitter and the channels around the workers, and
// splits the same piece with encoding/csv in between: on a busy machine
// the two then see the same load. It reports the parser's speed and its
// ratio to encoding/csv's (the median over iterations).
func BenchmarkCSVPiece(b *testing.B) {
	data := benchData()
	piece := benchPiece(data)
	w, done := benchWorker(b, data)
	defer done()
	b.SetBytes(int64(len(piece)))
	b.ReportAllocs()
	var ratios []float64
	for b.Loop() {
		t0 := time.Now()
		chunks, err := w.parse(&csvPiece{buf: piece, line: 2})
		t1 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range chunks {
			if len(c.Errs) > 0 {
				b.Fatal(c.Errs[0].Error())
			}
		}
		releaseChunks(chunks)
		b.StopTimer()
		t2 := time.Now()
		splitEncodingCSV(b, piece)
		ratios = append(ratios, float64(time.Since(t2))/float64(t1.Sub(t0)))
		b.StartTimer()
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-encoding/csv")
}

// benchWorker returns a worker for the benchmark file, as the parser
// would start it.
func benchWorker(b *testing.B, data []byte) (*csvWorker, func()) {
	o := Options{Workers: 1}.withDefaults()
	in := input{r: bytes.NewReader(data), at: bytes.NewReader(data), size: int64(len(data))}
	pp, err := newCSVParser(context.Background(), in, &o)
	if err != nil {
		b.Fatal(err)
	}
	pp.Close()
	p := pp.(*csvParser)
	p.ctx = context.Background()
	w := &csvWorker{p: p, sc: newRecordScanner(p.d), fast: fastKinds(p.d, p.cols)}
	w.bb = newBatchBuilder(o.Allocator, p.schema, p.cols, &p.nulls)
	w.bb.hint = min(o.BatchRows, max(16, o.ChunkBytes/p.rowBytes*9/8))
	return w, w.bb.release
}

func splitEncodingCSV(b *testing.B, data []byte) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	for {
		if _, err := r.Read(); err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// benchPiece is the whole records in the first DefaultChunkBytes of data
// after its header.
func benchPiece(data []byte) []byte {
	data = data[bytes.IndexByte(data, '\n')+1:]
	piece := data[:DefaultChunkBytes]
	return piece[:bytes.LastIndexByte(piece, '\n')+1]
}
