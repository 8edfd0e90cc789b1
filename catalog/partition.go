package catalog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Hidden partitioning: a table's partition spec says how each row's
// partition is derived from its columns (the day of a timestamp, a hash
// bucket of a key, a column's own value); writers split rows by it, one
// partition to a file, and record each file's partition values in the
// manifest, where planners can skip whole files by them. Queries never name
// the partition columns: they filter on the source columns.

// partitionFieldBase is the first partition field id (Iceberg's convention).
const partitionFieldBase = 1000

// ParsePartitionSpec reads a partition clause, the text between the
// parentheses of PARTITIONED BY (…), against the table's schema: a comma
// list of terms, each a column (identity) or a transform of one —
// year(col), month(col), day(col), hour(col) (the plural forms years, …,
// hours and Spark's date/date_hour too), bucket(N, col), truncate(W, col)
// or identity(col). Columns match by name, case-insensitively unless
// double-quoted; they must be top-level and primitive. The partition
// fields get Iceberg's usual names: the column's name for identity,
// col_year, col_month, col_day, col_hour, col_bucket and col_trunc.
func ParsePartitionSpec(text string, sc *iceberg.Schema) (iceberg.PartitionSpec, error) {
	terms, err := splitTerms(text)
	if err != nil {
		return iceberg.PartitionSpec{}, err
	}
	if len(terms) == 0 {
		return iceberg.PartitionSpec{}, fmt.Errorf("%w: PARTITIONED BY () names no column", ErrInvalidArgument)
	}
	opts := make([]iceberg.PartitionOption, 0, len(terms))
	names := map[string]string{}
	for i, term := range terms {
		tr, col, err := parseTerm(term)
		if err != nil {
			return iceberg.PartitionSpec{}, err
		}
		field, err := findColumn(sc, col)
		if err != nil {
			return iceberg.PartitionSpec{}, fmt.Errorf("%w: PARTITIONED BY %s: %w", ErrInvalidArgument, term, err)
		}
		if isNested(field.Type) {
			return iceberg.PartitionSpec{}, fmt.Errorf("%w: PARTITIONED BY %s: column %s is %s; a partition column must be a primitive, top-level column",
				ErrInvalidArgument, term, field.Name, field.Type)
		}
		if !tr.CanTransform(field.Type) {
			return iceberg.PartitionSpec{}, fmt.Errorf("%w: PARTITIONED BY %s: %s cannot be applied to column %s of type %s",
				ErrInvalidArgument, term, transformWord(tr), field.Name, field.Type)
		}
		name := partitionFieldName(field.Name, tr)
		if prev, dup := names[name]; dup {
			return iceberg.PartitionSpec{}, fmt.Errorf("%w: PARTITIONED BY %s: the partition field %q is already made by %s",
				ErrInvalidArgument, term, name, prev)
		}
		names[name] = term
		id := partitionFieldBase + i
		opts = append(opts, iceberg.AddPartitionFieldBySourceID(field.ID, name, tr, sc, &id))
	}
	spec, err := iceberg.NewPartitionSpecOpts(opts...)
	if err != nil {
		return iceberg.PartitionSpec{}, fmt.Errorf("%w: PARTITIONED BY (%s): %w", ErrInvalidArgument, text, err)
	}
	return spec, nil
}

// splitTerms splits a partition clause at its top-level commas.
func splitTerms(text string) ([]string, error) {
	var terms []string
	depth, start, quoted := 0, 0, false
	for i, r := range text {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '(':
			depth++
		case r == ')':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("%w: PARTITIONED BY (%s): unbalanced parentheses", ErrInvalidArgument, text)
			}
		case r == ',' && depth == 0:
			terms = append(terms, strings.TrimSpace(text[start:i]))
			start = i + 1
		}
	}
	if depth != 0 || quoted {
		return nil, fmt.Errorf("%w: PARTITIONED BY (%s): unbalanced parentheses or quotes", ErrInvalidArgument, text)
	}
	if last := strings.TrimSpace(text[start:]); last != "" || len(terms) > 0 {
		terms = append(terms, last)
	}
	for _, t := range terms {
		if t == "" {
			return nil, fmt.Errorf("%w: PARTITIONED BY (%s): an empty term", ErrInvalidArgument, text)
		}
	}
	return terms, nil
}

