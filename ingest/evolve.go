package ingest

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	icetable "github.com/apache/iceberg-go/table"
)

// schemaChange is what must happen to a table's schema before incoming
// columns can be appended: new columns to add and columns to widen.
type schemaChange struct {
	add    []arrow.Field
	widen  []arrow.Field // the field with its new (wider) type
	remove []string      // replace mode only: table columns the input lacks
}

func (c schemaChange) empty() bool { return len(c.add)+len(c.widen)+len(c.remove) == 0 }

// planSchema compares the table's schema with the incoming (already
// Iceberg-mapped) one. On append, new columns are added as nullable and
// int→long, float→double and decimal precision are widened; any other type
// difference is an error naming the column. With exact (replace mode) the
// table takes the incoming schema: missing columns are removed as well.
func planSchema(tbl, in *arrow.Schema, exact bool) (schemaChange, error) {
	var ch schemaChange
	for _, f := range in.Fields() {
		idx := tbl.FieldIndices(f.Name)
		if len(idx) == 0 {
			ch.add = append(ch.add, f)
			continue
		}
		tf := tbl.Field(idx[0])
		switch {
		case arrow.TypeEqual(tf.Type, f.Type):
		case widens(f.Type, tf.Type):
			// the input is narrower: cast it up while writing
		case widens(tf.Type, f.Type):
			ch.widen = append(ch.widen, f)
		default:
			return ch, fmt.Errorf("%w: column %q: the table has %s, the input has %s; only int32→int64, float32→float64 and wider decimals change on append",
				ErrSchema, f.Name, tf.Type, f.Type)
		}
	}
	if exact {
		for _, tf := range tbl.Fields() {
			if !in.HasField(tf.Name) {
				ch.remove = append(ch.remove, tf.Name)
			}
		}
	}
	return ch, nil
}

// widens reports whether from can be promoted to to without loss, by
// Iceberg's rules.
func widens(from, to arrow.DataType) bool {
	switch f := from.(type) {
	case *arrow.Int32Type:
		return to.ID() == arrow.INT64
	case *arrow.Float32Type:
		return to.ID() == arrow.FLOAT64
	case *arrow.Decimal128Type:
		t, ok := to.(*arrow.Decimal128Type)
		return ok && t.Scale == f.Scale && t.Precision > f.Precision
	}
	return false
}

// apply stages the change on an Iceberg schema update.
func (c schemaChange) apply(u *icetable.UpdateSchema) error {
	for _, name := range c.remove {
		u.DeleteColumn([]string{name})
	}
	for _, f := range c.add {
		// Converted as a one-column schema: the fields inside a struct,
		// list or map need ids to convert (ArrowTypeToIceberg fails on
		// them with "missing field_id"); AddColumn gives them the table's.
		sc, err := icetable.ArrowSchemaToIcebergWithFreshIDs(arrow.NewSchema([]arrow.Field{f}, nil), true)
		if err != nil {
			return fmt.Errorf("%w: column %q: %w", ErrSchema, f.Name, err)
		}
		u.AddColumn([]string{f.Name}, sc.Field(0).Type, "", false, nil)
	}
	for _, f := range c.widen {
		t, err := icetable.ArrowTypeToIceberg(f.Type, true)
		if err != nil {
			return fmt.Errorf("%w: column %q: %w", ErrSchema, f.Name, err)
		}
		u.UpdateColumn([]string{f.Name}, icetable.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: t, Valid: true}})
	}
	return nil
}
