//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Statement is one prepared statement of a session. Its result schema is
// known at prepare time. It is safe for concurrent use; executions of the
// same statement take turns on its connection (or use a side connection,
// see Session).
type Statement struct {
	s    *Session
	sql  string // as the client sent it
	text string // as prepared: sql with Iceberg tables pinned (rewrite.go)
	toks sqltext.Tokens
	pins []*pin // snapshot views text reads; released when the statement goes
	// volatile: the snapshots chosen depend on the clock or a tag; asOfText
	// is the session's lakeflight_as_of at prepare. Fresh uses both.
	volatile bool
	asOfText string
	// asOfSet: the statement is SET/RESET lakeflight_as_of.
	asOfSet bool
	write   *writePlan // a write to an Iceberg table (write_exec.go)
	proc    *procPlan  // a snapshot-management procedure (procedures.go)
	scans   []scanNote // EXPLAIN: how each Iceberg table is read (explain.go)
	view    *viewPlan  // CREATE/DROP VIEW of a persistent view (write_view.go)

	home       *dconn // connection ps was prepared on
	ownsHome   bool   // home is a side connection of this statement
	ps         bindings.PreparedStatement
	opts       bindings.ArrowOptions
	stype      bindings.StatementType
	class      class
	isQuery    bool
	schemaOpen bool // some result types wait for bound parameters
	schema     *arrow.Schema
	params     *arrow.Schema
	gen, epoch uint64 // engine generation and connection epoch at prepare
	reusable   bool   // fully described: may go back to home's cache

	mu      sync.Mutex // guards closed, streams; held by Exec while it runs
	closed  bool
	streams map[*stream]struct{}
	tag     string // the write's query tag (querytag.go), from its leading comment
}

var emptySchema = arrow.NewSchema(nil, nil)

// Prepare parses and binds one statement, checks it against the policy and
// computes its result and parameter schemas. Iceberg tables it mentions are
// first checked for commits by other writers and rebound when they moved.
// The text holds one statement (a trailing ";" and comments are fine);
// Session.Exec runs scripts.
func (s *Session) Prepare(ctx context.Context, sql string) (*Statement, error) {
	if err := s.e.checkSQLSize(sql); err != nil {
		return nil, err
	}
	stmts := sqltext.Split(sql)
	switch len(stmts) {
	case 0:
		return s.prepare(ctx, sql, sql, nil) // DuckDB says why there is nothing to run
	case 1:
		return s.prepare(ctx, sql, stmts[0].Text, stmts[0].Toks)
	}
	return nil, newError(ErrInvalidSQL, fmt.Sprintf("the text holds %d statements, and a prepared statement is one: "+
		"send them one at a time, or as one update (ExecuteUpdate), which runs them in turn", len(stmts)))
}

// prepare prepares text, one statement whose tokens are toks; sql is what
// the client sent (the key of the prepared-statement cache).
func (s *Session) prepare(ctx context.Context, sql, text string, toks sqltext.Tokens) (*Statement, error) {
	if err := precheck(toks); err != nil {
		return nil, err
	}
	if err := s.checkGrantKind(toks); err != nil {
		return nil, err
	}
	if err := s.e.checkShape(toks); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, canceled(ctx)
	}
	s.e.stats.statements.Add(1)
	if err := s.e.syncTables(ctx, s.withDefinitions(toks)); err != nil {
		return nil, err
	}
	if p, ok := parseCall(text, toks); ok {
		st, _, err := s.prepareOnMain(func(dc *dconn) (*Statement, bool, error) {
			st, err := s.prepareCall(dc, text, toks, p)
			return st, true, err
		})
		return st, err
	}
	if w := parseWrite(toks); w != nil {
		st, ok, err := s.prepareOnMain(func(dc *dconn) (*Statement, bool, error) {
			return s.prepareWrite(ctx, dc, text, toks, w)
		})
		if st != nil {
			st.tag = queryTag(sql) // from the client's text: text starts at the statement's first token
		}
		if ok || err != nil {
			return st, err
		}
	}
	if v := parseViewStmt(text, toks); v != nil {
		st, ok, err := s.prepareOnMain(func(dc *dconn) (*Statement, bool, error) {
			return s.prepareViewStmt(ctx, dc, text, toks, v)
		})
		if ok || err != nil {
			return st, err
		}
	}
	// The main connection if free, else a side connection the statement owns.
	dc, owned := s.main, false
	if !s.take(dc) {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		side, err := s.sideConn()
		if err != nil {
			return nil, err
		}
		dc, owned = side, true
	}
	st, err := s.prepareOn(ctx, dc, sql, text, toks)
	if err != nil && errors.Is(err, ErrNotFound) && s.e.relist(ctx) {
		st, err = s.prepareOn(ctx, dc, sql, text, toks) // a table created since the last listing
	}
	if !owned {
		s.releaseConn(dc)
	}
	if err != nil {
		if owned {
			s.e.disconnect(&dc.c)
		}
		return nil, err
	}
	st.ownsHome = owned
	if owned && st.class != classRead {
		st.destroy()
		return nil, newError(ErrBusy, "the session is streaming a result: read it to the end or close it before changing session state")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = st.Close()
		return nil, ErrClosed
	}
	if !owned && st.class != classRead {
		s.dirty = true
	}
	s.stmts[st] = struct{}{}
	s.mu.Unlock()
	return st, nil
}