// parseTerm reads one term: a column, or a transform applied to one. The
// column comes back as written (quotes kept, for findColumn).
func parseTerm(term string) (iceberg.Transform, string, error) {
	open := strings.IndexByte(term, '(')
	if open < 0 || strings.HasPrefix(term, `"`) {
		return iceberg.IdentityTransform{}, term, nil
	}
	if closing(term, open) != len(term)-1 {
		return nil, "", fmt.Errorf("%w: PARTITIONED BY %s: want a column or transform(column), with commas between terms", ErrInvalidArgument, term)
	}
	fn := strings.ToLower(strings.TrimSpace(term[:open]))
	args, err := splitTerms(term[open+1 : len(term)-1])
	if err != nil {
		return nil, "", err
	}
	one := func(tr iceberg.Transform) (iceberg.Transform, string, error) {
		if len(args) != 1 {
			return nil, "", fmt.Errorf("%w: PARTITIONED BY %s: %s takes one column", ErrInvalidArgument, term, fn)
		}
		return tr, args[0], nil
	}
	withWidth := func(make func(int) iceberg.Transform) (iceberg.Transform, string, error) {
		if len(args) != 2 {
			return nil, "", fmt.Errorf("%w: PARTITIONED BY %s: %s takes a width and a column, as in %s(16, id)", ErrInvalidArgument, term, fn, fn)
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > 1<<30 {
			return nil, "", fmt.Errorf("%w: PARTITIONED BY %s: %s's width %q is not a positive whole number", ErrInvalidArgument, term, fn, args[0])
		}
		return make(n), args[1], nil
	}
	switch fn {
	case "identity":
		return one(iceberg.IdentityTransform{})
	case "year", "years":
		return one(iceberg.YearTransform{})
	case "month", "months":
		return one(iceberg.MonthTransform{})
	case "day", "days", "date":
		return one(iceberg.DayTransform{})
	case "hour", "hours", "date_hour":
		return one(iceberg.HourTransform{})
	case "bucket":
		return withWidth(func(n int) iceberg.Transform { return iceberg.BucketTransform{NumBuckets: n} })
	case "truncate":
		return withWidth(func(n int) iceberg.Transform { return iceberg.TruncateTransform{Width: n} })
	}
	return nil, "", fmt.Errorf("%w: PARTITIONED BY %s: unknown transform %q; want identity, year, month, day, hour, bucket or truncate",
		ErrInvalidArgument, term, fn)
}

// closing is the index of the parenthesis closing the one at open, -1
// if none does (quoted names skipped).
func closing(s string, open int) int {
	depth, quoted := 0, false
	for i := open; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case quoted:
		case s[i] == '(':
			depth++
		case s[i] == ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// findColumn finds a top-level column by its name as written: a
// double-quoted name exactly, a bare one case-insensitively.
func findColumn(sc *iceberg.Schema, written string) (iceberg.NestedField, error) {
	if name, ok := strings.CutPrefix(written, `"`); ok {
		name, ok = strings.CutSuffix(name, `"`)
		if !ok {
			return iceberg.NestedField{}, fmt.Errorf("unterminated quoted name %s", written)
		}
		name = strings.ReplaceAll(name, `""`, `"`)
		for _, f := range sc.Fields() {
			if f.Name == name {
				return f, nil
			}
		}
		return iceberg.NestedField{}, fmt.Errorf("no column %s", written)
	}
	if written == "" || strings.ContainsFunc(written, func(r rune) bool { return unicode.IsSpace(r) || r == '.' }) {
		return iceberg.NestedField{}, fmt.Errorf("%q is not a column name (top-level columns only)", written)
	}
	var found []iceberg.NestedField
	for _, f := range sc.Fields() {
		if strings.EqualFold(f.Name, written) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return iceberg.NestedField{}, fmt.Errorf("no column %s", written)
	case 1:
		return found[0], nil
	}
	return iceberg.NestedField{}, fmt.Errorf("%s matches several columns that differ in case only; double-quote the one meant", written)
}

func isNested(t iceberg.Type) bool {
	switch t.(type) {
	case *iceberg.StructType, *iceberg.ListType, *iceberg.MapType:
		return true
	}
	return false
}

// partitionFieldName is Iceberg's usual name for a partition field: the
// column's own for identity, col_year, col_month, col_day and col_hour
// (the transforms' names), col_bucket and col_trunc.
func partitionFieldName(col string, tr iceberg.Transform) string {
	switch tr.(type) {
	case iceberg.IdentityTransform:
		return col
	case iceberg.BucketTransform:
		return col + "_bucket"
	case iceberg.TruncateTransform:
		return col + "_trunc"
	}
	return col + "_" + tr.String()
}

// transformWord names a transform as PARTITIONED BY writes it.
func transformWord(tr iceberg.Transform) string {
	switch t := tr.(type) {
	case iceberg.BucketTransform:
		return fmt.Sprintf("bucket(%d, …)", t.NumBuckets)
	case iceberg.TruncateTransform:
		return fmt.Sprintf("truncate(%d, …)", t.Width)
	}
	return tr.String()
}

// CheckPartitioning reports whether the table tbl (named id) is
// partitioned as clause says, the way a write that asks for a partitioning
// must find an existing table; ErrInvalidArgument naming both when not.
func CheckPartitioning(tbl *table.Table, id Ident, clause string) error {
	want, err := ParsePartitionSpec(clause, tbl.Schema())
	if err != nil {
		return fmt.Errorf("table %s: %w", id, err)
	}
	have := tbl.Spec()
	same := want.NumFields() == have.NumFields()
	for i := 0; same && i < want.NumFields(); i++ {
		w, h := want.Field(i), have.Field(i)
		same = w.SourceID() == h.SourceID() && w.Transform.Equals(h.Transform)
	}
	if same {
		return nil
	}
	now := "nothing (unpartitioned)"
	if !have.IsUnpartitioned() {
		now = "(" + PartitionClause(have, tbl.Schema()) + ")"
	}
	return fmt.Errorf("%w: table %s is partitioned by %s, not (%s): changing a table's partitioning is not supported yet; leave the partitioning out to write with the table's own",
		ErrInvalidArgument, id, now, clause)
}

// PartitionClause renders spec as the inside of a PARTITIONED BY clause,
// the form ParsePartitionSpec reads.
func PartitionClause(spec iceberg.PartitionSpec, sc *iceberg.Schema) string {
	var parts []string
	for _, f := range spec.Fields() {
		col, _ := sc.FindColumnName(f.SourceID())
		switch t := f.Transform.(type) {
		case iceberg.IdentityTransform:
			parts = append(parts, col)
		case iceberg.BucketTransform:
			parts = append(parts, fmt.Sprintf("bucket(%d, %s)", t.NumBuckets, col))
		case iceberg.TruncateTransform:
			parts = append(parts, fmt.Sprintf("truncate(%d, %s)", t.Width, col))
		default:
			parts = append(parts, t.String()+"("+col+")")
		}
	}
	return strings.Join(parts, ", ")
}

// SetPartitioning stages the table's new partitioning (ALTER TABLE … SET
// PARTITIONED BY): clause's terms, or none for "". Files already written
// keep the spec they were written with, and readers plan each file by its
// own; new files follow the new spec. Fields the old and new spec share
// (same column, same transform) keep their ids and names.
func (t *Txn) SetPartitioning(clause string) error {
	st, err := t.tx.StagedTable()
	if err != nil {
		return err
	}
	sc, have := st.Schema(), st.Spec()
	want := *iceberg.UnpartitionedSpec
	if clause != "" {
		if want, err = ParsePartitionSpec(clause, sc); err != nil {
			return fmt.Errorf("table %s: %w", t.id, err)
		}
	}
	in := func(spec iceberg.PartitionSpec, f iceberg.PartitionField) bool {
		for _, g := range spec.Fields() {
			if g.SourceID() == f.SourceID() && g.Transform.Equals(f.Transform) {
				return true
			}
		}
		return false
	}
	u := t.tx.UpdateSpec(true)
	changed := false
	for _, f := range have.Fields() {
		if !in(want, f) {
			u.RemoveField(f.Name)
			changed = true
		}
	}
	for _, f := range want.Fields() {
		if !in(have, f) {
			col, _ := sc.FindColumnName(f.SourceID())
			u.AddField(col, f.Transform, f.Name)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := u.Commit(); err != nil {
		return fmt.Errorf("%w: repartitioning %s: %w", ErrInvalidArgument, t.id, err)
	}
	t.staged = true
	return nil
}

// PartitionSources are the names of the columns the table's current spec
// derives partitions from: a column that must stay while the spec uses it.
func PartitionSources(tbl *table.Table) []string {
	var out []string
	spec := tbl.Spec()
	for _, f := range spec.Fields() {
		if col, ok := tbl.Schema().FindColumnName(f.SourceID()); ok {
			out = append(out, col)
		}
	}
	return out
}

// PlanFiltered is the data files of snapshot snap that rows matching expr
// may be in: iceberg-go's planner skips manifests and files by partition
// values and by column bounds. expr binds to the snapshot's schema, column
// names as given.
func (c *Catalog) PlanFiltered(ctx context.Context, id Ident, snap int64, schemaID int, expr iceberg.BooleanExpression) (map[string]bool, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	// iceberg-go binds the filter to the snapshot's schema: the names in
	// expr must mean the same fields there.
	s := tbl.SnapshotByID(snap)
	if s == nil || s.SchemaID == nil || *s.SchemaID != schemaID {
		return nil, ErrSchemaMoved
	}
	scan := tbl.Scan(table.WithSnapshotID(snap), table.WithRowFilter(expr))
	defer func() { _ = scan.Close() }()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("planning %s with %s: %w", id, expr, err)
	}
	out := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		out[t.File.FilePath()] = true
	}
	return out, nil
}
