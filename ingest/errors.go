package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Errors callers test with errors.Is; each carries its errkind.Kind.
var (
	// ErrMalformed: the input does not parse (bad rows under the strict
	// policy, a broken file structure, an unterminated quote).
	ErrMalformed = errkind.New(errkind.InvalidArgument, "malformed input")
	// ErrOptions: the options contradict themselves or the input.
	ErrOptions = errkind.New(errkind.InvalidArgument, "invalid ingest options")
	// ErrFormat: the format could not be detected or is not supported.
	ErrFormat = errkind.New(errkind.InvalidArgument, "unknown input format")
	// ErrTooManyRejects: rejects mode met more bad rows than MaxRejects.
	ErrTooManyRejects = errkind.New(errkind.InvalidArgument, "too many bad rows")
)

// maxRawBytes bounds the raw row text kept in a RowError.
const maxRawBytes = 4096

// RowError describes one bad row: where it is, which column failed, the
// offending value, the type that was expected and why it failed.
type RowError struct {
	Source   string `json:"source"`
	Line     int64  `json:"line"`             // 1-based line where the row starts
	Column   string `json:"column,omitempty"` // "" when the row as a whole is bad
	Value    string `json:"value,omitempty"`
	Expected string `json:"expected,omitempty"` // Arrow type name
	Reason   string `json:"reason"`
	Raw      string `json:"raw"` // the row's text, cut at 4 KiB
}

// Error reads like `data.csv:17: column "price": cannot parse "abc" as float64`.
func (e *RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", e.Source, e.Line)
	if e.Column != "" {
		fmt.Fprintf(&b, "column %q: ", e.Column)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// MarshalJSON writes e with each byte of its text that is not valid UTF-8
// escaped as \xNN, as the rejects table stores it: encoding/json would
// make each one U+FFFD, and a rejected row sent by a client (or listed in
// an HTTP answer) would no longer show which bytes made it bad.
func (e RowError) MarshalJSON() ([]byte, error) {
	type plain RowError // without this method
	p := plain(e)
	for _, s := range []*string{&p.Source, &p.Column, &p.Value, &p.Expected, &p.Reason, &p.Raw} {
		*s = escapeInvalidUTF8(*s)
	}
	return json.Marshal(p)
}

// clipRaw cuts raw row text to maxRawBytes, not inside a UTF-8 sequence.
func clipRaw(raw []byte) string {
	if len(raw) > maxRawBytes {
		n := maxRawBytes
		for n > maxRawBytes-utf8.UTFMax && !utf8.RuneStart(raw[n]) {
			n--
		}
		raw = raw[:n]
	}
	return string(raw)
}

// BadRowsError is the strict policy's failure: every bad row collected
// (up to MaxErrors). It wraps ErrMalformed.
type BadRowsError struct {
	Rows []RowError
	More bool // parsing stopped at MaxErrors; more bad rows may follow
}

func (e *BadRowsError) Error() string {
	if len(e.Rows) == 1 {
		return e.Rows[0].Error() // MaxErrors 1: stopping at the first goes without saying
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad rows", len(e.Rows))
	if e.More {
		b.WriteString(" (stopped there)")
	}
	for i := range e.Rows {
		b.WriteString("; ")
		b.WriteString(e.Rows[i].Error())
	}
	return b.String()
}

func (e *BadRowsError) Unwrap() error { return ErrMalformed }

// ErrSchema: incoming columns cannot be stored in the target table (a type
// Iceberg lacks, an unsafe type change, a duplicate name). Its kind,
// SchemaMismatch, is what makes POST /ingest answer 422 rather than 400.
var ErrSchema = errkind.New(errkind.SchemaMismatch, "schema mismatch")

// ErrTooLarge: compressed input decompresses to more than a limit allows
// (Limits). Its kind, ResourceExhausted, makes POST /ingest answer 413.
var ErrTooLarge = errkind.New(errkind.ResourceExhausted, "input too large")
