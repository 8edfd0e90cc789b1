package sqltext

// Table references found by tokens, for the statements DuckDB's serializer
// does not describe (writes, PIVOT without an IN list, CREATE TEMP TABLE …
// AS). A reference is a name (or a table function call) where a table may
// stand: after FROM or JOIN in a query context, after INSERT INTO, UPDATE,
// DELETE FROM, MERGE INTO, after USING in DELETE and MERGE, after TABLE or
// PIVOT/UNPIVOT at the start of a query, and after the commas of a FROM
// list. A FROM inside a function call (EXTRACT(year FROM ts)) is no table.

// At is an AT (unit => expression) clause: Start is the AT token, End the
// closing parenthesis, [ExprStart, ExprEnd) the expression's tokens.
type At struct {
	Start, End         int
	Unit               string // lower-cased: "version", "timestamp", or what was written
	ExprStart, ExprEnd int
	// Arrow: the clause has its "=>" (false for a malformed clause).
	Arrow bool
}

// Ref is one table reference.
type Ref struct {
	Name
	// Func: a table function call; Close is its ")".
	Func  bool
	Close int
	Alias string
	// Next is the index after the name, alias and column aliases.
	Next int
	At   *At
	// By is the word that introduced the reference ("from", "join",
	// "into", "update", "using", "table", "pivot", "unpivot", ",").
	By string
}

// atClause reads an AT clause at toks[i], if one is there.
func (toks Tokens) atClause(i int) *At {
	if !toks.Word(i, "at") || !toks.Sym(i+1, "(") {
		return nil
	}
	end := toks.Close(i + 1)
	if end < 0 {
		return nil
	}
	a := &At{Start: i, End: end, ExprStart: i + 2, ExprEnd: end}
	if i+2 < end && toks[i+2].Kind == Word {
		a.Unit = toks[i+2].Text
		if toks.Sym(i+3, "=>") {
			a.Arrow, a.ExprStart = true, i+4
		}
	}
	return a
}

// fromEnd are the words that end a FROM list at its own depth.
var fromEnd = map[string]bool{"where": true, "group": true, "having": true, "order": true, "limit": true,
	"offset": true, "qualify": true, "window": true, "union": true, "except": true, "intersect": true,
	"returning": true, "set": true, "select": true, "values": true, "when": true}

// Refs finds the table references of a statement by its tokens.
func Refs(toks Tokens) []Ref {
	info := Classify(toks)
	lead := ""
	if info.Lead >= 0 && info.Lead < len(toks) {
		lead = toks[info.Lead].Text
	}
	var out []Ref
	// One level per open parenthesis: is it a query context, and is a FROM
	// list open at that level (so a comma starts another table)?
	type level struct{ query, from bool }
	levels := []level{{query: true}}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		lv := &levels[len(levels)-1]
		switch {
		case t.Sym("("):
			levels = append(levels, level{query: toks.startsQuery(i + 1)})
			continue
		case t.Sym(")"):
			if len(levels) > 1 {
				levels = levels[:len(levels)-1]
			}
			continue
		case t.Sym(",") && lv.from:
			if r, _, ok := toks.refAt(i+1, ","); ok {
				out = append(out, r)
			}
			continue
		case t.Kind != Word || !lv.query:
			continue
		}
		top := len(levels) == 1
		if fromEnd[t.Text] {
			lv.from = false
		}
		by := ""
		switch t.Text {
		case "from":
			by = "from"
			lv.from = !top || lead != "delete" || !toks.Word(i-1, "delete") // DELETE FROM names one target
		case "join":
			by = "join"
		case "into":
			if top && (lead == "insert" || lead == "merge") && i == toks.nextAfterLead(info, "into") {
				by = "into"
			}
		case "update":
			if top && i == info.Lead {
				by = "update"
			}
		case "using":
			if top && (lead == "delete" || lead == "merge") && !toks.Word(i+1, "sample") && !toks.prevJoinItem(i) {
				by = "using"
				lv.from = lead == "delete"
			}
		case "table":
			if toks.identAt(i+1) && (i == info.Lead || toks.Sym(i-1, "(") || toks.Word(i-1, "union") || toks.Word(i-1, "except") ||
				toks.Word(i-1, "intersect") || toks.Word(i-1, "all") || toks.Word(i-1, "distinct")) {
				by = "table"
			}
		case "pivot", "unpivot", "pivot_wider", "pivot_longer":
			if toks.identAt(i+1) && (i == info.Lead || toks.Sym(i-1, "(") || toks.Word(i-1, "from") || toks.Word(i-1, "join")) {
				by = t.Text
			}
		}
		if by == "" {
			continue
		}
		if r, _, ok := toks.refAt(i+1, by); ok {
			out = append(out, r)
		}
	}
	return out
}

