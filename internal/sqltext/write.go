package sqltext

// WriteKind is the kind of statement that may write to an Iceberg table
// or namespace.
type WriteKind int

const (
	WriteInsert WriteKind = iota
	WriteUpdate
	WriteDelete
	WriteMerge
	WriteCreateTable // CREATE [OR REPLACE] TABLE … (columns) or … AS query
	WriteDropTable
	WriteAlterTable
	WriteCreateSchema
	WriteDropSchema
)

var writeNames = [...]string{"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE TABLE", "DROP TABLE", "ALTER TABLE",
	"CREATE SCHEMA", "DROP SCHEMA"}

func (k WriteKind) String() string { return writeNames[k] }

// DML reports INSERT, UPDATE, DELETE and MERGE.
func (k WriteKind) DML() bool { return k <= WriteMerge }

// Name is a dotted name in a statement: its parts and its token span
// [Start, End).
type Name struct {
	Parts      []string
	Start, End int
}

// Write is a statement that may write to the lakehouse, parsed by its
// leading words; the engine decides from the target whether it is an
// Iceberg write or one on a TEMP object.
type Write struct {
	Kind    WriteKind
	Info    Info
	Targets []Name // DROP TABLE a, b names several; the others one
	// Alias is the target's alias ("" when none) and AliasEnd the index
	// after the target and its alias.
	Alias                 string
	AliasEnd              int
	IfExists, IfNotExists bool
	OrReplace, Cascade    bool
	InsertOr              bool // INSERT OR REPLACE / OR IGNORE
	Returning             int  // index of a top-level RETURNING, or -1
}

// Target is the (first) target name.
func (w *Write) Target() Name { return w.Targets[0] }

// ParseWrite recognises INSERT, UPDATE, DELETE and MERGE (with or without
// a WITH prefix) and non-TEMP CREATE/DROP/ALTER TABLE and CREATE/DROP
// SCHEMA; nil for anything else.
func ParseWrite(toks Tokens) *Write {
	info := Classify(toks)
	w := &Write{Info: info, Returning: -1}
	i := info.Lead + 1
	switch info.Kind {
	case KindInsert:
		w.Kind = WriteInsert
		if toks.Word(i, "or") {
			w.InsertOr = true
			i += 2 // OR REPLACE | OR IGNORE
		}
		if !toks.Word(i, "into") {
			return nil
		}
		i++
	case KindUpdate:
		w.Kind = WriteUpdate
	case KindDelete:
		w.Kind = WriteDelete
		if !toks.Word(i, "from") {
			return nil
		}
		i++
	case KindMerge:
		w.Kind = WriteMerge
		if !toks.Word(i, "into") {
			return nil
		}
		i++
	case KindCreate, KindDrop, KindAlter:
		if info.Temp || (info.Object != "table" && info.Object != "schema") || (info.Kind == KindAlter && info.Object != "table") {
			return nil
		}
		w.Kind = map[StmtKind]WriteKind{KindCreate: WriteCreateTable, KindDrop: WriteDropTable, KindAlter: WriteAlterTable}[info.Kind]
		if info.Object == "schema" {
			w.Kind = map[StmtKind]WriteKind{KindCreate: WriteCreateSchema, KindDrop: WriteDropSchema}[info.Kind]
		}
		w.OrReplace = info.OrReplace
		i = info.Lead + 1
		for i < len(toks) && !toks[i].Is(info.Object) {
			i++
		}
		i++
		switch {
		case info.Kind == KindCreate && toks.Words(i, "if", "not", "exists"):
			w.IfNotExists = true
			i += 3
		case info.Kind != KindCreate && toks.Words(i, "if", "exists"):
			w.IfExists = true
			i += 2
		}
	default:
		return nil
	}
	parts, j := toks.Name(i)
	if len(parts) == 0 {
		return nil
	}
	w.Targets = []Name{{Parts: parts, Start: i, End: j}}
	if w.Kind == WriteDropTable || w.Kind == WriteDropSchema {
		for toks.Sym(j, ",") {
			parts, k := toks.Name(j + 1)
			if len(parts) == 0 {
				break
			}
			w.Targets = append(w.Targets, Name{Parts: parts, Start: j + 1, End: k})
			j = k
		}
		switch {
		case toks.Word(j, "cascade"):
			w.Cascade = true
			j++
		case toks.Word(j, "restrict"): // the default
			j++
		}
	}
	w.AliasEnd = j
	if w.Kind.DML() {
		if a, end, ok := toks.alias(j); ok {
			w.Alias, w.AliasEnd = a, end
		}
		w.Returning = toks.TopLevel(j, "returning")
	}
	return w
}

// aliasStop are words that can follow a table reference: they end it
// rather than alias it.
var aliasStop = map[string]bool{
	"where": true, "group": true, "having": true, "order": true, "limit": true, "offset": true,
	"join": true, "inner": true, "left": true, "right": true, "full": true, "outer": true, "cross": true,
	"natural": true, "positional": true, "asof": true, "semi": true, "anti": true, "on": true, "using": true,
	"union": true, "except": true, "intersect": true, "window": true, "qualify": true, "set": true,
	"returning": true, "values": true, "select": true, "from": true, "when": true, "then": true,
	"pivot": true, "unpivot": true, "tablesample": true, "fetch": true, "for": true, "by": true,
	"default": true, "with": true, "table": true, "lateral": true, "into": true, "do": true,
	"pivot_wider": true, "pivot_longer": true, "in": true, "not": true, "and": true, "or": true,
	"cascade": true, "restrict": true, "include": true, "exclude": true, "rename": true, "replace": true,
}

// alias reads an alias at toks[i] (AS name, or a bare name that is not a
// clause word, or a quoted name): the alias, the index after it, ok.
func (toks Tokens) alias(i int) (string, int, bool) {
	if toks.Word(i, "as") && i+1 < len(toks) && toks[i+1].Ident() {
		return toks[i+1].Text, i + 2, true
	}
	if i >= len(toks) {
		return "", i, false
	}
	t := toks[i]
	switch {
	case t.Kind == Quoted:
		return t.Text, i + 1, true
	case t.Kind != Word, aliasStop[t.Text]:
		return "", i, false
	case t.Text == "at" && toks.Sym(i+1, "("): // AT (VERSION => …), not an alias
		return "", i, false
	}
	return t.Text, i + 1, true
}
