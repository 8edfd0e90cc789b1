package ingest

import (
	"fmt"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Format names an input file format.
type Format string

// The formats the parsers read. FormatAuto detects the format from the file
// name and, failing that, from the first bytes.
const (
	FormatAuto    Format = ""
	FormatCSV     Format = "csv"
	FormatJSON    Format = "json" // newline-delimited or one top-level array
	FormatParquet Format = "parquet"
)

// Policy says what happens to a row that does not fit the schema.
type Policy string

// The bad-row policies.
const (
	// PolicyStrict fails the whole input at the first bad row (or after
	// MaxErrors bad rows, so that several can be listed). Nothing is kept.
	PolicyStrict Policy = "strict"
	// PolicySkip drops bad rows and counts them, by reason, in Stats.
	PolicySkip Policy = "skip"
	// PolicyRejects drops bad rows from the data and keeps each one, with
	// its line, column, raw text and reason, for a rejects table.
	PolicyRejects Policy = "rejects"
)

// ParsePolicy reads a policy name; "" means strict.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case "":
		return PolicyStrict, nil
	case PolicyStrict, PolicySkip, PolicyRejects:
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown bad-row policy %q (want strict, skip or rejects)", ErrOptions, s)
}

// Header says whether a CSV file starts with a header row.
type Header int

// Header modes; HeaderAuto sniffs.
const (
	HeaderAuto Header = iota
	HeaderYes
	HeaderNo
)

// CSVOptions are the dialect settings of CSV and TSV input. Zero values are
// sniffed from a sample of the input.
type CSVOptions struct {
	Delimiter byte // one of , ; | \t; 0 sniffs
	Quote     byte // 0 sniffs (usually '"'); use NoQuote for none
	Escape    byte // 0 means the quote doubles itself ("" inside "...")
	Header    Header
	// NullTokens are field texts read as NULL in every column; nil means
	// the empty field only. An empty quoted field ("") is an empty string,
	// not NULL, for string columns.
	NullTokens []string
}

// NoQuote, as CSVOptions.Quote, turns quoting off.
const NoQuote byte = 0xff

// Options configure Open. The zero value is usable: it detects the format
// and compression, sniffs the CSV dialect, infers the schema, and fails on
// the first bad row.
type Options struct {
	Format Format
	// Source names the input in errors, rejects and _source_file (usually
	// the file name or path given by the user).
	Source string

	// Schema, when set, is the complete schema of the input: no inference,
	// columns in this order (CSV: by position; JSON: by key).
	Schema *arrow.Schema
	// ColumnTypes overrides the inferred type of the named columns.
	ColumnTypes map[string]arrow.DataType
	// TypeHints are types to use instead of inference for columns of these
	// names when the input has them (an existing table's column types, so
	// that a bad value in a numeric column is a bad row rather than a
	// column inferred as text). Unlike ColumnTypes, names the input lacks
	// and types a parser cannot produce are ignored; ColumnTypes win.
	TypeHints map[string]arrow.DataType
	// InferDecimal lets inference choose decimal128 for numbers with a
	// fixed number of fraction digits, instead of float64.
	InferDecimal bool
	// SampleRows is how many rows inference looks at, spread through the
	// input when it can seek (default 20480).
	SampleRows int

	// BatchRows caps the rows per record batch (default 65536).
	BatchRows int
	// ChunkBytes is the size of the input pieces parsed in parallel
	// (default 4 MiB).
	ChunkBytes int
	// Workers is how many pieces are parsed at once (default GOMAXPROCS).
	Workers int

	Policy Policy
	// MaxErrors is how many bad rows strict mode collects before it stops
	// and reports them all (default 1; 0 after defaults means no limit is
	// not allowed — use a large number to list every error).
	MaxErrors int
	// InvalidUTF8 says what a string value that is not valid UTF-8 does:
	// UTF8Error (the default) makes its row bad, UTF8Replace stores it with
	// U+FFFD in place of each invalid byte.
	InvalidUTF8 UTF8Policy
	// MaxRejects bounds the rejects kept in memory in rejects mode
	// (default 1,000,000); more bad rows than that fail the input.
	MaxRejects int

	// Metadata adds the columns _ingested_at, _source_file and
	// _source_line to every batch. Off by default.
	Metadata   bool
	IngestedAt time.Time // _ingested_at; default the time Open was called

	CSV CSVOptions

	// TempDir holds spooled copies of non-seekable Parquet input (default:
	// the system temp directory).
	TempDir string

	// Limits bound what compressed input may decompress to (decompress.go);
	// nil checks the ratio against DefaultMaxRatio only.
	Limits *Limits

	Allocator memory.Allocator
}

// Defaults for Options fields left zero.
const (
	DefaultSampleRows = 20480
	DefaultBatchRows  = 65536
	DefaultChunkBytes = 4 << 20
	DefaultMaxRejects = 1_000_000
)

// withDefaults returns a copy of o with zero fields filled in.
func (o Options) withDefaults() Options {
	if o.SampleRows <= 0 {
		o.SampleRows = DefaultSampleRows
	}
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Policy == "" {
		o.Policy = PolicyStrict
	}
	if o.InvalidUTF8 == "" {
		o.InvalidUTF8 = UTF8Error
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 1
	}
	if o.MaxRejects <= 0 {
		o.MaxRejects = DefaultMaxRejects
	}
	if o.IngestedAt.IsZero() {
		o.IngestedAt = time.Now()
	}
	if o.Source == "" {
		o.Source = "<input>"
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	return o
}
