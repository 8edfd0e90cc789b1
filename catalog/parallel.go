package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Parallel writing: iceberg-go's Append writes one Parquet file at a time
// on one goroutine, and Parquet encoding and compression are the slow side
// of an ingest. AppendParallel deals the rows out to several writers, each
// producing its own files, and stages them with AddDataFiles in one
// snapshot (Txn.Delta writes its new rows the same way).
//
// The rows go out in runs of one row group each, writer after writer, so
// every row group holds rows that were adjacent in the input: input that
// arrives sorted (by time, by key) keeps each row group's column bounds to
// its own run, which readers use to skip row groups. Dealing batch by
// batch to whichever writer was free mixed runs: on TPC-H's lineitem
// (sorted by l_orderkey) a row group of 1Mi rows spanned about 2M keys
// where it now spans 1M; sizes were the same either way.

// fileRows is where a parallel writer starts a new file.
const fileRows = 8 << 20

// AppendParallel is Append with the data files written by writers
// goroutines. The reader's schema must be the table's (ArrowSchema). As with
// Append, the summary map is read when the reader ends. An empty reader
// stages an empty append, so that every ingest still makes a snapshot.
func (t *Txn) AppendParallel(ctx context.Context, rdr array.RecordReader, summary map[string]string, writers int) error {
	t.staged = true
	w, err := t.target(ctx)
	if err != nil {
		return fmt.Errorf("writing to %s: %w", t.id, err)
	}
	files, err := w.writeData(ctx, rdr, writers)
	if err != nil {
		return fmt.Errorf("writing to %s: %w", t.id, err)
	}
	if len(files) == 0 {
		// iceberg-go stages an append of no rows without writing a file.
		empty, err := array.NewRecordReader(rdr.Schema(), nil)
		if err != nil {
			return err
		}
		defer empty.Release()
		if err := t.tx.Append(ctx, borrowedReader{empty}, iceberg.Properties(summary)); err != nil {
			return fmt.Errorf("writing to %s: %w", t.id, err)
		}
		return nil
	}
	if err := t.tx.AddDataFiles(ctx, files, iceberg.Properties(summary)); err != nil {
		w.remove(files)
		return fmt.Errorf("staging data files of %s: %w", t.id, err)
	}
	return nil
}

// target is where a Txn writes its files: the table with this Txn's schema
// changes staged, its file system and its location provider.
type target struct {
	schema *iceberg.Schema
	spec   iceberg.PartitionSpec // the table's current one: new files follow it
	order  table.SortOrder       // the table's default sort order (sortorder.go)
	props  iceberg.Properties
	layout layout // from props (layout.go)
	fs     icebergio.IO
	wfs    icebergio.WriteFileIO
	locs   table.LocationProvider
}

