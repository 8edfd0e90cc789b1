//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Pinning. Before a statement that reads Iceberg tables is prepared, its
// references are found and its text edited at their byte spans, so
// everything else (hints, formatting, parameters) stays as the client wrote
// it:
//
//   - an Iceberg table becomes its pinned view (pins.go) at the snapshot
//     the AT clause, the session's lakeflight_as_of or the table's current
//     state names, keeping the table's name as the alias so qualified
//     column references still work; the AT clause is removed;
//   - iceberg_snapshots('ns.table') and the other metadata functions
//     (metatables.go) become pinned views of the table's metadata.
//
// Where the references are comes from DuckDB's own parser
// (json_serialize_sql) for every query it can describe; for writes, for
// EXPLAIN-like wrappers it cannot describe and for PIVOT without an IN list,
// from sqltext's token scan. What either misses fails closed: an AT clause
// left in the text makes DuckDB refuse the statement ("does not support time
// travel"), and a current view read while lakeflight_as_of is set refuses
// to bind (views.go, the guard).

// rewritten is a statement's text with its Iceberg references pinned.
type rewritten struct {
	sql  string
	pins []*pin
	// volatile: the choice of snapshot depended on the clock or on session
	// time travel, so the prepared plan must not be reused for the same text.
	volatile bool
	edits    []sqltext.Edit
	scans    []scanNote // how each Iceberg table reference is read
}

// site is one place in a statement's text where a table or a table
// function is referenced.
type site struct {
	catalog, schema, name string // the name as parsed; for a function, its name
	start, end            int    // byte span to replace (a function: name through ")")
	hasAlias              bool   // an alias follows (else the pin gets the table's name)
	noAlias               bool   // TABLE t, DESCRIBE t: no alias may follow
	at                    *atText
	fn                    bool
	args                  []string         // a function's arguments, as SQL text
	tok                   int              // index of the name's first token
	filters               []sqltext.Filter // what the query's WHERE says of the table's columns (prune.go)
}

// atText is an AT (unit => expression) clause as written.
type atText struct {
	start, end int // byte span of the whole clause
	unit, expr string
	literal    bool // the expression is one string literal
	param      bool // the expression holds a parameter
	arrow      bool // written with "=>"
}

// siteOf turns a token-found reference into a site.
func siteOf(text string, toks sqltext.Tokens, r sqltext.Ref) site {
	s := site{start: toks[r.Start].Pos, end: toks[r.End-1].End, hasAlias: r.Alias != "", tok: r.Start, fn: r.Func,
		noAlias: r.By == "table" || r.By == "describe"}
	switch len(r.Parts) {
	case 1:
		s.name = r.Parts[0]
	case 2:
		s.schema, s.name = r.Parts[0], r.Parts[1]
	default:
		s.catalog, s.schema, s.name = r.Parts[len(r.Parts)-3], r.Parts[len(r.Parts)-2], r.Parts[len(r.Parts)-1]
	}
	if r.Func {
		s.name = strings.ToLower(r.Parts[len(r.Parts)-1])
		s.end = toks[r.Close].End
		s.args = toks.Args(text, r.End, r.Close)
	}
	if a := r.At; a != nil {
		s.at = &atText{start: toks[a.Start].Pos, end: toks[a.End].End, unit: a.Unit, arrow: a.Arrow,
			literal: a.ExprEnd-a.ExprStart == 1 && toks[a.ExprStart].Kind == sqltext.String}
		if a.ExprEnd > a.ExprStart {
			s.at.expr = text[toks[a.ExprStart].Pos:toks[a.ExprEnd-1].End]
		}
		for _, t := range toks[a.ExprStart:a.ExprEnd] {
			s.at.param = s.at.param || t.Kind == sqltext.Param
		}
	}
	return s
}

// pinMode says which references of a statement to pin.
type pinMode int

const (
	// pinAll: a query; every Iceberg reference reads a pinned view, the
	// current snapshot's when nothing else is asked for.
	pinAll pinMode = iota
	// pinTravel: a write or a session statement; only references that
	// time-travel (an AT clause, or any while lakeflight_as_of is set)
	// are pinned, the others read the current views when it runs.
	pinTravel
)

