package catalog

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

// Nesting limits of a column's type, kept at every door (ingest, SQL
// writes, schema changes). DuckDB's scan of a list column slows
// exponentially with the depth of list nesting (measured: about 2× per
// level, 0.4 s for one row at 22 levels, minutes at 30) and cannot be
// interrupted meanwhile, so a table must never hold one that deep. Structs
// cost nothing like it, but clients stop first: arrow-go's IPC writer at 64
// levels, pyarrow's C-data import (ADBC Python) at 63 structs under the
// row; 32 leaves room.
const (
	MaxListDepth = 16
	MaxNesting   = 32
)

// Nesting is the deepest run of lists in t and the depth of t (a map counts
// as a list of key-value structs, as Arrow lays it out).
func Nesting(t arrow.DataType) (lists, depth int) {
	switch t := t.(type) {
	case arrow.ListLikeType:
		l, d := Nesting(t.Elem())
		return l + 1, d + 1
	case *arrow.StructType:
		for _, f := range t.Fields() {
			l, d := Nesting(f.Type)
			lists, depth = max(lists, l), max(depth, d)
		}
		return lists, depth + 1
	case *arrow.DictionaryType:
		return Nesting(t.ValueType)
	}
	return 0, 0
}

// icebergNesting is Nesting of an Iceberg type.
func icebergNesting(t iceberg.Type) (lists, depth int) {
	switch t := t.(type) {
	case *iceberg.ListType:
		l, d := icebergNesting(t.ElementField().Type)
		return l + 1, d + 1
	case *iceberg.MapType:
		lk, dk := icebergNesting(t.KeyField().Type)
		lv, dv := icebergNesting(t.ValueField().Type)
		return max(lk, lv) + 1, max(dk, dv) + 2
	case *iceberg.StructType:
		for _, f := range t.FieldList {
			l, d := icebergNesting(f.Type)
			lists, depth = max(lists, l), max(depth, d)
		}
		return lists, depth + 1
	}
	return 0, 0
}

// NestingProblem says why a column nesting lists and depth levels cannot
// be kept, or "" when it can.
func NestingProblem(name string, lists, depth int) string {
	switch {
	case lists > MaxListDepth:
		return fmt.Sprintf("column %q nests lists %d deep; at most %d are kept (DuckDB's scans of deeper lists take "+
			"exponential time)", name, lists, MaxListDepth)
	case depth > MaxNesting:
		return fmt.Sprintf("column %q nests %d types deep; at most %d are kept", name, depth, MaxNesting)
	}
	return ""
}

// checkSchemaNesting refuses an Iceberg schema with a column nested deeper
// than the limits.
func checkSchemaNesting(id Ident, sc *iceberg.Schema) error {
	for _, f := range sc.Fields() {
		lists, depth := icebergNesting(f.Type)
		if p := NestingProblem(f.Name, lists, depth); p != "" {
			return fmt.Errorf("%w: table %s: %s", ErrInvalidArgument, id, p)
		}
	}
	return nil
}