func (t *Txn) target(ctx context.Context) (*target, error) {
	st, err := t.tx.StagedTable()
	if err != nil {
		return nil, err
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	wfs, ok := fs.(icebergio.WriteFileIO)
	if !ok {
		return nil, errors.New("the warehouse is not writable")
	}
	locs, err := st.LocationProvider()
	if err != nil {
		return nil, err
	}
	l, err := layoutOf(st.Properties())
	if err != nil {
		return nil, err
	}
	return &target{schema: st.Schema(), spec: st.Spec(), order: st.SortOrder(), props: st.Properties(), layout: l, fs: fs, wfs: wfs, locs: locs}, nil
}

// writeData drains rdr into Parquet data files written by n goroutines and
// returns them, read back with their column statistics (none for a reader
// without rows). In a table with a sort order, each file's rows are sorted
// by it. On error it removes the files it wrote.
func (w *target) writeData(ctx context.Context, rdr array.RecordReader, n int) ([]iceberg.DataFile, error) {
	withIDs, err := table.SchemaToArrowSchema(w.schema, nil, true, false)
	if err != nil {
		return nil, err
	}
	if err := writableAs(rdr.Schema(), withIDs); err != nil {
		return nil, err
	}
	orderID := table.UnsortedSortOrderID
	var runs *sortedRuns
	if keys, ok := sortKeysOf(w.order, w.schema); ok {
		runs = newSortedRuns(ctx, rdr, withIDs, keys, sortRunBytes)
		defer runs.release()
		rdr, orderID = runs, w.order.OrderID()
	}
	var written []partFile
	if w.spec.IsUnpartitioned() {
		if runs != nil {
			n = 1 // one writer, so that a file holds one run's rows in order
		}
		paths, err := writeParallel(ctx, rdr, runs, withIDs, w.layout, w.wfs, w.locs, max(n, 1))
		for _, p := range paths {
			written = append(written, partFile{path: p})
		}
		if err != nil {
			removeWritten(w.wfs, written)
			return nil, err
		}
	} else {
		part, err := newPartitioner(w.spec, w.schema)
		if err != nil {
			return nil, err
		}
		written, err = writePartitioned(ctx, rdr, runs, part, withIDs, w.layout, w.wfs, w.locs, max(n, 1))
		if err != nil {
			removeWritten(w.wfs, written)
			return nil, err
		}
	}
	files := make([]iceberg.DataFile, 0, len(written))
	for _, f := range written {
		df, err := table.FileToDataFile(ctx, w.fs, f.path, w.schema, *iceberg.UnpartitionedSpec, orderID, w.props)
		if err == nil && !w.spec.IsUnpartitioned() {
			df, err = partitionedDataFile(df, w.spec, f.values)
		}
		if err != nil {
			removeWritten(w.wfs, written)
			return nil, fmt.Errorf("reading back data file %s: %w", f.path, err)
		}
		files = append(files, df)
	}
	return files, nil
}

// removeWritten deletes the files of a write that failed.
func removeWritten(wfs icebergio.WriteFileIO, files []partFile) {
	for _, f := range files {
		_ = wfs.Remove(f.path)
	}
}

// writableAs checks that batches of schema got can be written as the
// table's columns want: the same names in the same order, of the same types
// (ignoring metadata such as field ids), and no column that may hold NULLs
// where the table requires a value. Every write checks it (writeData).
func writableAs(got, want *arrow.Schema) error {
	if got.NumFields() != want.NumFields() {
		return fmt.Errorf("%w: the rows have %d columns, the table %d", ErrInvalidArgument, got.NumFields(), want.NumFields())
	}
	for i := range want.NumFields() {
		g, w := got.Field(i), want.Field(i)
		if g.Name != w.Name || !fieldWritableAs(g, w) {
			return fmt.Errorf("%w: column %d of the rows is %s, the table's is %s", ErrInvalidArgument, i+1, g, w)
		}
	}
	return nil
}

// fieldWritableAs reports whether a column g can be written as the table's
// column w, names aside.
func fieldWritableAs(g, w arrow.Field) bool {
	return arrow.TypeEqual(g.Type, w.Type) && (w.Nullable || !g.Nullable)
}

// remove deletes files written for a write that failed later.
func (w *target) remove(files []iceberg.DataFile) {
	for _, f := range files {
		_ = w.wfs.Remove(f.FilePath())
	}
}

// writeParallel drains rdr into Parquet files written by n goroutines and
// returns the paths written (also on error, for clean-up). When rdr gives
// sorted runs (runs is rdr, and n is 1), a file ends with each run.
func writeParallel(ctx context.Context, rdr array.RecordReader, runs *sortedRuns, withIDs *arrow.Schema, l layout, wfs icebergio.WriteFileIO,
	locs table.LocationProvider, n int,
) ([]string, error) {
	props := l.writerProps(withIDs)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make([]chan arrow.RecordBatch, n)
	var (
		mu    sync.Mutex
		paths []string
		wg    sync.WaitGroup
	)
	prefix := uuid.NewString()
	for w := range n {
		batches[w] = make(chan arrow.RecordBatch, 1)
		wg.Go(func() {
			fw := &fileWriter{wfs: wfs, schema: withIDs, props: props, target: l.targetBytes, name: func(seq int) string {
				return locs.NewDataLocation(fmt.Sprintf("%s-%d-%05d.parquet", prefix, w, seq))
			}, opened: func(p string) {
				mu.Lock()
				paths = append(paths, p)
				mu.Unlock()
			}}
			for b := range batches[w] {
				if b == nil { // a sorted run ended
					if err := fw.close(); err != nil {
						cancel(err)
					}
					continue
				}
				if ctx.Err() == nil {
					if err := fw.write(b); err != nil {
						cancel(err)
					}
				}
				b.Release()
			}
			if err := fw.close(); err != nil {
				cancel(err)
			}
		})
	}

	d := dealer{out: batches, run: props.MaxRowGroupLength()}
	for ctx.Err() == nil && rdr.Next() {
		rec := rdr.RecordBatch()
		if rec.NumRows() == 0 {
			continue // an empty batch must not open an empty file
		}
		b := array.NewRecordBatch(withIDs, rec.Columns(), rec.NumRows())
		d.deal(ctx, b)
		b.Release()
		if runs != nil && runs.runEnded() {
			select {
			case batches[0] <- nil:
			case <-ctx.Done():
			}
		}
	}
	for _, ch := range batches {
		close(ch)
	}
	wg.Wait()
	if err := rdr.Err(); err != nil {
		return paths, err
	}
	return paths, context.Cause(ctx)
}

// dealer hands rows to the writers in runs of run rows: a writer gets one
// whole row group of adjacent rows, then the next writer the next one.
type dealer struct {
	out  []chan arrow.RecordBatch
	run  int64
	cur  int   // the writer of the current run
	rows int64 // rows of the current run dealt so far
}

// deal sends b's rows on (b is borrowed; what is sent is retained), cutting
// it where a run ends; it stops early when ctx ends.
func (d *dealer) deal(ctx context.Context, b arrow.RecordBatch) {
	for off := int64(0); off < b.NumRows(); {
		n := min(b.NumRows()-off, d.run-d.rows)
		part := b
		if n == b.NumRows() {
			part.Retain()
		} else {
			part = b.NewSlice(off, off+n)
		}
		select {
		case d.out[d.cur] <- part:
		case <-ctx.Done():
			part.Release()
			return
		}
		off += n
		if d.rows += n; d.rows == d.run {
			d.cur, d.rows = (d.cur+1)%len(d.out), 0
		}
	}
}

// fileWriter writes batches into a series of Parquet files of at most
// fileRows rows and about target bytes (0: no bound).
type fileWriter struct {
	wfs    icebergio.WriteFileIO
	schema *arrow.Schema
	props  *parquet.WriterProperties
	target int64
	name   func(seq int) string
	opened func(path string)
	seq    int
	rows   int64
	out    *countingWriter
	pw     *pqarrow.FileWriter
}

func (f *fileWriter) write(b arrow.RecordBatch) error {
	if f.pw == nil {
		path := f.name(f.seq)
		f.seq++
		out, err := f.wfs.Create(path)
		if err != nil {
			return fmt.Errorf("creating %s: %w", path, err)
		}
		f.opened(path)
		sink := &countingWriter{w: out}
		pw, err := pqarrow.NewFileWriter(f.schema, sink, f.props, pqarrow.DefaultWriterProps())
		if err != nil {
			_ = out.Close()
			return err
		}
		f.out, f.pw, f.rows = sink, pw, 0
	}
	if err := f.pw.WriteBuffered(b); err != nil {
		return err
	}
	f.rows += b.NumRows()
	if f.rows >= fileRows || (f.target > 0 && f.out.n+f.pw.RowGroupTotalCompressedBytes() >= f.target) {
		return f.close()
	}
	return nil
}

// close finishes the current file (pqarrow closes the sink too).
func (f *fileWriter) close() error {
	if f.pw == nil {
		return nil
	}
	pw := f.pw
	f.pw, f.out = nil, nil
	return pw.Close()
}