// mayRead reports whether a statement is worth looking at for Iceberg
// references: it names a bound table, calls a metadata function or has an
// AT clause, or names a persistent view while lakeflight_as_of is set.
func (s *Session) mayRead(toks sqltext.Tokens) bool {
	for i, t := range toks {
		if t.Kind == sqltext.Word && toks.Sym(i+1, "(") && (t.Text == "at" || metaFunctions[t.Text] != nil) {
			return true
		}
	}
	if len(s.e.referencedTables(toks)) > 0 {
		return true
	}
	s.mu.Lock()
	asOf := s.asOf
	s.mu.Unlock()
	return asOf != nil && len(s.e.mentionedViews(toks)) > 0 // refused by pinSites
}

// pinQuery rewrites a query (or EXPLAIN/DESCRIBE/SUMMARIZE of one) so that
// it reads pinned snapshot views. It returns nil when nothing needs a pin.
func (s *Session) pinQuery(ctx context.Context, dc *dconn, text string, toks sqltext.Tokens, info sqltext.Info) (*rewritten, error) {
	if s.e.source == nil || !s.mayRead(toks) {
		return nil, nil
	}
	sites, ctes, err := s.parsedSites(dc, text, toks, 0)
	if errors.Is(err, sqltext.ErrNotSerializable) && info.Inner > 0 {
		// EXPLAIN [ANALYZE] of a query: DuckDB's serializer takes only
		// the query, so it describes that part.
		sites, ctes, err = s.parsedSites(dc, text, toks, info.Inner)
	}
	if errors.Is(err, sqltext.ErrNotSerializable) {
		// DuckDB describes no PIVOT without an IN list (it becomes several
		// statements): its references are found by their tokens.
		sites, ctes, err = tokenSites(text, toks), toks.CTENames(), nil
	}
	if err != nil {
		return nil, err
	}
	return s.pinSites(ctx, dc, text, sites, ctes, pinAll, -1)
}

// parsedSites asks DuckDB's parser for the references of the statement
// text (tokens toks) from its token from on; the sites are placed in the
// whole text. A reference the text does not show where DuckDB says keeps
// tok -1 (pinSites refuses it if it names an Iceberg table).
func (s *Session) parsedSites(dc *dconn, text string, toks sqltext.Tokens, from int) ([]site, map[string]bool, error) {
	sites, tree, err := s.parsedTree(dc, text, toks, from)
	if err != nil {
		return nil, nil, err
	}
	return sites, tree.CTEs, nil
}

// parsedTree is parsedSites with the whole of what the parser said.
func (s *Session) parsedTree(dc *dconn, text string, toks sqltext.Tokens, from int) ([]site, *sqltext.Serialized, error) {
	base := toks[from].Pos
	rows, err := queryStrings(dc.c, "SELECT json_serialize_sql("+quoteString(text[base:])+")")
	if err != nil || len(rows) != 1 {
		return nil, nil, sqltext.ErrNotSerializable
	}
	tree, err := sqltext.ParseSerialized(rows[0][0])
	if err != nil {
		return nil, nil, sqltext.ErrNotSerializable
	}
	var sites []site
	for _, r := range tree.Refs {
		st := site{catalog: r.Catalog, schema: r.Schema, name: r.Name, fn: r.Func, hasAlias: r.Alias != "", tok: -1}
		if k := toks.TokenAt(base + r.Pos); r.Pos >= 0 && k >= from {
			by := "json"
			switch {
			case toks.Word(k-1, "table"):
				by = "table"
			case toks.Word(k-1, "describe") || toks.Word(k-1, "desc") || toks.Word(k-1, "summarize") || toks.Word(k-1, "show"):
				by = "describe"
			}
			if ref, ok := toks.RefAt(k, by); ok {
				ts := siteOf(text, toks, ref)
				ts.catalog, ts.schema, ts.name, ts.hasAlias = r.Catalog, r.Schema, r.Name, r.Alias != ""
				ts.filters = r.Filters
				if !r.At {
					ts.at = nil
				} else if ts.at == nil {
					ts.at = &atText{start: -1}
				}
				st = ts
			}
		}
		sites = append(sites, st)
	}
	return sites, tree, nil
}

// tokenSites are the references sqltext's token scan finds.
func tokenSites(text string, toks sqltext.Tokens) []site {
	refs := sqltext.Refs(toks)
	out := make([]site, len(refs))
	for i, r := range refs {
		out[i] = siteOf(text, toks, r)
	}
	return out
}

