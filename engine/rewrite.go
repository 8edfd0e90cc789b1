//go:build duckdb_arrow

package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
)

// Rewriting reads. Before a query that reads Iceberg tables is prepared,
// DuckDB's own parser describes it (json_serialize_sql): every table
// reference with its byte offset, alias and AT clause, and every table
// function call. lakeflight then edits the statement's original text at
// those offsets, so everything else (hints, formatting, parameters) stays
// exactly as the client wrote it:
//
//   - an Iceberg table becomes its pinned view (pins.go) at the snapshot
//     the AT clause, the session's lakeflight_as_of or the table's current
//     state names, keeping the table's name as the alias so qualified
//     column references still work; the AT clause is removed;
//   - iceberg_snapshots('ns.table') and the other metadata functions
//     (metatables.go) become pinned views of the table's metadata.

// rewritten is a statement's text with its Iceberg references pinned.
type rewritten struct {
	sql  string
	pins []*pin
	// volatile: the choice of snapshot depended on the clock or on session
	// time travel, so the prepared plan must not be reused for the same text.
	volatile bool
}

// edit replaces sql[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// relation is one table reference or table function call found by DuckDB's parser.
type relation struct {
	node map[string]any
	fn   bool // TABLE_FUNCTION
}

// readLead are the first words of statements that may be rewritten.
var readLead = map[string]bool{"select": true, "with": true, "from": true, "values": true, "table": true}

// mayRead reports whether a statement is worth parsing for Iceberg
// references: a query that names a bound table, calls a metadata function
// or time-travels (or any query while the session time-travels).
func (s *Session) mayRead(toks []token) bool {
	if len(toks) == 0 {
		return false
	}
	if !readLead[toks[0].text] && (toks[0].kind != tokSymbol || toks[0].text != "(") {
		return false
	}
	for i, t := range toks {
		if t.kind == tokWord && i+1 < len(toks) && toks[i+1].text == "(" && toks[i+1].kind == tokSymbol {
			if t.text == "at" || metaFunctions[t.text] != nil {
				return true
			}
		}
	}
	return len(s.e.referencedTables(toks)) > 0
}

// explainedQuery is the index of the token that starts the query of an
// EXPLAIN [ANALYZE], DESCRIBE or SUMMARIZE statement, or 0.
func explainedQuery(toks []token) int {
	if len(toks) < 2 || toks[0].kind != tokWord {
		return 0
	}
	j := 1
	switch toks[0].text {
	case "explain":
		if toks[1].is("analyze") {
			j = 2
		}
	case "describe", "desc", "summarize":
	default:
		return 0
	}
	if j < len(toks) && (readLead[toks[j].text] && toks[j].kind == tokWord || toks[j].kind == tokSymbol && toks[j].text == "(") {
		return j
	}
	return 0
}

// pinReads rewrites sql (a query) so that it reads pinned snapshot views.
// It returns nil when the statement needs no rewrite, or when DuckDB's
// parser cannot describe it (preparing the original then reports why).
func (s *Session) pinReads(ctx context.Context, dc *dconn, sql string, toks []token) (*rewritten, error) {
	if j := explainedQuery(toks); j > 0 {
		// EXPLAIN [ANALYZE], DESCRIBE or SUMMARIZE of a query: DuckDB's
		// serializer takes only the query, so the query is rewritten and
		// the leading words kept.
		off := toks[j].pos
		inner := make([]token, len(toks)-j)
		for i, t := range toks[j:] {
			t.pos, t.end = t.pos-off, t.end-off
			inner[i] = t
		}
		rw, err := s.pinReads(ctx, dc, sql[off:], inner)
		if rw != nil {
			rw.sql = sql[:off] + rw.sql
		}
		return rw, err
	}
	if s.e.tables == nil || !s.mayRead(toks) {
		return nil, nil
	}
	rows, err := queryStrings(dc.c, "SELECT json_serialize_sql("+quoteString(sql)+")")
	if err != nil || len(rows) != 1 {
		return nil, nil //nolint:nilerr // the prepare that follows reports the statement's own error
	}
	dec := json.NewDecoder(strings.NewReader(rows[0][0]))
	dec.UseNumber() // snapshot ids do not fit a float64
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil || tree["error"] == true {
		return nil, nil //nolint:nilerr // as above
	}
	ctes := map[string]bool{}
	var rels []relation
	walkJSON(tree, func(m map[string]any) {
		switch m["type"] {
		case "BASE_TABLE":
			rels = append(rels, relation{node: m})
		case "TABLE_FUNCTION":
			rels = append(rels, relation{node: m, fn: true})
		}
		if cm, ok := m["cte_map"].(map[string]any); ok {
			list, _ := cm["map"].([]any)
			for _, kv := range list {
				if k, ok := kv.(map[string]any)["key"].(string); ok {
					ctes[strings.ToLower(k)] = true
				}
			}
		}
	})
	out := &rewritten{}
	var edits []edit
	fail := func(err error) (*rewritten, error) {
		s.e.releasePins(out.pins)
		return nil, err
	}
	for _, rel := range rels {
		loc, ok := location(rel.node)
		if !ok {
			continue
		}
		k := slices.IndexFunc(toks, func(t token) bool { return t.pos == loc })
		if k < 0 {
			continue
		}
		var es []edit
		var p *pin
		if rel.fn {
			es, p, err = s.pinMetaFunction(ctx, dc, toks, k, rel.node)
		} else {
			es, p, err = s.pinTable(ctx, dc, toks, k, rel.node, ctes, out)
		}
		if err != nil {
			return fail(err)
		}
		if p != nil {
			out.pins = append(out.pins, p)
			edits = append(edits, es...)
		}
	}
	if len(edits) == 0 {
		return fail(nil)
	}
	out.sql = applyEdits(sql, edits)
	return out, nil
}

