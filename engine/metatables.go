//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Snapshot metadata as tables: iceberg_snapshots('bronze.events') and its
// siblings, in the FROM clause of any query. DuckDB knows no such
// functions; the rewrite (rewrite.go) replaces each call with a pinned view
// of the table's metadata, keyed by the table's metadata location, so the
// listing a statement sees is fixed at prepare time like its data.
// iceberg_snapshots starts with the columns of DuckDB's iceberg extension.

// Metadata is what the metadata functions read from the catalog.
type Metadata interface {
	History(ctx context.Context, id catalog.Ident) ([]catalog.HistoryEntry, error)
	Refs(ctx context.Context, id catalog.Ident) ([]catalog.Ref, error)
	Files(ctx context.Context, id catalog.Ident, snapshotID int64) ([]catalog.FileInfo, error)
	Manifests(ctx context.Context, id catalog.Ident, snapshotID int64) ([]catalog.ManifestInfo, error)
	Properties(ctx context.Context, id catalog.Ident) (map[string]string, error)
}

// metaColumn is one column of a metadata function's result.
type metaColumn struct{ name, typ string }

// metaFunction renders one metadata listing as rows of SQL literals.
type metaFunction struct {
	cols []metaColumn
	// atSnapshot: the function takes an optional snapshot id argument.
	atSnapshot bool
	rows       func(ctx context.Context, e *Engine, id catalog.Ident, snap int64) ([][]string, error)
}

