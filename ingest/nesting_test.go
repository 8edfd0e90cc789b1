package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakeflight/lakeflight/catalog"
)

// deepJSON is one NDJSON line whose "a" nests depth lists.
func deepJSON(depth int) string {
	return `{"x": 1, "a": ` + strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth) + "}\n"
}

// Lists nested deeper than DuckDB can scan in reasonable time are refused
// before anything is committed, through the reader and the writer; the
// limit's own depth commits.
func TestNestingLimits(t *testing.T) {
	c := openCatalog(t)
	w := NewWriter(c, slog.New(slog.DiscardHandler), nil)
	for _, depth := range []int{MaxListDepth + 1, 30, 200} {
		start := time.Now()
		r, err := Open(t.Context(), strings.NewReader(deepJSON(depth)), Options{Format: FormatJSON, Source: "deep.ndjson"})
		if err == nil {
			id := catalog.Ident{Namespace: "bronze", Name: "deep"}
			_, err = w.Write(t.Context(), Request{Table: id, Records: r})
			r.Release()
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "deep") {
			t.Errorf("depth %d: %v, want a refusal naming the depth", depth, err)
		}
		if _, serr := c.TableState(t.Context(), catalog.Ident{Namespace: "bronze", Name: "deep"}); !errors.Is(serr, catalog.ErrNoSuchTable) {
			t.Errorf("depth %d left a table (%v)", depth, serr)
		}
		t.Logf("depth %d refused in %s", depth, time.Since(start))
	}
	r, err := Open(t.Context(), strings.NewReader(deepJSON(MaxListDepth)), Options{Format: FormatJSON, Source: "ok.ndjson"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if _, err := w.Write(t.Context(), Request{Table: catalog.Ident{Namespace: "bronze", Name: "ok"}, Records: r}); err != nil {
		t.Fatalf("depth %d: %v", MaxListDepth, err)
	}
}

// An input wider than a table may be is refused with the count, not an
// internal error from the metadata writer.
func TestColumnLimit(t *testing.T) {
	n := catalog.MaxColumns + 1
	fields := make([]arrow.Field, n)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	}
	sc := arrow.NewSchema(fields, nil)
	if _, err := icebergSchema(sc); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "at most 10000") {
		t.Fatalf("%d columns: %v", n, err)
	}
	c := openCatalog(t)
	if err := c.CreateTable(t.Context(), catalog.Ident{Namespace: "bronze", Name: "wide"}, sc); !errors.Is(err, catalog.ErrInvalidArgument) {
		t.Fatalf("CreateTable with %d columns: %v", n, err)
	}
}

// JSON nested deeper than any column may keep is refused as it is parsed,
// naming the limit, however deep it goes (10,000 levels reached
// encoding/json's limit and read as "not a JSON object"); objects nested to
// the type limit are read.
func TestDeepJSONRefusedWhileParsed(t *testing.T) {
	deepObject := func(depth int) string {
		return `{"x": 1, "s": ` + strings.Repeat(`{"a": `, depth) + "1" + strings.Repeat("}", depth) + "}\n"
	}
	for _, line := range []string{deepJSON(MaxNesting + 1), deepJSON(10_000), deepJSON(100_000), deepObject(MaxNesting + 1), deepObject(50_000)} {
		_, err := Open(t.Context(), strings.NewReader(line), Options{Format: FormatJSON, Source: "deep.ndjson"})
		want := fmt.Sprintf("nested more than %d levels deep (a column keeps at most %d levels of types, %d of lists)",
			MaxNesting+1, MaxNesting, MaxListDepth)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "deep.ndjson") {
			t.Errorf("%d bytes: %v; want ErrMalformed naming the limit", len(line), err)
		}
	}
	// The limit itself parses; a later row deeper than it is a bad row.
	in := deepObject(MaxNesting) + deepObject(MaxNesting+1)
	r, err := Open(t.Context(), strings.NewReader(in), Options{Format: FormatJSON, Source: "mixed.ndjson", Policy: PolicySkip})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var rows int64
	for r.Next() {
		rows += r.RecordBatch().NumRows()
	}
	if err := r.Err(); err != nil || rows != 1 {
		t.Fatalf("rows %d, err %v; want the row at the limit", rows, err)
	}
	if lists, depth := nesting(r.Schema().Field(1).Type); lists != 0 || depth != MaxNesting {
		t.Fatalf("column s: %d lists, depth %d", lists, depth)
	}
}
