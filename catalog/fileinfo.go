package catalog

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// The kinds of file FileInfo.Content names.
const (
	contentData            = "data"
	contentPositionDeletes = "position_deletes"
	contentEqualityDeletes = "equality_deletes"
)

// fileRenderer turns manifest entries into FileInfo. It resolves field ids
// and partition specs once per listing, not once per file (a table may have
// ten thousand files), and is read-only after newFileRenderer, so manifests
// can be rendered in parallel.
type fileRenderer struct {
	columns map[int]column
	specs   map[int32][]partitionColumn
}

// column is a field id resolved to the column's name and type.
type column struct {
	name string
	typ  iceberg.Type // nil for a field no schema knows
}

type partitionColumn struct {
	fieldID int
	name    string
	typ     iceberg.Type // the transform's result type
}

// newFileRenderer names field ids by the snapshot's schema; a file may also
// carry metrics of a column that schema does not have, which the table's
// other schemas name (newest first).
func newFileRenderer(md table.Metadata, snapSchema *iceberg.Schema) (*fileRenderer, error) {
	r := &fileRenderer{columns: map[int]column{}, specs: map[int32][]partitionColumn{}}
	schemas := []*iceberg.Schema{snapSchema}
	all := md.Schemas()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].ID != snapSchema.ID {
			schemas = append(schemas, all[i])
		}
	}
	for _, sc := range schemas {
		names, err := iceberg.IndexNameByID(sc)
		if err != nil {
			return nil, fmt.Errorf("indexing schema %d: %w", sc.ID, err)
		}
		fields, err := iceberg.IndexByID(sc)
		if err != nil {
			return nil, fmt.Errorf("indexing schema %d: %w", sc.ID, err)
		}
		for id, name := range names {
			if _, ok := r.columns[id]; !ok {
				r.columns[id] = column{name: name, typ: fields[id].Type}
			}
		}
	}
	for _, spec := range md.PartitionSpecs() {
		var cols []partitionColumn
		for _, pf := range spec.Fields() {
			col := partitionColumn{fieldID: pf.FieldID, name: pf.Name}
			if len(pf.SourceIDs) == 1 {
				if src := r.column(pf.SourceIDs[0]); src.typ != nil {
					col.typ = pf.Transform.ResultType(src.typ)
				}
			}
			cols = append(cols, col)
		}
		r.specs[int32(spec.ID())] = cols
	}
	return r, nil
}

func (r *fileRenderer) file(df iceberg.DataFile) FileInfo {
	f := FileInfo{
		Content:     contentName(df.ContentType()),
		Path:        df.FilePath(),
		Format:      strings.ToUpper(string(df.FileFormat())),
		SpecID:      df.SpecID(),
		Partition:   r.partition(df),
		RecordCount: df.Count(),
		SortOrderID: df.SortOrderID(),
		SizeBytes:   df.FileSizeBytes(),
		ColumnSizes: r.counts(df.ColumnSizes()),
		ValueCounts: r.counts(df.ValueCounts()),
		NullCounts:  r.counts(df.NullValueCounts()),
		LowerBounds: r.bounds(df.LowerBoundValues()),
		UpperBounds: r.bounds(df.UpperBoundValues()),
	}
	return f
}

func contentName(c iceberg.ManifestEntryContent) string {
	switch c {
	case iceberg.EntryContentPosDeletes:
		return contentPositionDeletes
	case iceberg.EntryContentEqDeletes:
		return contentEqualityDeletes
	}
	return contentData
}

// column resolves a field id; one no schema knows is named "#<id>".
func (r *fileRenderer) column(id int) column {
	if col, ok := r.columns[id]; ok {
		return col
	}
	return column{name: "#" + strconv.Itoa(id)}
}

func (r *fileRenderer) counts(in map[int]int64) map[string]int64 {
	out := make(map[string]int64, len(in))
	for id, n := range in {
		out[r.column(id).name] = n
	}
	return out
}

func (r *fileRenderer) bounds(in map[int][]byte) map[string]string {
	out := make(map[string]string, len(in))
	for id, b := range in {
		col := r.column(id)
		out[col.name] = renderBound(col.typ, b)
	}
	return out
}

// partition renders the file's partition tuple as a JSON object in the
// order of its spec's fields.
func (r *fileRenderer) partition(df iceberg.DataFile) string {
	cols := r.specs[df.SpecID()]
	if len(cols) == 0 {
		return "{}"
	}
	values := df.Partition()
	var b strings.Builder
	b.WriteByte('{')
	for i, col := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(col.name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(jsonValue(col.typ, values[col.fieldID]))
	}
	b.WriteByte('}')
	return b.String()
}

// jsonValue is a partition value as JSON: numbers and booleans as such,
// everything else as its rendered string.
func jsonValue(typ iceberg.Type, v any) []byte {
	switch v.(type) {
	case nil:
		return []byte("null")
	case bool, int, int32, int64, float32, float64, string:
		if b, err := json.Marshal(v); err == nil {
			return b
		}
	}
	b, _ := json.Marshal(renderValue(typ, v))
	return b
}

// renderBound decodes a bound from Iceberg's single-value binary
// serialization by the column's type and renders it (renderValue). A bound
// that does not decode is shown in hex.
func renderBound(typ iceberg.Type, b []byte) string {
	if typ == nil {
		return hex.EncodeToString(b)
	}
	decodeAs := typ
	// A column promoted from int or float keeps the 4-byte bounds of the
	// files written before.
	if len(b) == 4 {
		switch typ.(type) {
		case iceberg.Int64Type:
			decodeAs = iceberg.PrimitiveTypes.Int32
		case iceberg.Float64Type:
			decodeAs = iceberg.PrimitiveTypes.Float32
		}
	}
	lit, err := iceberg.LiteralFromBytes(decodeAs, b)
	if err != nil {
		return hex.EncodeToString(b)
	}
	return renderValue(typ, lit.Any())
}

// renderValue renders a value as Iceberg's JSON single-value serialization
// does: dates "2026-11-01", times "10:00:00.000000", timestamps
// "2026-11-01T10:00:00.000000" ("+00:00" appended for a column with a time
// zone), decimals with their scale, binary and fixed as hex.
func renderValue(typ iceberg.Type, v any) string {
	var tz bool
	switch typ.(type) {
	case iceberg.TimestampTzType, iceberg.TimestampTzNsType:
		tz = true
	}
	zone := func(s string) string {
		if tz {
			return s + "+00:00"
		}
		return s
	}
	switch v := v.(type) {
	case nil:
		return "null"
	case iceberg.Date:
		return v.ToTime().Format("2006-01-02")
	case iceberg.Time:
		return v.ToTime().Format("15:04:05.000000")
	case iceberg.Timestamp:
		return zone(v.ToTime().Format("2006-01-02T15:04:05.000000"))
	case iceberg.TimestampNano:
		return zone(v.ToTime().Format("2006-01-02T15:04:05.000000000"))
	case []byte:
		return hex.EncodeToString(v)
	case uuid.UUID:
		return v.String()
	case iceberg.Decimal:
		return v.String()
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return v
	}
	return fmt.Sprint(v)
}
