package sqltext

import (
	"encoding/json"
	"strings"
)

// Filters: the conditions a query's WHERE puts on one table reference,
// for pruning the files a scan reads. Only what cannot be mistaken is
// taken: a SELECT whose FROM is that one table (no join, no subquery), and
// of its WHERE, the comparisons of one of the table's columns with
// constants that it ANDs and ORs together (impliedFilters). Anything else
// is left out, which only means fewer files are skipped.

// Filter is one condition on a column.
type Filter struct {
	Column string // the column's name as written (its qualifier checked)
	// Op: "=", "<", "<=", ">", ">=", "in", "between" (Values: low, high),
	// "is null", "is not null", or "or" (no Column: Any holds the
	// alternatives, each the filters of one side of the OR).
	Op     string
	Values []Literal
	Any    [][]Filter
}

// Literal is a constant as written: DuckDB's literal kind (INTEGER,
// STRING, NUMERIC, …) and text, and the type it is cast to, if any
// (CAST('2026-01-01' AS DATE), DATE '2026-01-01').
type Literal struct {
	Kind, Text string
	Cast       string // upper-case type name, "" for none
}

// whereFilters reads the filters a SELECT node's WHERE puts on its FROM
// table, whose alias (or, without one, name) qualifies its columns.
func whereFilters(where map[string]any, qualifier string) []Filter {
	return impliedFilters(where, qualifier)
}

// impliedFilters are filters that hold wherever e is true: the comparisons
// e ANDs together, and its ORs whose every side implies some filter. What
// else e says is left out, so the filters may let more rows through than
// e, never fewer.
func impliedFilters(e map[string]any, qualifier string) []Filter {
	switch e["type"] {
	case "CONJUNCTION_AND":
		var out []Filter
		for _, c := range children(e) {
			out = append(out, impliedFilters(c, qualifier)...)
		}
		return out
	case "CONJUNCTION_OR":
		var alts [][]Filter
		for _, c := range children(e) {
			fs := impliedFilters(c, qualifier)
			if len(fs) == 0 {
				return nil // this side may hold anywhere: so may the OR
			}
			alts = append(alts, fs)
		}
		if len(alts) < 2 {
			return nil
		}
		return []Filter{{Op: "or", Any: alts}}
	}
	if f, ok := filterOf(e, qualifier); ok {
		return []Filter{f}
	}
	return nil
}

// comparisons maps DuckDB's comparison types to Filter ops, and flipped
// the op when the constant comes first.
var comparisons = map[string][2]string{
	"COMPARE_EQUAL":                {"=", "="},
	"COMPARE_LESSTHAN":             {"<", ">"},
	"COMPARE_LESSTHANOREQUALTO":    {"<=", ">="},
	"COMPARE_GREATERTHAN":          {">", "<"},
	"COMPARE_GREATERTHANOREQUALTO": {">=", "<="},
}

func filterOf(e map[string]any, qualifier string) (Filter, bool) {
	typ, _ := e["type"].(string)
	switch {
	case comparisons[typ] != [2]string{}:
		left, _ := e["left"].(map[string]any)
		right, _ := e["right"].(map[string]any)
		if col, ok := columnOf(left, qualifier); ok {
			if lit, ok := literalOf(right); ok {
				return Filter{Column: col, Op: comparisons[typ][0], Values: []Literal{lit}}, true
			}
		}
		if col, ok := columnOf(right, qualifier); ok {
			if lit, ok := literalOf(left); ok {
				return Filter{Column: col, Op: comparisons[typ][1], Values: []Literal{lit}}, true
			}
		}
	case typ == "COMPARE_IN":
		cs := children(e)
		if len(cs) < 2 {
			return Filter{}, false
		}
		col, ok := columnOf(cs[0], qualifier)
		if !ok {
			return Filter{}, false
		}
		f := Filter{Column: col, Op: "in"}
		for _, c := range cs[1:] {
			lit, ok := literalOf(c)
			if !ok {
				return Filter{}, false
			}
			f.Values = append(f.Values, lit)
		}
		return f, true
	case typ == "COMPARE_BETWEEN":
		in, _ := e["input"].(map[string]any)
		lo, _ := e["lower"].(map[string]any)
		hi, _ := e["upper"].(map[string]any)
		col, ok := columnOf(in, qualifier)
		l, ok1 := literalOf(lo)
		h, ok2 := literalOf(hi)
		if ok && ok1 && ok2 {
			return Filter{Column: col, Op: "between", Values: []Literal{l, h}}, true
		}
	case typ == "OPERATOR_IS_NULL", typ == "OPERATOR_IS_NOT_NULL":
		cs := children(e)
		if len(cs) == 1 {
			if col, ok := columnOf(cs[0], qualifier); ok {
				op := "is null"
				if typ == "OPERATOR_IS_NOT_NULL" {
					op = "is not null"
				}
				return Filter{Column: col, Op: op}, true
			}
		}
	}
	return Filter{}, false
}

