package web

import (
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rowsParams are the query parameters GET …/rows understands.
var rowsParams = []string{"limit", "columns", "where", "order_by", "as_of"}

// Bounds on a read's filters: enough for any hand-written URL, and far
// below the engine's limits on a statement's conditions.
const (
	maxFilters  = 64
	maxInValues = 1000
)

var filterOps = []FilterOp{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpIsNull, OpNotNull}

// rowsQuery is GET …/rows's parameters, parsed but not yet checked
// against the table.
type rowsQuery struct {
	limit   int64
	columns []string // nil: every column
	where   []rawFilter
	orderBy []Order
	asOf    AsOf
}

type rawFilter struct {
	param  string // where[i] "…", for messages
	column string
	op     FilterOp
	values []string
}

// knownParams refuses a query parameter not in known, and any given twice
// except those in repeatable.
func knownParams(q url.Values, known []string, repeatable ...string) error {
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return fmt.Errorf("%w: unknown query parameter %q: this route takes none", errBadRequest, k)
			}
			return fmt.Errorf("%w: unknown query parameter %q (known: %s)", errBadRequest, k, strings.Join(known, ", "))
		}
	}
	return singleValued(q, repeatable...)
}

func parseRowsParams(q url.Values, maxRows int64) (rowsQuery, error) {
	p := rowsQuery{limit: defaultReadRows}
	if err := knownParams(q, rowsParams, "where"); err != nil {
		return p, err
	}
	if maxRows <= 0 {
		maxRows = DefaultMaxReadRows
	}
	if v, ok := q["limit"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 || n > maxRows {
			return p, fmt.Errorf("%w: limit %q: want a whole number from 0 to %d (the server's maximum, lakeflight serve --max-read-rows)", errBadRequest, v[0], maxRows)
		}
		p.limit = n
	}
	if v, ok := q["columns"]; ok {
		cols, err := nameList("columns", v[0])
		if err != nil {
			return p, err
		}
		p.columns = cols
	}
	if len(q["where"]) > maxFilters {
		return p, fmt.Errorf("%w: where is given %d times; at most %d filters", errBadRequest, len(q["where"]), maxFilters)
	}
	for i, w := range q["where"] {
		f, err := parseFilter(i, w)
		if err != nil {
			return p, err
		}
		p.where = append(p.where, f)
	}
	if v, ok := q["order_by"]; ok {
		terms, err := nameList("order_by", v[0])
		if err != nil {
			return p, err
		}
		for _, t := range terms {
			name, dir, _ := strings.Cut(t, ":")
			switch strings.ToLower(dir) {
			case "", "asc":
				p.orderBy = append(p.orderBy, Order{Column: name})
			case "desc":
				p.orderBy = append(p.orderBy, Order{Column: name, Desc: true})
			default:
				return p, fmt.Errorf("%w: order_by %q: direction %q: want asc or desc (column[:desc], separated by commas)", errBadRequest, t, dir)
			}
		}
	}
	var err error
	p.asOf, err = parseAsOf(q)
	return p, err
}

// nameList splits a comma-separated list of names; none may be empty or
// repeated.
func nameList(param, v string) ([]string, error) {
	if v == "" {
		return nil, fmt.Errorf("%w: %s is empty: name one or more columns, separated by commas, or leave it out", errBadRequest, param)
	}
	parts := strings.Split(v, ",")
	seen := map[string]bool{}
	for i, p := range parts {
		name, _, _ := strings.Cut(p, ":")
		switch {
		case name == "":
			return nil, fmt.Errorf("%w: %s %q: name %d is empty", errBadRequest, param, v, i+1)
		case seen[name]:
			return nil, fmt.Errorf("%w: %s %q: column %q is named twice", errBadRequest, param, v, name)
		}
		seen[name] = true
	}
	return parts, nil
}