// pinSites pins the sites that need it and returns the edited text (nil
// when nothing was pinned). skip is the token index of a write's target,
// which is never pinned (-1: none).
func (s *Session) pinSites(ctx context.Context, dc *dconn, text string, sites []site, ctes map[string]bool, mode pinMode, skip int) (*rewritten, error) {
	out := &rewritten{}
	fail := func(err error) (*rewritten, error) {
		s.e.releasePins(out.pins)
		return nil, err
	}
	s.mu.Lock()
	asOf := s.asOf
	s.mu.Unlock()
	for _, st := range sites {
		if skip >= 0 && st.tok == skip {
			continue
		}
		if st.fn {
			if mf := metaFunctions[st.name]; mf != nil {
				if st.tok < 0 {
					return fail(newError(ErrInvalidSQL, "cannot find the call of "+st.name+" in the statement text"))
				}
				es, p, err := s.pinMetaFunction(ctx, dc, st, mf)
				if err != nil {
					return fail(err)
				}
				out.pins = append(out.pins, p)
				out.edits = append(out.edits, es...)
			}
			continue
		}
		id, ok, err := s.resolveTable(dc, st.catalog, st.schema, st.name, ctes)
		if err != nil {
			return fail(err)
		}
		if !ok {
			if st.at == nil && asOf == nil {
				continue
			}
			// A persistent view reads current snapshots: it cannot time-travel.
			vid, isView, err := s.resolveIn(dc, st.catalog, st.schema, st.name, ctes, s.e.storedViewNamed)
			if err != nil {
				return fail(err)
			}
			if isView {
				return fail(viewTimeTravelError(vid, st.at != nil))
			}
			continue
		}
		if mode == pinTravel && st.at == nil && asOf == nil {
			continue // read at run time from the current view
		}
		if st.tok < 0 || st.at != nil && st.at.start < 0 {
			// DuckDB's parser gave a place the text does not have: better
			// to refuse than to read the table unpinned.
			return fail(newError(ErrInvalidSQL, "cannot locate the reference to "+id.String()+
				" in the statement text, so it cannot be pinned to a snapshot: write the table name plainly (namespace.table)"))
		}
		p, volatile, note, err := s.pinFor(ctx, dc, id, st.at, asOf, st.filters)
		if err != nil {
			return fail(err)
		}
		out.pins = append(out.pins, p)
		out.scans = append(out.scans, note)
		out.volatile = out.volatile || volatile
		repl := p.qualified()
		if !st.hasAlias && !st.noAlias {
			repl += " AS " + quoteIdent(st.name)
		}
		out.edits = append(out.edits, sqltext.Edit{Start: st.start, End: st.end, Text: repl})
		if st.at != nil {
			out.edits = append(out.edits, sqltext.Edit{Start: st.at.start, End: st.at.end})
		}
	}
	if len(out.edits) == 0 {
		return fail(nil)
	}
	sql, err := sqltext.Apply(text, out.edits)
	if err != nil {
		return fail(fmt.Errorf("pinning the statement's tables: %w: %w", ErrInternal, err))
	}
	out.sql = sql
	return out, nil
}

// pinFor pins table id at the snapshot the AT clause (nil: none) or the
// session's lakeflight_as_of (nil: none) names, or its current view; the
// note says which files it reads.
func (s *Session) pinFor(ctx context.Context, dc *dconn, id catalog.Ident, at *atText, asOf *asOf, filters []sqltext.Filter) (*pin, bool, scanNote, error) {
	req := asOf
	if at != nil {
		const usage = "AT (VERSION => snapshot id, tag or branch) or AT (TIMESTAMP => timestamp)"
		switch {
		case at.param:
			return nil, false, scanNote{}, newError(ErrInvalidSQL, "the AT clause of "+id.String()+" must be a constant: parameters are not allowed there")
		case !at.arrow || at.expr == "":
			return nil, false, scanNote{}, newError(ErrInvalidSQL, fmt.Sprintf("time travel on %s: write %s", id, usage))
		}
		r, err := s.evalAtExpr(dc, id, at.unit, at.expr, at.literal)
		if err != nil {
			return nil, false, scanNote{}, err
		}
		req = r
	}
	if req == nil {
		p, note, err := s.e.pinPruned(ctx, id, 0, filters)
		if p != nil || err != nil {
			return p, false, note, err
		}
		p, err = s.e.pinCurrent(ctx, id)
		return p, false, note, err
	}
	volatile := req.ref != "" || !req.at.IsZero() || at == nil
	snap, err := s.e.resolveAsOf(ctx, id, req)
	if err != nil {
		return nil, false, scanNote{}, err
	}
	if snap == 0 {
		return nil, false, scanNote{}, newError(ErrNotFound, fmt.Sprintf("table %s has no snapshots yet: there is nothing to time-travel to", id))
	}
	p, note, err := s.e.pinPruned(ctx, id, snap, filters)
	if p == nil && err == nil {
		p, err = s.e.pinSnapshot(ctx, id, snap)
	}
	if errors.Is(err, catalog.ErrNoSuchSnapshot) {
		return nil, false, note, s.e.noSuchSnapshot(ctx, id, snap)
	}
	return p, volatile, note, err
}

