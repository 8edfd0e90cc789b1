// Package parquettest reads Parquet files whole in tests, as a reader that
// knows nothing of Iceberg would.
package parquettest

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Read reads the Parquet file at path (a local path) whole; the table is
// released when the test ends.
func Read(t testing.TB, path string) arrow.Table {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pf.Close() }()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	at, err := fr.ReadTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(at.Release)
	return at
}

// Int64s reads one int64 column of the file at path, in row order.
func Int64s(t testing.TB, path string, col int) []int64 {
	t.Helper()
	var out []int64
	for _, a := range Read(t, path).Column(col).Data().Chunks() {
		out = append(out, a.(*array.Int64).Int64Values()...)
	}
	return out
}