var metaFunctions = map[string]*metaFunction{
	"iceberg_snapshots": {
		cols: []metaColumn{
			{"sequence_number", "BIGINT"}, {"snapshot_id", "BIGINT"}, {"timestamp_ms", "TIMESTAMP"},
			{"manifest_list", "VARCHAR"}, {"parent_id", "BIGINT"}, {"operation", "VARCHAR"},
			{"summary", "MAP(VARCHAR, VARCHAR)"},
		},
		rows: func(ctx context.Context, e *Engine, id catalog.Ident, _ int64) ([][]string, error) {
			snaps, err := e.travel.Snapshots(ctx, id)
			if err != nil {
				return nil, err
			}
			out := make([][]string, len(snaps))
			for i, s := range snaps {
				out[i] = []string{
					sqlInt(s.SequenceNumber), sqlInt(s.SnapshotID), sqlTime(s.Timestamp), quoteString(s.ManifestList),
					sqlOptInt(s.ParentID), quoteString(s.Operation), sqlMap(s.Summary, quoteString),
				}
			}
			return out, nil
		},
	},
	"iceberg_history": {
		cols: []metaColumn{
			{"made_current_at", "TIMESTAMP"}, {"snapshot_id", "BIGINT"}, {"parent_id", "BIGINT"},
			{"is_current_ancestor", "BOOLEAN"},
		},
		rows: func(ctx context.Context, e *Engine, id catalog.Ident, _ int64) ([][]string, error) {
			hist, err := e.meta.History(ctx, id)
			if err != nil {
				return nil, err
			}
			out := make([][]string, len(hist))
			for i, h := range hist {
				out[i] = []string{sqlTime(h.MadeCurrentAt), sqlInt(h.SnapshotID), sqlOptInt(h.ParentID),
					strconv.FormatBool(h.IsCurrentAncestor)}
			}
			return out, nil
		},
	},
	"iceberg_refs": {
		cols: []metaColumn{
			{"name", "VARCHAR"}, {"type", "VARCHAR"}, {"snapshot_id", "BIGINT"},
			{"max_reference_age_in_ms", "BIGINT"}, {"min_snapshots_to_keep", "INTEGER"},
			{"max_snapshot_age_in_ms", "BIGINT"},
		},
		rows: func(ctx context.Context, e *Engine, id catalog.Ident, _ int64) ([][]string, error) {
			refs, err := e.meta.Refs(ctx, id)
			if err != nil {
				return nil, err
			}
			out := make([][]string, len(refs))
			for i, r := range refs {
				minKeep := "NULL"
				if r.MinSnapshotsToKeep != nil {
					minKeep = strconv.Itoa(*r.MinSnapshotsToKeep)
				}
				out[i] = []string{quoteString(r.Name), quoteString(r.Type), sqlInt(r.SnapshotID),
					sqlPtr(r.MaxRefAgeMs), minKeep, sqlPtr(r.MaxSnapshotAgeMs)}
			}
			return out, nil
		},
	},
	"iceberg_properties": {
		cols: []metaColumn{{"key", "VARCHAR"}, {"value", "VARCHAR"}},
		rows: func(ctx context.Context, e *Engine, id catalog.Ident, _ int64) ([][]string, error) {
			props, err := e.meta.Properties(ctx, id)
			if err != nil {
				return nil, err
			}
			out := make([][]string, 0, len(props))
			for _, k := range slices.Sorted(maps.Keys(props)) {
				out = append(out, []string{quoteString(k), quoteString(props[k])})
			}
			return out, nil
		},
	},
	"iceberg_files": {
		cols: []metaColumn{
			{"content", "VARCHAR"}, {"file_path", "VARCHAR"}, {"file_format", "VARCHAR"}, {"spec_id", "INTEGER"},
			{"partition", "VARCHAR"}, {"record_count", "BIGINT"}, {"file_size_in_bytes", "BIGINT"},
			{"column_sizes", "MAP(VARCHAR, BIGINT)"}, {"value_counts", "MAP(VARCHAR, BIGINT)"},
			{"null_value_counts", "MAP(VARCHAR, BIGINT)"},
			{"lower_bounds", "MAP(VARCHAR, VARCHAR)"}, {"upper_bounds", "MAP(VARCHAR, VARCHAR)"},
			{"sort_order_id", "INTEGER"},
		},
		atSnapshot: true,
		rows: func(ctx context.Context, e *Engine, id catalog.Ident, snap int64) ([][]string, error) {
			files, err := e.meta.Files(ctx, id, snap)
			if err != nil {
				return nil, err
			}
			out := make([][]string, len(files))
			for i, f := range files {
				out[i] = []string{
					quoteString(f.Content), quoteString(f.Path), quoteString(f.Format), sqlInt(int64(f.SpecID)),
					quoteString(f.Partition), sqlInt(f.RecordCount), sqlInt(f.SizeBytes),
					sqlMap(f.ColumnSizes, sqlInt), sqlMap(f.ValueCounts, sqlInt), sqlMap(f.NullCounts, sqlInt),
					sqlMap(f.LowerBounds, quoteString), sqlMap(f.UpperBounds, quoteString),
					sqlIntPtr(f.SortOrderID),
				}
			}
			return out, nil
		},
	},
	"iceberg_manifests": {
		cols: []metaColumn{
			{"path", "VARCHAR"}, {"length", "BIGINT"}, {"partition_spec_id", "INTEGER"}, {"content", "VARCHAR"},
			{"sequence_number", "BIGINT"}, {"min_sequence_number", "BIGINT"}, {"added_snapshot_id", "BIGINT"},
			{"added_data_files_count", "INTEGER"}, {"existing_data_files_count", "INTEGER"},
			{"deleted_data_files_count", "INTEGER"}, {"added_rows_count", "BIGINT"},
			{"existing_rows_count", "BIGINT"}, {"deleted_rows_count", "BIGINT"},
		},
		atSnapshot: true,
		rows: func(ctx context.Context, e *Engine, id catalog.Ident, snap int64) ([][]string, error) {
			mans, err := e.meta.Manifests(ctx, id, snap)
			if err != nil {
				return nil, err
			}
			out := make([][]string, len(mans))
			for i, m := range mans {
				out[i] = []string{
					quoteString(m.Path), sqlInt(m.Length), sqlInt(int64(m.SpecID)), quoteString(m.Content),
					sqlInt(m.SequenceNumber), sqlInt(m.MinSequenceNumber), sqlInt(m.AddedSnapshotID),
					sqlInt(int64(m.AddedFiles)), sqlInt(int64(m.ExistingFiles)), sqlInt(int64(m.DeletedFiles)),
					sqlInt(m.AddedRows), sqlInt(m.ExistingRows), sqlInt(m.DeletedRows),
				}
			}
			return out, nil
		},
	},
}

