package ingest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// parseBothPaths parses data with and without the fast path and fails when
// the results differ in any way.
func parseBothPaths(t *testing.T, data []byte, o Options) {
	t.Helper()
	fast := parseCSVBytes(t, data, o, false).dump()
	noFastPath = true
	defer func() { noFastPath = false }()
	general := parseCSVBytes(t, data, o, false).dump()
	if fast != general {
		t.Fatalf("fast and general paths differ\nfast:\n%s\ngeneral:\n%s\ninput:\n%q", fast, general, data)
	}
}

// fastSchema has a column of every type the fast path treats specially,
// and some it does not.
var fastSchema = arrow.NewSchema([]arrow.Field{
	{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "h", Type: arrow.PrimitiveTypes.Int16, Nullable: false},
	{Name: "g", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "m", Type: &arrow.Decimal128Type{Precision: 6, Scale: 2}, Nullable: true},
}, nil)

// fastPieces are field texts near the edges of what each type accepts.
var fastPieces = []string{
	"", "0", "-0", "+7", "-", "12", "123456789012345678", "1234567890123456789",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808", "32767", "-32768", "32768",
	"1.5", ".5", "5.", "1e3", "1e", "1e-400", "1e400", "2.2250738585072011e-308", "0.1e+22",
	"4.35", "12345678901234567890.5", "inf", "NaN", "0x10", "1_0",
	"2024-02-29", "2023-02-29", "2024-13-01", "2024-1-01", "2024-01-01 10:00:00", "2024-01-01T10:00:00.123456789Z",
	"2024-01-01 10:00:00+02:00", "true", "FALSE", "yes", "NA", "x", `"1"`, `""`, `"a,b"`, `"a""b"`,
	`"x"y`, `x"y`, "1234.56", "-9999.99", "1234.567", " 1", "1 ", "\r",
}

// fastGood are valid texts for each column of fastSchema, so that most
// random rows are good.
var fastGood = [][]string{
	{"0", "-17", "123456789012345678", "9223372036854775807", "-9223372036854775808", "", `"5"`},
	{"1.5", "-0.25", "1e-7", "6.02214076e23", "123456.789", "0.1", "", `"2.5"`},
	{"2024-02-29", "1970-01-01", "0001-01-01", "9999-12-31", ""},
	{"alpha", `"b,c"`, `""`, `"x""y"`, "", "NA", `"NA"`, "é", "\"a\nb\"", "\"a\r\nb\"", "x\ry"},
	{"2024-01-01 10:00:00", "2024-01-01T10:00:00.123456", "2024-01-01", ""},
	{"true", "False", ""},
	{"1", "-32768", "32767"},
	{"1.5", "3.4e38", "", "-0"},
	{"1234.56", "-0.5", "7", ""},
}

func randomTypedCSV(rng *rand.Rand, rows int) []byte {
	var b bytes.Buffer
	nl := "\n"
	if rng.IntN(3) == 0 {
		nl = "\r\n"
	}
	for range rows {
		n := len(fastSchema.Fields())
		switch rng.IntN(25) {
		case 0:
			n--
		case 1:
			n++
		}
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			if i < len(fastGood) && rng.IntN(10) > 0 {
				b.WriteString(fastGood[i][rng.IntN(len(fastGood[i]))])
			} else {
				b.WriteString(fastPieces[rng.IntN(len(fastPieces))])
			}
		}
		b.WriteString(nl)
	}
	return b.Bytes()
}

// TestCSVFastPathAgrees parses random typed CSV, and the golden files, with
// the fast path on and off.
func TestCSVFastPathAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for iter := range 200 {
		o := Options{Schema: fastSchema, CSV: CSVOptions{Header: HeaderNo}, ChunkBytes: 64 + rng.IntN(512)}
		if iter%3 == 1 {
			o.CSV.NullTokens = []string{"NA", ""}
		}
		if iter%5 == 2 {
			o.CSV.Delimiter, o.CSV.Quote = ',', NoQuote
		}
		t.Run(fmt.Sprint(iter), func(t *testing.T) {
			parseBothPaths(t, randomTypedCSV(rng, 1+rng.IntN(60)), o)
		})
	}
}

// FuzzCSVFastPath compares the fast and the general paths on a typed
// schema.
func FuzzCSVFastPath(f *testing.F) {
	f.Add([]byte("1,1.5,2024-01-01,a,2024-01-01 10:00:00,true,3,1.5,1.25\n"), false)
	f.Add([]byte("1,\"1.5\",2024-01-01,\"a,b\",,TRUE,3,,\r\n,,,,,,,,\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, nulls bool) {
		o := Options{Schema: fastSchema, CSV: CSVOptions{Delimiter: ',', Header: HeaderNo}, ChunkBytes: 1 << 10, Workers: 2}
		if nulls {
			o.CSV.NullTokens = []string{"NA", ""}
		}
		parseBothPaths(t, data, o)
	})
}
