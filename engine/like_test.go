//go:build duckdb_arrow

package engine

import "testing"

func TestLike(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"%", "", true},
		{"%", "anything", true},
		{"events", "events", true},
		{"events", "Events", false},
		{"ev%", "events", true},
		{"%nts", "events", true},
		{"%ven%", "events", true},
		{"e_ents", "events", true},
		{"e_ents", "eents", false},
		{"a%b%c", "aXXbYYc", true},
		{"a%b%c", "aXXbYY", false},
		{`my\_table`, "my_table", true},
		{`my\_table`, "myXtable", false},
		{`100\%`, "100%", true},
		{`100\%`, "1000", false},
		{`a\`, `a\`, true},
		{"", "", true},
		{"", "x", false},
		{"_", "é", true},
	} {
		if got := like(c.pattern, c.s); got != c.want {
			t.Errorf("like(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
