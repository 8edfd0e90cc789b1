//go:build duckdb_arrow

package flightsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
)

// utf8Column builds column c of one type; row i holds vals[i] inside it
// (nil: a null row).
type utf8Column struct {
	name  string
	build func(mem memory.Allocator, vals []*string) arrow.Array
}

var utf8Columns = []utf8Column{
	{"string", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(*v)
			}
		}
		return b.NewArray()
	}},
	{"large_string", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewLargeStringBuilder(mem)
		defer b.Release()
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(*v)
			}
		}
		return b.NewArray()
	}},
	{"list<string>", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewListBuilder(mem, arrow.BinaryTypes.String)
		defer b.Release()
		vb := b.ValueBuilder().(*array.StringBuilder)
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			vb.Append("first")
			vb.Append(*v)
		}
		return b.NewArray()
	}},
	{"struct<s: string>", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewStructBuilder(mem, arrow.StructOf(arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}))
		defer b.Release()
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			b.FieldBuilder(0).(*array.StringBuilder).Append(*v)
		}
		return b.NewArray()
	}},
	{"map<string,string> key", func(mem memory.Allocator, vals []*string) arrow.Array {
		return utf8Map(mem, vals, true)
	}},
	{"map<string,string> value", func(mem memory.Allocator, vals []*string) arrow.Array {
		return utf8Map(mem, vals, false)
	}},
	{"list<struct<s: string>>", func(mem memory.Allocator, vals []*string) arrow.Array {
		b := array.NewListBuilder(mem, arrow.StructOf(arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}))
		defer b.Release()
		sb := b.ValueBuilder().(*array.StructBuilder)
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			b.Append(true)
			sb.Append(true)
			sb.FieldBuilder(0).(*array.StringBuilder).Append(*v)
		}
		return b.NewArray()
	}},
}

func utf8Map(mem memory.Allocator, vals []*string, key bool) arrow.Array {
	b := array.NewMapBuilder(mem, arrow.BinaryTypes.String, arrow.BinaryTypes.String, false)
	defer b.Release()
	kb, ib := b.KeyBuilder().(*array.StringBuilder), b.ItemBuilder().(*array.StringBuilder)
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		b.Append(true)
		if key {
			kb.Append(*v)
			ib.Append("x")
		} else {
			kb.Append("k")
			ib.Append(*v)
		}
	}
	return b.NewArray()
}

// utf8Reader is one batch: id 1..3 and column c holding "ok", val, NULL.
func utf8Reader(t *testing.T, col utf8Column, val string) array.RecordReader {
	t.Helper()
	ok := "ok"
	ids := array.NewInt64Builder(memory.DefaultAllocator)
	ids.AppendValues([]int64{1, 2, 3}, nil)
	cols := []arrow.Array{ids.NewArray(), col.build(memory.DefaultAllocator, []*string{&ok, &val, nil})}
	ids.Release()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "c", Type: cols[1].DataType(), Nullable: true},
	}, nil)
	rec := array.NewRecordBatch(sc, cols, 3)
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rdr.Release)
	return rdr
}

// noTable fails the test if an ingest left the table (or a snapshot) behind.
func noTable(t *testing.T, env *testEnv, name string) {
	t.Helper()
	snaps, err := env.cat.Snapshots(context.Background(), catalog.Ident{Namespace: "bronze", Name: name})
	if !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("a refused ingest left bronze.%s: %d snapshots, %v", name, len(snaps), err)
	}
}

// TestIngestInvalidUTF8 (Flight DoPut): text that is not valid UTF-8, at
// the top level or inside lists, structs and maps, is refused by default
// with InvalidArgument naming the row and column, and nothing is created;
// the lakeflight-invalid-utf8 option (or its x- header) set to replace
// stores U+FFFD instead, and the table answers SQL.
func TestIngestInvalidUTF8(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	for i, col := range utf8Columns {
		t.Run(col.name, func(t *testing.T) {
			table := fmt.Sprintf("utf8_%d", i)
			_, err := cl.ExecuteIngest(ctx, utf8Reader(t, col, "b\xffad"), ingestOpts(table, ingest.ModeCreateAppend))
			st := wantCode(t, err, codes.InvalidArgument)
			if !strings.Contains(st.Message(), `batch 1, row 2, column "c": invalid UTF-8`) {
				t.Fatalf("message %q", st.Message())
			}
			noTable(t, env, table)

			o := ingestOpts(table, ingest.ModeCreateAppend)
			o.Options[ingest.OptionInvalidUTF8] = string(ingest.UTF8Replace)
			n, err := cl.ExecuteIngest(ctx, utf8Reader(t, col, "b\xffad"), o)
			if err != nil || n != 3 {
				t.Fatalf("replace: %d, %v", n, err)
			}
			rows := query(t, cl, "SELECT id, c FROM bronze."+table+" ORDER BY id").rows
			if len(rows) != 3 || !strings.Contains(rows[1][1], "b\uFFFDad") || !strings.Contains(rows[0][1], "ok") ||
				strings.Contains(rows[0][1], "\uFFFD") || rows[2][1] != array.NullValueStr {
				t.Fatalf("rows %q", rows)
			}
		})
	}

	// The option as a gRPC header, as ADBC clients send it.
	hdr := metadata.AppendToOutgoingContext(ctx, "x-"+ingest.OptionInvalidUTF8, "replace")
	if n, err := cl.ExecuteIngest(hdr, utf8Reader(t, utf8Columns[2], "x\xc3"), ingestOpts("utf8_hdr", ingest.ModeCreate)); err != nil || n != 3 {
		t.Fatalf("header: %d, %v", n, err)
	}
	if got := query(t, cl, "SELECT c[2] FROM bronze.utf8_hdr WHERE id = 2").rows; len(got) != 1 || got[0][0] != "x\uFFFD" {
		t.Fatalf("header rows %q", got)
	}
}

