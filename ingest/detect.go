package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// compression of an input stream.
type compression int

const (
	compressNone compression = iota
	compressGzip
	compressZstd
)

var (
	gzipMagic    = []byte{0x1f, 0x8b}
	zstdMagic    = []byte{0x28, 0xb5, 0x2f, 0xfd}
	parquetMagic = []byte("PAR1")
)

// splitExt returns the format and compression named by a file name's
// extensions ("events.csv.gz" → csv, gzip), and whether it is TSV.
func splitExt(name string) (f Format, c compression, tsv bool) {
	base := strings.ToLower(filepath.Base(name))
	switch ext := filepath.Ext(base); ext {
	case ".gz", ".gzip":
		c = compressGzip
		base = strings.TrimSuffix(base, ext)
	case ".zst", ".zstd":
		c = compressZstd
		base = strings.TrimSuffix(base, ext)
	}
	switch filepath.Ext(base) {
	case ".csv":
		f = FormatCSV
	case ".tsv", ".tab":
		f, tsv = FormatCSV, true
	case ".json", ".ndjson", ".jsonl":
		f = FormatJSON
	case ".parquet", ".pq":
		f = FormatParquet
	}
	return f, c, tsv
}

// sniffCompression looks at the first bytes of br.
func sniffCompression(br *bufio.Reader) compression {
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return compressGzip
	case bytes.HasPrefix(head, zstdMagic):
		return compressZstd
	}
	return compressNone
}

// sniffFormat guesses the format of decompressed bytes: Parquet by magic,
// JSON when the first non-space byte opens an object or array, else CSV.
func sniffFormat(br *bufio.Reader) (Format, error) {
	head, err := br.Peek(4096)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("reading input: %w", err)
		}
		return "", fmt.Errorf("%w: empty input", ErrMalformed)
	}
	if bytes.HasPrefix(head, parquetMagic) {
		return FormatParquet, nil
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 0 && (head[0] == '{' || head[0] == '[') {
		return FormatJSON, nil
	}
	return FormatCSV, nil
}
