// Package sqltext is lakeflight's SQL text layer: the few things about a
// client's SQL text that must be known before DuckDB prepares it, answered
// in pure Go. It tokenizes DuckDB's dialect (nested block comments, E” and
// dollar-quoted strings, quoted identifiers, parameters), splits scripts
// into statements, classifies each statement (query, Iceberg DML with or
// without a WITH prefix, DDL, procedure call, session statement), finds
// the table references and AT (VERSION|TIMESTAMP => …) clauses of the
// statements DuckDB's serializer cannot describe, reads what that
// serializer says when it can (serialized.go), and applies text edits by
// byte span.
//
// DuckDB's own parser stays the authority wherever it can answer: the engine
// asks json_serialize_sql for every query it can, and uses the token scans
// here only for writes, EXPLAIN-like wrappers and the few query shapes the
// serializer refuses (PIVOT without an IN list). Nothing here needs cgo, so
// it is tested and fuzzed without DuckDB. It sits below engine; it imports
// nothing of lakeflight.
package sqltext

import "strings"

// Kind is a token's lexical class.
type Kind uint8

const (
	Word   Kind = iota // unquoted identifier or keyword; Text is lower-cased
	Quoted             // "quoted identifier"; Text is the name, case kept
	String             // string literal ('…', E'…', $tag$…$tag$); Text is its value
	Number             // numeric literal
	Param              // ?, $1 or $name
	Symbol             // operator or punctuation: one character, or one of multiChar
)

// Token is one token; Pos and End are byte offsets into the text.
type Token struct {
	Kind     Kind
	Text     string
	Pos, End int
	// Open: a string, quoted identifier or block comment ran to the end of
	// the text without being closed (DuckDB will refuse the statement).
	Open bool
}

// Is reports whether t is the unquoted word w (w in lower case).
func (t Token) Is(w string) bool { return t.Kind == Word && t.Text == w }

// Sym reports whether t is the symbol s.
func (t Token) Sym(s string) bool { return t.Kind == Symbol && t.Text == s }

// Ident reports whether t can be (part of) a name.
func (t Token) Ident() bool { return t.Kind == Word || t.Kind == Quoted }

// multiChar are the operators kept as one token, longest first.
var multiChar = []string{"->>", "=>", "::", "->", "<=", ">=", "<>", "!=", "||", "**", "//", "<<", ">>", ":=", "==", "@>", "<@", "&&", "^@"}

// Tokenize splits sql into tokens, skipping whitespace and comments. It
// never fails: unterminated strings, identifiers and comments end the text
// (marked Open), and any other byte is a symbol.
func Tokenize(sql string) []Token {
	var toks []Token
	n := len(sql)
	add := func(k Kind, text string, pos, end int, open bool) {
		toks = append(toks, Token{Kind: k, Text: text, Pos: pos, End: end, Open: open})
	}
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			end, closed := blockComment(sql, i)
			if !closed {
				add(Symbol, "/*", i, end, true) // DuckDB refuses it; keep a trace
			}
			i = end
		case c == '\'':
			end, val, closed := quoted(sql, i, '\'')
			add(String, val, i, end, !closed)
			i = end
		case (c == 'e' || c == 'E') && i+1 < n && sql[i+1] == '\'':
			end, val, closed := escapeString(sql, i+1)
			add(String, val, i, end, !closed)
			i = end
		case c == '"':
			end, val, closed := quoted(sql, i, '"')
			add(Quoted, val, i, end, !closed)
			i = end
		case c == '$':
			i = dollar(sql, i, add)
		case c == '?':
			add(Param, "?", i, i+1, false)
			i++
		case isWordStart(c):
			j := i
			for j < n && isWordChar(sql[j]) {
				j++
			}
			add(Word, strings.ToLower(sql[i:j]), i, j, false)
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && sql[i+1] >= '0' && sql[i+1] <= '9':
			j := number(sql, i)
			add(Number, sql[i:j], i, j, false)
			i = j
		default:
			op := sql[i : i+1]
			for _, m := range multiChar {
				if strings.HasPrefix(sql[i:], m) {
					op = m
					break
				}
			}
			add(Symbol, op, i, i+len(op), false)
			i += len(op)
		}
	}
	return toks
}

