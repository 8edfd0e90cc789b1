//go:build duckdb_arrow

package engine

import (
	"fmt"
	"strings"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// PIVOT without an IN list. DuckDB runs PIVOT t ON k USING … as a script:
// it first collects the distinct values of k into an enum type, then pivots
// on them, and a script cannot be a prepared statement. lakeflight collects
// the values itself, the way DuckDB does (distinct, NULL left out, as text,
// in order), from the same source the statement reads (its pinned snapshot,
// after pinning), and writes them in as ON k IN ('a', 'b'), which DuckDB
// pivots identically. The values are those at prepare time, like the
// snapshot the statement reads.

// pivotEnds are the words that end a PIVOT's ON list at its own depth.
var pivotEnds = map[string]bool{"using": true, "group": true, "order": true, "limit": true, "offset": true}

// expandPivots returns text with an IN list after every PIVOT … ON item
// that has none; ok is false when there is none to expand.
func (s *Session) expandPivots(dc *dconn, text string) (string, bool, error) {
	toks := sqltext.Tokens(sqltext.Tokenize(text))
	info := sqltext.Classify(toks)
	with := ""
	if info.With >= 0 && info.Lead < len(toks) {
		with = text[toks[info.With].Pos:toks[info.Lead].Pos]
	}
	var edits []sqltext.Edit
	for i, t := range toks {
		if !t.Is("pivot") && !t.Is("pivot_wider") || i != info.Lead && !toks.Sym(i-1, "(") {
			continue
		}
		on := toks.TopLevel(i+1, "on")
		if on <= i+1 {
			continue
		}
		source := text[toks[i+1].Pos:toks[on-1].End]
		for _, item := range pivotItems(toks, on+1) {
			if toks[item[0]:item[1]].TopLevel(0, "in") >= 0 {
				continue // has its values
			}
			expr := text[toks[item[0]].Pos:toks[item[1]-1].End]
			rows, err := queryStrings(dc.c, with+"SELECT v FROM (SELECT DISTINCT CAST(("+expr+") AS VARCHAR) AS v FROM "+
				source+") AS lakeflight_pivot WHERE v IS NOT NULL ORDER BY v")
			if err != nil {
				return "", false, fmt.Errorf("collecting the values of PIVOT … ON %s: %w", expr, err)
			}
			if len(rows) == 0 {
				return "", false, newError(ErrInvalidSQL, "PIVOT … ON "+expr+": there are no values to pivot on (the source has none but NULL)")
			}
			vals := make([]string, len(rows))
			for k, r := range rows {
				vals[k] = quoteString(r[0])
			}
			at := toks[item[1]-1].End
			edits = append(edits, sqltext.Edit{Start: at, End: at, Text: " IN (" + strings.Join(vals, ", ") + ")"})
		}
	}
	if len(edits) == 0 {
		return "", false, nil
	}
	out, err := sqltext.Apply(text, edits)
	return out, err == nil, err
}

// pivotItems splits a PIVOT's ON list, starting at toks[from], into its
// top-level comma-separated items, as token ranges [start, end).
func pivotItems(toks sqltext.Tokens, from int) [][2]int {
	var out [][2]int
	depth, start := 0, from
	i := from
	for ; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.Sym("("):
			depth++
			continue
		case t.Sym(")"):
			depth--
		}
		if depth < 0 || depth == 0 && (t.Sym(";") || t.Kind == sqltext.Word && pivotEnds[t.Text]) {
			break
		}
		if depth == 0 && t.Sym(",") {
			if i > start {
				out = append(out, [2]int{start, i})
			}
			start = i + 1
		}
	}
	if i > start {
		out = append(out, [2]int{start, i})
	}
	return out
}
