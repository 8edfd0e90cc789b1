package main

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// referenceCell is the text the writers printed before the per-column
// appenders, one cell at a time.
func referenceCell(arr arrow.Array, i int, f textFormat) string {
	if f == jsonText {
		return string(appendJSONValue(nil, arr, i))
	}
	if arr.IsNull(i) {
		return ""
	}
	return string(appendCSVField(nil, cellText(arr, i), true))
}

// checkAppender compares every cell of arr, and of a slice of it that starts
// at an offset, with referenceCell.
func checkAppender(t *testing.T, arr arrow.Array) {
	t.Helper()
	sliced := array.NewSlice(arr, 1, int64(arr.Len()))
	defer sliced.Release()
	for _, a := range []arrow.Array{arr, sliced} {
		for _, f := range []textFormat{csvText, jsonText} {
			cell, _ := newCellAppender(a, f)
			for i := range a.Len() {
				if got, want := string(cell(nil, i)), referenceCell(a, i, f); got != want {
					t.Errorf("%s format %d row %d: got %q, want %q", a.DataType(), f, i, got, want)
				}
			}
		}
	}
}

func TestCellAppendersMatchReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	build := func(dt arrow.DataType, fill func(array.Builder)) arrow.Array {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		b.AppendNull()
		fill(b)
		b.AppendNull()
		return b.NewArray()
	}
	ints := []int64{0, 1, -1, 127, -128, 32767, -32768, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-5, 9.99e-6, 1e16, 9.999e15, 1e21, 5e-324,
		math.MaxFloat64, math.SmallestNonzeroFloat32, math.MaxFloat32, 1.0 / 3, math.NaN(), math.Inf(1), math.Inf(-1)}
	strs := []string{"", "x", " x", "x ", "\tx", "x\t", "a,b", `"`, "\r", "\n", "é", "\x00\x7f", "\xc3", "a\\b"}
	cases := map[string]arrow.Array{
		"int8": build(arrow.PrimitiveTypes.Int8, func(b array.Builder) {
			for _, v := range ints {
				b.(*array.Int8Builder).Append(int8(v))
			}
		}),
		"int32": build(arrow.PrimitiveTypes.Int32, func(b array.Builder) {
			for _, v := range ints {
				b.(*array.Int32Builder).Append(int32(v))
			}
		}),
		"int64": build(arrow.PrimitiveTypes.Int64, func(b array.Builder) {
			for _, v := range ints {
				b.(*array.Int64Builder).Append(v)
			}
		}),
		"uint16": build(arrow.PrimitiveTypes.Uint16, func(b array.Builder) {
			for _, v := range ints {
				b.(*array.Uint16Builder).Append(uint16(v))
			}
		}),
		"uint32": build(arrow.PrimitiveTypes.Uint32, func(b array.Builder) {
			for _, v := range ints {
				b.(*array.Uint32Builder).Append(uint32(v))
			}
		}),
		"uint64": build(arrow.PrimitiveTypes.Uint64, func(b array.Builder) {
			for _, v := range ints {
				b.(*array.Uint64Builder).Append(uint64(v))
			}
		}),
		"float32": build(arrow.PrimitiveTypes.Float32, func(b array.Builder) {
			for _, v := range floats {
				b.(*array.Float32Builder).Append(float32(v))
			}
		}),
		"float64": build(arrow.PrimitiveTypes.Float64, func(b array.Builder) {
			for _, v := range floats {
				b.(*array.Float64Builder).Append(v)
			}
		}),
		"bool": build(arrow.FixedWidthTypes.Boolean, func(b array.Builder) {
			b.(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
		}),
		"string": build(arrow.BinaryTypes.String, func(b array.Builder) {
			b.(*array.StringBuilder).AppendValues(strs, nil)
		}),
		"large_string": build(arrow.BinaryTypes.LargeString, func(b array.Builder) {
			b.(*array.LargeStringBuilder).AppendValues(strs, nil)
		}),
		"string_view": build(arrow.BinaryTypes.StringView, func(b array.Builder) {
			b.(*array.StringViewBuilder).AppendValues(append(strs, strings.Repeat("long, longer ", 3)), nil)
		}),
		"date64": build(arrow.FixedWidthTypes.Date64, func(b array.Builder) {
			for _, ms := range []int64{0, -1, 86_399_999, -86_400_001, 1_709_164_800_000, 253_402_214_400_000} {
				b.(*array.Date64Builder).Append(arrow.Date64(ms))
			}
		}),
		"time32": build(arrow.FixedWidthTypes.Time32ms, func(b array.Builder) {
			b.(*array.Time32Builder).AppendValues([]arrow.Time32{0, 1, 43_200_500, 86_399_999}, nil)
		}),
		"time64": build(arrow.FixedWidthTypes.Time64ns, func(b array.Builder) {
			b.(*array.Time64Builder).AppendValues([]arrow.Time64{0, 1, 43_200_000_000_100, 86_399_999_999_999}, nil)
		}),
		"timestamp_us": build(&arrow.TimestampType{Unit: arrow.Microsecond}, func(b array.Builder) {
			b.(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, -1, 1_709_210_055_123_456, math.MaxInt64, math.MinInt64}, nil)
		}),
		"timestamp_utc": build(&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, func(b array.Builder) {
			b.(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, -1, 1_709_210_055_500_000}, nil)
		}),
		"timestamp_offset": build(&arrow.TimestampType{Unit: arrow.Second, TimeZone: "+05:30"}, func(b array.Builder) {
			b.(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, 1_709_210_055}, nil)
		}),
		"timestamp_bad_zone": build(&arrow.TimestampType{Unit: arrow.Second, TimeZone: "Not/AZone"}, func(b array.Builder) {
			b.(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, 1_709_210_055}, nil)
		}),
	}
	for _, scale := range []int32{0, 2, 18, 38} {
		cases["decimal128_scale"+strconv.Itoa(int(scale))] = build(&arrow.Decimal128Type{Precision: 38, Scale: scale}, func(b array.Builder) {
			for _, v := range ints {
				b.(*array.Decimal128Builder).Append(decimal128.FromI64(v))
			}
			b.(*array.Decimal128Builder).Append(decimal128.FromU64(math.MaxUint64))
			b.(*array.Decimal128Builder).Append(decimal128.New(math.MaxInt64, math.MaxUint64))
			b.(*array.Decimal128Builder).Append(decimal128.New(-1, 0))
		})
	}
	for name, arr := range cases {
		t.Run(name, func(t *testing.T) {
			defer arr.Release()
			if fastCellAppender(arr, csvText) == nil {
				t.Fatalf("no fast path for %s", arr.DataType())
			}
			checkAppender(t, arr)
		})
	}
}

