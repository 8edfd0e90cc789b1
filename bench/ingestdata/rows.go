// Package ingestdata generates the benchmark and test inputs of the ingest
// path: one deterministic table of ten mixed columns (~100 bytes a row as
// CSV) written as CSV with a header, as its newline-delimited JSON twin with
// the same values, and as a zstd Parquet file. The bench/ingestbench driver
// times parsers on these files; tests use them as inputs whose every value
// is known (Row).
package ingestdata

import (
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Row is one generated row; Row(i) is the same on every run.
type Row struct {
	ID       int64
	Price    float64 // two decimals
	Name     string
	Note     string // has commas, and on some rows embedded double quotes
	Active   bool
	Day      time.Time // a date (UTC midnight)
	TS       time.Time // whole seconds, UTC, written without a zone
	Category int64
	Ratio    float64 // six decimals at most, in [0, 1)
	Code     string
}

// Columns are the column names, in file order.
var Columns = []string{"id", "price", "name", "note", "active", "day", "ts", "category", "ratio", "code"}

// Schema is the Arrow schema of the generated table: what a parser should
// infer from the CSV and NDJSON files, and what the Parquet file holds.
// Timestamps carry no zone (DuckDB's TIMESTAMP).
func Schema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "note", Type: arrow.BinaryTypes.String},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
		{Name: "category", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ratio", Type: arrow.PrimitiveTypes.Float64},
		{Name: "code", Type: arrow.BinaryTypes.String},
	}, nil)
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Niklaus", "Margaret", "Dennis", "Hedy", "John", "Katherine", "Tim"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Wirth", "Hamilton", "Ritchie", "Lamarr", "Backus", "Johnson", "Berners-Lee"}
	cities     = []string{"Paris", "Lima", "Oslo", "Cairo", "Quito", "Hanoi", "Perth", "Accra", "Porto", "Dakar", "Kyoto", "Tunis"}
	countries  = []string{"France", "Peru", "Norway", "Egypt", "Ecuador", "Vietnam", "Australia", "Ghana", "Portugal", "Senegal", "Japan", "Tunisia"}
	adjectives = []string{"big", "small", "odd", "new", "old", "red"}

	dayBase = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tsBase  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// mix is splitmix64: a cheap, well-spread hash of a row and column number.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// RowAt returns row i (0-based) of the generated table.
func RowAt(i int64) Row {
	h := func(col uint64) uint64 { return mix(uint64(i)*16 + col) }
	r := Row{
		ID:       i + 1,
		Price:    float64(h(1)%1_000_000) / 100,
		Name:     firstNames[h(2)%16] + " " + lastNames[h(3)%16],
		Active:   h(5)%2 == 0,
		Day:      dayBase.AddDate(0, 0, int(h(6)%1500)),
		TS:       tsBase.Add(time.Duration(h(7)%(366*86400)) * time.Second),
		Category: int64(h(8) % 100),
		Ratio:    float64(h(9)%1_000_000) / 1e6,
		Code:     "SKU-" + strconv.FormatUint(36*36*36+h(10)%(35*36*36*36), 36),
	}
	n := h(4)
	city, country := cities[n%12], countries[n%12]
	if n%16 == 0 {
		r.Note = `the "` + adjectives[(n>>8)%6] + `" one, ` + city + ", aisle " + strconv.FormatUint((n>>16)%50, 10)
	} else {
		r.Note = city + ", " + country + ", aisle " + strconv.FormatUint((n>>16)%50, 10)
	}
	return r
}
