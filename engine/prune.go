//go:build duckdb_arrow

package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Pruning. When a query's WHERE compares a table's columns with constants
// (sqltext.Filter: only from a SELECT whose FROM is that one table), the
// reference is pinned to a view of just the data files those rows may be
// in: iceberg-go's planner skips files by their partition values and
// column bounds, so DuckDB never opens the others. A filter whose types or
// form leave any doubt is not used; fewer filters only means fewer files
// skipped, never a different answer.

// minPruneFiles: tables with fewer data files are not worth planning.
const minPruneFiles = 4

// maxUnpruned bounds the remembered keys whose filters skip nothing.
const maxUnpruned = 1024

// scanNote says how a statement reads one Iceberg table reference: the
// snapshot, the data files planned of all, and the filter they were
// planned with, or why every file is read. EXPLAIN shows it.
type scanNote struct {
	table    catalog.Ident
	snapshot int64
	files    int    // data files in the snapshot (0: not counted)
	planned  int    // data files read, when some were skipped
	filter   string // the Iceberg filter the files were planned with
	why      string // why no file is skipped ("" when some are)
}

// Reasons a reference reads every data file.
const (
	whyNoFilter   = "no WHERE condition to plan with: only comparisons of the table's columns with constants, joined by AND and OR, in a SELECT from this one table, are used"
	whyNoExact    = "no WHERE condition can be planned exactly: only integer, string, date, timestamp and timestamptz columns compared with constants of their type, or strings DuckDB casts to it, are used (for TIMESTAMPTZ only constants with an offset)"
	whyFewFiles   = "too few data files to be worth planning"
	whyNoSkip     = "every data file may hold matching rows"
	whyNoPlanner  = "this catalog has no planner"
	whyNotBound   = "the table is being bound"
	whyPlanFailed = "its files could not be planned (the schema changed since the snapshot, or the catalog failed): see the server log"
)

func (n scanNote) String() string {
	at := fmt.Sprintf("%s at snapshot %d: ", n.table, n.snapshot)
	if n.snapshot == 0 {
		at = n.table.String() + " (no snapshot): "
	}
	if n.why == "" {
		if n.files == 0 {
			return at + "data files pruned with " + n.filter
		}
		return fmt.Sprintf("%s%d of %d data files planned with %s", at, n.planned, n.files, n.filter)
	}
	all := "all data files read"
	if n.files > 0 {
		all = fmt.Sprintf("all %d data files read", n.files)
	}
	if n.filter != "" {
		return fmt.Sprintf("%s%s; planned with %s, %s", at, all, n.filter, n.why)
	}
	return fmt.Sprintf("%s%s; %s", at, all, n.why)
}

