package ingest

import "github.com/apache/arrow-go/v18/arrow"

// Dates and timestamps in JSON strings are read by the same code as CSV
// fields (convertDate, convertTimestamp): YYYY-MM-DD, and
// YYYY-MM-DD[T ]HH:MM:SS[.fraction] with an optional zone (Z, ±HH, ±HHMM,
// ±HH:MM). Inference only needs to know which of these a string is.

// Kinds of temporal string, as bits of jsonInfer.strs.
const (
	jsonTimeNone  = iota // not a date or timestamp
	jsonTimeDate         // YYYY-MM-DD
	jsonTimeNaive        // timestamp without zone
	jsonTimeZoned        // timestamp with zone
)

// jsonTimeKind says which kind of temporal string s is.
func jsonTimeKind(s []byte) int {
	_, shape, ok := convertTimestamp(s, arrow.Second)
	switch {
	case !ok:
		return jsonTimeNone
	case shape == tsDateOnly:
		return jsonTimeDate
	case shape == tsNaive:
		return jsonTimeNaive
	}
	return jsonTimeZoned
}
