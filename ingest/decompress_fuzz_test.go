package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
)

// FuzzDecompress: a gzip or zstd stream, cut anywhere or with a byte
// flipped, reads back as exactly the original data or fails with
// ErrMalformed; arbitrary bytes never hang or panic.
func FuzzDecompress(f *testing.F) {
	f.Add([]byte("id,name\n1,a\n2,b\n"), uint16(10), uint16(0), byte(0), false)
	f.Add(bytes.Repeat([]byte("x,y\n"), 500), uint16(300), uint16(7), byte(0x55), true)
	f.Add([]byte{}, uint16(0), uint16(0), byte(0), false)
	f.Fuzz(func(t *testing.T, data []byte, cut, flip uint16, mask byte, useZstd bool) {
		var z []byte
		c := compressGzip
		if useZstd {
			z, c = zstdOf(t, data), compressZstd
		} else {
			z = gzipOf(t, data)
		}
		cutShort := int(cut) < len(z) && cut > 0 // an empty input is an empty stream to zstd
		damaged := int(cut) < len(z) || (mask != 0 && int(flip) < len(z))
		if int(cut) < len(z) {
			z = z[:cut]
		}
		if mask != 0 && int(flip) < len(z) {
			z = bytes.Clone(z)
			z[flip] ^= mask
		}
		for _, in := range [][]byte{z, data} { // data: random bytes as a stream
			got, err := readDecompressed(in, c)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is not ErrMalformed", err)
				}
				continue
			}
			if bytes.Equal(in, z) && !bytes.Equal(got, data) {
				if !damaged {
					t.Fatalf("whole stream read %d bytes, want %d", len(got), len(data))
				}
				// A flip the codec cannot see (a gzip header field, a
				// frame's content size hint) may still read cleanly; a
				// stream that reads cleanly must then at least not be a
				// silent prefix of the data.
				if cutShort && mask == 0 {
					t.Fatalf("a stream cut at %d read as %d of %d bytes without an error", cut, len(got), len(data))
				}
			}
		}
	})
}

// readDecompressed decodes in as Open would, through checkedStream.
func readDecompressed(in []byte, c compression) ([]byte, error) {
	var n atomic.Int64
	src := &sourceReader{r: bytes.NewReader(in), n: &n}
	br := bufio.NewReader(src)
	r, closer, err := decompress(br, src, c, &Limits{MaxDecompressedBytes: 64 << 20})
	if err != nil {
		return nil, err
	}
	defer closer()
	return io.ReadAll(r)
}
