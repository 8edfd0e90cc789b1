package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver

	"github.com/lakeflight/lakeflight/internal/vegadata"
)

// vegaFiles are the real files (vega-datasets) read by both ingest and
// DuckDB. Every column of a few rows spread through each file must agree
// when both are rendered as text and normalised (vegaNorm): the two may
// infer different types, but not different values.
//
// Differences in type are expected and fine (DuckDB reads flights-10k's
// delay as HUGEINT, movies' Title — strings and numbers — as JSON, whose
// text is compared unquoted); the entries list what each file exercises.
// TSV is read as CSV with the delimiter sniffed or taken from .tsv.
var vegaFiles = []struct {
	name string
	why  string // what the file exercises
}{
	{"airports.csv", "3376 rows; strings, floats with 8 decimals"},
	{"weather.csv", "dates, floats, a string category"},
	{"seattle-weather.csv", "dates first in the row"},
	{"birdstrikes.csv", "headers with spaces and $, empty fields (NULL), 10k rows"},
	{"zipcodes.csv", "zip codes with leading zeros (00501), 42k rows"},
	{"sp500-2000.csv", "six-decimal floats, large integers (volume)"},
	{"stocks.csv", "dates as text (Jan 1 2000)"},
	{"unemployment.tsv", "tab-separated, detected from the extension"},
	{"cars.json", "array of objects, pretty-printed, nulls"},
	{"movies.json", "array of objects, many nulls, mixed value types"},
	{"penguins.json", "array of objects, keys with spaces and parentheses"},
	{"flights-10k.json", "one-line array of 10k objects, timestamps as 2001/01/01 06:55"},
	{"flights-3m.parquet", "3M rows, zstd, timestamp[us], large_string"},
}

func TestVegaAgainstDuckDB(t *testing.T) {
	dir := vegadata.Dir(t)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	ctx := context.Background()

	for _, f := range vegaFiles {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, f.name)
			duckRows, samples, cols, want := duckSamples(t, ctx, db, path)

			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			got, schema, rows := ingestSamples(t, ctx, path, mem, samples)
			t.Logf("%s (%s): %d rows; ingest schema: %s", f.name, f.why, rows, schemaLine(schema))
			if rows != duckRows {
				t.Fatalf("ingest read %d rows; DuckDB %d", rows, duckRows)
			}
			for _, c := range cols {
				if schema.FieldIndices(c) == nil {
					t.Errorf("column %q (DuckDB) missing from ingest's schema %s", c, schemaLine(schema))
				}
			}
			if schema.NumFields() != len(cols) {
				t.Errorf("ingest has %d columns, DuckDB %d (%v)", schema.NumFields(), len(cols), cols)
			}
			if t.Failed() {
				return
			}
			for s, row := range samples {
				for c, name := range cols {
					d, g := vegaNorm(want[s][c]), vegaNorm(got[s][name])
					if d != g {
						t.Errorf("row %d, column %q: ingest %q (%s), DuckDB %q", row, name, got[s][name],
							schema.Field(schema.FieldIndices(name)[0]).Type, want[s][c])
					}
				}
			}
		})
	}
}

