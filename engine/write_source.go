//go:build duckdb_arrow

package engine

import (
	"strings"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Staging a MERGE's source. A MERGE whose USING is a subquery (what dbt's
// incremental models send: the model's SQL in parentheses) runs the
// subquery once into a TEMP table, and the statement then merges from that
// table. DuckDB 1.5 plans the subquery inside the MERGE far worse than on
// its own: a dbt model joining and aggregating 900K orders took 2.8 s to
// merge from its SQL, and 0.2 s to stage plus 0.4 s to merge from the
// staged rows. The prefilter (write_prefilter.go) reads the staged rows
// too, instead of running the subquery a second time. The rows are the
// same either way: the subquery is evaluated once, before the stand-in is
// filled, on the snapshots the statement reads.

// stagedSource is the TEMP table holding a MERGE's staged source rows.
const stagedSource = `"__lakeflight_source"`

// sourceSubquery returns the tokens of the "(" and ")" around a MERGE's
// USING subquery, when the source is one and may be staged: the statement
// has no parameters (one staging would serve every parameter row).
func (p *writePlan) sourceSubquery() (open, end int, ok bool) {
	if p.stmt.Kind != writeMerge {
		return 0, 0, false
	}
	toks := p.toks
	for _, t := range toks {
		if t.Kind == sqltext.Param {
			return 0, 0, false
		}
	}
	using := toks.TopLevel(p.stmt.Target().End, "using")
	if using < 0 || !toks.Sym(using+1, "(") {
		return 0, 0, false
	}
	end = toks.Close(using + 1)
	query := toks.Word(using+2, "select") || toks.Word(using+2, "with") || toks.Word(using+2, "from") ||
		toks.Word(using+2, "values") || toks.Sym(using+2, "(")
	if end < 0 || !query {
		return 0, 0, false
	}
	// Only an aliased subquery: the statement may name an unaliased one as
	// DuckDB does (unnamed_subquery), which the staged table is not.
	if alias := end + 1; toks.Word(alias, "as") {
		if alias+1 >= len(toks) || !toks[alias+1].Ident() {
			return 0, 0, false
		}
	} else if alias >= len(toks) || !toks[alias].Ident() || toks.Word(alias, "on") {
		return 0, 0, false
	}
	return using + 1, end, true
}

// stageSource creates the staged source of a MERGE on dc (its session's
// main connection) and marks p staged; staged is false when the
// statement's source is not a subquery, or could not be staged (the
// statement then runs as written, with the same result). p is the run's
// own copy of the plan.
func (p *writePlan) stageSource(dc *dconn) (staged bool) {
	open, end, ok := p.sourceSubquery()
	if !ok {
		return false
	}
	sub, err := p.span(p.toks[open].Pos, p.toks[end].End)
	if err != nil {
		return false
	}
	with := ""
	if info := p.stmt.Info; info.With >= 0 {
		if with, err = p.span(p.toks[info.With].Pos, p.toks[info.Lead].Pos); err != nil {
			return false
		}
	}
	// Under its alias, in the order of the key the MERGE joins on (the
	// stand-in's order too): DuckDB updates the matched rows in the
	// source's order, and in another order than the stand-in's it took 2 s,
	// not 40 ms, to update 31K rows of 14 columns.
	aliased, order := sub, ""
	if on := p.toks.TopLevel(end+1, "on"); on > end {
		if as, err := p.span(p.toks[end].End, p.toks[on].Pos); err == nil {
			aliased = sub + " " + strings.TrimSpace(as)
			if k, ok := p.mergeKey(p.targetAlias()); ok {
				order = " ORDER BY " + k.source
			}
		}
	}
	if err := execSQL(dc.c, "CREATE OR REPLACE TEMP TABLE "+stagedSource+" AS "+with+"SELECT * FROM "+aliased+order); err != nil {
		dropStagedSource(dc)
		return false
	}
	p.staged = true
	return true
}

// dropStagedSource removes the staged source, if any.
func dropStagedSource(dc *dconn) { _ = execSQL(dc.c, "DROP TABLE IF EXISTS "+stagedSource) }

// sourceEdits are the edits of the statement's text outside its staged
// subquery, plus the one that puts the staged table in its place: the
// subquery's own edits (pinned sources) went into the staging.
func (p *writePlan) sourceEdits() []sqltext.Edit {
	if !p.staged {
		return p.sources
	}
	open, end, _ := p.sourceSubquery()
	from, to := p.toks[open].Pos, p.toks[end].End
	out := []sqltext.Edit{{Start: from, End: to, Text: stagedSource}}
	for _, e := range p.sources {
		if e.End <= from || e.Start >= to {
			out = append(out, e)
		}
	}
	return out
}
