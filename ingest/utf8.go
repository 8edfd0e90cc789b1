package ingest

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Strings reach a table only as valid UTF-8: DuckDB refuses to read a
// Parquet file holding anything else, so one bad byte would make the whole
// table unreadable. Each parser checks the string values it builds (a bad
// value makes a bad row, or is repaired when the caller asks), and the
// Writer checks every batch once more, whatever door it came through.

// UTF8Policy says what happens to a string value that is not valid UTF-8.
type UTF8Policy string

// The invalid-UTF-8 policies.
const (
	// UTF8Error makes the row bad; the bad-row Policy decides the rest.
	UTF8Error UTF8Policy = "error"
	// UTF8Replace stores the value with each invalid byte (and, in JSON,
	// each lone UTF-16 surrogate escape) replaced by U+FFFD.
	UTF8Replace UTF8Policy = "replace"
)

// ParseUTF8Policy reads an invalid-UTF-8 policy name; "" means error.
func ParseUTF8Policy(s string) (UTF8Policy, error) {
	switch p := UTF8Policy(s); p {
	case "":
		return UTF8Error, nil
	case UTF8Error, UTF8Replace:
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown invalid-UTF-8 policy %q (want error or replace)", ErrOptions, s)
}

// reasonInvalidUTF8 is the reason of a bad row whose string value is not
// valid UTF-8; the skip summary groups such rows by column.
const reasonInvalidUTF8 = "invalid UTF-8"

// validUTF8 is utf8.Valid with the common all-ASCII case checked here, 8
// bytes at a time; only text with a high bit set pays for decoding.
func validUTF8(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return utf8.Valid(b[i:])
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return utf8.Valid(b[i:])
		}
	}
	return true
}

// appendValidUTF8 appends s with each byte that does not start a valid
// UTF-8 sequence replaced by U+FFFD (so "\xff\xfe" becomes two of them).
func appendValidUTF8(dst, s []byte) []byte {
	if validUTF8(s) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); {
		var size int
		dst, size = appendRuneOrFFFD(dst, s[i:])
		i += size
	}
	return dst
}

// appendRuneOrFFFD appends the UTF-8 sequence s starts with, or U+FFFD when
// its first byte starts none, and says how many bytes of s it took.
func appendRuneOrFFFD(dst, s []byte) ([]byte, int) {
	r, size := utf8.DecodeRune(s)
	if r == utf8.RuneError && size == 1 {
		return utf8.AppendRune(dst, utf8.RuneError), 1
	}
	return append(dst, s[:size]...), size
}

// escapeInvalidUTF8 returns s with each byte that does not start a valid
// UTF-8 sequence written as \xNN (lower-case hex), so that text kept for
// people (a rejects table's raw line and value) is always valid UTF-8 and
// still shows which bytes were there. Valid text comes back unchanged.
func escapeInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
