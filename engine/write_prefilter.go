//go:build duckdb_arrow

package engine

import "strings"

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

// prefilter returns the alias the statement uses for the target and the
// text of a condition every row the statement changes meets, when the
// stand-in may be filled with only the rows that meet it.
func (p *writePlan) prefilter() (alias, where string, ok bool) {
	w, toks := p.stmt, p.toks
	if w.kind != writeUpdate && w.kind != writeDelete && w.kind != writeMerge {
		return "", "", false
	}
	for _, t := range toks[w.nameEnd:] {
		if t.kind == tokSymbol && (t.text == "?" || t.text == "$") {
			return "", "", false // parameters: one fill serves every parameter row
		}
		if t.kind == tokWord && volatileFunctions[t.text] {
			return "", "", false
		}
	}
	alias = p.targetAlias()
	if w.kind == writeMerge {
		where, ok = p.mergeKeys(alias)
		return alias, where, ok
	}
	at := topLevelWord(toks, w.nameEnd, "where")
	if at < 0 || at+1 >= len(toks) {
		return "", "", false
	}
	for _, other := range []string{"from", "using", "returning"} {
		if topLevelWord(toks, w.nameEnd, other) >= 0 {
			return "", "", false
		}
	}
	return alias, strings.TrimRight(strings.TrimSpace(p.tail(toks[at+1].pos)), ";"), true
}

// targetAlias is the name the statement gives its target: its alias, or
// the table's own name.
func (p *writePlan) targetAlias() string {
	w, toks := p.stmt, p.toks
	alias := w.name[len(w.name)-1]
	if i := w.nameEnd; hasAlias(toks, i) {
		if toks[i].is("as") {
			i++
		}
		if i < len(toks) && toks[i].ident() {
			alias = toks[i].text
		}
	}
	return alias
}

// mergeKeys is a condition on the target rows a MERGE can change: those
// whose key occurs in the source. It needs ON to have a top-level conjunct
// target.column = source.column (either way round) and no OR beside it,
// and no WHEN NOT MATCHED BY SOURCE clause (which acts on the rows that
// match nothing). A MERGE of 100K rows into 10M then copies about 100K
// rows into the stand-in.
func (p *writePlan) mergeKeys(alias string) (string, bool) {
	toks := p.toks
	using := topLevelWord(toks, p.stmt.nameEnd, "using")
	if using < 0 {
		return "", false
	}
	on := topLevelWord(toks, using+1, "on")
	if on < 0 || on == using+1 || topLevelWord(toks[:on], using+1, "join") >= 0 {
		return "", false
	}
	end := topLevelWord(toks, on+1, "when")
	if end < 0 {
		return "", false
	}
	for i := end; i+1 < len(toks); i++ {
		if toks[i].is("by") && toks[i+1].is("source") {
			return "", false
		}
	}
	if topLevelWord(toks[:end], on+1, "or") >= 0 {
		return "", false
	}
	source := strings.TrimSpace(p.span(toks[using+1].pos, toks[on].pos))
	// Conjuncts: the runs of tokens between top-level ANDs.
	start := on + 1
	for start < end {
		stop := topLevelWord(toks[:end], start, "and")
		if stop < 0 {
			stop = end
		}
		if tgt, src, ok := keyEquality(toks[start:stop], alias); ok {
			return p.span(tgt.pos, tgt.end) + " IN (SELECT " + p.span(src.pos, src.end) + " FROM " + source + ")", true
		}
		start = stop + 1
	}
	return "", false
}

// keyEquality recognises a.x = b.y where exactly one of a and b is the
// target's alias, and returns the spans of the target's side and the
// source's.
func keyEquality(c []token, alias string) (tgt, src token, ok bool) {
	if len(c) != 7 || c[3].kind != tokSymbol || c[3].text != "=" {
		return token{}, token{}, false
	}
	side := func(t []token) (string, token, bool) {
		if !t[0].ident() || t[1].kind != tokSymbol || t[1].text != "." || !t[2].ident() {
			return "", token{}, false
		}
		return t[0].text, token{pos: t[0].pos, end: t[2].end}, true
	}
	lq, l, lok := side(c[0:3])
	rq, r, rok := side(c[4:7])
	if !lok || !rok {
		return token{}, token{}, false
	}
	switch lt, rt := strings.EqualFold(lq, alias), strings.EqualFold(rq, alias); {
	case lt && !rt:
		return l, r, true
	case rt && !lt:
		return r, l, true
	}
	return token{}, token{}, false
}

// span is sql[from:to] with the edits of time-travelling sources in it
// applied.
func (p *writePlan) span(from, to int) string {
	var es []edit
	for _, e := range p.sources {
		if e.start >= from && e.end <= to {
			es = append(es, edit{start: e.start - from, end: e.end - from, text: e.text})
		}
	}
	return applyEdits(p.sql[from:to], es)
}

// tail is sql[from:] with the edits of time-travelling sources in it applied.
func (p *writePlan) tail(from int) string { return p.span(from, len(p.sql)) }
