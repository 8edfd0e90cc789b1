package catalog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// The Parquet layout of a table's data files, from its properties (the
// names Iceberg's own writers read) with lakeflight's defaults. A value a
// writer cannot honour is refused when it is set (SetProperty) and, should
// it come from another tool, when a write reads it: never silently
// replaced by a default.
const (
	// PropCompressionCodec: lz4 (default; written as LZ4_RAW), zstd,
	// snappy, gzip or uncompressed. lz4 because DuckDB reads it fastest:
	// TPC-H SF 1 over lakeflight's tables 0.87× of in-process DuckDB on
	// the generator's Snappy files with lz4, 1.22× with zstd level 1 (q1
	// over lineitem 115 ms against 156, the generator's 129), for files
	// about a quarter bigger than zstd's and a twentieth smaller than
	// Snappy's; compressing is cheaper too (zstd was a third of the
	// server's CPU in an ingest). zstd (level 1 unless set) for the
	// smallest files.
	PropCompressionCodec = "write.parquet.compression-codec"
	// PropCompressionLevel: the codec's level (zstd and gzip); zstd's
	// default here is 1.
	PropCompressionLevel = "write.parquet.compression-level"
	// PropRowGroupRows: the most rows in a row group (default 128Ki, about
	// DuckDB's 122,880). DuckDB scans a file's row groups in parallel, so
	// with 1Mi-row groups a table under a million rows was one thread's
	// work: TPC-H Q02, Q11 and Q16 (partsupp, 800,000 rows) 1.5-1.65× of
	// the generator's files, 1.0-1.1× with 128Ki; lineitem 1% bigger.
	PropRowGroupRows = "write.parquet.row-group-limit"
	// PropTargetFileSize: a writer starts a new data file once the one it
	// writes has about this many bytes (default 512 MiB, Iceberg's; the
	// row group being written when it passes counts too). Files also end
	// at 8Mi rows.
	PropTargetFileSize = "write.target-file-size-bytes"
)

// layout is a table's Parquet writer settings.
type layout struct {
	codec        compress.Compression
	level        int
	rowGroupRows int64
	targetBytes  int64
}

// dictionaryLimit bounds a column chunk's dictionary page: past it the
// writer falls back to plain pages for the rest of the chunk.
const dictionaryLimit = 128 << 10

var defaultLayout = layout{codec: compress.Codecs.Lz4Raw, level: compress.DefaultCompressionLevel, rowGroupRows: 128 << 10, targetBytes: 512 << 20}

// zstdLevel is zstd's level when the table sets none.
const zstdLevel = 1

var codecs = map[string]compress.Compression{
	"zstd": compress.Codecs.Zstd, "lz4": compress.Codecs.Lz4Raw, "snappy": compress.Codecs.Snappy,
	"gzip": compress.Codecs.Gzip, "uncompressed": compress.Codecs.Uncompressed, "none": compress.Codecs.Uncompressed,
}

// TargetFileSize is the data file size a table's writers aim at
// (PropTargetFileSize or its default); a layout property another tool set
// to a value lakeflight cannot honour is an error, as for a write.
func TargetFileSize(props map[string]string) (int64, error) {
	l, err := layoutOf(props)
	return l.targetBytes, err
}

// layoutOf reads the layout properties of a table.
func layoutOf(props map[string]string) (layout, error) {
	l := defaultLayout
	if v, ok := props[PropCompressionCodec]; ok {
		c, ok := codecs[strings.ToLower(v)]
		if !ok {
			return l, fmt.Errorf("%w: table property %s is %q: want zstd, lz4, snappy, gzip or uncompressed", ErrInvalidArgument, PropCompressionCodec, v)
		}
		l.codec, l.level = c, compress.DefaultCompressionLevel
		if c == compress.Codecs.Zstd {
			l.level = zstdLevel
		}
	}
	if v, ok := props[PropCompressionLevel]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 22 || (l.codec != compress.Codecs.Zstd && l.codec != compress.Codecs.Gzip) {
			return l, fmt.Errorf("%w: table property %s is %q: want a level from 1 (zstd: to 22, gzip: to 9) for zstd or gzip", ErrInvalidArgument, PropCompressionLevel, v)
		}
		if l.codec == compress.Codecs.Gzip && n > 9 {
			return l, fmt.Errorf("%w: table property %s is %q: gzip's levels are 1 to 9", ErrInvalidArgument, PropCompressionLevel, v)
		}
		l.level = n
	}
	if v, ok := props[PropRowGroupRows]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			return l, fmt.Errorf("%w: table property %s is %q: want a number of rows, at least 1024", ErrInvalidArgument, PropRowGroupRows, v)
		}
		l.rowGroupRows = n
	}
	if v, ok := props[PropTargetFileSize]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1<<20 {
			return l, fmt.Errorf("%w: table property %s is %q: want a number of bytes, at least 1048576 (1 MiB)", ErrInvalidArgument, PropTargetFileSize, v)
		}
		l.targetBytes = n
	}
	return l, nil
}

// writerProps are the Parquet writer settings of a data or delete file of
// schema sc: the layout's codec, level and row groups; data page v2;
// statistics; decimals of precision up to 18 as INT32/INT64 (Iceberg's own
// mapping; readers sum them as integers, not as 16-byte big-endian values:
// DuckDB's TPC-H q1 and q6 over FIXED_LEN_BYTE_ARRAY decimals ran 2-3×
// slower); and dictionary encoding for every top-level column while its
// dictionary page stays under dictionaryLimit, plain pages after that.
// DuckDB scans dictionary-encoded numbers and dates much faster. arrow-go's
// cost fallback (dictionary dropped before the first page when, by
// uncompressed sizes, it does not pay) dropped it for dates and keys of a
// few thousand values too: TPC-H on lakeflight 1.40× of in-process DuckDB
// with it, 1.20× without it and the 128 KiB limit, which also keeps the
// hashing of unique columns short (ingest 4-9% slower than with string
// dictionaries only).
func (l layout) writerProps(sc *arrow.Schema) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(l.codec),
		parquet.WithMaxRowGroupLength(l.rowGroupRows),
		parquet.WithDataPageVersion(parquet.DataPageV2),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryPageSizeLimit(dictionaryLimit),
		parquet.WithStats(true),
		parquet.WithStoreDecimalAsInteger(true),
	}
	if l.level != compress.DefaultCompressionLevel {
		opts = append(opts, parquet.WithCompressionLevel(l.level))
	}
	for _, f := range sc.Fields() {
		if !arrow.IsNested(f.Type.ID()) {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
		}
	}
	return parquet.NewWriterProperties(opts...)
}
