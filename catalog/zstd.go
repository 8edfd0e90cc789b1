package catalog

import (
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdPages replaces arrow-go's zstd codec for compressing Parquet pages;
// decoding and streams still go to arrow-go's. arrow-go keeps its page
// encoders in a sync.Pool with zstd's default 8 MiB window: each encoder
// then holds a 16 MiB history buffer, zeroed when it is made, and every
// garbage collection empties the pool, so a write keeps making new ones
// (a third of the CPU the server spent in allocation while ingesting 10 MB
// files, and ~24 MB of its heap during a 1 GB ingest). A page is at most a
// few MiB, so a 1 MiB window loses nearly nothing, and the encoders here
// are kept in a free list the collector does not empty.
type zstdPages struct {
	base compress.Codec // arrow-go's codec

	mu   sync.Mutex
	free map[zstd.EncoderLevel][]*zstd.Encoder
	keep int // encoders kept per level
}

// zstdWindow is the page encoders' window.
const zstdWindow = 1 << 20

func init() {
	base, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic(err) // arrow-go registers zstd in its own init
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &zstdPages{
		base: base, free: map[zstd.EncoderLevel][]*zstd.Encoder{}, keep: 2 * runtime.GOMAXPROCS(0),
	})
}

var (
	_ compress.ErrorCodec     = (*zstdPages)(nil)
	_ compress.StreamingCodec = (*zstdPages)(nil)
)

func (z *zstdPages) Encode(dst, src []byte) []byte {
	return z.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

// EncodeLevel compresses one page with an encoder of the level (zstd's
// numbering, as arrow-go's codec reads it).
func (z *zstdPages) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	enc := z.get(l)
	out := enc.EncodeAll(src, dst[:0])
	z.put(l, enc)
	return out
}

func (z *zstdPages) get(l zstd.EncoderLevel) *zstd.Encoder {
	z.mu.Lock()
	if f := z.free[l]; len(f) > 0 {
		enc := f[len(f)-1]
		z.free[l] = f[:len(f)-1]
		z.mu.Unlock()
		return enc
	}
	z.mu.Unlock()
	// The options are arrow-go's, with the smaller window.
	enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1),
		zstd.WithAllLitEntropyCompression(true), zstd.WithWindowSize(zstdWindow))
	if err != nil {
		panic(err) // only for invalid options, which these are not
	}
	return enc
}

func (z *zstdPages) put(l zstd.EncoderLevel, enc *zstd.Encoder) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(z.free[l]) < z.keep {
		z.free[l] = append(z.free[l], enc)
	}
}

func (z *zstdPages) CompressBound(n int64) int64 { return z.base.CompressBound(n) }

func (z *zstdPages) Decode(dst, src []byte) []byte { return z.base.Decode(dst, src) }

func (z *zstdPages) DecodeWithError(dst, src []byte) ([]byte, error) {
	return compress.Decode(z.base, dst, src)
}

func (z *zstdPages) NewReader(r io.Reader) io.ReadCloser {
	return z.base.(compress.StreamingCodec).NewReader(r)
}

func (z *zstdPages) NewWriter(w io.Writer) io.WriteCloser {
	return z.base.(compress.StreamingCodec).NewWriter(w)
}

func (z *zstdPages) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return z.base.(compress.StreamingCodec).NewWriterLevel(w, level)
}