// pinPruned returns a pinned view of table id holding only the data files
// that rows matching filters may be in: at snapshot snap with its schema,
// or (snap 0) at the current view's snapshot with the current schema. The
// pin is nil when nothing would be skipped (the caller pins as usual); the
// note says what was planned, or why not. The table state and filters make
// its key: a pin already made for them, or a plan known to skip nothing,
// costs no catalog read and no planning.
func (e *Engine) pinPruned(ctx context.Context, id catalog.Ident, snap int64, filters []sqltext.Filter) (*pin, scanNote, error) {
	note := scanNote{table: id, snapshot: snap, why: whyNoPlanner}
	e.mu.Lock()
	bound, bok := e.views[id]
	e.mu.Unlock()
	if snap == 0 {
		note.snapshot, note.files = bound.snapshotID, bound.files
		if !bok {
			note.why = whyNotBound
			return nil, note, nil
		}
	}
	switch {
	case e.writer == nil:
		return nil, note, nil
	case len(filters) == 0:
		note.why = whyNoFilter
		return nil, note, nil
	case snap == 0 && bound.files < minPruneFiles:
		note.why = whyFewFiles
		return nil, note, nil
	}
	// The key must tell every table state and filter set apart (a pin is
	// shared): a SHA-256 of them, not a short hash.
	h := sha256.New()
	if snap == 0 {
		_, _ = fmt.Fprintf(h, "%s\x00", bound.metadataLocation)
	}
	_, _ = fmt.Fprintf(h, "%+v", filters)
	key := fmt.Sprintf("%s@%d~%x", id, snap, h.Sum(nil))
	e.mu.Lock()
	p := e.acquireLocked(key)
	known, unpruned := e.unpruned[key]
	var pnote *scanNote
	if p != nil {
		pnote = p.scan
	}
	e.mu.Unlock()
	switch {
	case p != nil && pnote != nil:
		return p, *pnote, nil
	case p != nil:
		note.why = "" // made by a statement that has not recorded its counts yet
		note.files, note.filter = 0, "(being recorded)"
		return p, note, nil
	case unpruned:
		return nil, known, nil
	}

	var st *catalog.TableState
	var err error
	if snap == 0 {
		st, err = e.source.TableState(ctx, id)
	} else {
		st, err = e.source.TableStateAt(ctx, id, snap)
	}
	switch {
	case err != nil:
		// Pinned as usual, which reports an unknown snapshot its own way.
		note.why = whyPlanFailed
		return nil, note, nil
	case snap == 0 && st.MetadataLocation != bound.metadataLocation:
		note.why = whyNotBound
		return nil, note, nil // about to rebind: pin as usual
	}
	sub, note, err := e.pruneFiles(ctx, id, st, filters)
	if err != nil {
		return nil, note, err
	}
	if sub == nil {
		e.mu.Lock()
		if len(e.unpruned) >= maxUnpruned {
			clear(e.unpruned)
		}
		e.unpruned[key] = note
		e.mu.Unlock()
		return nil, note, nil
	}
	if p, err = e.pinView(ctx, key, key, func() (string, func(), error) {
		sub, release, err := e.localize(ctx, sub)
		if err != nil {
			return "", nil, err
		}
		body, err := viewSQL(sub, e.norm())
		if err != nil {
			release()
		}
		return body, release, err
	}); err != nil {
		return nil, note, err
	}
	e.mu.Lock()
	if p.scan == nil {
		p.scan = &note
	}
	e.mu.Unlock()
	if snap == 0 {
		e.markCurrent(p, id, st.MetadataLocation)
	}
	e.stats.prunings.Add(1)
	e.stats.pruned.Add(int64(len(st.DataFiles) - len(sub.DataFiles)))
	return p, note, nil
}

// pruneFiles is st with only the data files that rows matching filters
// may be in, and a note of the plan; nil when the table is too small to
// plan, no filter can be evaluated, or no file would be skipped (the note
// says which).
func (e *Engine) pruneFiles(ctx context.Context, id catalog.Ident, st *catalog.TableState, filters []sqltext.Filter) (*catalog.TableState, scanNote, error) {
	note := scanNote{table: id, snapshot: st.SnapshotID, files: len(st.DataFiles)}
	expr, text, ok := filterExpr(st.Schema, filters)
	switch {
	case !ok:
		note.why = whyNoExact
		return nil, note, nil
	case len(st.DataFiles) < minPruneFiles:
		note.why = whyFewFiles
		return nil, note, nil
	}
	note.filter = text
	start := time.Now()
	keep, err := e.writer.PlanFiltered(ctx, id, st.SnapshotID, st.Schema.ID, expr)
	if err != nil {
		// Planning is an optimisation: a table it cannot plan is read whole.
		level := slog.LevelWarn
		if errors.Is(err, catalog.ErrSchemaMoved) {
			level = slog.LevelDebug
		}
		e.log.Log(ctx, level, "pruning skipped: planning failed", "table", id.String(), "snapshot", st.SnapshotID, "err", err)
		note.why = whyPlanFailed
		return nil, note, nil
	}
	sub := *st
	sub.DataFiles = nil
	for _, f := range st.DataFiles {
		if keep[f.Location] {
			sub.DataFiles = append(sub.DataFiles, f)
		}
	}
	note.planned = len(sub.DataFiles)
	if len(sub.DataFiles) == len(st.DataFiles) {
		note.why = whyNoSkip
		return nil, note, nil
	}
	e.log.Debug("pruned", "table", id.String(), "snapshot", st.SnapshotID, "filter", expr.String(),
		"files", len(sub.DataFiles), "of", len(st.DataFiles), "planning", time.Since(start))
	return &sub, note, nil
}

