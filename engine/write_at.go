//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
)

// Time travel inside SQL writes: INSERT INTO t SELECT … FROM t AT (VERSION
// => …) restores rows from an old snapshot. DuckDB's parser describes only
// SELECT statements (rewrite.go), so in a write each AT clause is found by
// its tokens: a table name, an optional alias, then AT (VERSION|TIMESTAMP
// => expression). The name is resolved like a query's, the expression is
// evaluated by DuckDB, and the reference is pointed at the pinned view of
// that snapshot.

// pinWriteSources returns the edits that point every time-travelling
// Iceberg table reference of a write (other than its target, whose name
// starts at toks[target]) at its pinned snapshot view, and the pins (the
// caller releases them).
func (s *Session) pinWriteSources(ctx context.Context, dc *dconn, sql string, toks []token, target int) ([]edit, []*pin, error) {
	var edits []edit
	var pins []*pin
	fail := func(err error) ([]edit, []*pin, error) {
		s.e.releasePins(pins)
		return nil, nil, err
	}
	for i := 1; i+1 < len(toks); i++ {
		if !toks[i].is("at") || toks[i+1].kind != tokSymbol || toks[i+1].text != "(" {
			continue
		}
		end := matchParen(toks, i+1)
		nameEnd, alias := atTarget(toks, i)
		if end < 0 || nameEnd < 0 {
			continue
		}
		nameStart := nameEnd
		for nameStart >= 2 && toks[nameStart-1].text == "." && toks[nameStart-1].kind == tokSymbol && toks[nameStart-2].ident() {
			nameStart -= 2
		}
		if nameStart == target {
			continue // DuckDB refuses time travel on the target
		}
		parts, _ := nameAt(toks, nameStart)
		id, ok, err := s.resolveParts(dc, parts)
		if err != nil {
			return fail(err)
		}
		if !ok {
			continue // not an Iceberg table: DuckDB reports it
		}
		req, err := s.atClause(dc, id, sql, toks, i+2, end)
		if err != nil {
			return fail(err)
		}
		snap, err := s.e.resolveAsOf(ctx, id, req)
		if err != nil {
			return fail(err)
		}
		p, err := s.e.pinSnapshot(ctx, id, snap)
		if errors.Is(err, catalog.ErrNoSuchSnapshot) {
			return fail(s.e.noSuchSnapshot(ctx, id, snap))
		}
		if err != nil {
			return fail(err)
		}
		pins = append(pins, p)
		repl := p.qualified()
		if alias == "" {
			repl += " AS " + quoteIdent(parts[len(parts)-1])
		}
		edits = append(edits,
			edit{start: toks[nameStart].pos, end: toks[nameEnd].end, text: repl},
			edit{start: toks[i].pos, end: toks[end].end, text: ""})
		i = end
	}
	return edits, pins, nil
}

// atTarget finds the table reference before the AT at toks[at]: the index
// of its name's last part and its alias ("" if none); -1 when there is none.
func atTarget(toks []token, at int) (int, string) {
	j := at - 1
	if j < 0 || !toks[j].ident() {
		return -1, ""
	}
	switch {
	case j >= 2 && toks[j-1].is("as") && toks[j-2].ident():
		return j - 2, toks[j].text
	case j >= 1 && toks[j-1].ident() && !isClauseWord(toks[j-1]):
		return j - 1, toks[j].text
	}
	return j, ""
}

// isClauseWord reports keywords that can stand right before a table name.
func isClauseWord(t token) bool {
	if t.kind != tokWord {
		return false
	}
	switch t.text {
	case "from", "join", "using", "into", "update", "table", "lateral":
		return true
	}
	return false
}

// atClause reads the AT (unit => expression) between toks[from] and the
// closing parenthesis at toks[end], evaluating the expression in DuckDB.
func (s *Session) atClause(dc *dconn, id catalog.Ident, sql string, toks []token, from, end int) (*asOf, error) {
	const usage = "AT (VERSION => snapshot id, tag or branch) or AT (TIMESTAMP => timestamp)"
	exprStart := from + 3
	if exprStart >= end || toks[from+1].text != "=" || toks[from+2].text != ">" {
		return nil, newError(ErrInvalidSQL, fmt.Sprintf("time travel on %s: write %s", id, usage))
	}
	expr := strings.TrimSpace(sql[toks[exprStart].pos:toks[end].pos])
	for _, t := range toks[exprStart:end] {
		if t.kind == tokSymbol && (t.text == "?" || t.text == "$") {
			return nil, newError(ErrInvalidSQL, "the AT clause of "+id.String()+" must be a constant: parameters are not allowed there")
		}
	}
	if toks[from].text != "version" && toks[from].text != "timestamp" {
		return nil, newError(ErrUnsupported, fmt.Sprintf("time travel on %s: write %s", id, usage))
	}
	literal := end-exprStart == 1 && toks[exprStart].kind == tokString
	return s.evalAtExpr(dc, id, toks[from].text, expr, literal)
}
