//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Session is one client session: one DuckDB connection, so temp tables,
// SET and USE persist across its statements. It is safe for concurrent use.
//
// A streaming result holds the session's connection until its reader is
// drained or released. A statement that needs the connection meanwhile
// does not wait: a read runs on a short-lived side connection that has the
// session's current catalog/schema and replayed SETs but NOT its temp
// tables (they are per connection in DuckDB); a statement that would change
// session state (SET, USE, temp DDL, DML, BEGIN/COMMIT) fails with ErrBusy.
type Session struct {
	e *Engine

	mu      sync.Mutex
	main    *dconn
	closed  bool
	idle    *sync.Cond // signalled when a connection stops being busy
	stmts   map[*Statement]struct{}
	sets    []string // SET/RESET statements, replayed on side connections
	catalog string   // current catalog and schema, as DuckDB reports them
	schema  string
	asOf    *asOf // lakeflight_as_of: read every Iceberg table as of this (asof.go)
	// lastWrite: the last INSERT/UPDATE/DELETE/MERGE on an Iceberg table.
	lastWrite WriteStats
	// dirty is set once a statement that can change connection state (SET,
	// USE, temp objects, transactions) was prepared on the connection; a
	// clean connection goes back to the engine's pool on Close.
	dirty bool
	// txn: BEGIN ran and no COMMIT or ROLLBACK since; Iceberg writes are
	// refused meanwhile (write_schema.go, refuseInTransaction).
	txn bool
	// defs are the tokens of the session's temp views and macros: a
	// statement that reads one reads the Iceberg tables it names, so those
	// are checked for commits too (withDefinitions).
	defs sqltext.Tokens
	// readOnly, when set, is why statements that change tables, views or
	// namespaces are refused (SetReadOnly).
	readOnly string
	// grants, when not nil, are the only namespaces the session may read
	// (grants.go), for grantee.
	grants  []string
	grantee string
}

// SetReadOnly makes the session refuse every statement that changes an
// Iceberg table, a view or a namespace (Statement.Writes), with why as the
// message; "" lifts it. Queries, time travel, metadata, SET and temp
// objects stay allowed.
func (s *Session) SetReadOnly(why string) {
	s.mu.Lock()
	s.readOnly = why
	s.mu.Unlock()
}

// refuseWrite refuses a statement that writes in a read-only session.
func (st *Statement) refuseWrite() error {
	if !st.Writes() {
		return nil
	}
	st.s.mu.Lock()
	why := st.s.readOnly
	st.s.mu.Unlock()
	if why == "" {
		return nil
	}
	return newError(ErrPermission, why)
}

// dconn is one DuckDB connection and whether an execution holds it.
type dconn struct {
	c     bindings.Connection
	busy  bool // guarded by Session.mu
	cache stmtCache
}

// NewSession opens a session: a new DuckDB connection with the lakehouse
// catalog as default.
func (e *Engine) NewSession(ctx context.Context) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, canceled(ctx)
	}
	dc, err := e.sessionConn()
	if err != nil {
		return nil, fmt.Errorf("opening session: %w", err)
	}
	s := &Session{
		e:       e,
		main:    dc,
		stmts:   map[*Statement]struct{}{},
		catalog: e.cfg.CatalogName,
		schema:  "main",
	}
	s.idle = sync.NewCond(&s.mu)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.closeConn(s.main)
		return nil, ErrClosed
	}
	e.open[s] = struct{}{}
	e.mu.Unlock()
	e.stats.sessions.Add(1)
	return s, nil
}

// Close closes the session's statements (stopping their streams) and its
// connection.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stmts := make([]*Statement, 0, len(s.stmts))
	for st := range s.stmts {
		stmts = append(stmts, st)
	}
	s.mu.Unlock()
	for _, st := range stmts {
		_ = st.Close()
	}
	s.mu.Lock()
	for s.main.busy { // a Prepare or Exec still running on it
		s.idle.Wait()
	}
	if s.dirty {
		s.e.closeConn(s.main)
	} else {
		s.e.recycle(s.main)
	}
	s.main = &dconn{} // the connection belongs to the pool now
	s.mu.Unlock()
	s.e.mu.Lock()
	delete(s.e.open, s)
	s.e.mu.Unlock()
	s.e.stats.sessions.Add(-1)
	return nil
}

// CurrentCatalog is the session's default catalog (USE).
func (s *Session) CurrentCatalog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catalog
}