// TestDate32AgainstTime checks the direct date arithmetic against the time
// package over every day from 1600 to 2400 and the ends of the range.
func TestDate32AgainstTime(t *testing.T) {
	check := func(d arrow.Date32) {
		if got, want := string(appendDate32(nil, d)), d.ToTime().Format(time.DateOnly); got != want {
			t.Fatalf("day %d: got %s, want %s", d, got, want)
		}
	}
	for d := arrow.Date32(-135_140); d <= 157_054; d++ {
		check(d)
	}
	for _, d := range []arrow.Date32{-719_528, -719_529, -719_468, -719_469, -719_162, -719_163, 2_932_896, 2_932_897, math.MaxInt32, math.MinInt32} {
		check(d)
	}
}

func TestAppendScaledInt(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 9, -10, 123456, -123456, math.MaxInt64, math.MinInt64} {
		for _, scale := range []int32{-3, -1, 0, 1, 5, 6, 7, 19, 20, 38} {
			if got, want := string(appendScaledInt(nil, n, scale)), decimal128.FromI64(n).ToString(scale); got != want {
				t.Errorf("appendScaledInt(%d, %d) = %q, want %q", n, scale, got, want)
			}
		}
	}
}

// TestWholeFloatsAgainstStrconv checks the integer path of appendFloatText
// against strconv's shortest formatting around every power of two up to
// the end of exact integers and at random points.
func TestWholeFloatsAgainstStrconv(t *testing.T) {
	check := func(f float64, bits int) {
		t.Helper()
		if math.IsInf(f, 0) || (bits == 32 && float64(float32(f)) != f) {
			return
		}
		want, _ := formatFloat(f, bits)
		if got := string(appendFloatText(nil, f, bits, false)); got != want {
			t.Fatalf("%v (%d bits): got %s, want %s", f, bits, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{32, 64} {
		for e := range 64 {
			p := math.Ldexp(1, e)
			for _, f := range []float64{p - 2, p - 1, p, p + 1, p + 2, p * 10, p * 1000} {
				check(f, bits)
				check(-f, bits)
			}
		}
		for range 200_000 {
			f := math.Trunc(math.Ldexp(rng.Float64(), rng.IntN(56)))
			check(f, bits)
			check(-f, bits)
			check(float64(float32(f)), bits)
		}
	}
}
