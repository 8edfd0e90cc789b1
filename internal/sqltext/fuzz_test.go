package sqltext_test

import (
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/internal/sqlcorpus"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// seeds are the corpus plus inputs that stress the lexer's edges.
func seeds(f *testing.F) {
	for _, c := range sqlcorpus.Cases() {
		f.Add(c.SQL)
	}
	for _, s := range []string{"", ";", "/*", "/* /* */", "'", "E'\\", "$$", "$a$ $b$", "\"", "--", "$1$", "?", "0x", "1e", ".",
		"SELECT * FROM t AT (", "WITH", "WITH x AS (", "DELETE FROM", "PIVOT", "TABLE", "INSERT OR", "DROP TABLE a,", "é'\xff"} {
		f.Add(s)
	}
}

// FuzzTokenize checks the lexer's invariants: tokens are in order, inside
// the text, never overlapping, and each non-string token's text is what
// the text holds there.
func FuzzTokenize(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, sql string) {
		at := 0
		for _, tk := range sqltext.Tokenize(sql) {
			if tk.Pos < at || tk.End <= tk.Pos || tk.End > len(sql) {
				t.Fatalf("token %+v out of order or bounds (previous end %d, text %d bytes)", tk, at, len(sql))
			}
			at = tk.End
			switch tk.Kind {
			case sqltext.Word:
				if tk.Text != strings.ToLower(sql[tk.Pos:tk.End]) {
					t.Fatalf("word %q at [%d,%d) reads %q", tk.Text, tk.Pos, tk.End, sql[tk.Pos:tk.End])
				}
			case sqltext.Symbol, sqltext.Number, sqltext.Param:
				if !tk.Open && tk.Text != sql[tk.Pos:tk.End] {
					t.Fatalf("token %q at [%d,%d) reads %q", tk.Text, tk.Pos, tk.End, sql[tk.Pos:tk.End])
				}
			}
		}
	})
}

// FuzzSplit checks that statements are slices of the script, in order, and
// that their tokens are the script's tokens (minus semicolons).
func FuzzSplit(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, sql string) {
		var n int
		for _, tk := range sqltext.Tokenize(sql) {
			if !tk.Sym(";") {
				n++
			}
		}
		at, got := 0, 0
		for _, st := range sqltext.Split(sql) {
			if st.Start < at || sql[st.Start:st.End] != st.Text || len(st.Toks) == 0 {
				t.Fatalf("statement [%d,%d) %q out of order or not the script's text", st.Start, st.End, st.Text)
			}
			at = st.End
			got += len(st.Toks)
		}
		if got != n {
			t.Fatalf("statements hold %d tokens, the script %d (besides semicolons)", got, n)
		}
	})
}

// FuzzScans runs classification, write parsing and the reference scan on
// every statement: no panic, and every span they report lies inside the
// statement's tokens.
func FuzzScans(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, sql string) {
		for _, st := range sqltext.Split(sql) {
			n := len(st.Toks)
			info := sqltext.Classify(st.Toks)
			if info.Lead > n || info.Inner > n {
				t.Fatalf("classification %+v points past %d tokens", info, n)
			}
			if w := sqltext.ParseWrite(st.Toks); w != nil {
				for _, tg := range w.Targets {
					if tg.Start < 0 || tg.End > n || tg.End <= tg.Start {
						t.Fatalf("write target %+v outside %d tokens", tg, n)
					}
				}
			}
			for _, r := range sqltext.Refs(st.Toks) {
				if r.Start < 0 || r.End > n || r.Next > n || (r.At != nil && (r.At.End >= n || r.At.ExprEnd > n)) {
					t.Fatalf("reference %+v outside %d tokens", r, n)
				}
			}
			_ = st.Toks.CTENames()
		}
	})
}

// FuzzApply checks that applying edits at token spans keeps the text
// around them: deleting every token gives the whitespace and comments back.
func FuzzApply(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, sql string) {
		toks := sqltext.Tokenize(sql)
		edits := make([]sqltext.Edit, len(toks))
		for i, tk := range toks {
			edits[i] = sqltext.Edit{Start: tk.Pos, End: tk.End}
		}
		out, err := sqltext.Apply(sql, edits)
		if err != nil {
			t.Fatal(err)
		}
		if len(sqltext.Tokenize(out)) != 0 && strings.TrimSpace(out) != "" {
			for _, tk := range sqltext.Tokenize(out) {
				if tk.Kind != sqltext.Symbol || tk.Text != "/*" {
					t.Fatalf("after deleting every token %q still has token %+v", out, tk)
				}
			}
		}
	})
}