// prepareOn prepares on dc, which the caller holds, reusing a statement
// from dc's cache when the same text was prepared and closed there before.
// A statement that reads Iceberg tables is first rewritten to read pinned
// snapshots (rewrite.go).
func (s *Session) prepareOn(ctx context.Context, dc *dconn, sql, text string, toks sqltext.Tokens) (*Statement, error) {
	if err := s.checkGrantRefs(dc, text, toks); err != nil {
		return nil, err
	}
	gen := s.e.gen.Load()
	if c := dc.cache.take(sql, gen); c != nil && !s.e.pinsCurrent(c.pins) {
		c.destroy() // a table it reads has moved on
	} else if c != nil {
		s.e.stats.cacheHits.Add(1)
		return &Statement{
			s: s, sql: sql, text: c.text, toks: toks, pins: c.pins, home: dc, ps: c.ps, opts: c.opts, stype: c.stype,
			class: classRead, isQuery: c.isQuery, schema: c.schema, params: c.params, gen: c.gen, epoch: c.epoch,
			reusable: true, streams: map[*stream]struct{}{}, asOfText: s.AsOf(),
		}, nil
	}
	epoch := dc.cache.currentEpoch()
	st := &Statement{s: s, sql: sql, text: text, toks: toks, home: dc, streams: map[*stream]struct{}{}}
	volatile := false
	if as, ok := asOfStatement(text, toks); ok {
		st.text, st.asOfSet = as, true
	} else {
		info := sqltext.Classify(toks)
		var rw *rewritten
		var err error
		switch info.Kind {
		case sqltext.KindQuery, sqltext.KindExplain:
			rw, err = s.pinQuery(ctx, dc, text, toks, info)
		default:
			// A statement that is no query and writes no Iceberg table
			// (CREATE TEMP TABLE … AS, INSERT INTO a temp table) may still
			// read Iceberg snapshots: its time-travelling references are
			// found by their tokens, as in an Iceberg write.
			rw, err = s.pinSources(ctx, dc, text, toks, -1)
			if err == nil && rw != nil && definesView(info) {
				s.e.releasePins(rw.pins)
				return nil, newError(ErrUnsupported, "a view or macro cannot keep an Iceberg snapshot (AT clause or lakeflight_as_of): "+
					"create a TEMP TABLE from the query, or tag the snapshot and time-travel to the tag in each query")
			}
			if rw != nil {
				rw.volatile = true
			}
		}
		if err != nil {
			return nil, err
		}
		if rw != nil {
			st.text, st.pins, volatile = rw.sql, rw.pins, rw.volatile
			if info.Kind == sqltext.KindExplain && len(rw.scans) > 0 {
				// The notes are of this preparation's plans: not cached.
				st.scans, volatile = rw.scans, true
			}
		}
	}
	expanded, err := s.prepareStatement(dc, st, toks)
	if err != nil {
		s.e.releasePins(st.pins)
		return nil, err
	}
	volatile = volatile || expanded
	st.stype = bindings.PreparedStatementType(st.ps)
	cls, err := classify(st.stype, toks, func(name string) (bool, error) { return isTempObject(dc.c, name) })
	if st.asOfSet { // SET VARIABLE lakeflight_as_of: lakeflight's own setting
		cls, err = classSession, nil
	}
	if err != nil {
		bindings.DestroyPrepare(&st.ps)
		s.e.releasePins(st.pins)
		return nil, err
	}
	st.class = cls
	if cls != classRead {
		dc.cache.invalidate() // SET, USE, temp objects: cached plans may be stale
	}
	bindings.ConnectionGetArrowOptions(dc.c, &st.opts)
	if err := st.describe(); err != nil {
		st.destroy()
		return nil, err
	}
	st.gen, st.epoch, st.reusable, st.volatile = gen, epoch, !volatile, volatile
	st.asOfText = s.AsOf()
	return st, nil
}

