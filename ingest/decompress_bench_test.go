package ingest

import (
	"bufio"
	"bytes"
	"io"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkDecompress reads a compressed CSV through the bare decoder (as
// before the checks) and through checkedStream (as Open does now), in one
// run, so the cost of the checks shows as the difference.
func BenchmarkDecompress(b *testing.B) {
	data := csvRows(400000) // about 13 MB
	for _, c := range []compression{compressGzip, compressZstd} {
		var z []byte
		if c == compressGzip {
			z = gzipOf(b, data)
		} else {
			z = zstdOf(b, data)
		}
		b.Run(c.String()+"/bare", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var r io.Reader
				var closer func()
				if c == compressGzip {
					gz, err := gzip.NewReader(bytes.NewReader(z))
					if err != nil {
						b.Fatal(err)
					}
					r, closer = gz, func() { _ = gz.Close() }
				} else {
					zd, err := zstd.NewReader(bytes.NewReader(z))
					if err != nil {
						b.Fatal(err)
					}
					r, closer = zd, zd.Close
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				closer()
			}
		})
		b.Run(c.String()+"/checked", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var n atomic.Int64
				src := &sourceReader{r: bytes.NewReader(z), n: &n}
				r, closer, err := decompress(bufio.NewReaderSize(src, 1<<16), src, c, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				closer()
			}
		})
	}
}
