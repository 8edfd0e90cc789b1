//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
)

// Recognising SQL writes to Iceberg tables. DuckDB cannot write to the
// engine's views, so a write statement is recognised by its leading words
// and its target name before DuckDB sees it, and is then run against a
// stand-in TEMP table (write_exec.go): DuckDB computes the rows, iceberg-go
// commits them.

type writeKind int

const (
	writeInsert writeKind = iota
	writeUpdate
	writeDelete
	writeMerge
	writeCreate // CREATE TABLE … (columns) or … AS query
	writeDrop
	writeAlter
)

func (k writeKind) String() string {
	return [...]string{"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE TABLE", "DROP TABLE", "ALTER TABLE"}[k]
}

// writeStmt is a parsed write: its kind, where its target name sits in the
// token list ([nameAt, nameEnd)), and its modifiers.
type writeStmt struct {
	kind            writeKind
	name            []string
	nameAt, nameEnd int
	ifExists        bool // DROP/ALTER … IF EXISTS
	ifNotExists     bool // CREATE … IF NOT EXISTS
	orReplace       bool // CREATE OR REPLACE
}

// parseWrite recognises INSERT/UPDATE/DELETE/MERGE and non-TEMP
// CREATE/DROP/ALTER TABLE by their leading words.
func parseWrite(toks []token) *writeStmt {
	if len(toks) < 2 || toks[0].kind != tokWord {
		return nil
	}
	w := &writeStmt{}
	i := 1
	expect := func(words ...string) bool {
		for _, wd := range words {
			if i >= len(toks) || !toks[i].is(wd) {
				return false
			}
			i++
		}
		return true
	}
	switch toks[0].text {
	case "insert":
		w.kind = writeInsert
		if toks[1].is("or") {
			return &writeStmt{kind: writeInsert, nameAt: -1} // INSERT OR …: refused later
		}
		if !expect("into") {
			return nil
		}
	case "update":
		w.kind = writeUpdate
		if toks[1].is("extensions") {
			return nil
		}
	case "delete":
		w.kind = writeDelete
		if !expect("from") {
			return nil
		}
	case "merge":
		w.kind = writeMerge
		if !expect("into") {
			return nil
		}
	case "create", "drop", "alter":
		switch toks[0].text {
		case "create":
			w.kind = writeCreate
			if expect("or", "replace") {
				w.orReplace = true
			}
		case "drop":
			w.kind = writeDrop
		default:
			w.kind = writeAlter
		}
		if !expect("table") { // TEMP tables, views, schemas, …: not ours
			return nil
		}
		if w.kind == writeCreate && expect("if", "not", "exists") {
			w.ifNotExists = true
		}
		if w.kind != writeCreate && expect("if", "exists") {
			w.ifExists = true
		}
	default:
		return nil
	}
	if i >= len(toks) || !toks[i].ident() {
		return nil
	}
	w.nameAt = i
	w.name, w.nameEnd = nameAt(toks, i)
	return w
}

// systemCatalogs are DuckDB databases that are never Iceberg namespaces.
var systemCatalogs = []string{"temp", "memory", "system", "main"}

// writeTarget resolves a write's target to an Iceberg table id. ok is false
// when the statement is not for the lakehouse (a temp object, another
// database); an error names a namespace that does not exist.
func (s *Session) writeTarget(ctx context.Context, dc *dconn, w *writeStmt) (catalog.Ident, bool, error) {
	cat := s.e.cfg.CatalogName
	var ns, name string
	switch len(w.name) {
	case 3:
		if !strings.EqualFold(w.name[0], cat) {
			return catalog.Ident{}, false, nil
		}
		ns, name = w.name[1], w.name[2]
	case 2:
		if slices.ContainsFunc(systemCatalogs, func(c string) bool { return strings.EqualFold(c, w.name[0]) }) ||
			strings.EqualFold(w.name[0], cat) {
			return catalog.Ident{}, false, nil
		}
		ns, name = w.name[0], w.name[1]
	case 1:
		s.mu.Lock()
		curCat, curSchema := s.catalog, s.schema
		s.mu.Unlock()
		if !strings.EqualFold(curCat, cat) || strings.EqualFold(curSchema, "main") {
			return catalog.Ident{}, false, nil
		}
		if temp, err := isTempObject(dc.c, w.name[0]); err != nil || temp {
			return catalog.Ident{}, false, err
		}
		ns, name = curSchema, w.name[0]
	default:
		return catalog.Ident{}, false, nil
	}
	namespaces, err := s.e.tables.Namespaces(ctx)
	if err != nil {
		return catalog.Ident{}, false, err
	}
	i := slices.IndexFunc(namespaces, func(n string) bool { return strings.EqualFold(n, ns) })
	if i < 0 {
		if len(w.name) == 2 {
			// Perhaps database.table of another DuckDB database: DuckDB decides.
			rows, err := queryStrings(dc.c, "SELECT 1 FROM duckdb_databases() WHERE lower(database_name) = lower("+quoteString(ns)+")")
			if err == nil && len(rows) > 0 {
				return catalog.Ident{}, false, nil
			}
		}
		return catalog.Ident{}, false, newError(ErrNotFound, fmt.Sprintf("%s %s.%s: namespace %q does not exist in the %s catalog (namespaces: %s)",
			w.kind, ns, name, ns, cat, strings.Join(namespaces, ", ")))
	}
	ns = namespaces[i]
	if id, ok := s.e.boundTable(ns, name); ok {
		return id, true, nil
	}
	return catalog.Ident{Namespace: ns, Name: name}, true, nil
}

// hasAlias reports whether the target name at toks[end-1] is followed by
// an alias (AS x, or a bare identifier that is not the next clause).
func hasAlias(toks []token, end int) bool {
	if end >= len(toks) {
		return false
	}
	t := toks[end]
	if t.is("as") {
		return true
	}
	if t.kind == tokQuoted {
		return true
	}
	if t.kind != tokWord {
		return false
	}
	switch t.text {
	case "set", "where", "using", "returning", "on", "from", "values", "select", "default", "by", "with", "table":
		return false
	}
	return true
}

// topLevelWord finds the first top-level (outside parentheses) occurrence
// of word at or after toks[from]; -1 if none.
func topLevelWord(toks []token, from int, word string) int {
	depth := 0
	for i := from; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tokSymbol {
			switch t.text {
			case "(":
				depth++
			case ")":
				depth--
			}
			continue
		}
		if depth == 0 && t.is(word) {
			return i
		}
	}
	return -1
}
