package web

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/labstack/echo/v4"
)

// Headers of a rows answer. Whether the limit cut the rows is known only
// at the end: JSON says it in its last member, CSV and Arrow in a trailer.
const (
	headerSnapshot  = "Lakeflight-Snapshot-Id"
	headerTruncated = "Lakeflight-Truncated"
)

// rowsMeta is what a rows answer says besides its rows.
type rowsMeta struct {
	table    string
	snapshot string // the snapshot as_of named; "" for current data
}

// rowEncoder writes one format: begin once, rows batch by batch, end once.
type rowEncoder interface {
	begin(schema *arrow.Schema) error
	write(rec arrow.RecordBatch) error
	end(rows int64, truncated bool) error
}

func notAcceptable(accept string) error {
	return echo.NewHTTPError(http.StatusNotAcceptable,
		fmt.Sprintf("Accept %q: rows are sent as %s, %s or %s", accept, mimeJSON, mimeCSV, mimeArrow))
}

// writeRows streams at most limit rows of rdr. The first batch is read
// before anything is sent, so an error DuckDB finds early (most of them)
// is still a problem+json answer. An error after the status went out
// aborts the connection: the client sees a cut-off body, never a short
// one that looks complete.
func (s *Server) writeRows(c echo.Context, format string, rdr array.RecordReader, limit int64, meta rowsMeta) error {
	more := rdr.Next()
	if !more && rdr.Err() != nil {
		return rdr.Err()
	}
	mem := s.opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, format)
	if format == mimeCSV {
		h.Set(echo.HeaderContentType, mimeCSV+"; charset=utf-8; header=present")
	}
	if meta.snapshot != "" {
		h.Set(headerSnapshot, meta.snapshot)
	}
	if format != mimeJSON {
		h.Set("Trailer", headerTruncated)
	}
	res.WriteHeader(http.StatusOK)
	w := bufio.NewWriterSize(res, 64<<10)
	var enc rowEncoder
	switch format {
	case mimeCSV:
		enc = &csvRows{w: csv.NewWriter(w)}
	case mimeArrow:
		enc = &arrowRows{w: w, mem: mem}
	default:
		enc = &jsonRows{w: w, meta: meta}
	}
	n, truncated, err := copyRows(enc, rdr, more, limit)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		s.opts.Logger.Warn("rows answer cut off", "path", c.Path(), "table", meta.table, "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	h.Set(headerTruncated, strconv.FormatBool(truncated))
	return nil
}

// copyRows feeds rdr's batches (the first already read: more) to enc, up to
// limit rows; truncated reports rows left over.
func copyRows(enc rowEncoder, rdr array.RecordReader, more bool, limit int64) (n int64, truncated bool, err error) {
	if err := enc.begin(rdr.Schema()); err != nil {
		return 0, false, err
	}
	for ; more; more = rdr.Next() {
		rec := rdr.RecordBatch()
		if left := limit - n; rec.NumRows() > left {
			truncated = true
			if left > 0 {
				part := rec.NewSlice(0, left)
				err = enc.write(part)
				part.Release()
				n += left
			}
			break
		}
		if err := enc.write(rec); err != nil {
			return n, false, err
		}
		n += rec.NumRows()
	}
	if err == nil && !truncated {
		err = rdr.Err()
	}
	if err != nil {
		return n, truncated, err
	}
	return n, truncated, enc.end(n, truncated)
}

// jsonRows writes {"table", "snapshot_id", "columns", "rows": [[…], …],
// "row_count", "truncated"}, a row at a time.
type jsonRows struct {
	w    *bufio.Writer
	meta rowsMeta
	n    int64
	buf  []byte
}

type jsonColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (j *jsonRows) begin(schema *arrow.Schema) error {
	cols := make([]jsonColumn, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = jsonColumn{Name: f.Name, Type: f.Type.String()}
	}
	head, err := json.Marshal(cols)
	if err != nil {
		return err
	}
	table, _ := json.Marshal(j.meta.table)
	snap := "null"
	if j.meta.snapshot != "" {
		snap = j.meta.snapshot
	}
	_, err = fmt.Fprintf(j.w, `{"table":%s,"snapshot_id":%s,"columns":%s,"rows":[`, table, snap, head)
	return err
}

func (j *jsonRows) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for r := range int(rec.NumRows()) {
		b := j.buf[:0]
		if j.n > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n["...)
		for c, col := range cols {
			if c > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(b, col, r); err != nil {
				return fmt.Errorf("column %s: %w", rec.ColumnName(c), err)
			}
		}
		b = append(b, ']')
		j.n++
		j.buf = b
		if _, err := j.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonRows) end(rows int64, truncated bool) error {
	_, err := fmt.Fprintf(j.w, "\n],\"row_count\":%d,\"truncated\":%t}\n", rows, truncated)
	return err
}

// appendJSONValue appends row r of col as JSON: numbers as numbers (NaN
// and the infinities, which JSON lacks, as strings), decimals and times as
// strings, nested values as arrays and objects.
func appendJSONValue(b []byte, col arrow.Array, r int) ([]byte, error) {
	if col.IsNull(r) {
		return append(b, "null"...), nil
	}
	switch a := col.(type) {
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(r), 10), nil
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(r)), 10), nil
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(r)), nil
	case *array.Float64:
		return appendFloat(b, a.Value(r), 64), nil
	case *array.Float32:
		return appendFloat(b, float64(a.Value(r)), 32), nil
	}
	if d, ok := decimalText(col, r); ok {
		return strconv.AppendQuote(b, d), nil
	}
	v, err := json.Marshal(col.GetOneForMarshal(r))
	if err != nil {
		return b, err
	}
	return append(b, v...), nil
}

// decimalText is a decimal value with all the digits of its scale
// ("7.50" for 7.5 in a decimal(10,2)): arrow's own text drops trailing
// zeros, and a client reading money should not have to put them back.
func decimalText(col arrow.Array, r int) (string, bool) {
	switch a := col.(type) {
	case *array.Decimal128:
		return a.Value(r).ToString(a.DataType().(*arrow.Decimal128Type).Scale), true
	case *array.Decimal256:
		return a.Value(r).ToString(a.DataType().(*arrow.Decimal256Type).Scale), true
	}
	return "", false
}

func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// csvRows writes a header line of column names, then one line per row;
// a null is an empty field.
type csvRows struct {
	w   *csv.Writer
	rec []string
}

func (c *csvRows) begin(schema *arrow.Schema) error {
	c.rec = make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		c.rec[i] = f.Name
	}
	return c.w.Write(c.rec)
}

func (c *csvRows) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for r := range int(rec.NumRows()) {
		for i, col := range cols {
			c.rec[i] = ""
			if col.IsNull(r) {
				continue
			}
			if d, ok := decimalText(col, r); ok {
				c.rec[i] = d
			} else {
				c.rec[i] = col.ValueStr(r)
			}
		}
		if err := c.w.Write(c.rec); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

func (c *csvRows) end(int64, bool) error {
	c.w.Flush()
	return c.w.Error()
}

// arrowRows writes an Arrow IPC stream: the schema, the batches as they
// come, the end-of-stream marker.
type arrowRows struct {
	w   io.Writer
	mem memory.Allocator
	ipc *ipc.Writer
}

func (a *arrowRows) begin(schema *arrow.Schema) error {
	a.ipc = ipc.NewWriter(a.w, ipc.WithSchema(schema), ipc.WithAllocator(a.mem))
	return nil
}

func (a *arrowRows) write(rec arrow.RecordBatch) error { return a.ipc.Write(rec) }

func (a *arrowRows) end(int64, bool) error { return a.ipc.Close() }
