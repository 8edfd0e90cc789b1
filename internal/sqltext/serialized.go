package sqltext

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// What DuckDB's own parser says about a query. json_serialize_sql(text)
// returns the parsed statements as JSON; the engine asks DuckDB for it and
// hands the text here. Every table reference (BASE_TABLE) and table
// function call (TABLE_FUNCTION) comes with its byte offset in the text
// (query_location), and a table reference with its AT clause.

// Serialized is a parsed json_serialize_sql answer.
type Serialized struct {
	Refs []SerialRef
	// CTEs are the names of common table expressions anywhere in it
	// (lower-cased).
	CTEs map[string]bool
	// Specials are the SHOW references that read the catalog rather than
	// a table or query (SHOW ALL TABLES, SHOW TABLES, SHOW SCHEMAS, also
	// as a subquery), by their name.
	Specials []string
}

// SerialRef is one table reference or table function call.
type SerialRef struct {
	Func                  bool
	Catalog, Schema, Name string // Name is the function's name for Func
	Alias                 string
	// Pos is the byte offset of the reference in the text (-1 when DuckDB
	// gave none).
	Pos int
	// At: the reference has an AT clause.
	At bool
	// Filters are what the WHERE of a SELECT whose FROM is this one table
	// says of its columns (filters.go); nil otherwise.
	Filters []Filter
}

// ErrNotSerializable: DuckDB could not describe the text (not a SELECT, or
// a syntax error); the message is DuckDB's.
var ErrNotSerializable = errors.New("duckdb cannot serialize this statement")

// ParseSerialized reads a json_serialize_sql answer.
func ParseSerialized(js string) (*Serialized, error) {
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber() // snapshot ids do not fit a float64
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	if tree["error"] == true {
		msg, _ := tree["error_message"].(string)
		return nil, errors.Join(ErrNotSerializable, errors.New(msg))
	}
	out := &Serialized{CTEs: map[string]bool{}}
	filtersAt := map[int][]Filter{} // by the table reference's location
	walk(tree, func(m map[string]any) {
		switch m["type"] {
		case "SELECT_NODE":
			from, _ := m["from_table"].(map[string]any)
			where, _ := m["where_clause"].(map[string]any)
			// A sample (USING SAMPLE, TABLESAMPLE) is drawn before WHERE
			// filters: fewer files would change what it draws from.
			if from != nil && where != nil && from["type"] == "BASE_TABLE" && from["sample"] == nil && m["sample"] == nil {
				if pos := location(from); pos >= 0 {
					q, _ := from["alias"].(string)
					if q == "" {
						q, _ = from["table_name"].(string)
					}
					if fs := whereFilters(where, q); len(fs) > 0 {
						filtersAt[pos] = fs
					}
				}
			}
		case "SHOW_REF":
			if q, _ := m["query"].(map[string]any); q == nil {
				name, _ := m["table_name"].(string)
				out.Specials = append(out.Specials, name)
			}
		case "BASE_TABLE", "TABLE_FUNCTION":
			r := SerialRef{Func: m["type"] == "TABLE_FUNCTION", Pos: location(m)}
			r.Catalog, _ = m["catalog_name"].(string)
			r.Schema, _ = m["schema_name"].(string)
			r.Name, _ = m["table_name"].(string)
			r.Alias, _ = m["alias"].(string)
			if r.Func {
				r.Name = functionName(m)
			}
			_, r.At = m["at_clause"].(map[string]any)
			if !r.Func && r.Pos >= 0 {
				r.Filters = filtersAt[r.Pos]
			}
			out.Refs = append(out.Refs, r)
		}
		if cm, ok := m["cte_map"].(map[string]any); ok {
			list, _ := cm["map"].([]any)
			for _, kv := range list {
				if k, ok := kv.(map[string]any)["key"].(string); ok {
					out.CTEs[strings.ToLower(k)] = true
				}
			}
		}
	})
	return out, nil
}

// functionName is the lower-cased name of a TABLE_FUNCTION node's call.
func functionName(node map[string]any) string {
	fn, _ := node["function"].(map[string]any)
	name, _ := fn["function_name"].(string)
	return strings.ToLower(name)
}

// walk calls fn on every object in a decoded JSON tree.
func walk(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, c := range v {
			walk(c, fn)
		}
	case []any:
		for _, c := range v {
			walk(c, fn)
		}
	}
}

// location is a node's byte offset in the text, or -1.
func location(node map[string]any) int {
	n, ok := node["query_location"].(json.Number)
	if !ok {
		return -1
	}
	u, err := strconv.ParseUint(n.String(), 10, 64)
	if err != nil || u > math.MaxInt32 {
		return -1
	}
	return int(u)
}

// TokenAt returns the index of the token starting at byte offset pos, or -1.
func (toks Tokens) TokenAt(pos int) int {
	lo, hi := 0, len(toks)
	for lo < hi {
		m := (lo + hi) / 2
		if toks[m].Pos < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(toks) && toks[lo].Pos == pos {
		return lo
	}
	return -1
}
