//go:build duckdb_arrow

package engine

import "strings"

// A deliberately small SQL tokenizer. DuckDB's parser decides what a
// statement is (its statement type); this only answers two narrow
// questions DuckDB's C API does not: which setting a SET names, whether a
// CREATE is TEMP, which object a DROP/ALTER targets, and which dotted names
// a statement mentions (an over-approximation of the tables it may read).

type tokKind int

const (
	tokWord   tokKind = iota // unquoted identifier or keyword (text lower-cased)
	tokQuoted                // "quoted identifier" (text unquoted, case kept)
	tokString                // string literal (text dropped)
	tokNumber
	tokSymbol // one punctuation character
)

type token struct {
	kind     tokKind
	text     string
	pos, end int // byte offsets of the token in the statement text
}

func (t token) is(word string) bool { return t.kind == tokWord && t.text == word }

// ident reports whether t can be (part of) a name.
func (t token) ident() bool { return t.kind == tokWord || t.kind == tokQuoted }

// tokenize splits sql into tokens, skipping whitespace and comments.
func tokenize(sql string) []token {
	var toks []token
	n := len(sql)
	for i := 0; i < n; {
		c, start, before := sql[i], i, len(toks)
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return toks
			}
			i += end + 4
		case c == '\'':
			i = skipQuoted(sql, i, '\'')
			toks = append(toks, token{kind: tokString})
		case (c == 'e' || c == 'E') && i+1 < n && sql[i+1] == '\'':
			i++
			for i++; i < n; i++ {
				if sql[i] == '\\' {
					i++
				} else if sql[i] == '\'' {
					if i+1 < n && sql[i+1] == '\'' {
						i++
						continue
					}
					i++
					break
				}
			}
			toks = append(toks, token{kind: tokString})
		case c == '$' && i+1 < n && (sql[i+1] == '$' || isWordStart(sql[i+1])):
			// $tag$ ... $tag$ string, or a $name / $1 parameter.
			j := i + 1
			for j < n && isWordChar(sql[j]) {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					return append(toks, token{kind: tokString})
				}
				i = j + 1 + end + len(tag)
				toks = append(toks, token{kind: tokString})
			} else {
				toks = append(toks, token{kind: tokSymbol, text: "$"})
				i = j
			}
		case c == '"':
			var b strings.Builder
			j := i + 1
			for j < n {
				if sql[j] == '"' {
					if j+1 < n && sql[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					j++
					break
				}
				b.WriteByte(sql[j])
				j++
			}
			toks = append(toks, token{kind: tokQuoted, text: b.String()})
			i = j
		case isWordStart(c):
			j := i
			for j < n && isWordChar(sql[j]) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: strings.ToLower(sql[i:j])})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < n && (isWordChar(sql[j]) || sql[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: tokNumber})
			i = j
		default:
			toks = append(toks, token{kind: tokSymbol, text: string(c)})
			i++
		}
		if len(toks) > before {
			toks[len(toks)-1].pos, toks[len(toks)-1].end = start, i
		}
	}
	return toks
}

func skipQuoted(sql string, i int, q byte) int {
	for i++; i < len(sql); i++ {
		if sql[i] == q {
			if i+1 < len(sql) && sql[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(sql)
}

func isWordStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isWordChar(c byte) bool { return isWordStart(c) || (c >= '0' && c <= '9') || c == '$' }

// nameAt reads a dotted name starting at toks[i]; it returns its parts
// (identifier text, case kept for quoted parts) and the index after it.
func nameAt(toks []token, i int) ([]string, int) {
	var parts []string
	for i < len(toks) && toks[i].ident() {
		parts = append(parts, toks[i].text)
		i++
		if i+1 < len(toks) && toks[i].kind == tokSymbol && toks[i].text == "." && toks[i+1].ident() {
			i++
			continue
		}
		break
	}
	return parts, i
}

// dottedNames returns every dotted name in the statement (identifier chains
// of any length), the raw material for finding referenced tables.
func dottedNames(toks []token) [][]string {
	var out [][]string
	for i := 0; i < len(toks); {
		if !toks[i].ident() || (i > 0 && toks[i-1].kind == tokSymbol && toks[i-1].text == "$") {
			i++
			continue
		}
		parts, j := nameAt(toks, i)
		out = append(out, parts)
		i = j
	}
	return out
}
