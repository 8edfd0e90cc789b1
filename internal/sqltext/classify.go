package sqltext

// StmtKind is what a statement is, judged by its leading words.
type StmtKind int

const (
	KindEmpty    StmtKind = iota
	KindQuery             // SELECT, FROM-first, VALUES, TABLE, PIVOT, UNPIVOT, ( … ), WITH … one of those
	KindExplain           // EXPLAIN [ANALYZE] …, DESCRIBE, SUMMARIZE, SHOW
	KindInsert            // INSERT (also with a WITH prefix)
	KindUpdate            // UPDATE (also with a WITH prefix)
	KindDelete            // DELETE (also with a WITH prefix)
	KindMerge             // MERGE INTO (also with a WITH prefix)
	KindCreate            // CREATE … (Info.Object says what)
	KindDrop              // DROP …
	KindAlter             // ALTER …
	KindCall              // CALL
	KindSet               // SET, RESET
	KindUse               // USE
	KindBegin             // BEGIN, START TRANSACTION
	KindCommit            // COMMIT, END
	KindRollback          // ROLLBACK, ABORT
	KindPragma            // PRAGMA
	KindOther             // anything else (COPY, ATTACH, …): Info.Lead names it
)

var kindNames = [...]string{"empty", "query", "explain", "insert", "update", "delete", "merge", "create", "drop",
	"alter", "call", "set", "use", "begin", "commit", "rollback", "pragma", "other"}

func (k StmtKind) String() string { return kindNames[k] }

// Info is a statement's classification.
type Info struct {
	Kind StmtKind
	// Lead is the index of the statement's main keyword: after a WITH
	// prefix, if any; -1 for an empty statement.
	Lead int
	// With is the index of a leading WITH, or -1; CTEs are the names that
	// prefix defines (lower-cased unless quoted).
	With int
	CTEs []string
	// Inner is, for KindExplain, the index where the explained statement
	// starts (0 when it explains a table name or nothing).
	Inner int
	// Object is, for CREATE/DROP/ALTER, the kind of object ("table",
	// "schema", "view", "macro", …); Temp and OrReplace are their modifiers.
	Object    string
	Temp      bool
	OrReplace bool
}

// queryLead are the words a query may start with.
var queryLead = map[string]bool{"select": true, "from": true, "values": true, "table": true, "pivot": true,
	"unpivot": true, "with": true, "pivot_wider": true, "pivot_longer": true}

// startsQuery reports whether toks[i] can start a query.
func (toks Tokens) startsQuery(i int) bool {
	return i < len(toks) && (toks[i].Kind == Word && queryLead[toks[i].Text] || toks[i].Sym("("))
}

// Classify says what the statement toks is.
func Classify(toks Tokens) Info {
	info := Info{Lead: -1, With: -1}
	if len(toks) == 0 {
		return info
	}
	info.Lead = 0
	if toks.Word(0, "with") {
		names, next, ok := toks.cteList(0)
		info.With, info.CTEs = 0, names
		if !ok {
			info.Kind = KindQuery // DuckDB reports the syntax error
			return info
		}
		info.Lead = next
	}
	i := info.Lead
	if i >= len(toks) {
		info.Kind = KindQuery
		return info
	}
	t := toks[i]
	if t.Sym("(") {
		info.Kind = KindQuery
		return info
	}
	if t.Kind != Word {
		info.Kind = KindOther
		return info
	}
	switch t.Text {
	case "select", "from", "values", "table", "pivot", "unpivot", "pivot_wider", "pivot_longer":
		info.Kind = KindQuery
	case "insert":
		info.Kind = KindInsert
	case "update":
		info.Kind = KindUpdate
		if toks.Word(i+1, "extensions") {
			info.Kind = KindOther
		}
	case "delete":
		info.Kind = KindDelete
	case "merge":
		info.Kind = KindMerge
	case "explain":
		info.Kind, info.Inner = KindExplain, i+1
		if toks.Word(info.Inner, "analyze") {
			info.Inner++
		}
		if toks.Sym(info.Inner, "(") && !toks.startsQuery(info.Inner+1) { // EXPLAIN (FORMAT json) …
			if c := toks.Close(info.Inner); c > 0 {
				info.Inner = c + 1
			}
		}
	case "describe", "desc", "summarize", "show":
		info.Kind = KindExplain
		if toks.startsQuery(i + 1) {
			info.Inner = i + 1
		}
	case "create", "drop", "alter":
		info.Kind = map[string]StmtKind{"create": KindCreate, "drop": KindDrop, "alter": KindAlter}[t.Text]
		j := i + 1
		if toks.Words(j, "or", "replace") {
			info.OrReplace = true
			j += 2
		}
		for toks.Word(j, "temp") || toks.Word(j, "temporary") || toks.Word(j, "persistent") || toks.Word(j, "unique") {
			if !toks.Word(j, "persistent") && !toks.Word(j, "unique") {
				info.Temp = true
			}
			j++
		}
		if j < len(toks) && toks[j].Kind == Word {
			info.Object = toks[j].Text
		}
	case "call":
		info.Kind = KindCall
	case "set", "reset":
		info.Kind = KindSet
	case "use":
		info.Kind = KindUse
	case "begin":
		info.Kind = KindBegin
	case "start":
		info.Kind = KindOther
		if toks.Word(i+1, "transaction") {
			info.Kind = KindBegin
		}
	case "commit", "end":
		info.Kind = KindCommit
	case "rollback", "abort":
		info.Kind = KindRollback
	case "pragma":
		info.Kind = KindPragma
	default:
		info.Kind = KindOther
	}
	if info.With >= 0 && info.Kind != KindQuery && info.Kind != KindInsert && info.Kind != KindUpdate &&
		info.Kind != KindDelete && info.Kind != KindMerge {
		info.Kind = KindOther // WITH before anything else: DuckDB decides (and refuses)
	}
	return info
}

// cteList reads WITH [RECURSIVE] name [(cols)] [USING KEY (…)] AS [NOT]
// [MATERIALIZED] (…) [, …] starting at the WITH at toks[i]: the names and
// the index after the list; ok is false when it does not parse.
func (toks Tokens) cteList(i int) (names []string, next int, ok bool) {
	j := i + 1
	if toks.Word(j, "recursive") {
		j++
	}
	for {
		if j >= len(toks) || !toks[j].Ident() {
			return names, j, false
		}
		name := toks[j].Text
		j++
		if toks.Sym(j, "(") {
			if j = toks.Close(j); j < 0 {
				return names, len(toks), false
			}
			j++
		}
		if toks.Words(j, "using", "key") {
			if j = toks.Close(j + 2); j < 0 {
				return names, len(toks), false
			}
			j++
		}
		if !toks.Word(j, "as") {
			return names, j, false
		}
		j++
		if toks.Word(j, "not") {
			j++
		}
		if toks.Word(j, "materialized") {
			j++
		}
		c := toks.Close(j)
		if c < 0 {
			return names, len(toks), false
		}
		names = append(names, name)
		j = c + 1
		if !toks.Sym(j, ",") {
			return names, j, true
		}
		j++
	}
}

// CTENames returns the names every WITH in toks defines, at any depth: a
// one-part reference to one of them is not a table (an over-approximation
// that only ever leaves a same-named table unpinned, which DuckDB then
// resolves to the CTE anyway or the engine's guard refuses).
func (toks Tokens) CTENames() map[string]bool {
	out := map[string]bool{}
	for i := range toks {
		if toks[i].Is("with") {
			names, _, _ := toks.cteList(i)
			for _, n := range names {
				out[lower(n)] = true
			}
		}
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
