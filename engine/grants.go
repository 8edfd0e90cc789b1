//go:build duckdb_arrow

package engine

import (
	"fmt"
	"strings"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Namespace grants. A session whose user may use only some namespaces
// (SetGrants) runs only statements whose every table reference DuckDB's own
// parser can show, and only when each names a table or view of a granted
// namespace, a CTE or one of the session's temp objects. What cannot be
// checked is refused, never run: statements DuckDB cannot describe (writes,
// DDL, PRAGMA, CALL), file-reading table functions and replacement scans
// (FROM 'file.parquet' would reach the warehouse's files of any namespace),
// and SET search_path (it changes what a bare name resolves to). A
// persistent view in a granted namespace reads what its definition names,
// as a view runs with its creator's rights in PostgreSQL.

// grantedTableFunctions are the table functions a restricted session may
// call: they read no table and no file. The metadata functions
// (iceberg_snapshots('ns.t'), …) are checked by the table they name.
var grantedTableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "generate_subscripts": true,
}

// SetGrants restricts the session to namespaces (nil lifts it) for user
// (named in refusals).
func (s *Session) SetGrants(user string, namespaces []string) {
	s.mu.Lock()
	s.grants, s.grantee = namespaces, user
	s.mu.Unlock()
}

func (s *Session) grantsOf() ([]string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants, s.grantee
}

func granted(grants []string, ns string) bool {
	for _, g := range grants {
		if strings.EqualFold(g, ns) {
			return true
		}
	}
	return false
}

// grantError is the PermissionDenied of a restricted session.
func grantError(user string, grants []string, why string) error {
	return newError(ErrPermission, fmt.Sprintf("user %s may use only namespace(s) %s: %s", user, strings.Join(grants, ", "), why))
}

// checkGrantKind refuses, before anything is prepared, the statements a
// restricted session may not run at all.
func (s *Session) checkGrantKind(toks sqltext.Tokens) error {
	grants, user := s.grantsOf()
	if grants == nil {
		return nil
	}
	info := sqltext.Classify(toks)
	if len(toks) > 0 && toks[0].Kind == sqltext.Word && (toks[0].Text == "show" || toks[0].Text == "describe" || toks[0].Text == "desc") {
		// SHOW ALL TABLES, SHOW TABLES, SHOW DATABASES and a bare DESCRIBE
		// list every namespace's tables: the catalog listing shows the
		// granted ones.
		if len(toks) == 1 || toks.Word(1, "all") || toks.Word(1, "tables") || toks.Word(1, "databases") || toks.Word(1, "schemas") || toks.Sym(1, ";") {
			return grantError(user, grants, "listing statements (SHOW ALL TABLES, SHOW TABLES, DESCRIBE alone) are refused; "+
				"the catalog listing (GetTables, adbc_get_objects, JDBC's metadata) shows the granted namespaces' tables")
		}
	}
	switch info.Kind {
	case sqltext.KindQuery, sqltext.KindExplain, sqltext.KindUse, sqltext.KindEmpty,
		sqltext.KindBegin, sqltext.KindCommit, sqltext.KindRollback:
		return nil
	case sqltext.KindSet:
		for i, t := range toks {
			if t.Kind == sqltext.Word && (t.Text == "search_path" || t.Text == "schema") && i <= 3 {
				return grantError(user, grants, "SET "+t.Text+" is refused (it changes which namespace a bare table name reads); qualify names, or USE a granted namespace")
			}
			// SET VARIABLE (and lakeflight_as_of) evaluate an expression:
			// a subquery there would read past the checks.
			if t.Sym("(") || t.Kind == sqltext.Word && (t.Text == "select" || t.Text == "from" || t.Text == "table") {
				return grantError(user, grants, "SET takes a literal value here, not an expression with a query or a call")
			}
		}
		return nil
	}
	return grantError(user, grants, "it may run queries (SELECT, EXPLAIN, DESCRIBE, SHOW), USE and SET; "+
		"statements that write, define or call are not checked against namespace grants and are refused")
}

