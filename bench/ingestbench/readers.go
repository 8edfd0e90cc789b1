package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/lakeflight/lakeflight/bench/ingestdata"
	"github.com/lakeflight/lakeflight/ingest"
)

// A reader parses one file to the end and returns how many rows it got.
type reader func(ctx context.Context, path string) (int64, error)

// batchRows is the batch size asked of the arrow-go readers (their default
// is one row a batch for CSV); ingest uses its own default, 65536.
const batchRows = 1 << 16

// readIngest drains ingest.OpenFile, inferring the schema as a user's
// ingest does; only the format is given.
func readIngest(format ingest.Format) reader {
	return func(ctx context.Context, path string) (int64, error) {
		rd, err := ingest.OpenFile(ctx, path, ingest.Options{Format: format})
		if err != nil {
			return 0, err
		}
		defer func() { _ = rd.Close() }()
		var rows int64
		for rd.Next() {
			rows += rd.RecordBatch().NumRows()
		}
		if err := rd.Err(); err != nil {
			return rows, err
		}
		if st := rd.Stats(); st.Rows != rows {
			return rows, fmt.Errorf("Stats().Rows = %d, but %d rows were handed out", st.Rows, rows)
		}
		return rows, nil
	}
}

// ingestSchema is the schema ingest infers for path (nil on error).
func ingestSchema(ctx context.Context, path string, format ingest.Format) (*arrow.Schema, error) {
	rd, err := ingest.OpenFile(ctx, path, ingest.Options{Format: format})
	if err != nil {
		return nil, err
	}
	defer func() { _ = rd.Close() }()
	return rd.Schema(), nil
}

// readArrowCSV is arrow-go's CSV reader, given the schema, one goroutine.
func readArrowCSV(_ context.Context, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	r := csv.NewReader(f, ingestdata.Schema(), csv.WithHeader(true), csv.WithChunk(batchRows))
	defer r.Release()
	return drain(r)
}

// jsonBlockLines is how many lines readArrowJSON hands to each JSON reader.
const jsonBlockLines = 1024

// readArrowJSON is arrow-go's NDJSON reader, given the schema, fed blocks
// of jsonBlockLines lines, a new reader each. On one long stream its
// decoder (goccy/go-json) moves its whole buffer at every escaped
// character, which makes the file's escaped quotes quadratic: 200k rows
// took 45 s (goccy/go-json#535, apache/arrow-go#448). Blocks keep it linear,
// so the baseline is the reader at its best, not at its pathology.
func readArrowJSON(_ context.Context, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	br := bufio.NewReaderSize(f, 1<<20)
	var (
		rows  int64
		block []byte
		lines int
	)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return rows, err
		}
		block = append(block, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // a line longer than the buffer: keep reading it
		}
		if len(line) > 0 {
			lines++
		}
		if lines == jsonBlockLines || (err != nil && len(block) > 0) {
			r := array.NewJSONReader(bytes.NewReader(block), ingestdata.Schema(), array.WithChunk(jsonBlockLines))
			n, derr := drain(r)
			r.Release()
			rows += n
			if derr != nil {
				return rows, derr
			}
			block, lines = block[:0], 0
		}
		if err != nil {
			return rows, nil
		}
	}
}

// readPqarrow is arrow-go's Parquet reader straight, columns in parallel:
// the floor under ingest's Parquet path.
func readPqarrow(ctx context.Context, path string) (int64, error) {
	pf, err := file.OpenParquetFile(path, true)
	if err != nil {
		return 0, err
	}
	defer func() { _ = pf.Close() }()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{Parallel: true, BatchSize: batchRows}, memory.DefaultAllocator)
	if err != nil {
		return 0, err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	return drain(rr)
}

func drain(r array.RecordReader) (int64, error) {
	var rows int64
	for r.Next() {
		rows += r.RecordBatch().NumRows()
	}
	return rows, r.Err()
}

// duck is an in-memory DuckDB with as many threads as GOMAXPROCS.
type duck struct{ db *sql.DB }

func openDuck(ctx context.Context) (*duck, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", runtime.GOMAXPROCS(0))); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &duck{db: db}, nil
}

func (d *duck) Close() error { return d.db.Close() }

// table returns a reader that parses a file into a DuckDB table with
// CREATE TABLE AS SELECT * FROM fn('path'<args>), then counts the table's
// rows and drops it. Both are inside the timing and both are cheap next to
// the parse (a table's count(*) is answered from its row count).
func (d *duck) table(fn, args string) reader {
	return func(ctx context.Context, path string) (int64, error) {
		q := fmt.Sprintf("CREATE OR REPLACE TABLE t AS SELECT * FROM %s(%s%s)", fn, quote(path), args)
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return 0, err
		}
		var rows int64
		if err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&rows); err != nil {
			return 0, err
		}
		_, err := d.db.ExecContext(ctx, "DROP TABLE t")
		return rows, err
	}
}

// parquetRef writes the CSV at path as Parquet with DuckDB's own writer,
// zstd and lz4 (Parquet format v2, whose delta encodings DuckDB then
// uses), in dir, and says how many times smaller than the CSV each is: the
// yardstick for lakeflight's table files of the same data.
func (d *duck) parquetRef(ctx context.Context, path, dir string) (string, error) {
	csv, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, w := range []struct{ name, opts string }{
		{"zstd", "COMPRESSION zstd"}, {"lz4, Parquet v2", "COMPRESSION lz4, PARQUET_VERSION v2"},
	} {
		out := filepath.Join(dir, "duckdb-ref.parquet")
		q := fmt.Sprintf("COPY (SELECT * FROM read_csv(%s)) TO %s (FORMAT parquet, %s)", quote(path), quote(out), w.opts)
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return "", err
		}
		fi, err := os.Stat(out)
		if err != nil {
			return "", err
		}
		_ = os.Remove(out)
		parts = append(parts, fmt.Sprintf("%s %.1f×", w.name, float64(csv.Size())/float64(fi.Size())))
	}
	return "DuckDB's own Parquet writer makes the CSV of the sections above this much smaller: " + strings.Join(parts, ", "), nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
