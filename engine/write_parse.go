//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Recognising SQL writes to Iceberg tables. DuckDB cannot write to the
// engine's views, so a write statement is recognised by its leading words
// (sqltext.ParseWrite: INSERT, UPDATE, DELETE and MERGE, also after a WITH
// prefix; CREATE/DROP/ALTER TABLE; CREATE/DROP SCHEMA) and its target name
// before DuckDB sees it, and is then run against a stand-in TEMP table
// (write_exec.go): DuckDB computes the rows, iceberg-go commits them.

type writeKind = sqltext.WriteKind

const (
	writeInsert       = sqltext.WriteInsert
	writeUpdate       = sqltext.WriteUpdate
	writeDelete       = sqltext.WriteDelete
	writeMerge        = sqltext.WriteMerge
	writeCreate       = sqltext.WriteCreateTable
	writeDrop         = sqltext.WriteDropTable
	writeAlter        = sqltext.WriteAlterTable
	writeCreateSchema = sqltext.WriteCreateSchema
	writeDropSchema   = sqltext.WriteDropSchema
)

// parseWrite recognises a statement that may write to the lakehouse.
func parseWrite(toks sqltext.Tokens) *sqltext.Write { return sqltext.ParseWrite(toks) }

// systemCatalogs are DuckDB databases that are never Iceberg namespaces.
var systemCatalogs = []string{"temp", "memory", "system", "main"}

// targetOf resolves one target name (its parts) of a write (what names the
// statement, for messages) to an Iceberg table or view id. ok is false when the statement is not for
// the lakehouse (a temp object, another database); an error names a
// namespace that does not exist.
func (s *Session) targetOf(ctx context.Context, dc *dconn, what string, parts []string) (catalog.Ident, bool, error) {
	cat := s.e.cfg.CatalogName
	var ns, name string
	switch len(parts) {
	case 3:
		if !strings.EqualFold(parts[0], cat) {
			return catalog.Ident{}, false, nil
		}
		ns, name = parts[1], parts[2]
	case 2:
		if slices.ContainsFunc(systemCatalogs, func(c string) bool { return strings.EqualFold(c, parts[0]) }) ||
			strings.EqualFold(parts[0], cat) {
			return catalog.Ident{}, false, nil
		}
		ns, name = parts[0], parts[1]
	case 1:
		s.mu.Lock()
		curCat, curSchema := s.catalog, s.schema
		s.mu.Unlock()
		if !strings.EqualFold(curCat, cat) || strings.EqualFold(curSchema, "main") {
			return catalog.Ident{}, false, nil
		}
		if temp, err := isTempObject(dc.c, parts[0]); err != nil || temp {
			return catalog.Ident{}, false, err
		}
		ns, name = curSchema, parts[0]
	default:
		return catalog.Ident{}, false, nil
	}
	namespaces, err := s.e.writer.Namespaces(ctx)
	if err != nil {
		return catalog.Ident{}, false, err
	}
	i := slices.IndexFunc(namespaces, func(n string) bool { return strings.EqualFold(n, ns) })
	if i < 0 {
		if len(parts) == 2 {
			// Perhaps database.table of another DuckDB database: DuckDB decides.
			rows, err := queryStrings(dc.c, "SELECT 1 FROM duckdb_databases() WHERE lower(database_name) = lower("+quoteString(ns)+")")
			if err == nil && len(rows) > 0 {
				return catalog.Ident{}, false, nil
			}
		}
		return catalog.Ident{}, false, newError(ErrNotFound, fmt.Sprintf("%s %s.%s: namespace %q does not exist in the %s catalog (namespaces: %s)",
			what, ns, name, ns, cat, strings.Join(namespaces, ", ")))
	}
	ns = namespaces[i]
	if id, ok := s.e.boundTable(ns, name); ok {
		return id, true, nil
	}
	return catalog.Ident{Namespace: ns, Name: name}, true, nil
}