// pinMetaFunction pins the metadata view for one call of a metadata
// function (st.fn, st.name in metaFunctions) and returns the edit that
// points the text at it.
func (s *Session) pinMetaFunction(ctx context.Context, dc *dconn, st site, mf *metaFunction) ([]sqltext.Edit, *pin, error) {
	fname, args := st.name, st.args
	if s.e.meta == nil || s.e.travel == nil {
		return nil, nil, newError(ErrUnsupported, fname+" needs a catalog with snapshot metadata, and this engine has none")
	}
	usage := fname + "('namespace.table')"
	if mf.atSnapshot {
		usage = fname + "('namespace.table'[, snapshot_id])"
	}
	if len(args) == 0 || len(args) > 1 && !mf.atSnapshot || len(args) > 2 || slices.Contains(args, "") {
		return nil, nil, newError(ErrInvalidSQL, "call it as "+usage)
	}
	vals := make([]string, len(args))
	for i, a := range args {
		rows, err := queryStrings(dc.c, "SELECT CAST(("+a+") AS VARCHAR)")
		if err != nil {
			return nil, nil, fmt.Errorf("evaluating the arguments of %s: %w", fname, err)
		}
		vals[i] = rows[0][0]
	}
	id, err := s.metaTarget(dc, vals[0])
	if err != nil {
		return nil, nil, newError(ErrNotFound, fname+": "+err.Error())
	}
	if grants, user := s.grantsOf(); grants != nil && !granted(grants, id.Namespace) {
		return nil, nil, grantError(user, grants, fname+"(…) names "+id.String()+", in namespace "+id.Namespace)
	}
	var snap int64
	if len(vals) == 2 {
		if snap, err = strconv.ParseInt(vals[1], 10, 64); err != nil {
			return nil, nil, newError(ErrInvalidSQL, fname+": snapshot id "+strconv.Quote(vals[1])+" is not a number; call it as "+usage)
		}
	}
	loc, err := s.e.source.MetadataLocation(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	key := fname + "(" + id.String() + "," + strconv.FormatInt(snap, 10) + ")@" + loc
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	name := fmt.Sprintf("%s(%s)#%x", fname, id, h.Sum64())
	p, err := s.e.pinView(ctx, key, name, func() (string, func(), error) {
		rows, err := mf.rows(ctx, s.e, id, snap)
		if err != nil {
			return "", nil, err
		}
		return valuesSQL(mf.cols, rows), nil, nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.e.markCurrent(p, id, loc)
	repl := p.qualified()
	if !st.hasAlias {
		repl += " AS " + quoteIdent(fname)
	}
	return []sqltext.Edit{{Start: st.start, End: st.end, Text: repl}}, p, nil
}

// metaTarget resolves a metadata function's table argument: 'table',
// 'namespace.table' or 'catalog.namespace.table'.
func (s *Session) metaTarget(dc *dconn, arg string) (catalog.Ident, error) {
	parts := strings.Split(arg, ".")
	if len(parts) > 3 {
		return catalog.Ident{}, fmt.Errorf("%q is not a table name", arg)
	}
	id, ok, err := s.resolveParts(dc, parts)
	if err != nil {
		return catalog.Ident{}, err
	}
	if !ok {
		return catalog.Ident{}, fmt.Errorf("no Iceberg table %q (tables are named namespace.table, e.g. bronze.events)", arg)
	}
	return id, nil
}

// valuesSQL is a typed relation of literal rows.
func valuesSQL(cols []metaColumn, rows [][]string) string {
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "CAST(c" + strconv.Itoa(i) + " AS " + c.typ + ") AS " + quoteIdent(c.name)
	}
	if len(rows) == 0 {
		for i, c := range cols {
			sel[i] = "CAST(NULL AS " + c.typ + ") AS " + quoteIdent(c.name)
		}
		return "SELECT " + strings.Join(sel, ", ") + " WHERE false"
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(sel, ", "))
	b.WriteString(" FROM (VALUES ")
	for r, row := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("CAST(")
			b.WriteString(v)
			b.WriteString(" AS ")
			b.WriteString(cols[i].typ)
			b.WriteString(")")
		}
		b.WriteString(")")
	}
	b.WriteString(") AS t(")
	for i := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("c" + strconv.Itoa(i))
	}
	b.WriteString(")")
	return b.String()
}

func sqlInt(v int64) string { return strconv.FormatInt(v, 10) }

// sqlOptInt renders 0 (no such id) as NULL.
func sqlOptInt(v int64) string {
	if v == 0 {
		return "NULL"
	}
	return sqlInt(v)
}

func sqlPtr(v *int64) string {
	if v == nil {
		return "NULL"
	}
	return sqlInt(*v)
}

func sqlIntPtr(v *int) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Itoa(*v)
}

func sqlTime(t time.Time) string {
	return "TIMESTAMP " + quoteString(t.UTC().Format("2006-01-02 15:04:05.000000"))
}

// sqlMap renders a map literal with sorted keys.
func sqlMap[V any](m map[string]V, val func(V) string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = quoteString(k) + ": " + val(m[k])
	}
	return "MAP {" + strings.Join(parts, ", ") + "}"
}
