package ingest

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// An append may bring new struct, list and map columns: the table gains
// them (with field ids of its own) and old rows read them as null.
func TestAppendAddsNestedColumns(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	ctx := t.Context()
	id := catalog.Ident{Namespace: "bronze", Name: "growing"}
	read := func(text string) {
		t.Helper()
		r, err := Open(ctx, strings.NewReader(text), Options{Format: FormatJSON, Source: "in.ndjson"})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		if _, err := w.Write(ctx, Request{Table: id, Records: r}); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
	}
	read(`{"a": 1}` + "\n")
	read(`{"a": 2, "s": {"x": 3, "in": {"y": "z"}}, "l": [{"k": 1}], "m": [[1, 2], [3]]}` + "\n")
	got := scan(t, c, id)
	slices.Sort(got)
	want := []string{
		"a=1 s=(null) l=(null) m=(null)",
		`a=2 s={"in":{"y":"z"},"x":3} l=[{"k":1}] m=[[1,2],[3]]`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