// pinTable pins one table reference (toks[k] starts its name) if it names
// an Iceberg table, and returns the edits that point the text at the pin.
func (s *Session) pinTable(ctx context.Context, dc *dconn, toks []token, k int,
	node map[string]any, ctes map[string]bool, out *rewritten,
) ([]edit, *pin, error) {
	catName, _ := node["catalog_name"].(string)
	schema, _ := node["schema_name"].(string)
	name, _ := node["table_name"].(string)
	at, _ := node["at_clause"].(map[string]any)
	id, ok, err := s.resolveTable(dc, catName, schema, name, ctes)
	if err != nil || !ok {
		return nil, nil, err
	}
	snap, volatile, err := s.snapshotFor(ctx, dc, id, at)
	if err != nil {
		return nil, nil, err
	}
	out.volatile = out.volatile || volatile
	var p *pin
	switch snap {
	case -1: // no time travel: the current view, pinned
		p, err = s.e.pinCurrent(id)
	case 0:
		return nil, nil, newError(ErrNotFound, fmt.Sprintf("table %s has no snapshots yet: there is nothing to time-travel to", id))
	default:
		p, err = s.e.pinSnapshot(ctx, id, snap)
		if errors.Is(err, catalog.ErrNoSuchSnapshot) {
			return nil, nil, s.e.noSuchSnapshot(ctx, id, snap)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	// The name's extent, then alias and column aliases, then AT (…).
	_, j := nameAt(toks, k)
	nameEnd := toks[j-1].end
	alias, _ := node["alias"].(string)
	repl := p.qualified()
	if alias == "" {
		repl += " AS " + quoteIdent(name)
	}
	edits := []edit{{start: toks[k].pos, end: nameEnd, text: repl}}
	if at != nil {
		i := j
		for i < len(toks) && (!toks[i].is("at") || i+1 >= len(toks) || toks[i+1].text != "(") {
			i++
		}
		end := matchParen(toks, i+1)
		if i >= len(toks) || end < 0 {
			s.e.releasePins([]*pin{p})
			return nil, nil, newError(ErrInvalidSQL, "cannot find the AT clause of "+id.String()+" in the statement text")
		}
		edits = append(edits, edit{start: toks[i].pos, end: toks[end].end, text: ""})
	}
	return edits, p, nil
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
		id, ok := s.e.boundTable(curSchema, name)
		if !ok {
			return id, false, nil
		}
		temp, err := isTempObject(dc.c, name)
		if err != nil || temp {
			return catalog.Ident{}, false, err
		}
		return id, true, nil
	}
	id, ok := s.e.boundTable(schema, name)
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

// applyEdits applies non-overlapping edits to sql.
func applyEdits(sql string, edits []edit) string {
	sorted := slices.Clone(edits)
	slices.SortFunc(sorted, func(a, b edit) int { return b.start - a.start }) // back to front
	for _, ed := range sorted {
		sql = sql[:ed.start] + ed.text + sql[ed.end:]
	}
	return sql
}

// walkJSON calls fn on every object in a decoded JSON tree.
func walkJSON(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, c := range v {
			walkJSON(c, fn)
		}
	case []any:
		for _, c := range v {
			walkJSON(c, fn)
		}
	}
}

// location is a parsed node's byte offset in the statement, if known.
func location(node map[string]any) (int, bool) {
	n, ok := node["query_location"].(json.Number)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(n.String(), 10, 64)
	if err != nil || u > math.MaxInt32 {
		return 0, false
	}
	return int(u), true
}

// matchParen returns the index of the ")" closing the "(" at toks[i], or -1.
func matchParen(toks []token, i int) int {
	if i >= len(toks) || toks[i].kind != tokSymbol || toks[i].text != "(" {
		return -1
	}
	depth := 0
	for ; i < len(toks); i++ {
		if toks[i].kind != tokSymbol {
			continue
		}
		switch toks[i].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// exprSQL renders a parsed expression (from json_serialize_sql) back into
// SQL text through DuckDB, by way of a one-column SELECT.
func exprSQL(dc *dconn, expr any) (string, error) {
	stmt := map[string]any{
		"error": false,
		"statements": []any{map[string]any{
			"node": map[string]any{
				"type": "SELECT_NODE", "modifiers": []any{}, "cte_map": map[string]any{"map": []any{}},
				"select_list": []any{expr}, "from_table": map[string]any{"type": "EMPTY", "alias": "", "sample": nil, "query_location": json.Number("18446744073709551615")},
				"where_clause": nil, "group_expressions": []any{}, "group_sets": []any{},
				"aggregate_handling": "STANDARD_HANDLING", "having": nil, "sample": nil, "qualify": nil,
			},
			"named_param_map": []any{},
		}},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(stmt); err != nil {
		return "", fmt.Errorf("rendering an expression: %w", err)
	}
	rows, err := queryStrings(dc.c, "SELECT json_deserialize_sql("+quoteString(strings.TrimSpace(b.String()))+")")
	if err != nil {
		return "", err
	}
	if len(rows) != 1 {
		return "", newError(ErrInternal, "rendering an expression gave no SQL")
	}
	return rows[0][0], nil
}