// prepareStatement prepares st.text on dc into st.ps. When DuckDB cannot
// prepare it because a PIVOT has no IN list, the values are written in
// (pivot.go) and it is prepared again; expanded reports that, since the
// values depend on the data read now.
func (s *Session) prepareStatement(dc *dconn, st *Statement, toks sqltext.Tokens) (expanded bool, err error) {
	if bindings.Prepare(dc.c, st.text, &st.ps) != bindings.StateError {
		return false, nil
	}
	msg := bindings.PrepareError(st.ps)
	bindings.DestroyPrepare(&st.ps)
	if strings.Contains(msg, "Cannot prepare multiple statements") {
		text, ok, err := s.expandPivots(dc, st.text)
		if err != nil {
			return false, err
		}
		if ok {
			st.text = text
			if bindings.Prepare(dc.c, st.text, &st.ps) != bindings.StateError {
				return true, nil
			}
			msg = bindings.PrepareError(st.ps)
			bindings.DestroyPrepare(&st.ps)
		}
	}
	return false, prepareError(duckErr(bindings.ErrorTypeInvalid, msg), toks)
}

// Fresh is the statement to run for a new execution: st itself when the
// Iceberg tables it reads have not moved since it was prepared, else the
// same text prepared anew (which the caller must close), so each execution
// of a prepared statement reads the current snapshots while one execution
// (a ticket and its retries) keeps reading the ones it started with.
func (st *Statement) Fresh(ctx context.Context) (*Statement, error) {
	if !st.isQuery || st.write != nil || st.proc != nil || st.view != nil {
		return st, nil
	}
	asOf := st.s.AsOf()
	if len(st.pins) == 0 && asOf == st.asOfText {
		return st, nil // reads no Iceberg table
	}
	if err := st.s.e.syncTables(ctx, st.s.withDefinitions(st.toks)); err != nil {
		return nil, err
	}
	if !st.volatile && asOf == st.asOfText && st.gen == st.s.e.gen.Load() && st.s.e.pinsCurrent(st.pins) {
		return st, nil
	}
	return st.s.Prepare(ctx, st.sql)
}

// describe computes IsQuery, Schema and ParameterSchema.
func (st *Statement) describe() error {
	// Each column's type costs DuckDB a copy of all of them: the count is
	// checked first.
	if err := st.s.e.checkResultColumns(int(bindings.PreparedStatementColumnCount(st.ps))); err != nil {
		return err
	}
	names, types := preparedColumns(st.ps)
	defer destroyTypes(types)
	st.isQuery = len(names) > 0 && returnsRows(st.stype, names, types)
	st.schema = emptySchema
	if st.isQuery {
		schema, open, err := st.resultSchema(types, names)
		if err != nil {
			return err
		}
		st.schema, st.schemaOpen = schema, open
	}
	np := bindings.NParams(st.ps)
	fields := make([]arrow.Field, np)
	for i := range np {
		idx := i + 1
		name := bindings.ParameterName(st.ps, idx)
		if name == "" {
			name = fmt.Sprint(idx)
		}
		fields[i] = arrow.Field{Name: name, Type: arrow.Null, Nullable: true}
		lt := bindings.ParamLogicalType(st.ps, idx)
		switch bindings.GetTypeId(lt) {
		case bindings.TypeInvalid, bindings.TypeAny, bindings.TypeSQLNull:
		default:
			sc, ed := bindings.NewArrowSchema(st.opts, []bindings.LogicalType{lt}, []string{name})
			if errorData(ed) == nil && sc.NumFields() == 1 {
				fields[i] = sc.Field(0)
			}
		}
		bindings.DestroyLogicalType(&lt)
	}
	st.params = arrow.NewSchema(fields, nil)
	return nil
}

// unresolved reports a type DuckDB leaves open until parameters are bound,
// as in SELECT ? + 1.
func unresolved(t bindings.LogicalType) bool {
	switch bindings.GetTypeId(t) {
	case bindings.TypeInvalid, bindings.TypeAny, bindings.TypeSQLNull:
		return true
	}
	return false
}

