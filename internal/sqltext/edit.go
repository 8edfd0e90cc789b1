package sqltext

import (
	"fmt"
	"slices"
	"strings"
)

// Edit replaces Text[Start:End] of a statement with Text.
type Edit struct {
	Start, End int
	Text       string
}

// Apply applies edits to sql. Edits must not overlap (an insertion may
// touch a neighbour's end); an overlap is an error, never a silent mix.
func Apply(sql string, edits []Edit) (string, error) {
	sorted := slices.Clone(edits)
	slices.SortStableFunc(sorted, func(a, b Edit) int { return a.Start - b.Start })
	var b strings.Builder
	b.Grow(len(sql))
	at := 0
	for _, e := range sorted {
		if e.Start < at || e.End < e.Start || e.End > len(sql) {
			return "", fmt.Errorf("sqltext: overlapping or out-of-range edit [%d,%d) of a %d-byte text", e.Start, e.End, len(sql))
		}
		b.WriteString(sql[at:e.Start])
		b.WriteString(e.Text)
		at = e.End
	}
	b.WriteString(sql[at:])
	return b.String(), nil
}

// Shift returns edits moved by off bytes (for edits found in a part of a
// text that starts at off).
func Shift(edits []Edit, off int) []Edit {
	out := make([]Edit, len(edits))
	for i, e := range edits {
		out[i] = Edit{Start: e.Start + off, End: e.End + off, Text: e.Text}
	}
	return out
}
