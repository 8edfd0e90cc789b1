//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// CREATE SCHEMA and DROP SCHEMA on the lakehouse catalog: a schema is an
// Iceberg namespace (one level, as DuckDB's schemas are), and the engine's
// DuckDB schema of the same name follows it. DROP SCHEMA … CASCADE drops
// the namespace's tables first; RESTRICT (the default) refuses a namespace
// that still has tables.

// prepareSchemaWrite prepares CREATE/DROP SCHEMA; ok is false when the
// schema is not the lakehouse's (another DuckDB database decides).
func (s *Session) prepareSchemaWrite(ctx context.Context, dc *dconn, sql string, toks sqltext.Tokens, w *sqltext.Write) (*Statement, bool, error) {
	var namespaces []string
	for _, t := range w.Targets {
		ns, ok, err := s.namespaceOf(dc, w.Kind, t.Parts)
		if err != nil || !ok {
			return nil, ok, err
		}
		namespaces = append(namespaces, ns)
	}
	if err := s.refuseInTransaction(w.Kind.String(), strings.Join(namespaces, ", ")); err != nil {
		return nil, true, err
	}
	existing, err := s.e.writer.Namespaces(ctx)
	if err != nil {
		return nil, true, err
	}
	ids := make([]catalog.Ident, len(namespaces))
	for i, ns := range namespaces {
		j := slices.IndexFunc(existing, func(n string) bool { return strings.EqualFold(n, ns) })
		switch {
		case j >= 0:
			ns = existing[j]
		case w.Kind == writeDropSchema && !w.IfExists:
			return nil, true, newError(ErrNotFound, fmt.Sprintf("DROP SCHEMA: namespace %q does not exist in the %s catalog (namespaces: %s)",
				ns, s.e.cfg.CatalogName, strings.Join(existing, ", ")))
		}
		if j >= 0 && w.Kind == writeCreateSchema && !w.IfNotExists {
			return nil, true, newError(ErrAlreadyExists, fmt.Sprintf("CREATE SCHEMA: namespace %q already exists", ns))
		}
		ids[i] = catalog.Ident{Namespace: ns}
	}
	plan := &writePlan{stmt: w, id: ids[0], ids: ids, sql: sql, toks: toks}
	return &Statement{s: s, sql: sql, text: sql, toks: toks, home: dc, class: classSession, schema: emptySchema,
		params: emptySchema, streams: map[*stream]struct{}{}, write: plan}, true, nil
}

// namespaceOf resolves a schema name of CREATE/DROP SCHEMA: name or
// catalog.name. ok is false for a schema of another DuckDB database.
func (s *Session) namespaceOf(dc *dconn, kind writeKind, parts []string) (string, bool, error) {
	cat := s.e.cfg.CatalogName
	switch len(parts) {
	case 1:
		s.mu.Lock()
		cur := s.catalog
		s.mu.Unlock()
		if !strings.EqualFold(cur, cat) {
			return "", false, nil
		}
		return parts[0], true, nil
	case 2:
		if strings.EqualFold(parts[0], cat) {
			return parts[1], true, nil
		}
		rows, err := queryStrings(dc.c, "SELECT 1 FROM duckdb_databases() WHERE lower(database_name) = lower("+quoteString(parts[0])+")")
		if err == nil && len(rows) > 0 {
			return "", false, nil // a schema of another DuckDB database: the policy decides
		}
	}
	return "", true, newError(ErrUnsupported, fmt.Sprintf("%s %s: namespaces of the %s catalog have one level, as DuckDB schemas do "+
		"(write %s.name or just name)", kind, strings.Join(parts, "."), cat, cat))
}

