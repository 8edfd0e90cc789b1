package ingest

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestConvertFloatMatchesStrconv(t *testing.T) {
	cases := []string{"0", "-0", "1", "1.5", "-2.25", ".5", "5.", "1e3", "1E-3", "+7", "123456789012345",
		"1234567890123456789", "0.000000000000000000001", "1e22", "1e23", "9007199254740993", "3.14159",
		"inf", "-Infinity", "NaN", "1e", "e5", "", "-", ".", "1.2.3", "0x10", "1_000", "1e400", "00012.5000",
		"0.000000000000000000001234567890123456789", "0.0000000000000000000012345678901234567891", "00000000000000000000001234.5",
		"12345678901234567890", "1234567890.123456789", "1234567890.1234567890", "0000000000000000000000.000000", "-.0000000000000000000000000000001e5"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		cases = append(cases, strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(600)-300)), 'g', -1, 64),
			strconv.FormatFloat(rng.Float64()*1000, 'f', rng.IntN(8), 64),
			strconv.FormatUint(rng.Uint64(), 10)+"e"+strconv.Itoa(rng.IntN(700)-350),
			strconv.FormatFloat(math.Float64frombits(rng.Uint64()), 'e', rng.IntN(20), 64))
	}
	for _, c := range cases {
		got, ok := convertFloat([]byte(c), 64)
		want, err := strconv.ParseFloat(c, 64)
		wantOK := err == nil && floatSyntax([]byte(c))
		if ok != wantOK || (ok && math.Float64bits(got) != math.Float64bits(want) && !math.IsNaN(want)) {
			t.Errorf("convertFloat(%q) = %v, %v; want %v, %v", c, got, ok, want, wantOK)
		}
	}
}

func TestConvertInt(t *testing.T) {
	for _, c := range []struct {
		in   string
		bits int
		want int64
		ok   bool
	}{
		{"0", 64, 0, true}, {"-0", 64, 0, true}, {"+5", 8, 5, true}, {"127", 8, 127, true}, {"128", 8, 0, false},
		{"-128", 8, -128, true}, {"-129", 8, 0, false}, {"9223372036854775807", 64, math.MaxInt64, true},
		{"9223372036854775808", 64, 0, false}, {"-9223372036854775808", 64, math.MinInt64, true},
		{"99999999999999999999999", 64, 0, false}, {"", 64, 0, false}, {"-", 64, 0, false}, {"1a", 64, 0, false},
	} {
		got, ok := convertInt([]byte(c.in), c.bits)
		if got != c.want || ok != c.ok {
			t.Errorf("convertInt(%q, %d) = %d, %v; want %d, %v", c.in, c.bits, got, ok, c.want, c.ok)
		}
	}
}

func TestConvertTimestamp(t *testing.T) {
	for _, c := range []struct {
		in    string
		unit  arrow.TimeUnit
		want  int64
		shape timestampShape
		ok    bool
	}{
		{"1970-01-01", arrow.Second, 0, tsDateOnly, true},
		{"1970-01-01 00:00:01.5", arrow.Millisecond, 1500, tsNaive, true},
		{"1970-01-01T00:00:00.123456789", arrow.Nanosecond, 123456789, tsNaive, true},
		{"1970-01-01T00:00:00.123456789", arrow.Microsecond, 123456, tsNaive, true},
		{"1970-01-01T01:00:00+01:00", arrow.Second, 0, tsZoned, true},
		{"1970-01-01T00:00:00-0130", arrow.Second, 5400, tsZoned, true},
		{"1970-01-01T00:00:00Z", arrow.Second, 0, tsZoned, true},
		{"1969-12-31 23:59:59", arrow.Second, -1, tsNaive, true},
		{"2000-02-29 00:00:00", arrow.Second, 951782400, tsNaive, true},
		{"1900-02-29", arrow.Second, 0, 0, false},
		{"2024-13-01", arrow.Second, 0, 0, false},
		{"2024-01-01 24:00:00", arrow.Second, 0, 0, false},
		{"2024-01-01 10:00", arrow.Second, 0, 0, false},
		{"2024-01-01T10:00:00.", arrow.Second, 0, 0, false},
		{"2024-01-01T10:00:00+25:00", arrow.Second, 0, 0, false},
		{"3000-01-01", arrow.Nanosecond, 0, 0, false}, // out of range for ns
	} {
		got, shape, ok := convertTimestamp([]byte(c.in), c.unit)
		if ok != c.ok || (ok && (got != c.want || shape != c.shape)) {
			t.Errorf("convertTimestamp(%q, %s) = %d, %d, %v; want %d, %d, %v", c.in, c.unit, got, shape, ok, c.want, c.shape, c.ok)
		}
	}
}

func TestConvertDecimal(t *testing.T) {
	for _, c := range []struct {
		in          string
		prec, scale int32
		want        string
		ok          bool
	}{
		{"12.5", 5, 2, "12.50", true}, {"-0.01", 5, 2, "-0.01", true}, {"123", 5, 2, "123.00", true},
		{"1234", 5, 2, "", false}, {"1.234", 5, 2, "", false}, {".5", 3, 1, "0.5", true},
		{"12345678901234567890.123456789", 38, 9, "12345678901234567890.123456789", true},
		{"1e3", 5, 0, "", false}, {"", 5, 0, "", false}, {"-", 5, 0, "", false},
	} {
		got, ok := convertDecimal([]byte(c.in), c.prec, c.scale)
		if ok != c.ok || (ok && got.ToString(c.scale) != c.want) {
			t.Errorf("convertDecimal(%q, %d, %d) = %s, %v; want %s, %v", c.in, c.prec, c.scale, got.ToString(c.scale), ok, c.want, c.ok)
		}
	}
}
