package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/errkind"
)

// The REST reads: GET /v1/tables/{ns}/{table}/rows and …/schema. The
// handlers check every parameter here (names against the table's schema,
// filter values parsed into the column's type) and hand a Reader a request
// it can turn into SQL with quoted identifiers and bound parameters.

// Reader reads tables for the REST reads (cmd/lakeflight's tableReader,
// over the engine and the catalog).
type Reader interface {
	// Schema is the table's columns as of asOf (the zero AsOf: now) and
	// the snapshot that names. An unknown table, snapshot, tag or branch,
	// or a time before the first snapshot, is a NotFound error.
	Schema(ctx context.Context, id catalog.Ident, asOf AsOf) (TableSchema, error)
	// Rows streams the rows req asks for; the caller releases the reader,
	// which ends the query.
	Rows(ctx context.Context, req RowsRequest) (array.RecordReader, error)
}

// AsOf is what ?as_of= names: a snapshot id, a time or a tag or branch.
// The zero value means the current snapshot.
type AsOf struct {
	Snapshot int64     // set when Kind is "snapshot"
	Time     time.Time // set when Kind is "timestamp"
	Ref      string    // set when Kind is "ref"
	Text     string    // as given
}

// IsZero reports an AsOf that names nothing: read current data.
func (a AsOf) IsZero() bool { return a.Text == "" }

// TableSchema is a table's columns at one snapshot.
type TableSchema struct {
	Table catalog.Ident
	// SnapshotID is the snapshot described: as_of's, else the current one
	// (0 when the table has none yet). CurrentSnapshotID is the current one.
	SnapshotID        int64
	CurrentSnapshotID int64
	Columns           []Column
}

// Column is one top-level column of a table.
type Column struct {
	ID       int
	Name     string
	Type     string         // the Iceberg type: long, decimal(18, 2), timestamptz, list<string> …
	Arrow    arrow.DataType // how Arrow carries it
	Nullable bool
}

// RowsRequest is a checked read: every name is a column of the table and
// every filter value has its column's type.
type RowsRequest struct {
	Table catalog.Ident
	// Snapshot is the snapshot to read (resolved from as_of); 0 reads the
	// current data.
	Snapshot int64
	Columns  []string // at least one
	Filters  []Filter // all must hold
	OrderBy  []Order
	Limit    int64 // at most this many rows
}

// FilterOp is a comparison of ?where=.
type FilterOp string

// The operators of ?where=column:op:value.
const (
	OpEq      FilterOp = "eq"
	OpNe      FilterOp = "ne"
	OpLt      FilterOp = "lt"
	OpLe      FilterOp = "le"
	OpGt      FilterOp = "gt"
	OpGe      FilterOp = "ge"
	OpIn      FilterOp = "in"
	OpIsNull  FilterOp = "is_null"
	OpNotNull FilterOp = "not_null"
)

// Filter is one condition: Column Op Values. Values has one element per
// value (several for OpIn, none for OpIsNull and OpNotNull: nil), each to
// be bound as a parameter; the handler owns and releases it.
type Filter struct {
	Column string
	Op     FilterOp
	Values arrow.Array
}

// Order is one ORDER BY term.
type Order struct {
	Column string
	Desc   bool
}

// DefaultMaxReadRows bounds ?limit= when Options.MaxReadRows is 0.
const DefaultMaxReadRows = 100_000

// defaultReadRows is the limit without ?limit=.
const defaultReadRows = 100

// errReadsOff: the sidecar was built without a Reader.
var errReadsOff = errkind.New(errkind.Unsupported, "table reads are not enabled on this server")

// readTarget is the Reader and the table the request names, once the
// server is ready (the Reader needs the engine).
func (s *Server) readTarget(c echo.Context) (Reader, catalog.Ident, error) {
	if s.opts.Reader == nil {
		return nil, catalog.Ident{}, errReadsOff
	}
	if !s.ready.Load() {
		return nil, catalog.Ident{}, ErrStarting
	}
	if c.Param("qualified") != "" {
		id, err := qualifiedTable(c)
		return s.opts.Reader, id, err
	}
	id, err := tableParam(c)
	return s.opts.Reader, id, err
}

