//go:build duckdb_arrow

package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Which client statements run. The DuckDB sandbox (engine.go) already
// confines file access to the warehouse; this adds what the sandbox cannot
// express: no COPY/EXPORT (they could write inside the warehouse), no
// ATTACH/INSTALL/LOAD, writes only to TEMP objects (the lakehouse catalog
// holds the Iceberg views, which only the engine may replace), and SET only
// for a few per-session settings.

// class is what a statement does to the session.
type class int

const (
	classRead    class = iota // SELECT, EXPLAIN, DESCRIBE, CALL, allowed PRAGMAs
	classSession              // SET/RESET/USE, transaction control, temp DDL, DML on temp tables
)

// msgTempOnly explains why a non-TEMP object other than an Iceberg table
// or namespace cannot be created, altered or dropped.
const msgTempOnly = "only Iceberg tables, views and namespaces (CREATE/ALTER/DROP TABLE, CREATE/DROP VIEW, CREATE/DROP SCHEMA, " +
	"named namespace.name in the lakehouse catalog) and TEMP tables, views, macros and sequences of the session can be created, altered or dropped"

// sessionSettings may be changed by clients with SET/RESET; they are
// per-connection in DuckDB and cannot reach the file system.
var sessionSettings = map[string]bool{
	"timezone":              true,
	"calendar":              true,
	"schema":                true,
	"search_path":           true,
	"enable_progress_bar":   true,
	"progress_bar_time":     true,
	"streaming_buffer_size": true,
}

// readPragmas are the PRAGMAs clients may run: catalog introspection only.
var readPragmas = map[string]bool{
	"table_info": true, "show": true, "show_tables": true, "show_tables_expanded": true,
	"show_databases": true, "database_list": true, "database_size": true, "version": true,
	"platform": true, "functions": true, "collations": true, "user_agent": true,
	"storage_info": true, "metadata_info": true,
}

// refusedLead are leading keywords refused before DuckDB even prepares them.
var refusedLead = map[string]error{
	"copy":       newError(ErrUnsupported, "COPY is not supported: query results stream through Flight SQL, and files are loaded with ingest"),
	"export":     newError(ErrUnsupported, "EXPORT DATABASE is not supported"),
	"import":     newError(ErrUnsupported, "IMPORT DATABASE is not supported"),
	"attach":     newError(ErrPermission, "ATTACH is not permitted: lakeflight serves only its own catalog"),
	"detach":     newError(ErrPermission, "DETACH is not permitted"),
	"install":    newError(ErrPermission, "INSTALL is not permitted: extensions are built in"),
	"load":       newError(ErrPermission, "LOAD is not permitted: extensions are built in"),
	"force":      newError(ErrPermission, "FORCE INSTALL is not permitted: extensions are built in"),
	"prepare":    newError(ErrUnsupported, "SQL PREPARE is not supported: use the protocol's prepared statements"),
	"execute":    newError(ErrUnsupported, "SQL EXECUTE is not supported: use the protocol's prepared statements"),
	"deallocate": newError(ErrUnsupported, "SQL DEALLOCATE is not supported: use the protocol's prepared statements"),
	"checkpoint": newError(ErrUnsupported, "CHECKPOINT is not supported"),
	"vacuum":     newError(ErrUnsupported, "VACUUM is not supported"),
	"comment":    newError(ErrUnsupported, "COMMENT ON is not supported: Iceberg tables keep no comments yet"),
}

// deniedFunctions are DuckDB table functions with effects beyond the
// statement (global logging/profiling/parser settings, checkpoints, log
// files written into the warehouse), that execute SQL hidden in a string
// (and so past these checks), or that take raw memory addresses.
var deniedFunctions = map[string]bool{
	"enable_logging": true, "disable_logging": true, "truncate_duckdb_logs": true,
	"enable_profiling": true, "disable_profiling": true,
	"enable_peg_parser": true, "disable_peg_parser": true,
	"checkpoint": true, "force_checkpoint": true,
	"query": true, "json_execute_serialized_sql": true,
	"arrow_scan": true, "arrow_scan_dumb": true,
}

// precheck refuses statements by their leading keyword or by a denied
// function call, before preparing.
func precheck(toks sqltext.Tokens) error {
	if len(toks) == 0 {
		return nil
	}
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].Ident() && toks.Sym(i+1, "(") && deniedFunctions[strings.ToLower(toks[i].Text)] {
			return newError(ErrPermission, "function "+toks[i].Text+" is not permitted")
		}
	}
	if toks[0].Kind == sqltext.Word {
		if err, ok := refusedLead[toks[0].Text]; ok {
			return err
		}
		if toks.Words(0, "update", "extensions") {
			return newError(ErrPermission, "UPDATE EXTENSIONS is not permitted")
		}
	}
	return nil
}

// tempChecker answers whether a one-part name is a temp object of the
// session's connection.
type tempChecker func(name string) (bool, error)