// filterExpr is the conjunction of the filters Iceberg can evaluate
// exactly as DuckDB would: on a top-level column (named case-insensitively,
// without ambiguity) of an integer, string, date, timestamp or timestamptz
// type, against constants DuckDB reads as that type the same way
// (filterTerm); text is those filters as SQL. ok is false when
// none qualifies.
func filterExpr(sc *iceberg.Schema, filters []sqltext.Filter) (expr iceberg.BooleanExpression, text string, ok bool) {
	var terms []iceberg.BooleanExpression
	var used []string
	for _, f := range filters {
		if f.Op == "or" {
			if t, text, ok := orTerm(sc, f); ok {
				terms = append(terms, t)
				used = append(used, text)
			}
		} else if t, ok := filterTerm(sc, f); ok {
			terms = append(terms, t)
			used = append(used, filterSQL(f))
		}
	}
	text = strings.Join(used, " AND ")
	switch len(terms) {
	case 0:
		return nil, "", false
	case 1:
		return terms[0], text, true
	}
	return iceberg.NewAnd(terms[0], terms[1], terms[2:]...), text, true
}

// orTerm is an OR of its sides' filters, each side the conjunction of
// those Iceberg can evaluate exactly; false when a side has none (it may
// hold anywhere, so the OR may too).
func orTerm(sc *iceberg.Schema, f sqltext.Filter) (iceberg.BooleanExpression, string, bool) {
	alts := make([]iceberg.BooleanExpression, 0, len(f.Any))
	texts := make([]string, 0, len(f.Any))
	for _, side := range f.Any {
		expr, text, ok := filterExpr(sc, side)
		if !ok {
			return nil, "", false
		}
		if strings.Contains(text, " AND ") {
			text = "(" + text + ")"
		}
		alts, texts = append(alts, expr), append(texts, text)
	}
	if len(alts) < 2 {
		return nil, "", false
	}
	return iceberg.NewOr(alts[0], alts[1], alts[2:]...), "(" + strings.Join(texts, " OR ") + ")", true
}

// filterSQL writes f as SQL, for EXPLAIN.
func filterSQL(f sqltext.Filter) string {
	vals := make([]string, len(f.Values))
	for i, l := range f.Values {
		switch {
		case l.Kind == "STRING" && l.Cast != "" && l.Cast != "VARCHAR":
			vals[i] = l.Cast + " " + quoteString(l.Text)
		case l.Kind == "STRING":
			vals[i] = quoteString(l.Text)
		default:
			vals[i] = l.Text
		}
	}
	col := f.Column
	if strings.TrimLeft(strings.ToLower(col), "abcdefghijklmnopqrstuvwxyz_0123456789") != "" || col == "" || col[0] >= '0' && col[0] <= '9' {
		col = quoteIdent(col)
	}
	switch {
	case f.Op == "is null" || f.Op == "is not null":
		return col + " " + strings.ToUpper(f.Op)
	case f.Op == "in":
		return col + " IN (" + strings.Join(vals, ", ") + ")"
	case f.Op == "between" && len(vals) == 2:
		return col + " BETWEEN " + vals[0] + " AND " + vals[1]
	}
	return col + " " + f.Op + " " + strings.Join(vals, ", ")
}

