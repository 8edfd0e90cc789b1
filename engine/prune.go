//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"hash/fnv"
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

// pinPruned returns a pinned view of table id holding only the data files
// that rows matching filters may be in: at snapshot snap with its schema,
// or (snap 0) at the current view's snapshot with the current schema. ok
// is false when nothing would be skipped (the caller pins as usual). The
// table state and filters make its key: a pin already made for them, or a
// plan known to skip nothing, costs no catalog read and no planning.
func (e *Engine) pinPruned(ctx context.Context, id catalog.Ident, snap int64, filters []sqltext.Filter) (*pin, bool, error) {
	if e.writer == nil || len(filters) == 0 {
		return nil, false, nil
	}
	h := fnv.New64a()
	e.mu.Lock()
	bound, bok := e.views[id]
	e.mu.Unlock()
	if snap == 0 {
		if !bok {
			return nil, false, nil
		}
		_, _ = fmt.Fprintf(h, "%s\x00", bound.metadataLocation)
	}
	_, _ = fmt.Fprintf(h, "%+v", filters)
	key := fmt.Sprintf("%s@%d~%x", id, snap, h.Sum64())
	e.mu.Lock()
	p, unpruned := e.acquireLocked(key), e.unpruned[key]
	e.mu.Unlock()
	switch {
	case p != nil:
		return p, true, nil
	case unpruned:
		return nil, false, nil
	}

	var st *catalog.TableState
	var err error
	if snap == 0 {
		if st, err = e.source.TableState(ctx, id); err != nil {
			return nil, false, err
		}
		if st.MetadataLocation != bound.metadataLocation {
			return nil, false, nil // about to rebind: pin as usual
		}
	} else if st, err = e.source.TableStateAt(ctx, id, snap); err != nil {
		return nil, false, err
	}
	sub, err := e.pruneFiles(ctx, id, st, filters)
	if err != nil {
		return nil, false, err
	}
	if sub == nil {
		e.mu.Lock()
		if len(e.unpruned) >= maxUnpruned {
			clear(e.unpruned)
		}
		e.unpruned[key] = true
		e.mu.Unlock()
		return nil, false, nil
	}
	body, err := viewSQL(sub)
	if err != nil {
		return nil, false, err
	}
	if p, err = e.pinView(ctx, key, key, func() (string, error) { return body, nil }); err != nil {
		return nil, false, err
	}
	if snap == 0 {
		e.markCurrent(p, id, st.MetadataLocation)
	}
	e.stats.prunings.Add(1)
	e.stats.pruned.Add(int64(len(st.DataFiles) - len(sub.DataFiles)))
	return p, true, nil
}

// pruneFiles is st with only the data files that rows matching filters
// may be in; nil when the table is too small to plan, no filter can be
// evaluated, or no file would be skipped.
func (e *Engine) pruneFiles(ctx context.Context, id catalog.Ident, st *catalog.TableState, filters []sqltext.Filter) (*catalog.TableState, error) {
	if len(st.DataFiles) < minPruneFiles {
		return nil, nil
	}
	expr, ok := filterExpr(st.Schema, filters)
	if !ok {
		return nil, nil
	}
	start := time.Now()
	keep, err := e.writer.PlanFiltered(ctx, id, st.SnapshotID, expr)
	if err != nil {
		return nil, err
	}
	sub := *st
	sub.DataFiles = nil
	for _, f := range st.DataFiles {
		if keep[f.Location] {
			sub.DataFiles = append(sub.DataFiles, f)
		}
	}
	if len(sub.DataFiles) == len(st.DataFiles) {
		return nil, nil
	}
	e.log.Debug("pruned", "table", id.String(), "snapshot", st.SnapshotID, "filter", expr.String(),
		"files", len(sub.DataFiles), "of", len(st.DataFiles), "planning", time.Since(start))
	return &sub, nil
}

// filterExpr is the conjunction of the filters Iceberg can evaluate
// exactly as DuckDB would: on a top-level column (named case-insensitively,
// without ambiguity) of an integer, string, date or timestamp type, against
// constants of that type. ok is false when none qualifies.
func filterExpr(sc *iceberg.Schema, filters []sqltext.Filter) (iceberg.BooleanExpression, bool) {
	var terms []iceberg.BooleanExpression
	for _, f := range filters {
		if t, ok := filterTerm(sc, f); ok {
			terms = append(terms, t)
		}
	}
	switch len(terms) {
	case 0:
		return nil, false
	case 1:
		return terms[0], true
	}
	return iceberg.NewAnd(terms[0], terms[1], terms[2:]...), true
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
	switch field.Type.(type) {
	case iceberg.Int32Type, iceberg.Int64Type:
		return typedTerm(ref, f, func(l sqltext.Literal) (int64, bool) {
			if l.Kind != "INTEGER" || (l.Cast != "" && l.Cast != "INTEGER" && l.Cast != "BIGINT") {
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
			if l.Kind != "STRING" || l.Cast != "DATE" {
				return 0, false
			}
			t, err := time.Parse(time.DateOnly, l.Text)
			return iceberg.Date(t.Unix() / 86400), err == nil && t.Unix()%86400 == 0
		})
	case iceberg.TimestampType:
		return typedTerm(ref, f, func(l sqltext.Literal) (iceberg.Timestamp, bool) {
			if l.Kind != "STRING" || l.Cast != "TIMESTAMP" {
				return 0, false
			}
			for _, layout := range []string{time.DateOnly, time.DateTime, "2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999"} {
				if t, err := time.Parse(layout, l.Text); err == nil {
					return iceberg.Timestamp(t.UnixMicro()), true
				}
			}
			return 0, false
		})
	}
	return nil, false
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