// TestIngestInvalidUTF8Option: a value of the option other than error or
// replace is InvalidArgument naming it, before anything is created.
func TestIngestInvalidUTF8Option(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	for _, v := range []string{"maybe", "Replace", "skip"} {
		o := ingestOpts("utf8_opt", ingest.ModeCreateAppend)
		o.Options[ingest.OptionInvalidUTF8] = v
		_, err := cl.ExecuteIngest(ctx, idNameReader(t, 0, 2), o)
		st := wantCode(t, err, codes.InvalidArgument)
		if !strings.Contains(st.Message(), `unknown invalid-UTF-8 policy "`+v+`" (want error or replace)`) {
			t.Fatalf("option %q: message %q", v, st.Message())
		}
		hdr := metadata.AppendToOutgoingContext(ctx, "x-"+ingest.OptionInvalidUTF8, v)
		_, err = cl.ExecuteIngest(hdr, idNameReader(t, 0, 2), ingestOpts("utf8_opt", ingest.ModeCreateAppend))
		st = wantCode(t, err, codes.InvalidArgument)
		if !strings.Contains(st.Message(), `"`+v+`"`) {
			t.Fatalf("header %q: message %q", v, st.Message())
		}
	}
	noTable(t, env, "utf8_opt")
	// "error", the default, spelled out is accepted.
	o := ingestOpts("utf8_opt", ingest.ModeCreateAppend)
	o.Options[ingest.OptionInvalidUTF8] = string(ingest.UTF8Error)
	if n, err := cl.ExecuteIngest(ctx, idNameReader(t, 0, 2), o); err != nil || n != 2 {
		t.Fatalf("error spelled out: %d, %v", n, err)
	}
}

// TestIngestInvalidUTF8Names: Arrow field names that are not valid UTF-8,
// of a column or of a struct field inside one, are InvalidArgument naming
// the column's position, under either policy; nothing is created.
func TestIngestInvalidUTF8Names(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	i64 := arrow.PrimitiveTypes.Int64
	for _, tc := range []struct {
		name   string
		fields []arrow.Field
		want   string
	}{
		{"column", []arrow.Field{{Name: "id", Type: i64, Nullable: true}, {Name: "pr\xefx", Type: i64, Nullable: true}},
			`column 2: the name "pr\xefx" is not valid UTF-8`},
		{"struct field", []arrow.Field{{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "\xff", Type: i64, Nullable: true}), Nullable: true}},
			`column 1 ("s"): the name "\xff" of a field inside it is not valid UTF-8`},
		{"struct in a map", []arrow.Field{{Name: "id", Type: i64, Nullable: true},
			{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.StructOf(arrow.Field{Name: "a\xc3", Type: i64, Nullable: true})), Nullable: true}},
			`column 2 ("m"): the name "a\xc3" of a field inside it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := arrow.NewSchema(tc.fields, nil)
			for _, pol := range []ingest.UTF8Policy{ingest.UTF8Error, ingest.UTF8Replace} {
				b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
				for _, f := range b.Fields() {
					f.AppendNull()
				}
				rec := b.NewRecordBatch()
				b.Release()
				rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
				rec.Release()
				if err != nil {
					t.Fatal(err)
				}
				o := ingestOpts("utf8_names", ingest.ModeCreateAppend)
				o.Options[ingest.OptionInvalidUTF8] = string(pol)
				_, err = cl.ExecuteIngest(ctx, rdr, o)
				rdr.Release()
				st := wantCode(t, err, codes.InvalidArgument)
				if !strings.Contains(st.Message(), tc.want) {
					t.Fatalf("%s: message %q, want %q", pol, st.Message(), tc.want)
				}
			}
			noTable(t, env, "utf8_names")
		})
	}
}
