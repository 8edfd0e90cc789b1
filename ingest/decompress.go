package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Defaults of Limits.
const (
	// DefaultMaxRatio is the decompressed/compressed ratio above which
	// input is taken for a decompression bomb. Real CSV and JSON stay far
	// below it (10–50× is typical); deflate cannot exceed about 1030×.
	DefaultMaxRatio = 1000
	// RatioGrace is how many bytes a stream may decompress to before the
	// ratio is checked: a small file of repeated rows may compress very well.
	RatioGrace = 16 << 20
	// maxZstdWindow bounds the history a zstd frame may ask for (the zstd
	// command line's own default limit, 128 MiB), so that a crafted frame
	// header cannot make the decoder allocate gigabytes.
	maxZstdWindow = 1 << 27
)

// Limits bound what compressed input may decompress to. One Limits may be
// shared by the Readers of one ingest (the parts of an upload): their
// decompressed bytes then count together. The zero value checks the ratio
// only.
type Limits struct {
	// MaxDecompressedBytes bounds the decompressed bytes of all compressed
	// inputs opened with this Limits together; 0 means no bound.
	MaxDecompressedBytes int64
	// MaxRatio fails a stream that decompresses to more than MaxRatio times
	// the compressed bytes read, once it has produced RatioGrace bytes;
	// 0 means DefaultMaxRatio, a negative value turns the check off.
	MaxRatio float64

	used atomic.Int64 // decompressed bytes so far
}

// LimitError is ErrTooLarge with the limit that was hit. Callers add how to
// raise it (a flag or setting name) when they report it.
type LimitError struct {
	Ratio bool    // the ratio was exceeded (else the byte bound)
	Max   float64 // the limit: a ratio or a number of bytes
	Out   int64   // decompressed bytes when it stopped
	In    int64   // compressed bytes read by then
}

func (e *LimitError) Error() string {
	if e.Ratio {
		return fmt.Sprintf("%s: %d compressed bytes decompressed to %d, more than %g times as many (the limit on the decompression ratio; a decompression bomb?)",
			ErrTooLarge, e.In, e.Out, e.Max)
	}
	return fmt.Sprintf("%s: it decompresses to more than the limit of %d bytes", ErrTooLarge, int64(e.Max))
}

func (e *LimitError) Unwrap() error { return ErrTooLarge }

// codecName names a compression in messages.
func (c compression) String() string {
	switch c {
	case compressGzip:
		return "gzip"
	case compressZstd:
		return "zstd"
	}
	return "none"
}

// decompress wraps br (which reads src) in the decoder c needs, behind a
// checkedStream. The returned closer releases the decoder.
func decompress(br *bufio.Reader, src *sourceReader, c compression, lim *Limits) (io.Reader, func(), error) {
	var zr io.Reader
	var closer func()
	switch c {
	case compressGzip:
		gz, err := gzip.NewReader(br)
		switch {
		case err == nil:
		case src.failed() != nil:
			return nil, nil, src.failed() // the input failed, not the stream
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, nil, fmt.Errorf("%w: gzip stream cut short at compressed byte %d, inside its 10-byte header "+
				"(the file is truncated)", ErrMalformed, consumed(src, br))
		default:
			return nil, nil, fmt.Errorf("%w: reading gzip header: %w", ErrMalformed, err)
		}
		zr, closer = gz, func() { _ = gz.Close() }
	case compressZstd:
		zd, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: reading zstd frame: %w", ErrMalformed, err)
		}
		zr, closer = zd.IOReadCloser(), zd.Close
		// The decoder reads ahead from its own goroutine: br is not ours to
		// look at, and the offset is that of the bytes read (exact at a cut).
		br = nil
	default:
		return br, func() {}, nil
	}
	if lim == nil {
		lim = &Limits{}
	}
	return &checkedStream{r: zr, br: br, src: src, codec: c, lim: lim}, closer, nil
}

// sourceReader counts the bytes read from the input as stored and keeps
// its first error other than io.EOF, so that a failure of the input itself
// (an upload over its size limit, a dropped connection) is not reported as
// a corrupt stream.
type sourceReader struct {
	r   io.Reader
	n   *atomic.Int64
	err atomic.Pointer[error] // read from another goroutine than zstd's reader
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n.Add(int64(n))
	if err != nil && err != io.EOF {
		s.err.CompareAndSwap(nil, &err)
	}
	return n, err
}

// failed is the input's own error, or nil.
func (s *sourceReader) failed() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// checkedStream is a decoder's output as the parsers read it. It makes a
// broken stream fail rather than end: the decoders report a truncated
// stream as io.ErrUnexpectedEOF, which readers built on io.ReadFull take
// for a short last read, and the rows before the cut would be committed as
// if they were all. Its error is sticky, because bufio.Reader hands an
// error out once and then reads again. It also applies the Limits.
type checkedStream struct {
	r     io.Reader
	br    *bufio.Reader // between src and gzip's decoder: read but not yet consumed; nil for zstd
	src   *sourceReader
	codec compression
	lim   *Limits
	out   int64
	err   error
}

func (s *checkedStream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.out += int64(n)
	if lerr := s.overLimit(int64(n)); lerr != nil {
		s.err = lerr
		return 0, s.err
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		s.err = io.EOF
	case s.src.failed() != nil:
		s.err = s.src.failed() // the input failed, not the stream
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.err = fmt.Errorf("%w: %s stream cut short at compressed byte %d (the file is truncated)",
			ErrMalformed, s.codec, s.offset())
	default:
		s.err = fmt.Errorf("%w: %s stream corrupt at compressed byte %d: %w",
			ErrMalformed, s.codec, s.offset(), err)
	}
	return n, s.err
}

// offset is how far into the compressed input the decoder has read.
func (s *checkedStream) offset() int64 { return consumed(s.src, s.br) }

// consumed is how much of src the reader of br took: what was read from
// src less what br still buffers (br nil: all of it).
func consumed(src *sourceReader, br *bufio.Reader) int64 {
	n := src.n.Load()
	if br != nil {
		n -= int64(br.Buffered())
	}
	return n
}

// overLimit charges n more decompressed bytes to the limits.
func (s *checkedStream) overLimit(n int64) error {
	used := s.lim.used.Add(n)
	if m := s.lim.MaxDecompressedBytes; m > 0 && used > m {
		return &LimitError{Max: float64(m), Out: used, In: s.src.n.Load()}
	}
	ratio := s.lim.MaxRatio
	if ratio == 0 {
		ratio = DefaultMaxRatio
	}
	if in := s.src.n.Load(); ratio > 0 && s.out >= RatioGrace && float64(s.out) > ratio*float64(in) {
		return &LimitError{Ratio: true, Max: ratio, Out: s.out, In: in}
	}
	return nil
}