// parseFilter reads where=column:op[:value]; the value may itself hold
// colons (a time of day), the column may not.
func parseFilter(i int, w string) (rawFilter, error) {
	f := rawFilter{param: fmt.Sprintf("where[%d] %q", i, w)}
	parts := strings.SplitN(w, ":", 3)
	if len(parts) < 2 || parts[0] == "" {
		return f, fmt.Errorf("%w: %s: want column:op:value, or column:is_null / column:not_null (op: %s)", errBadRequest, f.param, opList())
	}
	f.column, f.op = parts[0], FilterOp(parts[1])
	if !slices.Contains(filterOps, f.op) {
		return f, fmt.Errorf("%w: %s: unknown operator %q (known: %s)", errBadRequest, f.param, parts[1], opList())
	}
	switch {
	case f.op == OpIsNull || f.op == OpNotNull:
		if len(parts) == 3 {
			return f, fmt.Errorf("%w: %s: %s takes no value (column:%s)", errBadRequest, f.param, f.op, f.op)
		}
	case len(parts) < 3:
		return f, fmt.Errorf("%w: %s: %s needs a value (column:%s:value)", errBadRequest, f.param, f.op, f.op)
	case f.op == OpIn:
		f.values = strings.Split(parts[2], "|")
		if len(f.values) > maxInValues {
			return f, fmt.Errorf("%w: %s: %d values; in takes at most %d", errBadRequest, f.param, len(f.values), maxInValues)
		}
	default:
		f.values = []string{parts[2]}
	}
	return f, nil
}