// resultSchema converts the prepared column types to Arrow. Columns whose
// type depends on parameter values are announced as Null and the schema is
// marked open: the first execution's real columns replace it.
func (st *Statement) resultSchema(types []bindings.LogicalType, names []string) (*arrow.Schema, bool, error) {
	if !slices.ContainsFunc(types, unresolved) {
		schema, ed := bindings.NewArrowSchema(st.opts, types, names)
		return schema, false, errorData(ed)
	}
	fields := make([]arrow.Field, len(types))
	for i, t := range types {
		fields[i] = arrow.Field{Name: names[i], Type: arrow.Null, Nullable: true}
		if unresolved(t) {
			continue
		}
		sc, ed := bindings.NewArrowSchema(st.opts, []bindings.LogicalType{t}, []string{names[i]})
		if err := errorData(ed); err != nil {
			return nil, false, err
		}
		fields[i] = sc.Field(0)
	}
	return arrow.NewSchema(fields, nil), true, nil
}

// returnsRows tells queries from statements that report a row count.
func returnsRows(t bindings.StatementType, names []string, types []bindings.LogicalType) bool {
	switch t {
	case bindings.StatementTypeSelect, bindings.StatementTypeExplain, bindings.StatementTypeCall,
		bindings.StatementTypePragma, bindings.StatementTypeRelation, bindings.StatementTypeLogicalPlan,
		bindings.StatementTypeAnalyze:
		return true
	case bindings.StatementTypeInsert, bindings.StatementTypeUpdate, bindings.StatementTypeDelete,
		bindings.StatementTypeMergeInto:
		// Without RETURNING these yield one BIGINT column "Count".
		return len(names) != 1 || names[0] != "Count" || bindings.GetTypeId(types[0]) != bindings.TypeBigInt
	}
	return false
}

// SchemaOpen reports that Schema has columns typed only once parameters
// are bound.
func (st *Statement) SchemaOpen() bool { return st.schemaOpen }

// SQL is the statement's text.
func (st *Statement) SQL() string { return st.sql }

// Schema is the result schema; zero fields when the statement is not a query.
// Where a column's type depends on parameter values (SchemaOpen), that
// column is Null here and the reader from Query carries the real type.
func (st *Statement) Schema() *arrow.Schema { return st.schema }

// ParameterSchema has one field per parameter, typed as DuckDB inferred it
// (Null when it could not).
func (st *Statement) ParameterSchema() *arrow.Schema { return st.params }

// IsQuery reports whether the statement returns rows.
func (st *Statement) IsQuery() bool { return st.isQuery }

// execConn takes a connection to execute on: the statement's own when free,
// else (for reads) a side connection with the statement prepared anew.
func (st *Statement) execConn() (*dconn, bindings.PreparedStatement, func(), error) {
	if st.s.take(st.home) {
		return st.home, st.ps, func() { st.s.releaseConn(st.home) }, nil
	}
	if st.class != classRead {
		return nil, bindings.PreparedStatement{}, nil,
			newError(ErrBusy, "the session is streaming a result: read it to the end or close it before changing session state")
	}
	side, err := st.s.sideConn()
	if err != nil {
		return nil, bindings.PreparedStatement{}, nil, err
	}
	var ps bindings.PreparedStatement
	if bindings.Prepare(side.c, st.text, &ps) == bindings.StateError {
		msg := bindings.PrepareError(ps)
		bindings.DestroyPrepare(&ps)
		st.s.e.disconnect(&side.c)
		return nil, ps, nil, duckErr(bindings.ErrorTypeInvalid, msg)
	}
	return side, ps, func() {
		bindings.DestroyPrepare(&ps)
		st.s.e.disconnect(&side.c)
	}, nil
}