// classify checks a prepared statement against the policy and says what it
// does. toks are the statement's own tokens.
func classify(t bindings.StatementType, toks sqltext.Tokens, isTemp tempChecker) (class, error) {
	if err := precheck(toks); err != nil {
		return 0, err
	}
	switch t {
	case bindings.StatementTypeSelect, bindings.StatementTypeExplain, bindings.StatementTypeCall,
		bindings.StatementTypeRelation, bindings.StatementTypeLogicalPlan:
		return classRead, nil
	case bindings.StatementTypePragma:
		return classRead, checkPragma(toks)
	case bindings.StatementTypeSet:
		return classSession, checkSet(toks)
	case bindings.StatementTypeVariableSet, bindings.StatementTypeTransaction:
		return classSession, nil
	case bindings.StatementTypeInsert, bindings.StatementTypeUpdate, bindings.StatementTypeDelete,
		bindings.StatementTypeMergeInto:
		// Writes to Iceberg tables never get here (write_exec.go); the only
		// base tables left are the session's temp tables, so DuckDB itself
		// refuses the rest and prepareError words that refusal.
		return classSession, nil
	case bindings.StatementTypeCreate, bindings.StatementTypeCreateFunc:
		return classSession, checkCreate(toks)
	case bindings.StatementTypeDrop, bindings.StatementTypeAlter:
		return classSession, checkDropAlter(toks, isTemp)
	case bindings.StatementTypeAnalyze:
		return classRead, nil
	case bindings.StatementTypeCopy, bindings.StatementTypeCopyDatabase:
		return 0, refusedLead["copy"]
	case bindings.StatementTypeExport:
		return 0, refusedLead["export"]
	case bindings.StatementTypeAttach:
		return 0, refusedLead["attach"]
	case bindings.StatementTypeDetach:
		return 0, refusedLead["detach"]
	case bindings.StatementTypeLoad, bindings.StatementTypeUpdateExtensions, bindings.StatementTypeExtension:
		return 0, refusedLead["load"]
	case bindings.StatementTypePrepare, bindings.StatementTypeExecute:
		return 0, refusedLead["prepare"]
	}
	return 0, newError(ErrUnsupported, "statement kind not supported by lakeflight")
}

// checkSet allows USE and SET/RESET of the per-session settings above.
func checkSet(toks sqltext.Tokens) error {
	if len(toks) == 0 {
		return nil
	}
	switch {
	case toks.Word(0, "use"):
		return nil
	case toks.Word(0, "set"), toks.Word(0, "reset"), toks.Word(0, "pragma"):
	default:
		return newError(ErrPermission, "this form of SET is not permitted")
	}
	i := 1
	if toks.Word(i, "session") || toks.Word(i, "local") {
		i++
	}
	if toks.Word(i, "global") {
		return newError(ErrPermission, "SET GLOBAL is not permitted: settings are per session")
	}
	if i >= len(toks) || !toks[i].Ident() {
		return newError(ErrPermission, "this form of SET is not permitted")
	}
	name := strings.ToLower(toks[i].Text)
	if name == "time" && toks.Word(i+1, "zone") {
		name = "timezone"
	}
	if !sessionSettings[name] {
		return newError(ErrPermission, "setting "+quoteIdent(toks[i].Text)+" cannot be changed through lakeflight")
	}
	return nil
}

func checkPragma(toks sqltext.Tokens) error {
	if toks.Word(0, "show") || toks.Word(0, "describe") || toks.Word(0, "summarize") {
		return nil
	}
	if toks.Word(0, "pragma") && len(toks) > 1 && toks[1].Ident() && readPragmas[strings.ToLower(toks[1].Text)] {
		return nil
	}
	return newError(ErrPermission, "this PRAGMA is not permitted")
}

// checkCreate allows CREATE [OR REPLACE] TEMP|TEMPORARY ... only (Iceberg
// tables and namespaces are created by the write path before this).
func checkCreate(toks sqltext.Tokens) error {
	info := sqltext.Classify(toks)
	if info.Temp {
		return nil
	}
	what := strings.ToUpper(info.Object)
	if what == "" {
		what = "this object"
	}
	if info.Object == "view" {
		return newError(ErrUnsupported, "CREATE VIEW: a persistent view is stored in a namespace of the lakehouse catalog "+
			"(CREATE VIEW namespace.name AS …, or USE lakehouse.namespace first); a session can also have TEMP views (CREATE TEMP VIEW …)")
	}
	return newError(ErrUnsupported, "CREATE "+what+" is not supported: "+msgTempOnly)
}

// dropKinds are the object kinds DROP/ALTER may name (for temp objects).
var dropKinds = map[string]bool{
	"table": true, "view": true, "sequence": true, "macro": true, "function": true,
	"index": true, "type": true,
}