// resolveParts is resolveTable for a name given as its dot-separated
// parts; ok is false for anything but one to three parts.
func (s *Session) resolveParts(dc *dconn, parts []string) (catalog.Ident, bool, error) {
	switch len(parts) {
	case 1:
		return s.resolveTable(dc, "", "", parts[0], nil)
	case 2:
		return s.resolveTable(dc, "", parts[0], parts[1], nil)
	case 3:
		return s.resolveTable(dc, parts[0], parts[1], parts[2], nil)
	}
	return catalog.Ident{}, false, nil
}

// resolveTable maps a parsed table name to a bound Iceberg table, the way
// DuckDB resolves names: catalog.schema.table, schema.table, or a bare name
// in the session's current schema (unless a CTE or temp object has it).
func (s *Session) resolveTable(dc *dconn, catName, schema, name string, ctes map[string]bool) (catalog.Ident, bool, error) {
	return s.resolveIn(dc, catName, schema, name, ctes, s.e.boundTable)
}

// resolveIn is resolveTable with lookup finding a bound name (a table, or a
// persistent view) in a namespace.
func (s *Session) resolveIn(dc *dconn, catName, schema, name string, ctes map[string]bool,
	lookup func(ns, name string) (catalog.Ident, bool),
) (catalog.Ident, bool, error) {
	cat := s.e.cfg.CatalogName
	switch {
	case catName != "" && !strings.EqualFold(catName, cat):
		return catalog.Ident{}, false, nil
	case catName == "" && schema == "":
		if ctes[strings.ToLower(name)] {
			return catalog.Ident{}, false, nil
		}
		s.mu.Lock()
		curCat, curSchema := s.catalog, s.schema
		s.mu.Unlock()
		if !strings.EqualFold(curCat, cat) {
			return catalog.Ident{}, false, nil
		}
		id, ok := lookup(curSchema, name)
		if !ok {
			return id, false, nil
		}
		temp, err := isTempObject(dc.c, name)
		if err != nil || temp {
			return catalog.Ident{}, false, err
		}
		return id, true, nil
	}
	id, ok := lookup(schema, name)
	return id, ok, nil
}

// boundTable finds the bound table ns.name, matching case-insensitively
// as DuckDB does.
func (e *Engine) boundTable(ns, name string) (catalog.Ident, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := catalog.Ident{Namespace: ns, Name: name}
	if _, ok := e.views[id]; ok {
		return id, true
	}
	for v := range e.views {
		if strings.EqualFold(v.Namespace, ns) && strings.EqualFold(v.Name, name) {
			return v, true
		}
	}
	return catalog.Ident{}, false
}

// definesView reports CREATE [OR REPLACE] [TEMP] VIEW or MACRO/FUNCTION: a
// definition that outlives the statement, so it must not point at a pinned
// snapshot view that is dropped when the statement ends.
func definesView(info sqltext.Info) bool {
	return info.Kind == sqltext.KindCreate && (info.Object == "view" || info.Object == "macro" || info.Object == "function")
}

// pinSources pins the time-travelling references of a write or a session
// statement (CREATE TEMP TABLE … AS, INSERT INTO a temp table): those with
// an AT clause, and every one while lakeflight_as_of is set. skip is the
// token index of a write's target (-1: none). nil when nothing was pinned.
func (s *Session) pinSources(ctx context.Context, dc *dconn, text string, toks sqltext.Tokens, skip int) (*rewritten, error) {
	if s.e.source == nil || !s.mayRead(toks) {
		return nil, nil
	}
	return s.pinSites(ctx, dc, text, tokenSites(text, toks), toks.CTENames(), pinTravel, skip)
}
