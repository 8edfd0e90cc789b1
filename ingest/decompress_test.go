package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// csvRows is n rows of CSV with a header; rows are hard to compress so
// that the streams span many deflate blocks.
func csvRows(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,name,score\n")
	x := uint32(2463534242)
	for i := range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		fmt.Fprintf(&b, "%d,name-%08x,%d.%02d\n", i, x, x%1000, x%97)
	}
	return b.Bytes()
}

func gzipOf(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, p := range parts { // one member each
		w := gzip.NewWriter(&out)
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

func zstdOf(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = enc.Close() }()
	var out []byte
	for _, p := range parts { // one frame each
		out = enc.EncodeAll(p, out)
	}
	return out
}

// readAll opens in and reads it to the end, returning the rows read and
// the error of Open or of the stream.
func readAll(t *testing.T, in []byte, opts Options) (int64, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts.Allocator = mem
	opts.ChunkBytes = 64 << 10 // several pieces in flight
	r, err := Open(context.Background(), bytes.NewReader(in), opts)
	if err != nil {
		return 0, err
	}
	defer r.Release()
	for r.Next() {
	}
	return r.Stats().Rows, r.Err()
}

// truncCase is a compressed input cut or damaged somewhere, with what
// reading it must give.
type truncCase struct {
	name   string
	codec  string
	data   []byte
	rows   int64  // rows when it reads cleanly
	errHas string // else: the error names this (with "compressed byte N")
}

// truncCases are shared by the doors that read compressed input (this
// package, POST /ingest and the CLI have their own copies of the idea).
func truncCases(t testing.TB) []truncCase {
	const n = 20000
	all := csvRows(n)
	half := bytes.IndexByte(all[len(all)/2:], '\n') + len(all)/2 + 1
	firstRows := int64(bytes.Count(all[:half], []byte{'\n'}) - 1)

	gz := gzipOf(t, all)
	gz2 := gzipOf(t, all[:half], all[half:])
	member1 := len(gzipOf(t, all[:half]))
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-6] ^= 0xff
	zs := zstdOf(t, all[:half], all[half:])
	frame1 := len(zstdOf(t, all[:half]))
	badSum := bytes.Clone(zs)
	badSum[len(badSum)-2] ^= 0xff // inside the frame's content checksum

	cut := func(b []byte, n int) ([]byte, string) {
		return b[:n], fmt.Sprintf("cut short at compressed byte %d", n)
	}
	var cases []truncCase
	add := func(name, codec string, b []byte, msg string) {
		cases = append(cases, truncCase{name: name, codec: codec, data: b, errHas: msg})
	}
	b, m := cut(gz, len(gz)/2)
	add("gzip/mid-deflate", "gzip", b, m)
	b, m = cut(gz, len(gz)-5)
	add("gzip/inside trailer", "gzip", b, m)
	b, m = cut(gz, 5)
	add("gzip/inside header", "gzip", b, m)
	add("gzip/bad CRC", "gzip", badCRC, "gzip stream corrupt at compressed byte")
	b, m = cut(gz2, member1+3)
	add("gzip/inside second member header", "gzip", b, m)
	b, m = cut(zs, len(zs)/4)
	add("zstd/inside first frame", "zstd", b, m)
	b, m = cut(zs, frame1+2)
	add("zstd/between frames (2 bytes of the next)", "zstd", b, m)
	b, m = cut(zs, len(zs)-3)
	add("zstd/inside checksum", "zstd", b, m)
	add("zstd/bad checksum", "zstd", badSum, "zstd stream corrupt at compressed byte")
	// Complete streams read fully; a cut exactly at a member or frame
	// boundary leaves a valid, shorter stream that no reader can tell from
	// a whole one.
	cases = append(cases,
		truncCase{name: "gzip/whole", codec: "gzip", data: gz, rows: n},
		truncCase{name: "gzip/two members", codec: "gzip", data: gz2, rows: n},
		truncCase{name: "gzip/cut at member boundary", codec: "gzip", data: gz2[:member1], rows: firstRows},
		truncCase{name: "zstd/whole", codec: "zstd", data: zs, rows: n},
		truncCase{name: "zstd/cut at frame boundary", codec: "zstd", data: zs[:frame1], rows: firstRows},
	)
	return cases
}

func TestTruncatedCompressedInput(t *testing.T) {
	for _, tc := range truncCases(t) {
		for _, format := range []Format{FormatCSV, FormatAuto} {
			t.Run(tc.name+"/"+string(format), func(t *testing.T) {
				src := "data.csv." + map[string]string{"gzip": "gz", "zstd": "zst"}[tc.codec]
				rows, err := readAll(t, tc.data, Options{Source: src, Format: format})
				if tc.errHas == "" {
					if err != nil || rows != tc.rows {
						t.Fatalf("rows %d, err %v; want %d rows", rows, err, tc.rows)
					}
					return
				}
				if err == nil {
					t.Fatalf("read %d rows and no error; want an error naming %q", rows, tc.errHas)
				}
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), src) {
					t.Fatalf("err = %v; want ErrMalformed naming %s and %q", err, src, tc.errHas)
				}
			})
		}
	}
}

func TestDecompressionLimits(t *testing.T) {
	zeros := make([]byte, 64<<20)
	for i := range zeros {
		if i%64 == 63 {
			zeros[i] = '\n'
		} else {
			zeros[i] = '0'
		}
	}
	zs := zstdOf(t, zeros)
	gz := gzipOf(t, csvRows(20000))
	tests := []struct {
		name   string
		data   []byte
		lim    *Limits
		errHas string
	}{
		{"ratio", zs, nil, "more than 1000 times as many"},
		{"ratio off", zs, &Limits{MaxRatio: -1}, ""},
		{"bytes", gz, &Limits{MaxDecompressedBytes: 100 << 10}, "more than the limit of 102400 bytes"},
		{"bytes enough", gz, &Limits{MaxDecompressedBytes: 10 << 20}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(t, tt.data, Options{Source: "x.csv", Limits: tt.lim})
			if tt.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var le *LimitError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &le) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v; want ErrTooLarge naming %q", err, tt.errHas)
			}
		})
	}
}