func opList() string {
	names := make([]string, len(filterOps))
	for i, op := range filterOps {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

// parseAsOf reads ?as_of=: digits are a snapshot id, an RFC 3339 time a
// point in time, anything else a tag or branch name. A date or time not
// in RFC 3339 is refused rather than looked up as a tag.
func parseAsOf(q url.Values) (AsOf, error) {
	v, ok := q["as_of"]
	if !ok {
		return AsOf{}, nil
	}
	s := v[0]
	a := AsOf{Text: s}
	if s == "" {
		return a, fmt.Errorf("%w: as_of is empty: give a snapshot id, an RFC 3339 time or a tag or branch name", errBadRequest)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		a.Snapshot = n
		return a, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		a.Time = t
		return a, nil
	}
	if looksLikeTime(s) {
		return a, fmt.Errorf("%w: as_of %q: a time must be RFC 3339 with a zone, e.g. 2026-11-01T10:00:00Z", errBadRequest, s)
	}
	a.Ref = s
	return a, nil
}

// looksLikeTime: starts as a date does (2026-11-…).
func looksLikeTime(s string) bool {
	if len(s) < 8 || s[4] != '-' {
		return false
	}
	_, err := strconv.Atoi(s[:4])
	return err == nil
}

// check resolves the parsed parameters against the table's schema: each
// name must be a column, each filter value must parse as its column's
// type. Filter values are allocated from mem; release the result.
func (p rowsQuery) check(sch TableSchema, mem memory.Allocator) (checkedRows, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	byName := make(map[string]Column, len(sch.Columns))
	for _, c := range sch.Columns {
		byName[c.Name] = c
	}
	r := checkedRows{RowsRequest{Table: sch.Table, Snapshot: sch.SnapshotID, OrderBy: p.orderBy}}
	if p.asOf.IsZero() {
		r.Snapshot = 0 // current data, with the current schema
	}
	if p.columns == nil {
		for _, c := range sch.Columns {
			r.Columns = append(r.Columns, c.Name)
		}
	}
	for _, name := range p.columns {
		if _, ok := byName[name]; !ok {
			return r, noColumn("columns", name, sch)
		}
		r.Columns = append(r.Columns, name)
	}
	if len(r.Columns) == 0 {
		return r, fmt.Errorf("%w: table %s has no columns to read", errBadRequest, sch.Table)
	}
	for _, o := range p.orderBy {
		if _, ok := byName[o.Column]; !ok {
			return r, noColumn("order_by", o.Column, sch)
		}
	}
	for _, f := range p.where {
		col, ok := byName[f.column]
		if !ok {
			r.release()
			return r, noColumn(f.param, f.column, sch)
		}
		vals, err := filterValues(mem, f, col)
		if err != nil {
			r.release()
			return r, err
		}
		r.Filters = append(r.Filters, Filter{Column: f.column, Op: f.op, Values: vals})
	}
	return r, nil
}

// filterValues parses f's values as col's type, ready to bind. Types
// without a parser here (uuid, fixed, binary) go as strings for DuckDB to
// cast; nested columns can only be tested for null.
func filterValues(mem memory.Allocator, f rawFilter, col Column) (arrow.Array, error) {
	if f.values == nil {
		return nil, nil
	}
	typ := col.Arrow
	switch typ.ID() {
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.STRUCT, arrow.MAP:
		return nil, fmt.Errorf("%w: %s: column %q is a %s; only is_null and not_null test it", errBadRequest, f.param, col.Name, col.Type)
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DATE32, arrow.TIME64, arrow.TIMESTAMP, arrow.STRING, arrow.LARGE_STRING:
	default:
		typ = arrow.BinaryTypes.String
	}
	b := array.NewBuilder(mem, typ)
	defer b.Release()
	for _, v := range f.values {
		if err := appendValue(b, v); err != nil {
			return nil, fmt.Errorf("%w: %s: %q is not a %s value for column %q: %s", errBadRequest, f.param, v, col.Type, col.Name, err.Error())
		}
	}
	return b.NewArray(), nil
}

// appendValue parses v into b. Strings go as they are (arrow-go would read
// "(null)" as a null); "(null)" and a bare number are refused for times,
// where arrow-go would take them as a null and a count of ticks.
func appendValue(b array.Builder, v string) error {
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v)
		return nil
	case *array.LargeStringBuilder:
		b.Append(v)
		return nil
	case *array.Int8Builder, *array.Int16Builder, *array.Int32Builder, *array.Int64Builder:
		if _, err := strconv.ParseInt(v, 10, b.Type().(arrow.FixedWidthDataType).BitWidth()); err != nil {
			return fmt.Errorf("want a whole number that fits %s", b.Type())
		}
	case *array.Uint8Builder, *array.Uint16Builder, *array.Uint32Builder, *array.Uint64Builder:
		if _, err := strconv.ParseUint(v, 10, b.Type().(arrow.FixedWidthDataType).BitWidth()); err != nil {
			return fmt.Errorf("want a whole number that fits %s", b.Type())
		}
	case *array.Float32Builder, *array.Float64Builder:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("want a number")
		}
	case *array.BooleanBuilder:
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("want true or false")
		}
	case *array.TimestampBuilder, *array.Date32Builder, *array.Time64Builder:
		if _, err := strconv.ParseInt(v, 10, 64); err == nil || v == array.NullValueStr {
			return fmt.Errorf("want a date or time such as 2026-11-01 or 2026-11-01T10:00:00Z")
		}
	}
	if v == array.NullValueStr || strings.TrimSpace(v) != v || v == "" {
		return fmt.Errorf("want a value without surrounding blanks (is_null tests for null)")
	}
	return b.AppendValueFromString(v)
}

// joinMax joins at most n names, saying how many more there are.
func joinMax(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// The formats GET …/rows answers in.
const (
	mimeJSON  = "application/json"
	mimeCSV   = "text/csv"
	mimeArrow = "application/vnd.apache.arrow.stream"
)

var rowFormats = []string{mimeJSON, mimeCSV, mimeArrow}

// negotiate picks the format of the Accept header (RFC 9110 12.5.1): the
// supported type with the highest q, JSON for */* and when absent. q=0
// refuses a type.
func negotiate(accept string) (string, error) {
	if strings.TrimSpace(accept) == "" {
		return mimeJSON, nil
	}
	best, bestQ := "", 0.0
	for _, r := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(r))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		var match string
		switch {
		case mt == "*/*" || mt == "application/*":
			match = mimeJSON
		case mt == "text/*":
			match = mimeCSV
		case slices.Contains(rowFormats, mt):
			match = mt
		}
		if match != "" && q > bestQ {
			best, bestQ = match, q
		}
	}
	if best == "" {
		return "", notAcceptable(accept)
	}
	return best, nil
}