// checkGrantRefs checks every table reference of a query (or of the query
// an EXPLAIN wraps) on dc against the session's grants.
func (s *Session) checkGrantRefs(dc *dconn, text string, toks sqltext.Tokens) error {
	grants, user := s.grantsOf()
	if grants == nil {
		return nil
	}
	info := sqltext.Classify(toks)
	if info.Kind != sqltext.KindQuery && info.Kind != sqltext.KindExplain {
		return nil // USE, SET, transaction control: checkGrantKind passed them
	}
	// Scalar macros that read the catalog (a view's SQL, comments).
	for i, t := range toks {
		if t.Kind == sqltext.Word && toks.Sym(i+1, "(") && catalogMacro(t.Text) {
			return grantError(user, grants, t.Text+"(…) reads the catalog of every namespace and is refused")
		}
	}
	sites, tree, err := s.parsedTree(dc, text, toks, 0)
	if err != nil && info.Inner > 0 {
		sites, tree, err = s.parsedTree(dc, text, toks, info.Inner)
	}
	if err != nil {
		return grantError(user, grants, "DuckDB's parser cannot show this statement's table references, so they cannot be checked against the grants")
	}
	if len(tree.Specials) > 0 {
		return grantError(user, grants, "SHOW "+strings.Trim(tree.Specials[0], `"_`)+" lists every namespace; "+
			"the catalog listing (GetTables, adbc_get_objects, JDBC's metadata) shows the granted ones")
	}
	ctes := tree.CTEs
	for _, st := range sites {
		if st.fn {
			if grantedTableFunctions[st.name] {
				continue
			}
			if metaFunctions[st.name] != nil {
				// The table is checked again once the argument is
				// evaluated (pinMetaFunction): the text must be one
				// literal, and what it names a granted table.
				if ns, ok := metaArgNamespace(st.args); ok && granted(grants, ns) {
					continue
				}
				return grantError(user, grants, st.name+"(…) must name a table of a granted namespace as a string literal 'namespace.table'")
			}
			return grantError(user, grants, "table function "+st.name+"(…) is refused (it could read files or tables outside the grants)")
		}
		if err := s.checkGrantTable(dc, grants, user, st, ctes); err != nil {
			return err
		}
	}
	return nil
}

// checkGrantTable checks one named reference: a CTE, a temp object, or a
// table or view that exists in a granted namespace of the lakehouse.
func (s *Session) checkGrantTable(dc *dconn, grants []string, user string, st site, ctes map[string]bool) error {
	name := st.name
	full := strings.Trim(strings.Join([]string{st.catalog, st.schema, st.name}, "."), ".")
	cat := s.e.cfg.CatalogName
	ns := st.schema
	switch {
	case st.catalog == "" && st.schema == "":
		// CTE names are known for the whole statement, not per scope: a
		// name is taken for a CTE only when nothing else could be meant
		// (no table or view of the session's namespace has it, and it is
		// not a path DuckDB would read as a file).
		s.mu.Lock()
		curSchema := s.schema
		s.mu.Unlock()
		if ctes[strings.ToLower(name)] && !strings.ContainsAny(name, "./\\:*?") {
			_, table := s.e.boundTable(curSchema, name)
			_, view := s.e.storedViewNamed(curSchema, name)
			if !table && !view {
				return nil
			}
		}
		temp, err := isTempObject(dc.c, name)
		if err != nil {
			return err
		}
		if temp {
			return nil
		}
		s.mu.Lock()
		curCat, curSchema := s.catalog, s.schema
		s.mu.Unlock()
		if !strings.EqualFold(curCat, cat) {
			return grantError(user, grants, fmt.Sprintf("%s: the session's catalog is %s, not %s", name, curCat, cat))
		}
		ns = curSchema
	case strings.EqualFold(st.catalog, "temp"):
		return nil
	case st.catalog != "" && !strings.EqualFold(st.catalog, cat):
		return grantError(user, grants, full+" is not in the lakehouse catalog "+cat)
	}
	if !granted(grants, ns) {
		return grantError(user, grants, full+" is in namespace "+ns)
	}
	if _, ok := s.e.boundTable(ns, name); ok {
		return nil
	}
	if _, ok := s.e.storedViewNamed(ns, name); ok {
		return nil
	}
	// Neither a table nor a view: DuckDB could take it for a file
	// (a replacement scan), which the grants cannot check.
	return grantError(user, grants, full+" is no table or view of namespace "+ns)
}

// metaArgNamespace is the namespace a metadata function's first argument
// names, when it is a string literal 'namespace.table'.
func metaArgNamespace(args []string) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	a := strings.TrimSpace(args[0])
	if len(a) < 2 || a[0] != '\'' || a[len(a)-1] != '\'' {
		return "", false
	}
	inner := strings.ReplaceAll(a[1:len(a)-1], "''", "")
	if strings.Contains(inner, "'") {
		return "", false // not one literal ('a' || 'b')
	}
	ns, _, ok := strings.Cut(strings.ReplaceAll(a[1:len(a)-1], "''", "'"), ".")
	return ns, ok && ns != ""
}

// catalogMacro reports DuckDB's scalar macros that read the catalog (a
// view's SQL, comments of any object).
func catalogMacro(name string) bool {
	switch name {
	case "col_description", "obj_description", "shobj_description", "current_schemas":
		return true
	}
	return strings.HasPrefix(name, "pg_get_")
}
