//go:build duckdb_arrow

package engine

import "strings"

// Prefiltering the stand-in. An UPDATE or DELETE touches only the rows its
// WHERE clause selects, so when that clause stands on its own (no FROM or
// USING table beside the target, no parameters, nothing that changes from
// one evaluation to the next) the stand-in is filled with just those rows:
// deleting one row of a 10M-row table then copies one row, not ten million.
// The statement still runs unchanged on the stand-in, so its result is the
// same either way.

// volatileFunctions give another answer at each evaluation: a WHERE using
// one is not evaluated twice.
var volatileFunctions = map[string]bool{
	"random": true, "setseed": true, "uuid": true, "gen_random_uuid": true, "uuidv4": true, "uuidv7": true,
	"nextval": true, "currval": true, "now": true, "current_timestamp": true, "current_time": true,
	"current_date": true, "get_current_time": true, "get_current_timestamp": true, "transaction_timestamp": true,
	"localtime": true, "localtimestamp": true, "today": true,
}

// prefilter returns the alias the WHERE clause uses for the target and the
// clause's text, when the stand-in may be filled with only its rows.
func (p *writePlan) prefilter() (alias, where string, ok bool) {
	w, toks := p.stmt, p.toks
	if w.kind != writeUpdate && w.kind != writeDelete {
		return "", "", false
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
	for _, t := range toks[w.nameEnd:] {
		if t.kind == tokSymbol && (t.text == "?" || t.text == "$") {
			return "", "", false // parameters: one fill serves every parameter row
		}
		if t.kind == tokWord && volatileFunctions[t.text] {
			return "", "", false
		}
	}
	alias = w.name[len(w.name)-1]
	if i := w.nameEnd; hasAlias(toks, i) {
		if toks[i].is("as") {
			i++
		}
		if i < len(toks) && toks[i].ident() {
			alias = toks[i].text
		}
	}
	return alias, strings.TrimRight(strings.TrimSpace(p.tail(toks[at+1].pos)), ";"), true
}

// tail is sql[from:] with the edits of time-travelling sources in it applied.
func (p *writePlan) tail(from int) string {
	var es []edit
	for _, e := range p.sources {
		if e.start >= from {
			es = append(es, edit{start: e.start - from, end: e.end - from, text: e.text})
		}
	}
	return applyEdits(p.sql[from:], es)
}