// createSchema commits CREATE SCHEMA.
func (e *Engine) createSchema(ctx context.Context, p *writePlan) error {
	for _, id := range p.ids {
		if err := e.writer.EnsureNamespace(ctx, id.Namespace); err != nil {
			return fmt.Errorf("CREATE SCHEMA %s: %w", id.Namespace, err)
		}
		e.mu.Lock()
		err := e.ensureSchemaLocked(id.Namespace)
		e.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// dropSchema commits DROP SCHEMA [CASCADE].
func (e *Engine) dropSchema(ctx context.Context, p *writePlan) error {
	all, err := e.source.ListTables(ctx)
	if err != nil {
		return err
	}
	var allViews []catalog.Ident
	if e.viewSrc != nil && e.viewWriter != nil {
		if allViews, err = e.viewSrc.ListViews(ctx); err != nil {
			return err
		}
	}
	for _, id := range p.ids {
		var tables, views []catalog.Ident
		var names []string
		for _, t := range all {
			if strings.EqualFold(t.Namespace, id.Namespace) {
				tables = append(tables, t)
				names = append(names, t.Name)
			}
		}
		for _, v := range allViews {
			if strings.EqualFold(v.Namespace, id.Namespace) {
				views = append(views, v)
				names = append(names, v.Name+" (view)")
			}
		}
		if len(names) > 0 && !p.stmt.Cascade {
			return newError(ErrConstraint, fmt.Sprintf("DROP SCHEMA %s: the namespace still has tables or views (%s); DROP SCHEMA %s CASCADE drops them too",
				id.Namespace, strings.Join(names, ", "), id.Namespace))
		}
		for _, v := range views {
			if err := e.viewWriter.DropView(ctx, v); err != nil && !errors.Is(err, catalog.ErrNoSuchView) {
				return fmt.Errorf("DROP SCHEMA %s CASCADE: dropping view %s: %w", id.Namespace, v, err)
			}
		}
		for _, t := range tables {
			if err := e.writer.DropTable(ctx, t); err != nil && !errors.Is(err, catalog.ErrNoSuchTable) {
				return fmt.Errorf("DROP SCHEMA %s CASCADE: dropping %s: %w", id.Namespace, t, err)
			}
			if err := e.Refresh(ctx, t); err != nil {
				return err
			}
		}
		err := e.writer.DropNamespace(ctx, id.Namespace)
		switch {
		case errors.Is(err, catalog.ErrNoSuchNamespace) && p.stmt.IfExists:
		case err != nil:
			return fmt.Errorf("DROP SCHEMA %s: %w", id.Namespace, err)
		}
		if err := e.dropDuckSchema(id.Namespace); err != nil {
			return err
		}
	}
	return nil
}

// dropDuckSchema removes the DuckDB schema that stood for a namespace.
func (e *Engine) dropDuckSchema(ns string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := execSQL(e.admin, "DROP SCHEMA IF EXISTS "+quoteIdent(e.cfg.CatalogName)+"."+quoteIdent(ns)+" CASCADE"); err != nil {
		return fmt.Errorf("dropping schema %s: %w", ns, err)
	}
	for id, v := range e.views {
		if strings.EqualFold(id.Namespace, ns) {
			v.letGo()
			delete(e.views, id)
		}
	}
	for id := range e.stored {
		if strings.EqualFold(id.Namespace, ns) {
			delete(e.stored, id)
		}
	}
	delete(e.schema, ns)
	e.dropEpoch++ // binds in flight start over: their view went with the schema
	e.gen.Add(1)
	return nil
}

// refuseInTransaction refuses a change to the lakehouse while the session
// has an open transaction: each such statement commits on its own, so a
// ROLLBACK could not undo it, and accepting it would be a lie.
func (s *Session) refuseInTransaction(what, target string) error {
	s.mu.Lock()
	in := s.txn
	s.mu.Unlock()
	if !in {
		return nil
	}
	return inTransactionError(what, target)
}

// inTransactionError is the refusal of what (on target) in a transaction.
func inTransactionError(what, target string) error {
	if target != "" {
		what += " " + target
	}
	return newError(ErrUnsupported, what+" inside a transaction is refused: lakeflight commits each statement on an Iceberg "+
		"table on its own, so ROLLBACK could not undo it; COMMIT or ROLLBACK the open transaction first, then run the statement on its own")
}

// noteTransaction follows BEGIN, COMMIT and ROLLBACK on the session's connection.
func (s *Session) noteTransaction(kind sqltext.StmtKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case sqltext.KindBegin:
		s.txn = true
	case sqltext.KindCommit, sqltext.KindRollback:
		s.txn = false
	}
}