func filterTerm(sc *iceberg.Schema, f sqltext.Filter) (iceberg.BooleanExpression, bool) {
	var field iceberg.NestedField
	found := 0
	for _, c := range sc.Fields() {
		if strings.EqualFold(c.Name, f.Column) {
			field, found = c, found+1
		}
	}
	if found != 1 {
		return nil, false
	}
	ref := iceberg.Reference(field.Name)
	switch f.Op {
	case "is null":
		return iceberg.IsNull(ref), true
	case "is not null":
		return iceberg.NotNull(ref), true
	}
	// A string constant with no cast takes the column's type (DuckDB casts
	// it so), so it is read as the column's type would read it.
	switch field.Type.(type) {
	case iceberg.Int32Type, iceberg.Int64Type:
		return typedTerm(ref, f, func(l sqltext.Literal) (int64, bool) {
			switch {
			case l.Kind == "INTEGER" && (l.Cast == "" || l.Cast == "INTEGER" || l.Cast == "BIGINT"):
			case l.Kind == "STRING" && l.Cast == "":
			default:
				return 0, false
			}
			n, err := strconv.ParseInt(l.Text, 10, 64)
			return n, err == nil
		})
	case iceberg.StringType:
		return typedTerm(ref, f, func(l sqltext.Literal) (string, bool) {
			return l.Text, l.Kind == "STRING" && (l.Cast == "" || l.Cast == "VARCHAR" || l.Cast == "TEXT")
		})
	case iceberg.DateType:
		return typedTerm(ref, f, func(l sqltext.Literal) (iceberg.Date, bool) {
			if l.Kind != "STRING" || l.Cast != "" && l.Cast != "DATE" {
				return 0, false
			}
			t, err := time.Parse(time.DateOnly, l.Text)
			return iceberg.Date(t.Unix() / 86400), err == nil && t.Unix()%86400 == 0
		})
	case iceberg.TimestampType:
		return typedTerm(ref, f, func(l sqltext.Literal) (iceberg.Timestamp, bool) {
			// A DATE compared with a TIMESTAMP is cast to its midnight.
			if l.Kind != "STRING" || l.Cast != "" && l.Cast != "TIMESTAMP" && l.Cast != "DATE" {
				return 0, false
			}
			if l.Cast == "DATE" {
				t, err := time.Parse(time.DateOnly, l.Text)
				return iceberg.Timestamp(t.UnixMicro()), err == nil
			}
			return parseTimestamp(l.Text, false)
		})
	case iceberg.TimestampTzType:
		// Only a constant that names its offset: one without is read in
		// the session's TimeZone.
		return typedTerm(ref, f, func(l sqltext.Literal) (iceberg.Timestamp, bool) {
			if l.Kind != "STRING" || l.Cast != "" && l.Cast != "TIMESTAMP WITH TIME ZONE" && l.Cast != "TIMESTAMPTZ" {
				return 0, false
			}
			return parseTimestamp(l.Text, true)
		})
	}
	return nil, false
}

// parseTimestamp reads a timestamp constant as DuckDB casts it, in
// microseconds: a date (midnight), or a date and time with ' ' or 'T'
// between and up to six fractional digits; with an offset (Z, ±hh,
// ±hh:mm, ±hhmm) when zoned, else without. false for anything else.
func parseTimestamp(text string, zoned bool) (iceberg.Timestamp, bool) {
	if dot := strings.IndexByte(text, '.'); dot >= 0 {
		digits := 0
		for _, r := range text[dot+1:] {
			if r < '0' || r > '9' {
				break
			}
			digits++
		}
		if digits > 6 {
			return 0, false
		}
	}
	layouts := []string{time.DateOnly, time.DateTime, "2006-01-02T15:04:05"}
	if zoned {
		layouts = []string{"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05Z07", "2006-01-02 15:04:05Z0700",
			"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z07", "2006-01-02T15:04:05Z0700"}
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, text); err == nil {
			return iceberg.Timestamp(t.UnixMicro()), true
		}
	}
	return 0, false
}

// typedTerm builds f's predicate with its constants read by conv; false
// if any constant does not convert.
func typedTerm[T iceberg.LiteralType](ref iceberg.UnboundTerm, f sqltext.Filter, conv func(sqltext.Literal) (T, bool)) (iceberg.BooleanExpression, bool) {
	vals := make([]T, len(f.Values))
	for i, l := range f.Values {
		v, ok := conv(l)
		if !ok {
			return nil, false
		}
		vals[i] = v
	}
	switch {
	case f.Op == "in" && len(vals) > 0:
		return iceberg.IsIn(ref, vals...), true
	case f.Op == "between" && len(vals) == 2:
		return iceberg.NewAnd(iceberg.GreaterThanEqual(ref, vals[0]), iceberg.LessThanEqual(ref, vals[1])), true
	case len(vals) != 1:
		return nil, false
	case f.Op == "=":
		return iceberg.EqualTo(ref, vals[0]), true
	case f.Op == "<":
		return iceberg.LessThan(ref, vals[0]), true
	case f.Op == "<=":
		return iceberg.LessThanEqual(ref, vals[0]), true
	case f.Op == ">":
		return iceberg.GreaterThan(ref, vals[0]), true
	case f.Op == ">=":
		return iceberg.GreaterThanEqual(ref, vals[0]), true
	}
	return nil, false
}