// qualifiedTable is the table of /query/{ns.table} and /schema/{ns.table}:
// the namespace up to the first dot (namespaces have one level), the name
// after it.
func qualifiedTable(c echo.Context) (catalog.Ident, error) {
	q, err := pathParam(c, "qualified")
	if err != nil {
		return catalog.Ident{}, err
	}
	ns, name, ok := strings.Cut(q, ".")
	if !ok || ns == "" || name == "" {
		return catalog.Ident{}, fmt.Errorf("%w: table %q: want namespace.table, e.g. gold.fct_orders", errBadRequest, q)
	}
	return catalog.Ident{Namespace: ns, Name: name}, nil
}

// schemaResponse is the body of GET …/schema.
type schemaResponse struct {
	Table             string       `json:"table"`
	AsOf              string       `json:"as_of,omitempty"`
	SnapshotID        *int64       `json:"snapshot_id"`
	CurrentSnapshotID *int64       `json:"current_snapshot_id"`
	Columns           []columnJSON `json:"columns"`
}

type columnJSON struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	ArrowType string `json:"arrow_type"`
	Nullable  bool   `json:"nullable"`
}

// tableSchema is GET /v1/tables/{ns}/{table}/schema[?as_of=…].
func (s *Server) tableSchema(c echo.Context) error {
	rd, id, err := s.readTarget(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	if err := knownParams(q, []string{"as_of"}); err != nil {
		return err
	}
	asOf, err := parseAsOf(q)
	if err != nil {
		return err
	}
	sch, err := rd.Schema(c.Request().Context(), id, asOf)
	if err != nil {
		return err
	}
	res := schemaResponse{Table: id.String(), AsOf: asOf.Text, SnapshotID: optionalID(sch.SnapshotID),
		CurrentSnapshotID: optionalID(sch.CurrentSnapshotID), Columns: make([]columnJSON, 0, len(sch.Columns))}
	for _, col := range sch.Columns {
		res.Columns = append(res.Columns, columnJSON{ID: col.ID, Name: col.Name, Type: col.Type,
			ArrowType: col.Arrow.String(), Nullable: col.Nullable})
	}
	return c.JSON(http.StatusOK, res)
}

// tableRows is GET /v1/tables/{ns}/{table}/rows: the checked request runs
// with one row more than the limit, so the answer can say whether the
// limit cut it, and streams out in the format Accept asks for.
func (s *Server) tableRows(c echo.Context) error {
	rd, id, err := s.readTarget(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	p, err := parseRowsParams(q, s.opts.MaxReadRows)
	if err != nil {
		return err
	}
	format, err := negotiate(c.Request().Header.Get(echo.HeaderAccept))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sch, err := rd.Schema(ctx, id, p.asOf)
	if err != nil {
		return err
	}
	req, err := p.check(sch, s.opts.Allocator)
	if err != nil {
		return err
	}
	defer req.release()
	req.Limit = p.limit + 1
	rdr, err := rd.Rows(ctx, req.RowsRequest)
	if err != nil {
		return err
	}
	defer rdr.Release()
	meta := rowsMeta{table: id.String()}
	if !p.asOf.IsZero() {
		meta.snapshot = strconv.FormatInt(sch.SnapshotID, 10)
	}
	return s.writeRows(c, format, rdr, p.limit, meta)
}

// release frees the filter values of a checked request.
func (r checkedRows) release() {
	for _, f := range r.Filters {
		if f.Values != nil {
			f.Values.Release()
		}
	}
}

// checkedRows is a RowsRequest the handler built and owns.
type checkedRows struct{ RowsRequest }

// noColumn is the error for a name the table does not have.
func noColumn(param, name string, sch TableSchema) error {
	names := make([]string, len(sch.Columns))
	for i, c := range sch.Columns {
		names[i] = strconv.Quote(c.Name)
	}
	return fmt.Errorf("%w: %s: table %s has no column %q (its columns: %s); names are case-sensitive",
		errBadRequest, param, sch.Table, name, joinMax(names, 20))
}