// Exec runs a non-query once per parameter row (once when params is nil)
// and returns the rows changed in total. A query is run and its rows
// discarded.
func (st *Statement) Exec(ctx context.Context, params arrow.RecordBatch) (int64, error) {
	if err := st.refuseWrite(); err != nil {
		return 0, err
	}
	if err := st.lockRun(params); err != nil {
		return 0, err
	}
	defer st.mu.Unlock()
	if st.write != nil {
		return st.execWrite(ctx, params)
	}
	if st.proc != nil {
		return st.execCall(ctx, params)
	}
	if st.view != nil {
		return 0, st.execView(ctx)
	}
	dc, ps, release, err := st.execConn()
	if err != nil {
		return 0, err
	}
	defer release()
	rows := 1
	if params != nil {
		rows = int(params.NumRows())
	}
	ir := st.s.e.interrupter(dc.c)
	stop := context.AfterFunc(ctx, ir.interrupt)
	defer func() {
		stop()
		ir.disarm()
	}()
	var total int64
	for r := 0; r < rows; r++ {
		if params != nil {
			if err := bindRow(ps, params, r); err != nil {
				return total, err
			}
		}
		ir.arm()
		if ctx.Err() != nil {
			ir.disarm()
			return total, canceled(ctx)
		}
		var res bindings.Result
		state := bindings.ExecutePrepared(ps, &res)
		ir.disarm()
		if st.stype == bindings.StatementTypeTransaction && dc == st.home {
			// A failed COMMIT rolls back, so the transaction is over either way.
			st.s.noteTransaction(sqltext.Classify(st.toks).Kind)
		}
		if state == bindings.StateError {
			err := duckErr(bindings.ResultErrorType(&res), bindings.ResultError(&res))
			bindings.DestroyResult(&res)
			return total, withCtx(ctx, err)
		}
		if !st.isQuery {
			total += int64(bindings.RowsChanged(&res))
		}
		bindings.DestroyResult(&res)
	}
	if st.class == classSession && dc == st.home {
		if info := sqltext.Classify(st.toks); definesView(info) {
			st.s.noteDefinition(st.toks)
		}
		if st.stype == bindings.StatementTypeSet && !st.asOfSet {
			st.s.noteSet(dc, st.text, st.toks)
		}
		if st.asOfSet {
			if err := st.s.noteAsOf(dc); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// Query streams the result. params may be nil, or a batch whose each row
// is one binding (results of all rows are streamed one after another).
// Cancelling ctx interrupts DuckDB and ends the stream with ErrCanceled.
// Execution errors found before the first row (binding, planning, and
// everything a blocking operator such as ORDER BY or GROUP BY does) are
// returned here; later ones by the reader's Err. mem allocates the
// coalesced batches (nil: the default allocator). Release the reader to
// stop the query early; the session's connection is free again once the
// reader is drained or released.
func (st *Statement) Query(ctx context.Context, params arrow.RecordBatch, mem memory.Allocator) (array.RecordReader, error) {
	if !st.isQuery {
		if _, err := st.Exec(ctx, params); err != nil {
			return nil, err
		}
		return array.NewRecordReader(st.schema, nil)
	}
	if st.write != nil {
		if err := st.refuseWrite(); err != nil {
			return nil, err
		}
		return st.queryWrite(ctx, params)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if err := st.lockRun(params); err != nil {
		return nil, err
	}
	dc, ps, release, err := st.execConn()
	if err != nil {
		st.mu.Unlock()
		return nil, err
	}
	r := newStream(st, dc.c, mem)
	st.streams[r] = struct{}{}
	st.mu.Unlock()

	if params != nil {
		params.Retain()
	}
	started := make(chan error, 1)
	go r.produce(ctx, ps, params, release, started)
	if err := <-started; err != nil {
		r.Release()
		return nil, err
	}
	if st.scans != nil {
		return withScanNotes(r, st.scans, mem), nil
	}
	return r, nil
}

// queryWrite runs a write with a RETURNING clause: it commits, then
// answers the returned rows. Each call writes again: a caller that may
// retry (a Flight ticket) keeps the rows of the first run (see Writes).
func (st *Statement) queryWrite(ctx context.Context, params arrow.RecordBatch) (array.RecordReader, error) {
	if err := st.lockRun(params); err != nil {
		return nil, err
	}
	_, rows, err := st.execWriteRows(ctx, params)
	st.mu.Unlock()
	defer releaseAll(rows)
	if err != nil {
		return nil, err
	}
	return array.NewRecordReader(st.schema, rows)
}

// Writes reports a statement that changes an Iceberg table, view or
// namespace when it runs: running it twice writes twice.
func (st *Statement) Writes() bool { return st.write != nil || st.proc != nil || st.view != nil }

// lockRun locks st for one run with params; it fails (leaving st
// unlocked) after Close or for a wrong number of parameters.
func (st *Statement) lockRun(params arrow.RecordBatch) error {
	st.mu.Lock()
	err := ErrClosed
	if !st.closed {
		err = st.checkParams(params)
	}
	if err != nil {
		st.mu.Unlock()
	}
	return err
}

func (st *Statement) checkParams(params arrow.RecordBatch) error {
	want := st.params.NumFields()
	if params == nil {
		if want > 0 {
			return newError(ErrInvalidSQL, fmt.Sprintf("statement has %d parameters, none bound", want))
		}
		return nil
	}
	if int(params.NumCols()) != want {
		return newError(ErrInvalidSQL, fmt.Sprintf("statement has %d parameters, %d bound", want, params.NumCols()))
	}
	return nil
}

// Close stops the statement's streams and frees it.
func (st *Statement) Close() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil
	}
	st.closed = true
	streams := make([]*stream, 0, len(st.streams))
	for r := range st.streams {
		streams = append(streams, r)
	}
	st.mu.Unlock()
	for _, r := range streams {
		r.stop()
	}
	st.mu.Lock() // waits for a running Exec
	st.destroy()
	st.mu.Unlock()
	st.s.mu.Lock()
	delete(st.s.stmts, st)
	st.s.mu.Unlock()
	return nil
}

func (st *Statement) destroy() {
	if st.reusable && !st.ownsHome && st.class == classRead && !st.schemaOpen && st.home.c.Ptr != nil {
		c := &cached{gen: st.gen, epoch: st.epoch, ps: st.ps, opts: st.opts, stype: st.stype,
			isQuery: st.isQuery, schema: st.schema, params: st.params, text: st.text, pins: st.pins, eng: st.s.e}
		ok, evicted := st.home.cache.put(st.sql, c, st.s.e.gen.Load())
		if evicted != nil {
			evicted.destroy()
		}
		if ok {
			st.ps, st.opts, st.pins = bindings.PreparedStatement{}, bindings.ArrowOptions{}, nil
			return
		}
	}
	st.s.e.releasePins(st.pins)
	st.pins = nil
	bindings.DestroyPrepare(&st.ps)
	bindings.DestroyArrowOptions(&st.opts)
	if st.ownsHome {
		st.s.e.disconnect(&st.home.c)
	}
}

func (st *Statement) forget(r *stream) {
	st.mu.Lock()
	delete(st.streams, r)
	st.mu.Unlock()
}

// interrupter interrupts a connection only while a statement runs on it, so
// a late cancellation can never hit the connection's next statement.
// It also counts, in Stats().Running, the statements DuckDB is executing.
type interrupter struct {
	mu      sync.Mutex
	conn    bindings.Connection
	running bool
	count   *atomic.Int64 // the engine's running statements
}

func (e *Engine) interrupter(conn bindings.Connection) *interrupter {
	return &interrupter{conn: conn, count: &e.stats.running}
}

func (i *interrupter) arm() {
	i.mu.Lock()
	if !i.running {
		i.count.Add(1)
	}
	i.running = true
	i.mu.Unlock()
}

func (i *interrupter) disarm() {
	i.mu.Lock()
	if i.running {
		i.count.Add(-1)
	}
	i.running = false
	i.mu.Unlock()
}

func (i *interrupter) interrupt() {
	i.mu.Lock()
	if i.running {
		bindings.Interrupt(i.conn)
	}
	i.mu.Unlock()
}

// canceled is the error for a cancelled ctx.
func canceled(ctx context.Context) error {
	return &Error{Kind: ErrCanceled, Msg: "canceled: " + ctx.Err().Error(), Cause: ctx.Err()}
}

// withCtx attaches ctx's error to an interrupt caused by it.
func withCtx(ctx context.Context, err error) error {
	var e *Error
	if ctx.Err() != nil && errors.As(err, &e) && errors.Is(e.Kind, ErrCanceled) && e.Cause == nil {
		e.Cause = ctx.Err()
	}
	return err
}

// SchemaFor is the result schema an execution with the first row of params
// will have. It differs from Schema only when the schema is open (a column
// typed by a parameter); then the statement is probed once with those
// values and LIMIT 0, so a FlightInfo can announce exactly what DoGet sends.
func (st *Statement) SchemaFor(ctx context.Context, params arrow.RecordBatch) (*arrow.Schema, error) {
	if !st.schemaOpen || params == nil || params.NumRows() == 0 || st.stype != bindings.StatementTypeSelect {
		return st.schema, nil
	}
	probe, err := st.s.Prepare(ctx, "SELECT * FROM ("+st.text+"\n) AS lakeflight_probe LIMIT 0")
	if err != nil {
		return nil, fmt.Errorf("typing the result by its parameters: %w", err)
	}
	defer func() { _ = probe.Close() }()
	first := params.NewSlice(0, 1)
	defer first.Release()
	rdr, err := probe.Query(ctx, first, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	return rdr.Schema(), rdr.Err()
}
