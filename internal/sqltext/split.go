package sqltext

// Statement is one statement of a script: its text from its first token to
// its last (no leading or trailing comments, no ";"), where that sits in
// the script, and its tokens with offsets into Text.
type Statement struct {
	Text       string
	Start, End int
	Toks       Tokens
}

// Split cuts a script into its statements at top-level semicolons,
// dropping empty ones (";;", a trailing "; -- note").
func Split(sql string) []Statement {
	toks := Tokenize(sql)
	var out []Statement
	start := 0
	flush := func(end int) {
		if end > start {
			part := toks[start:end]
			s, e := part[0].Pos, part[len(part)-1].End
			out = append(out, Statement{Text: sql[s:e], Start: s, End: e, Toks: Tokens(part).rebase(s)})
		}
	}
	for i, t := range toks {
		if t.Sym(";") {
			flush(i)
			start = i + 1
		}
	}
	flush(len(toks))
	return out
}
