package sqltext

// Tokens is a statement's token list with the scans the engine needs.
type Tokens []Token

// Word reports whether toks[i] exists and is the unquoted word w.
func (toks Tokens) Word(i int, w string) bool { return i >= 0 && i < len(toks) && toks[i].Is(w) }

// Sym reports whether toks[i] exists and is the symbol s.
func (toks Tokens) Sym(i int, s string) bool { return i >= 0 && i < len(toks) && toks[i].Sym(s) }

// Words reports whether toks[i:] starts with the unquoted words ws.
func (toks Tokens) Words(i int, ws ...string) bool {
	for k, w := range ws {
		if !toks.Word(i+k, w) {
			return false
		}
	}
	return true
}

// Name reads a dotted name starting at toks[i]: its parts (identifier text;
// quoted parts keep their case) and the index after it. No parts when
// toks[i] is not an identifier.
func (toks Tokens) Name(i int) ([]string, int) {
	var parts []string
	for i < len(toks) && toks[i].Ident() {
		parts = append(parts, toks[i].Text)
		i++
		if toks.Sym(i, ".") && i+1 < len(toks) && toks[i+1].Ident() {
			i++
			continue
		}
		break
	}
	return parts, i
}

// Close returns the index of the ")" closing the "(" at toks[i], or -1.
func (toks Tokens) Close(i int) int {
	if !toks.Sym(i, "(") {
		return -1
	}
	depth := 0
	for ; i < len(toks); i++ {
		switch {
		case toks[i].Sym("("):
			depth++
		case toks[i].Sym(")"):
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// TopLevel finds the first occurrence of word at or after toks[from] that
// is outside parentheses (relative to toks[from]); -1 if none.
func (toks Tokens) TopLevel(from int, word string) int {
	depth := 0
	for i := from; i < len(toks); i++ {
		switch {
		case toks[i].Sym("("):
			depth++
		case toks[i].Sym(")"):
			depth--
			if depth < 0 {
				return -1
			}
		case depth == 0 && toks[i].Is(word):
			return i
		}
	}
	return -1
}

// DottedNames returns every dotted name in toks (identifier chains of any
// length): the raw material for finding tables a statement may read.
func (toks Tokens) DottedNames() [][]string {
	var out [][]string
	for i := 0; i < len(toks); {
		if !toks[i].Ident() {
			i++
			continue
		}
		parts, j := toks.Name(i)
		out = append(out, parts)
		i = j
	}
	return out
}

// rebase returns the tokens with off subtracted from their offsets (for a
// statement cut out of a longer text at off).
func (toks Tokens) rebase(off int) Tokens {
	out := make(Tokens, len(toks))
	for i, t := range toks {
		t.Pos, t.End = t.Pos-off, t.End-off
		out[i] = t
	}
	return out
}