// checkDropAlter allows DROP/ALTER only when every named object is a temp
// object: written temp.x / temp.main.x, or a one-part name the session has
// as a temp object (temp comes first on DuckDB's search path).
func checkDropAlter(toks sqltext.Tokens, isTemp tempChecker) error {
	i := 1
	for i < len(toks) && toks[i].Kind == sqltext.Word && dropKinds[toks[i].Text] {
		i++
	}
	if i == 1 {
		return newError(ErrUnsupported, msgTempOnly)
	}
	if toks.Words(i, "if", "exists") {
		i += 2
	}
	for {
		parts, j := toks.Name(i)
		if len(parts) == 0 {
			return newError(ErrUnsupported, msgTempOnly)
		}
		switch {
		case len(parts) > 1 && strings.EqualFold(parts[0], "temp"):
		case len(parts) == 1:
			ok, err := isTemp(parts[0])
			if err != nil {
				return err
			}
			if !ok {
				return newError(ErrUnsupported, msgTempOnly)
			}
		default:
			return newError(ErrUnsupported, msgTempOnly)
		}
		if !toks.Word(0, "drop") || !toks.Sym(j, ",") {
			return nil
		}
		i = j + 1
	}
}

// prepareError rewords DuckDB's refusal to write to a view (a pinned
// snapshot, or an Iceberg name the write path did not take) and its
// refusal of an AT clause on something that is not an Iceberg table.
func prepareError(err error, toks sqltext.Tokens) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	m := e.Msg
	if strings.Contains(m, "is not an table") || strings.Contains(m, "base table") {
		return newError(ErrUnsupported, "only Iceberg tables (namespace.table) and the session's TEMP tables can be written ("+m+")")
	}
	if strings.Contains(m, "Cannot prepare multiple statements") {
		if !slices.ContainsFunc(toks, func(t sqltext.Token) bool { return t.Is("pivot") || t.Is("pivot_wider") }) {
			return newError(ErrUnsupported, "DuckDB runs this statement as a script of several, which a prepared statement cannot be ("+m+")")
		}
		return newError(ErrUnsupported, "PIVOT without an IN list makes DuckDB run a script (it first collects the values), "+
			"which a prepared statement cannot be: name the values, e.g. PIVOT t ON k IN ('a', 'b') USING sum(v)")
	}
	if strings.Contains(m, "does not support time travel") {
		return newError(ErrUnsupported, "time travel (AT VERSION/TIMESTAMP) works only on Iceberg tables ("+m+")")
	}
	return err
}

// checkShape refuses a statement with more set operations or AND/OR terms
// than the configured limits, before DuckDB sees it. DuckDB 1.5's time on
// both grows with the square of their count and cannot be interrupted: a
// chain of 8,000 UNION ALLs (210 KB) takes 6.8 s to start executing, 62,000
// ANDs (970 KB) 3.7 s to prepare. Words are counted wherever they stand
// (BETWEEN's AND too), so the limits err on the safe side.
func (e *Engine) checkShape(toks sqltext.Tokens) error {
	setOps, conds := 0, 0
	for _, t := range toks {
		if t.Kind != sqltext.Word {
			continue
		}
		switch t.Text {
		case "union", "intersect", "except":
			setOps++
		case "and", "or":
			conds++
		}
	}
	if setOps > e.cfg.MaxSetOperations {
		return newError(ErrTooLarge, fmt.Sprintf("the statement has %d UNION/INTERSECT/EXCEPT, over the server's limit of %d "+
			"(lakeflight serve --max-sql-set-operations): DuckDB's planning time grows with the square of their count; "+
			"load the parts into a table instead", setOps, e.cfg.MaxSetOperations))
	}
	if conds > e.cfg.MaxConditions {
		return newError(ErrTooLarge, fmt.Sprintf("the statement has %d AND/OR terms, over the server's limit of %d "+
			"(lakeflight serve --max-sql-conditions): DuckDB's parse time grows with the square of their count; "+
			"use IN (…) or join a table of the values instead", conds, e.cfg.MaxConditions))
	}
	return nil
}

// checkResultColumns refuses a result wider than the configured limit, read
// from the column count before any column is described.
func (e *Engine) checkResultColumns(n int) error {
	if n <= e.cfg.MaxResultColumns {
		return nil
	}
	return newError(ErrTooLarge, fmt.Sprintf("the result has %d columns, over the server's limit of %d "+
		"(lakeflight serve --max-result-columns)", n, e.cfg.MaxResultColumns))
}

// checkSQLSize refuses a SQL text over the configured limit before anything
// reads it: DuckDB's parser cannot be interrupted and its time grows faster
// than the text.
func (e *Engine) checkSQLSize(sql string) error {
	if len(sql) <= e.cfg.MaxSQLBytes {
		return nil
	}
	return newError(ErrTooLarge, fmt.Sprintf("the SQL text is %d bytes, over the server's limit of %d bytes "+
		"(lakeflight serve --max-sql-bytes)", len(sql), e.cfg.MaxSQLBytes))
}