// columnOf reads a column reference: a bare name, or one qualified by the
// table's alias or name.
func columnOf(e map[string]any, qualifier string) (string, bool) {
	if e == nil || e["type"] != "COLUMN_REF" {
		return "", false
	}
	names, _ := e["column_names"].([]any)
	switch len(names) {
	case 1:
		n, ok := names[0].(string)
		return n, ok
	case 2:
		q, _ := names[0].(string)
		n, ok := names[1].(string)
		return n, ok && strings.EqualFold(q, qualifier)
	}
	return "", false
}

// literalOf reads a constant, or a constant cast to a named type.
func literalOf(e map[string]any) (Literal, bool) {
	if e == nil {
		return Literal{}, false
	}
	if e["type"] == "OPERATOR_CAST" {
		if try, _ := e["try_cast"].(bool); try {
			return Literal{}, false
		}
		var name string
		if te, ok := e["type_expr"].(map[string]any); ok { // DuckDB 1.5's Python build
			name, _ = te["type_name"].(string)
			if args, _ := te["children"].([]any); len(args) > 0 {
				return Literal{}, false // a parameterised type (DECIMAL(p, s), …): left out
			}
		} else if ct, ok := e["cast_type"].(map[string]any); ok { // the C API's build
			name, _ = ct["id"].(string)
			if ct["type_info"] != nil {
				return Literal{}, false
			}
		}
		if name == "" {
			return Literal{}, false
		}
		child, _ := e["child"].(map[string]any)
		lit, ok := literalOf(child)
		if !ok || lit.Cast != "" {
			return Literal{}, false
		}
		lit.Cast = strings.ToUpper(name)
		return lit, true
	}
	if e["type"] != "VALUE_CONSTANT" {
		return Literal{}, false
	}
	if v, ok := e["value"].(map[string]any); ok { // the C API's build: a typed value
		return typedValue(v)
	}
	l, _ := e["literal"].(map[string]any)
	kind, _ := l["kind"].(string)
	text, ok := l["text"].(string)
	if kind == "" || !ok {
		return Literal{}, false
	}
	return Literal{Kind: kind, Text: text}, true
}

// valueKinds maps the type of a serialized value to the literal kind its
// text would have had.
var valueKinds = map[string]string{
	"TINYINT": "INTEGER", "SMALLINT": "INTEGER", "INTEGER": "INTEGER", "BIGINT": "INTEGER", "HUGEINT": "INTEGER",
	"UTINYINT": "INTEGER", "USMALLINT": "INTEGER", "UINTEGER": "INTEGER", "UBIGINT": "INTEGER",
	"VARCHAR": "STRING",
}

// typedValue reads a {type, is_null, value} constant: integers and
// strings (anything else is left out).
func typedValue(v map[string]any) (Literal, bool) {
	t, _ := v["type"].(map[string]any)
	id, _ := t["id"].(string)
	kind := valueKinds[id]
	if null, _ := v["is_null"].(bool); null || kind == "" || t["type_info"] != nil {
		return Literal{}, false
	}
	switch x := v["value"].(type) {
	case string:
		if kind == "STRING" {
			return Literal{Kind: kind, Text: x}, true
		}
	case json.Number:
		if kind == "INTEGER" {
			return Literal{Kind: kind, Text: x.String()}, true
		}
	}
	return Literal{}, false
}

// children is an expression's "children" list.
func children(e map[string]any) []map[string]any {
	list, _ := e["children"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