// CurrentSchema is the session's default schema (USE).
func (s *Session) CurrentSchema() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schema
}

// SetCatalog runs USE <name>.
func (s *Session) SetCatalog(ctx context.Context, name string) error {
	_, err := s.Exec(ctx, "USE "+quoteIdent(name))
	return err
}

// SetSchema runs USE <catalog>.<name> with the current catalog.
func (s *Session) SetSchema(ctx context.Context, name string) error {
	_, err := s.Exec(ctx, "USE "+quoteIdent(s.CurrentCatalog())+"."+quoteIdent(name))
	return err
}

// Exec runs one or more statements (separated by semicolons) without
// parameters and returns the rows they changed in total. Each statement is
// prepared on its own, as Prepare would (so each is pinned, policed and
// routed to the Iceberg write path), and they run in turn; the first error
// stops the script. A script that would change an Iceberg table inside a
// transaction it opens is refused before any of it runs.
func (s *Session) Exec(ctx context.Context, sql string) (int64, error) {
	if err := s.e.checkSQLSize(sql); err != nil {
		return 0, err
	}
	stmts := sqltext.Split(sql)
	ctx = withQueryTag(ctx, sql) // a script's leading comment tags each of its writes
	if len(stmts) <= 1 {
		st, err := s.Prepare(ctx, sql)
		if err != nil {
			return 0, err
		}
		defer func() { _ = st.Close() }()
		return st.Exec(ctx, nil)
	}
	for _, stmt := range stmts {
		if err := precheck(stmt.Toks); err != nil {
			return 0, err
		}
	}
	if err := s.checkScript(ctx, sql, stmts); err != nil {
		return 0, err
	}
	var total int64
	for _, stmt := range stmts {
		rows, err := func() (int64, error) {
			st, err := s.prepare(ctx, stmt.Text, stmt.Text, stmt.Toks)
			if err != nil {
				return 0, err
			}
			defer func() { _ = st.Close() }()
			return st.Exec(ctx, nil)
		}()
		total += rows
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// checkScript checks a script before any of it runs: DuckDB must split it
// into as many statements as lakeflight does, and no statement may change
// an Iceberg table while a transaction the script opens is open.
func (s *Session) checkScript(ctx context.Context, sql string, stmts []sqltext.Statement) error {
	dc, release, err := s.acquire(true)
	if err != nil {
		return err
	}
	defer release()
	var ext bindings.ExtractedStatements
	n := bindings.ExtractStatements(dc.c, sql, &ext)
	msg := bindings.ExtractStatementsError(ext)
	bindings.DestroyExtracted(&ext)
	if n == 0 {
		return duckErr(bindings.ErrorTypeInvalid, msg)
	}
	if int(n) != len(stmts) {
		return newError(ErrUnsupported, "cannot split this script into statements: send them one at a time")
	}
	s.mu.Lock()
	in := s.txn
	s.mu.Unlock()
	for _, stmt := range stmts {
		switch info := sqltext.Classify(stmt.Toks); info.Kind {
		case sqltext.KindBegin:
			in = true
		case sqltext.KindCommit, sqltext.KindRollback:
			in = false
		default:
			if !in || s.e.source == nil {
				continue
			}
			if p, ok := parseCall(stmt.Text, stmt.Toks); ok {
				return inTransactionError("CALL "+p.name, "")
			}
			if v := parseViewStmt(stmt.Text, stmt.Toks); v != nil && s.e.viewWriter != nil {
				if _, ok, _ := s.targetOf(ctx, dc, v.what(), v.targets[0].Parts); ok {
					return inTransactionError(v.what(), strings.Join(v.targets[0].Parts, "."))
				}
				continue
			}
			w := parseWrite(stmt.Toks)
			if w == nil {
				continue
			}
			if w.Kind == writeCreateSchema || w.Kind == writeDropSchema {
				if _, ok, _ := s.namespaceOf(dc, w.Kind, w.Target().Parts); ok {
					return inTransactionError(w.Kind.String(), strings.Join(w.Target().Parts, "."))
				}
				continue
			}
			if _, ok, _ := s.targetOf(ctx, dc, w.Kind.String(), w.Target().Parts); ok {
				return inTransactionError(w.Kind.String(), strings.Join(w.Target().Parts, "."))
			}
		}
	}
	return nil
}

// acquire takes the session's connection for one execution. When an open
// stream holds it, a read gets a fresh side connection (closed by release)
// and a state change gets ErrBusy.
func (s *Session) acquire(changesState bool) (*dconn, func(), error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, ErrClosed
	}
	if !s.main.busy {
		dc := s.main
		dc.busy = true
		s.mu.Unlock()
		return dc, func() { s.releaseConn(dc) }, nil
	}
	s.mu.Unlock()
	if changesState {
		return nil, nil, newError(ErrBusy, "the session is streaming a result: read it to the end or close it before changing session state")
	}
	side, err := s.sideConn()
	if err != nil {
		return nil, nil, err
	}
	return side, func() { s.e.disconnect(&side.c) }, nil
}

// take marks dc busy if it is free; it reports whether it did.
func (s *Session) take(dc *dconn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dc.busy || dc.c.Ptr == nil || s.closed {
		return false
	}
	dc.busy = true
	return true
}

func (s *Session) releaseConn(dc *dconn) {
	s.mu.Lock()
	dc.busy = false
	s.idle.Broadcast()
	s.mu.Unlock()
}

// sideConn opens a connection with the session's catalog, schema and SETs.
func (s *Session) sideConn() (*dconn, error) {
	c, err := s.e.connect()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	setup := append([]string{"USE " + quoteIdent(s.catalog) + "." + quoteIdent(s.schema)}, s.sets...)
	if s.asOf != nil { // the guard of the current views (views.go) holds there too
		setup = append(setup, "SET VARIABLE "+AsOfSetting+" = "+quoteString(s.asOf.text))
	}
	s.mu.Unlock()
	for _, q := range setup {
		if err := execSQL(c, q); err != nil {
			s.e.log.Debug("replaying session state on side connection", "sql", q, "err", err)
		}
	}
	return &dconn{c: c}, nil
}

// noteSet records a successful SET/RESET for side connections and refreshes
// the current catalog and schema.
func (s *Session) noteSet(dc *dconn, sql string, toks sqltext.Tokens) {
	if toks.Word(0, "set") || toks.Word(0, "reset") || toks.Word(0, "pragma") {
		s.mu.Lock()
		s.sets = append(s.sets, strings.TrimSpace(sql))
		s.mu.Unlock()
	}
	rows, err := queryStrings(dc.c, "SELECT current_catalog(), current_schema()")
	if err != nil || len(rows) != 1 || len(rows[0]) != 2 {
		return
	}
	s.mu.Lock()
	s.catalog, s.schema = rows[0][0], rows[0][1]
	s.mu.Unlock()
}

// isTempObject reports whether name is a temp object of the connection.
func isTempObject(c bindings.Connection, name string) (bool, error) {
	q := `SELECT count(*) FROM (
 SELECT table_name AS n FROM duckdb_tables() WHERE database_name = 'temp'
 UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = 'temp'
 UNION ALL SELECT sequence_name FROM duckdb_sequences() WHERE database_name = 'temp'
 UNION ALL SELECT index_name FROM duckdb_indexes() WHERE database_name = 'temp'
 UNION ALL SELECT function_name FROM duckdb_functions() WHERE database_name = 'temp'
 UNION ALL SELECT type_name FROM duckdb_types() WHERE database_name = 'temp'
) WHERE lower(n) = lower(` + quoteString(name) + `)`
	rows, err := queryStrings(c, q)
	if err != nil {
		return false, err
	}
	return len(rows) == 1 && rows[0][0] != "0", nil
}

// Stateful reports whether the session holds state a client may come back
// for: it ran or prepared a statement that can change connection state
// (SET, USE, temp objects, transactions), or it reads as of a snapshot
// (lakeflight_as_of). A session that is not stateful can be closed and
// reopened between calls without the client noticing.
func (s *Session) Stateful() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty || s.asOf != nil
}

// maxDefinitionTokens bounds what noteDefinition keeps; past it, the
// oldest definitions are no longer checked for commits.
const maxDefinitionTokens = 1 << 16

// noteDefinition keeps the tokens of a temp view or macro just created.
func (s *Session) noteDefinition(toks sqltext.Tokens) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defs = append(s.defs, toks...)
	if n := len(s.defs); n > maxDefinitionTokens {
		s.defs = slices.Clone(s.defs[n-maxDefinitionTokens:])
	}
}

// withDefinitions is toks and the tokens of the session's temp views and
// macros, whose Iceberg tables a statement may read through them.
func (s *Session) withDefinitions(toks sqltext.Tokens) sqltext.Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.defs) == 0 {
		return toks
	}
	return append(slices.Clone(toks), s.defs...)
}
