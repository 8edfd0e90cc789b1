package ingestdata

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Text layouts of the date and timestamp columns in CSV and NDJSON.
const (
	DateLayout      = "2006-01-02"
	TimestampLayout = "2006-01-02 15:04:05"
)

// Files are the paths of one generated data set.
type Files struct {
	CSV, NDJSON, Parquet string
}

// Generate writes rows rows as data.csv, data.ndjson and data.parquet in dir.
func Generate(dir string, rows int) (Files, error) {
	f := Files{
		CSV:     filepath.Join(dir, "data.csv"),
		NDJSON:  filepath.Join(dir, "data.ndjson"),
		Parquet: filepath.Join(dir, "data.parquet"),
	}
	for _, w := range []struct {
		path  string
		write func(io.Writer, int) error
	}{{f.CSV, WriteCSV}, {f.NDJSON, WriteNDJSON}, {f.Parquet, WriteParquet}} {
		if err := writeFile(w.path, rows, w.write); err != nil {
			return f, err
		}
	}
	return f, nil
}

func writeFile(path string, rows int, write func(io.Writer, int) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(file, rows); err != nil {
		_ = file.Close()
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return file.Close()
}

// WriteCSV writes the header and rows rows as comma-separated text. Only
// the note column is quoted (it always has commas); embedded quotes double.
func WriteCSV(w io.Writer, rows int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(strings.Join(Columns, ",") + "\n"); err != nil {
		return err
	}
	buf := make([]byte, 0, 256)
	for i := range int64(rows) {
		buf = AppendCSV(buf[:0], RowAt(i))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// AppendCSV appends r as one CSV line, newline included.
func AppendCSV(b []byte, r Row) []byte {
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, r.Price, 'f', 2, 64)
	b = append(b, ',')
	b = append(b, r.Name...)
	b = append(b, ',', '"')
	for i := 0; i < len(r.Note); i++ {
		if r.Note[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, r.Note[i])
	}
	b = append(b, '"', ',')
	b = strconv.AppendBool(b, r.Active)
	b = append(b, ',')
	b = r.Day.AppendFormat(b, DateLayout)
	b = append(b, ',')
	b = r.TS.AppendFormat(b, TimestampLayout)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Category, 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, r.Ratio, 'f', -1, 64)
	b = append(b, ',')
	b = append(b, r.Code...)
	return append(b, '\n')
}

// WriteNDJSON writes rows rows as one JSON object a line, keys in column
// order, dates and timestamps as strings in the CSV's layouts.
func WriteNDJSON(w io.Writer, rows int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 320)
	for i := range int64(rows) {
		buf = AppendNDJSON(buf[:0], RowAt(i))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// AppendNDJSON appends r as one JSON object and a newline.
func AppendNDJSON(b []byte, r Row) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"price":`...)
	b = strconv.AppendFloat(b, r.Price, 'f', 2, 64)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, r.Name)
	b = append(b, `,"note":`...)
	b = appendJSONString(b, r.Note)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, r.Active)
	b = append(b, `,"day":"`...)
	b = r.Day.AppendFormat(b, DateLayout)
	b = append(b, `","ts":"`...)
	b = r.TS.AppendFormat(b, TimestampLayout)
	b = append(b, `","category":`...)
	b = strconv.AppendInt(b, r.Category, 10)
	b = append(b, `,"ratio":`...)
	b = strconv.AppendFloat(b, r.Ratio, 'f', -1, 64)
	b = append(b, `,"code":`...)
	b = appendJSONString(b, r.Code)
	return append(b, "}\n"...)
}

// appendJSONString quotes s for JSON; the generated text is printable ASCII,
// so only quotes and backslashes need escaping.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// Parquet layout: row groups of 128Ki rows, zstd level 1, dictionaries only
// for the low-cardinality columns (IDs, floats and timestamps write faster
// and no larger without).
const parquetRowGroup = 128 << 10

// WriteParquet writes rows rows as a zstd-compressed Parquet file.
func WriteParquet(w io.Writer, rows int) error {
	mem := memory.NewGoAllocator()
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(1),
		parquet.WithMaxRowGroupLength(parquetRowGroup),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("name", true),
		parquet.WithDictionaryFor("active", true),
		parquet.WithDictionaryFor("category", true),
	)
	// The buffer also keeps the writer from closing w (it closes a sink
	// that is an io.Closer).
	bw := bufio.NewWriterSize(w, 1<<20)
	fw, err := pqarrow.NewFileWriter(Schema(), bw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return err
	}
	for start := 0; start < rows; start += parquetRowGroup {
		rec := Batch(mem, int64(start), min(parquetRowGroup, rows-start))
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			_ = fw.Close()
			return err
		}
	}
	if err := fw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// Batch builds rows [start, start+n) as one record batch of Schema().
func Batch(mem memory.Allocator, start int64, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, Schema())
	defer b.Release()
	b.Reserve(n)
	var (
		id       = b.Field(0).(*array.Int64Builder)
		price    = b.Field(1).(*array.Float64Builder)
		name     = b.Field(2).(*array.StringBuilder)
		note     = b.Field(3).(*array.StringBuilder)
		active   = b.Field(4).(*array.BooleanBuilder)
		day      = b.Field(5).(*array.Date32Builder)
		ts       = b.Field(6).(*array.TimestampBuilder)
		category = b.Field(7).(*array.Int64Builder)
		ratio    = b.Field(8).(*array.Float64Builder)
		code     = b.Field(9).(*array.StringBuilder)
	)
	for i := start; i < start+int64(n); i++ {
		r := RowAt(i)
		id.Append(r.ID)
		price.Append(r.Price)
		name.Append(r.Name)
		note.Append(r.Note)
		active.Append(r.Active)
		day.Append(arrow.Date32FromTime(r.Day))
		ts.Append(arrow.Timestamp(r.TS.UnixMicro()))
		category.Append(r.Category)
		ratio.Append(r.Ratio)
		code.Append(r.Code)
	}
	return b.NewRecordBatch()
}