// blockComment skips /* … */ starting at i, nesting as DuckDB does; it
// returns the offset after it and whether it was closed.
func blockComment(sql string, i int) (int, bool) {
	depth := 0
	for i < len(sql) {
		switch {
		case strings.HasPrefix(sql[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(sql[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i, true
			}
		default:
			i++
		}
	}
	return len(sql), false
}

// quoted reads a q-quoted literal at i where a doubled q stands for one.
func quoted(sql string, i int, q byte) (end int, val string, closed bool) {
	var b strings.Builder
	for j := i + 1; j < len(sql); j++ {
		if sql[j] != q {
			b.WriteByte(sql[j])
			continue
		}
		if j+1 < len(sql) && sql[j+1] == q {
			b.WriteByte(q)
			j++
			continue
		}
		return j + 1, b.String(), true
	}
	return len(sql), b.String(), false
}

// escapeString reads E'…' (i at the quote): backslash escapes a character.
func escapeString(sql string, i int) (end int, val string, closed bool) {
	var b strings.Builder
	for j := i + 1; j < len(sql); j++ {
		switch c := sql[j]; {
		case c == '\\' && j+1 < len(sql):
			j++
			switch sql[j] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(sql[j])
			}
		case c == '\'' && j+1 < len(sql) && sql[j+1] == '\'':
			b.WriteByte('\'')
			j++
		case c == '\'':
			return j + 1, b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return len(sql), b.String(), false
}

// dollar reads what starts with $ at i: a $tag$…$tag$ string, a $1 or
// $name parameter, or a lone $ symbol; it returns the offset after it.
func dollar(sql string, i int, add func(Kind, string, int, int, bool)) int {
	n := len(sql)
	j := i + 1
	if j < n && sql[j] >= '0' && sql[j] <= '9' {
		for j < n && sql[j] >= '0' && sql[j] <= '9' {
			j++
		}
		add(Param, sql[i:j], i, j, false)
		return j
	}
	for j < n && isTagChar(sql[j]) {
		j++
	}
	if j < n && sql[j] == '$' { // $tag$ or $$: a string up to the same tag
		tag := sql[i : j+1]
		body := j + 1
		k := strings.Index(sql[body:], tag)
		if k < 0 {
			add(String, sql[body:], i, n, true)
			return n
		}
		add(String, sql[body:body+k], i, body+k+len(tag), false)
		return body + k + len(tag)
	}
	if j > i+1 {
		add(Param, sql[i:j], i, j, false)
		return j
	}
	add(Symbol, "$", i, i+1, false)
	return i + 1
}

func number(sql string, i int) int {
	n := len(sql)
	j := i
	if strings.HasPrefix(sql[i:], "0x") || strings.HasPrefix(sql[i:], "0X") || strings.HasPrefix(sql[i:], "0b") || strings.HasPrefix(sql[i:], "0B") {
		j += 2
		for j < n && (isWordChar(sql[j])) {
			j++
		}
		return j
	}
	for j < n && (sql[j] >= '0' && sql[j] <= '9' || sql[j] == '_' || sql[j] == '.') {
		j++
	}
	if j < n && (sql[j] == 'e' || sql[j] == 'E') {
		k := j + 1
		if k < n && (sql[k] == '+' || sql[k] == '-') {
			k++
		}
		if k < n && sql[k] >= '0' && sql[k] <= '9' {
			j = k
			for j < n && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
		}
	}
	return j
}

func isWordStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isWordChar(c byte) bool { return isWordStart(c) || (c >= '0' && c <= '9') || c == '$' }

func isTagChar(c byte) bool { return isWordStart(c) || (c >= '0' && c <= '9') }