// duckSamples reads path with DuckDB: its row count, the sampled row
// numbers (first, quarter, middle, three quarters, last), its column names
// and each sampled row's values as text ("NULL" for NULL).
func duckSamples(t *testing.T, ctx context.Context, db *sql.DB, path string) (int64, []int64, []string, [][]string) {
	t.Helper()
	fn := map[string]string{".csv": "read_csv", ".tsv": "read_csv", ".json": "read_json", ".parquet": "read_parquet"}[filepath.Ext(path)]
	from := fmt.Sprintf("%s('%s')", fn, strings.ReplaceAll(path, "'", "''"))
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+from).Scan(&n); err != nil {
		t.Fatalf("DuckDB: %v", err)
	}
	if n == 0 {
		t.Fatal("DuckDB read no rows")
	}
	desc, err := db.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+from+")")
	if err != nil {
		t.Fatalf("DuckDB: %v", err)
	}
	types := map[string]string{}
	var parts []string
	for desc.Next() {
		var name, typ string
		if err := desc.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		types[name] = typ
		parts = append(parts, name+" "+typ)
	}
	_ = desc.Close()
	t.Logf("DuckDB schema: {%s}", strings.Join(parts, ", "))
	var samples []int64
	for _, r := range []int64{0, n / 4, n / 2, 3 * n / 4, n - 1} {
		if !slices.Contains(samples, r) {
			samples = append(samples, r)
		}
	}
	var cols []string
	values := make([][]string, len(samples))
	for s, r := range samples {
		// insertion order is preserved (DuckDB's default), so OFFSET is the file's row.
		rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT COLUMNS(*)::VARCHAR FROM %s LIMIT 1 OFFSET %d", from, r))
		if err != nil {
			t.Fatalf("DuckDB: %v", err)
		}
		if cols, err = rows.Columns(); err != nil {
			t.Fatal(err)
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if !rows.Next() {
			t.Fatalf("DuckDB: no row at offset %d: %v", r, rows.Err())
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		_ = rows.Close()
		values[s] = make([]string, len(cols))
		for i, v := range vals {
			values[s][i] = "NULL"
			if v.Valid {
				values[s][i] = v.String
			}
			// A JSON column (read_json's type for mixed strings and
			// numbers) casts to its JSON text: "Avatar" with the quotes.
			var str string
			if types[cols[i]] == "JSON" && json.Unmarshal([]byte(v.String), &str) == nil {
				values[s][i] = str
			}
		}
	}
	return n, samples, cols, values
}

// ingestSamples reads path with OpenFile and returns the sampled rows'
// values by column name, the schema and the row count.
func ingestSamples(t *testing.T, ctx context.Context, path string, mem memory.Allocator, samples []int64) ([]map[string]string, *arrow.Schema, int64) {
	t.Helper()
	r, err := OpenFile(ctx, path, Options{Allocator: mem})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer func() { _ = r.Close() }()
	out := make([]map[string]string, len(samples))
	var off int64
	for r.Next() {
		rec := r.RecordBatch()
		for s, row := range samples {
			if row < off || row >= off+rec.NumRows() {
				continue
			}
			out[s] = map[string]string{}
			for c, field := range rec.Schema().Fields() {
				out[s][field.Name] = rec.Column(c).ValueStr(int(row - off))
			}
		}
		off += rec.NumRows()
	}
	if err := r.Err(); err != nil {
		t.Fatalf("reading: %v", err)
	}
	if st := r.Stats(); st.Rows != off {
		t.Errorf("Stats().Rows = %d; %d rows handed out", st.Rows, off)
	}
	return out, r.Schema(), off
}

func schemaLine(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = fmt.Sprintf("%s %s", f.Name, f.Type)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// vegaTimeLayouts are the timestamp and date texts either side may give:
// DuckDB's TIMESTAMP and TIMESTAMPTZ, arrow-go's ValueStr, and the files'
// own layouts when one side keeps them as strings.
var vegaTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006/01/02 15:04",
	"2006-01-02",
	"Jan 2 2006",
}

// vegaNorm renders a value's text the same way whichever side produced
// it: numbers in Go's shortest form (so 12.80, 12.8 and 1.28e1 agree, and
// an integer read as a float agrees with the integer), instants as
// "2006-01-02 15:04:05.999999999" in UTC, or 2006-01-02 at midnight (so
// a date and a timestamp of the same day agree). A
// number with a leading zero (a zip code) is left as it is: 00501 and 501
// are different values.
func vegaNorm(s string) string {
	if s == "NULL" || s == "(null)" {
		return "NULL"
	}
	if len(s) <= 1 || s[0] != '0' || s[1] < '0' || s[1] > '9' {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	for _, layout := range vegaTimeLayouts {
		if ts, err := time.Parse(layout, s); err == nil {
			ts = ts.UTC()
			if ts.Hour() == 0 && ts.Minute() == 0 && ts.Second() == 0 && ts.Nanosecond() == 0 {
				return ts.Format("2006-01-02")
			}
			return ts.Format("2006-01-02 15:04:05.999999999")
		}
	}
	return s
}

func TestVegaNorm(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"12.80", "12.8", true},
		{"1.28e1", "12.8", true},
		{"931800000", "931800000.0", true},
		{"00501", "501", false}, // a zip code read as a number loses its zeros
		{"00501", "00501", true},
		{"0.5", ".5", true},
		{"2001-01-01 00:01:00", "2001-01-01T00:01:00", true},     // DuckDB TIMESTAMP, arrow-go timestamp without zone
		{"2001-01-01 00:01:00+00", "2001-01-01T00:01:00Z", true}, // TIMESTAMPTZ, timestamp with zone
		{"2012-01-01", "2012-01-01T00:00:00", true},              // a date and a timestamp of that day
		{"2001/01/01 06:55", "2001-01-01T06:55:00", true},        // the text kept by one side, parsed by the other
		{"Jan 1 2000", "2000-01-01", true},
		{"2001-01-01 00:01:00", "2001-01-01 00:01:01", false},
		{"NULL", "(null)", true}, // database/sql NULL, arrow-go's null text
		{"", "NULL", false},      // an empty string is not NULL
		{"Seattle", "Seattle ", false},
		{"true", "true", true},
	} {
		if got := vegaNorm(c.a) == vegaNorm(c.b); got != c.same {
			t.Errorf("vegaNorm(%q) = %q, vegaNorm(%q) = %q; want same = %v", c.a, vegaNorm(c.a), c.b, vegaNorm(c.b), c.same)
		}
	}
}
