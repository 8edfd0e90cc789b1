//go:build duckdb_arrow

package engine

import (
	"fmt"
	"strings"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Prefiltering the stand-in. An UPDATE or DELETE touches only the rows its
// WHERE clause selects, so when that clause stands on its own (no FROM or
// USING table beside the target, no parameters, nothing that changes from
// one evaluation to the next) the stand-in is filled with just those rows:
// deleting one row of a 10M-row table then copies one row, not ten million.
// A MERGE whose ON joins on a key touches only target rows whose key is in
// the source (mergeKeys). The statement still runs unchanged on the
// stand-in, so its result is the same either way.

// volatileFunctions give another answer at each evaluation: a WHERE using
// one is not evaluated twice.
var volatileFunctions = map[string]bool{
	"random": true, "setseed": true, "uuid": true, "gen_random_uuid": true, "uuidv4": true, "uuidv7": true,
	"nextval": true, "currval": true, "now": true, "current_timestamp": true, "current_time": true,
	"current_date": true, "get_current_time": true, "get_current_timestamp": true, "transaction_timestamp": true,
	"localtime": true, "localtimestamp": true, "today": true,
}

// prefilter returns the alias the statement uses for the target, the text
// of a condition every row the statement changes meets, and the statement's
// WITH prefix (the condition may use its names), when the stand-in may be
// filled with only the rows that meet the condition.
func (p *writePlan) prefilter() (alias, where, with string, ok bool) {
	alias, where, ok = p.condition()
	if !ok {
		return "", "", "", false
	}
	if info := p.stmt.Info; info.With >= 0 {
		var err error
		if with, err = p.span(p.toks[info.With].Pos, p.toks[info.Lead].Pos); err != nil {
			return "", "", "", false
		}
	}
	return alias, where, with, true
}

// condition is prefilter without the WITH prefix.
func (p *writePlan) condition() (alias, where string, ok bool) {
	w, toks := p.stmt, p.toks
	if w.Kind != writeUpdate && w.Kind != writeDelete && w.Kind != writeMerge {
		return "", "", false
	}
	for _, t := range toks {
		if t.Kind == sqltext.Param {
			return "", "", false // parameters: one fill serves every parameter row
		}
		if t.Kind == sqltext.Word && volatileFunctions[t.Text] {
			return "", "", false
		}
	}
	alias = p.targetAlias()
	if w.Kind == writeMerge {
		k, ok := p.mergeKey(alias)
		if !ok {
			return "", "", false
		}
		return alias, k.target + " IN (SELECT " + k.source + " FROM " + k.from + ")", true
	}
	at := toks.TopLevel(w.Target().End, "where")
	if at < 0 || at+1 >= len(toks) {
		return "", "", false
	}
	for _, other := range []string{"from", "using", "returning"} {
		if toks.TopLevel(w.Target().End, other) >= 0 {
			return "", "", false
		}
	}
	where, err := p.span(toks[at+1].Pos, len(p.sql))
	if err != nil {
		return "", "", false
	}
	return alias, strings.TrimSpace(where), true
}

// targetAlias is the name the statement gives its target: its alias, or
// the table's own name.
func (p *writePlan) targetAlias() string {
	if p.stmt.Alias != "" {
		return p.stmt.Alias
	}
	return p.stmt.Target().Parts[len(p.stmt.Target().Parts)-1]
}

// mergeKeyInfo is the key a MERGE joins on: the target's side and the
// source's of ON's target.column = source.column, and the source as the
// statement names it (what follows USING, up to ON).
type mergeKeyInfo struct{ target, source, from string }

// mergeKey finds the key of a MERGE that changes only target rows whose
// key occurs in the source. It needs ON to have a top-level conjunct
// target.column = source.column (either way round) and no OR beside it,
// and no WHEN NOT MATCHED BY SOURCE clause (which acts on the rows that
// match nothing). The stand-in then holds only the target rows whose key
// is in the source (a MERGE of 100K rows into 10M copies about 100K rows),
// and both it and a staged source are ordered by the key.
func (p *writePlan) mergeKey(alias string) (mergeKeyInfo, bool) {
	toks := p.toks
	using := toks.TopLevel(p.stmt.Target().End, "using")
	if using < 0 {
		return mergeKeyInfo{}, false
	}
	on := toks.TopLevel(using+1, "on")
	if on < 0 || on == using+1 || toks[:on].TopLevel(using+1, "join") >= 0 {
		return mergeKeyInfo{}, false
	}
	end := toks.TopLevel(on+1, "when")
	if end < 0 {
		return mergeKeyInfo{}, false
	}
	for i := end; i+1 < len(toks); i++ {
		if toks.Words(i, "by", "source") {
			return mergeKeyInfo{}, false
		}
	}
	if toks[:end].TopLevel(on+1, "or") >= 0 {
		return mergeKeyInfo{}, false
	}
	source, err := p.span(toks[using+1].Pos, toks[on].Pos)
	if p.staged { // the staged rows, under the subquery's alias
		_, end, _ := p.sourceSubquery()
		source, err = p.span(toks[end].End, toks[on].Pos)
		source = stagedSource + " " + source
	}
	if err != nil {
		return mergeKeyInfo{}, false
	}
	// Conjuncts: the runs of tokens between top-level ANDs.
	start := on + 1
	for start < end {
		stop := toks[:end].TopLevel(start, "and")
		if stop < 0 {
			stop = end
		}
		if tgt, src, ok := keyEquality(toks[start:stop], alias); ok {
			t, err1 := p.span(tgt.Start, tgt.End)
			s, err2 := p.span(src.Start, src.End)
			if err1 != nil || err2 != nil {
				return mergeKeyInfo{}, false
			}
			return mergeKeyInfo{target: t, source: s, from: strings.TrimSpace(source)}, true
		}
		start = stop + 1
	}
	return mergeKeyInfo{}, false
}

// keyOrder is what a prefiltered stand-in is ordered by before its row
// identity: a MERGE's key (the staged source's order, write_source.go),
// else nothing.
func (p *writePlan) keyOrder(alias string) string {
	if p.stmt.Kind != writeMerge {
		return ""
	}
	if k, ok := p.mergeKey(alias); ok {
		return k.target + ", "
	}
	return ""
}

// keyEquality recognises a.x = b.y where exactly one of a and b is the
// target's alias, and returns the spans of the target's side and the
// source's.
func keyEquality(c sqltext.Tokens, alias string) (tgt, src sqltext.Edit, ok bool) {
	if len(c) != 7 || !c[3].Sym("=") {
		return sqltext.Edit{}, sqltext.Edit{}, false
	}
	side := func(t sqltext.Tokens) (string, sqltext.Edit, bool) {
		if !t[0].Ident() || !t[1].Sym(".") || !t[2].Ident() {
			return "", sqltext.Edit{}, false
		}
		return t[0].Text, sqltext.Edit{Start: t[0].Pos, End: t[2].End}, true
	}
	lq, l, lok := side(c[0:3])
	rq, r, rok := side(c[4:7])
	if !lok || !rok {
		return sqltext.Edit{}, sqltext.Edit{}, false
	}
	switch lt, rt := strings.EqualFold(lq, alias), strings.EqualFold(rq, alias); {
	case lt && !rt:
		return l, r, true
	case rt && !lt:
		return r, l, true
	}
	return sqltext.Edit{}, sqltext.Edit{}, false
}

// span is sql[from:to] with the edits of time-travelling sources in it
// applied.
// An edit that straddles the span's edge is an error: the span would read
// a table unpinned.
func (p *writePlan) span(from, to int) (string, error) {
	var es []sqltext.Edit
	for _, e := range p.sources {
		switch {
		case e.Start >= from && e.End <= to:
			es = append(es, e)
		case e.End > from && e.Start < to:
			return "", fmt.Errorf("a pinned reference straddles [%d,%d): %w", from, to, ErrInternal)
		}
	}
	return sqltext.Apply(p.sql[from:to], sqltext.Shift(es, -from))
}
