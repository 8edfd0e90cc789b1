package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
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
				rows := int64(0)
				for {
					c, err := p.Next(ctx)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if len(c.Errs) > 0 {
						b.Fatal(c.Errs[0].Error())
					}
					if c.Batch != nil {
						rows += c.Batch.NumRows()
						c.Batch.Release()
					}
				}
				p.Close()
				if rows != 1_000_000 {
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