// identAt reports whether toks[i] is an identifier.
func (toks Tokens) identAt(i int) bool { return i < len(toks) && toks[i].Ident() }

// nextAfterLead is the index of the first word w after the lead keyword
// (INSERT [OR …] INTO, MERGE INTO), or -1.
func (toks Tokens) nextAfterLead(info Info, w string) int {
	for i := info.Lead + 1; i < len(toks) && i <= info.Lead+3; i++ {
		if toks[i].Is(w) {
			return i
		}
	}
	return -1
}

// prevJoinItem reports whether the USING at toks[i] follows a JOIN's table
// (JOIN t USING (cols)): a column list, not a table.
func (toks Tokens) prevJoinItem(i int) bool {
	for k := i - 1; k >= 0; k-- {
		switch {
		case toks[k].Is("join"):
			return true
		case toks[k].Is("from") || toks[k].Is("into") || toks[k].Is("using") || toks[k].Is("where") || toks[k].Is("on"):
			return false
		}
	}
	return false
}

// refAt reads one item of a FROM list at toks[i]: a name (with alias, column
// aliases and AT clause) or a table function call; a parenthesised item
// (subquery, nested join) is skipped, its insides being scanned on their
// own. It returns the reference (ok false for none) and the index after
// the item.
func (toks Tokens) refAt(i int, by string) (Ref, int, bool) {
	if toks.Word(i, "lateral") {
		i++
	}
	if toks.Sym(i, "(") {
		c := toks.Close(i)
		if c < 0 {
			return Ref{}, len(toks), false
		}
		next := c + 1
		if _, end, ok := toks.alias(next); ok {
			next = end
			if toks.Sym(next, "(") {
				if c := toks.Close(next); c > 0 {
					next = c + 1
				}
			}
		}
		return Ref{}, next, false
	}
	parts, j := toks.Name(i)
	if len(parts) == 0 {
		return Ref{}, i, false
	}
	r := Ref{Name: Name{Parts: parts, Start: i, End: j}, By: by}
	if toks.Sym(j, "(") {
		c := toks.Close(j)
		if c < 0 {
			return Ref{}, len(toks), false
		}
		r.Func, r.Close = true, c
		j = c + 1
	}
	if a, end, ok := toks.alias(j); ok && by != "table" {
		r.Alias, j = a, end
		if toks.Sym(j, "(") { // column aliases
			if c := toks.Close(j); c > 0 {
				j = c + 1
			}
		}
	}
	r.Next = j
	if at := toks.atClause(j); at != nil {
		r.At = at
		j = at.End + 1
	}
	return r, j, true
}

// RefAt reads the table reference whose name starts at toks[i] (as DuckDB's
// serializer locates it), with its alias, column aliases and AT clause;
// by says what introduced it ("table" for TABLE t, which takes no alias).
func (toks Tokens) RefAt(i int, by string) (Ref, bool) {
	r, _, ok := toks.refAt(i, by)
	return r, ok && r.Start == i
}

// Args splits the tokens strictly between the parentheses at toks[open]
// and toks[close] into top-level comma-separated spans of text.
func (toks Tokens) Args(text string, open, close int) []string {
	if close <= open+1 {
		return nil
	}
	var out []string
	depth, start := 0, open+1
	for i := open + 1; i < close; i++ {
		switch {
		case toks[i].Sym("(") || toks[i].Sym("[") || toks[i].Sym("{"):
			depth++
		case toks[i].Sym(")") || toks[i].Sym("]") || toks[i].Sym("}"):
			depth--
		case depth == 0 && toks[i].Sym(","):
			out = append(out, span(text, toks, start, i))
			start = i + 1
		}
	}
	return append(out, span(text, toks, start, close))
}

// span is the text of the tokens [from, to), "" when there are none.
func span(text string, toks Tokens, from, to int) string {
	if to <= from {
		return ""
	}
	return text[toks[from].Pos:toks[to-1].End]
}
