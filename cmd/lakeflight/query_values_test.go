package main

import (
	"bytes"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// edgeSchema covers the values whose text is easy to get wrong: strings that
// need CSV quotes or JSON escapes, special floats, decimals, dates at the
// ends of the four-digit years, timestamps in each unit and zone kind.
var edgeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "dec", Type: &arrow.Decimal128Type{Precision: 38, Scale: 4}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts_s", Type: &arrow.TimestampType{Unit: arrow.Second}, Nullable: true},
	{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
	{Name: "tstz", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Berlin"}, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "blob", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
	{Name: "größe, \"x\"", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
}, nil)

type edgeRow struct {
	s    *string
	f64  float64
	f32  float32
	dec  decimal128.Num
	day  arrow.Date32
	tsS  arrow.Timestamp
	tsNS arrow.Timestamp
	tstz arrow.Timestamp
	ok   bool
	blob []byte
	u8   uint8
	i16  int16
}

func strp(s string) *string { return &s }

var edgeRows = []edgeRow{
	{s: strp("a,b"), f64: math.NaN(), f32: 0.1, dec: decimal128.FromI64(-12345), day: -719162, // 0001-01-01
		tsS: 0, tsNS: 1, tstz: 1719835200123, ok: true, blob: []byte("a\\b\x00"), u8: 255, i16: -32768},
	{s: strp(`say "hi"`), f64: math.Inf(1), f32: float32(math.Inf(-1)), dec: decimal128.FromI64(5), day: 2932896, // 9999-12-31
		tsS: -1, tsNS: 1_500_000_000, tstz: 1704067200000, blob: []byte{}, i16: 32767},
	{s: strp("line\r\nbreak"), f64: math.Inf(-1), f32: float32(math.NaN()), dec: decimal128.FromI64(math.MinInt64), day: -719163, // year 0
		tsS: 253402300799, tsNS: -1, tstz: -1},
	{s: strp(" lead"), f64: math.Copysign(0, -1), f32: 1e-6, dec: decimal128.FromU64(math.MaxUint64), day: 2932897, // year 10000
		tsS: -62135596800},
	{s: strp("trail\t"), f64: 1e-5, f32: 3.4e38, dec: decimal128.New(-1, 0), day: 19782},
	{s: strp(""), f64: 9.999999999999998e15, dec: decimal128.FromI64(99999999999999)},
	{s: strp("tab\tin, the middle")},
	{s: strp("ctl\x01\x1f\x7f é 日本 🎉")},
	{s: strp("bad \xff utf8 \xe2\x82")},
	{s: strp(`back\slash`), f64: 1e16},
	{s: nil, f64: 1.5e-7},
}

// newEdgeRecord builds edgeRows, with a NULL in every column but s of the
// last row.
func newEdgeRecord(t *testing.T, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, edgeSchema)
	defer b.Release()
	last := len(edgeRows) - 1
	for n, r := range edgeRows {
		if r.s == nil {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(*r.s)
		}
		if n == last {
			for _, f := range b.Fields()[1:] {
				f.AppendNull()
			}
			continue
		}
		b.Field(1).(*array.Float64Builder).Append(r.f64)
		b.Field(2).(*array.Float32Builder).Append(r.f32)
		b.Field(3).(*array.Decimal128Builder).Append(r.dec)
		b.Field(4).(*array.Date32Builder).Append(r.day)
		b.Field(5).(*array.TimestampBuilder).Append(r.tsS)
		b.Field(6).(*array.TimestampBuilder).Append(r.tsNS)
		b.Field(7).(*array.TimestampBuilder).Append(r.tstz)
		b.Field(8).(*array.BooleanBuilder).Append(r.ok)
		b.Field(9).(*array.BinaryBuilder).Append(r.blob)
		b.Field(10).(*array.Uint8Builder).Append(r.u8)
		b.Field(11).(*array.Int16Builder).Append(r.i16)
	}
	return b.NewRecordBatch()
}

// renderRecord writes rec with one writer, in batches of at most size rows.
func renderRecord(t *testing.T, rec arrow.RecordBatch, format string, size int64) string {
	t.Helper()
	var out bytes.Buffer
	w := newResultWriter(format, &out)
	if err := w.Begin(rec.Schema()); err != nil {
		t.Fatal(err)
	}
	for from := int64(0); from < rec.NumRows(); from += size {
		part := rec.NewSlice(from, min(from+size, rec.NumRows()))
		err := w.Write(part)
		part.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestEdgeValuesCSV(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := newEdgeRecord(t, mem)
	defer rec.Release()
	want := `s,f64,f32,dec,day,ts_s,ts_ns,tstz,ok,blob,u8,"größe, ""x"""
"a,b",NaN,0.1,-1.2345,0001-01-01,1970-01-01T00:00:00,1970-01-01T00:00:00.000000001,2024-07-01T14:00:00.123+02:00,true,a\x5Cb\x00,255,-32768
"say ""hi""",Infinity,-Infinity,0.0005,9999-12-31,1969-12-31T23:59:59,1970-01-01T00:00:01.5,2024-01-01T01:00:00+01:00,false,"",0,32767
"line` + "\r\n" + `break",-Infinity,NaN,-922337203685477.5808,0000-12-31,9999-12-31T23:59:59,1969-12-31T23:59:59.999999999,1970-01-01T00:59:59.999+01:00,false,"",0,0
" lead",-0,1e-06,1844674407370955.1615,10000-01-01,0001-01-01T00:00:00,1970-01-01T00:00:00,1970-01-01T01:00:00+01:00,false,"",0,0
"trail	",0.00001,3.4e+38,-1844674407370955.1616,2024-02-29,1970-01-01T00:00:00,1970-01-01T00:00:00,1970-01-01T01:00:00+01:00,false,"",0,0
"",9999999999999998,0,9999999999.9999,1970-01-01,1970-01-01T00:00:00,1970-01-01T00:00:00,1970-01-01T01:00:00+01:00,false,"",0,0
"tab	in, the middle",0,0,0.0000,1970-01-01,1970-01-01T00:00:00,1970-01-01T00:00:00,1970-01-01T01:00:00+01:00,false,"",0,0
ctl` + "\x01\x1f\x7f" + ` é 日本 🎉,0,0,0.0000,1970-01-01,1970-01-01T00:00:00,1970-01-01T00:00:00,1970-01-01T01:00:00+01:00,false,"",0,0
bad ` + "\xff" + ` utf8 ` + "\xe2\x82" + `,0,0,0.0000,1970-01-01,1970-01-01T00:00:00,1970-01-01T00:00:00,1970-01-01T01:00:00+01:00,false,"",0,0
back\slash,1e+16,0,0.0000,1970-01-01,1970-01-01T00:00:00,1970-01-01T00:00:00,1970-01-01T01:00:00+01:00,false,"",0,0
,,,,,,,,,,,
`
	for _, size := range []int64{1, 3, 100} {
		if got := renderRecord(t, rec, "csv", size); got != want {
			t.Errorf("batches of %d: csv output:\n%s\nwant:\n%s", size, got, want)
		}
	}
}

func TestEdgeValuesJSON(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := newEdgeRecord(t, mem)
	defer rec.Release()
	want := `{"s":"a,b","f64":"NaN","f32":0.1,"dec":-1.2345,"day":"0001-01-01","ts_s":"1970-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00.000000001","tstz":"2024-07-01T14:00:00.123+02:00","ok":true,"blob":"a\\x5Cb\\x00","u8":255,"größe, \"x\"":-32768}
{"s":"say \"hi\"","f64":"Infinity","f32":"-Infinity","dec":0.0005,"day":"9999-12-31","ts_s":"1969-12-31T23:59:59","ts_ns":"1970-01-01T00:00:01.5","tstz":"2024-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":32767}
{"s":"line\r\nbreak","f64":"-Infinity","f32":"NaN","dec":-922337203685477.5808,"day":"0000-12-31","ts_s":"9999-12-31T23:59:59","ts_ns":"1969-12-31T23:59:59.999999999","tstz":"1970-01-01T00:59:59.999+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":" lead","f64":-0,"f32":1e-06,"dec":1844674407370955.1615,"day":"10000-01-01","ts_s":"0001-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00","tstz":"1970-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":"trail\t","f64":0.00001,"f32":3.4e+38,"dec":-1844674407370955.1616,"day":"2024-02-29","ts_s":"1970-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00","tstz":"1970-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":"","f64":9999999999999998,"f32":0,"dec":9999999999.9999,"day":"1970-01-01","ts_s":"1970-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00","tstz":"1970-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":"tab\tin, the middle","f64":0,"f32":0,"dec":0.0000,"day":"1970-01-01","ts_s":"1970-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00","tstz":"1970-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":"ctl\u0001\u001f\u007f é 日本 🎉","f64":0,"f32":0,"dec":0.0000,"day":"1970-01-01","ts_s":"1970-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00","tstz":"1970-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":"bad \ufffd utf8 \ufffd\ufffd","f64":0,"f32":0,"dec":0.0000,"day":"1970-01-01","ts_s":"1970-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00","tstz":"1970-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":"back\\slash","f64":1e+16,"f32":0,"dec":0.0000,"day":"1970-01-01","ts_s":"1970-01-01T00:00:00","ts_ns":"1970-01-01T00:00:00","tstz":"1970-01-01T01:00:00+01:00","ok":false,"blob":"","u8":0,"größe, \"x\"":0}
{"s":null,"f64":null,"f32":null,"dec":null,"day":null,"ts_s":null,"ts_ns":null,"tstz":null,"ok":null,"blob":null,"u8":null,"größe, \"x\"":null}
`
	for _, size := range []int64{1, 3, 100} {
		if got := renderRecord(t, rec, "json", size); got != want {
			t.Errorf("batches of %d: json output:\n%s\nwant:\n%s", size, got, want)
		}
	}
}
