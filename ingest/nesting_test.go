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
