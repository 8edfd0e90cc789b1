package catalog

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Position-delete files (Iceberg format v2): Parquet files of (file_path,
// pos) rows, field ids 2147483546 and 2147483545, sorted by file_path then
// pos, each row naming one deleted row of a data file. lakeflight writes
// one delete file per data file and records the data file as the delete
// file's referenced_data_file, so that planners attach it to that file only
// and iceberg-go can check at commit that the file still exists. iceberg-go
// leaves referenced_data_file out of format v2 manifests, though; the
// file_path bounds (that one path, in full) say the same (cow.go).

// posDeletes are the positions to delete from one data file, sorted and
// distinct.
type posDeletes struct {
	dataFile string // location, as the manifest records it
	pos      []int64
	// part is the data file's spec and partition, which the delete file
	// shares (readers match deletes to data files within a partition);
	// nil for a file of an unpartitioned spec.
	part *filePartition
}

// filePartition is the partition spec a data file was written with and
// its partition values.
type filePartition struct {
	spec   iceberg.PartitionSpec
	values map[int]any
}

// deleteBatchRows bounds the rows of one batch written to a delete file.
const deleteBatchRows = 1 << 16

// writeDeletes writes one position-delete file per entry of dels, on n
// goroutines, and returns them in the order of dels. On error it removes
// the files it wrote.
func (w *target) writeDeletes(ctx context.Context, dels []posDeletes, n int) ([]iceberg.DataFile, error) {
	files := make([]iceberg.DataFile, len(dels))
	errs := make([]error, len(dels))
	prefix := uuid.NewString()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(n, 1), len(dels)) {
		wg.Go(func() {
			for i := range next {
				path := w.locs.NewDataLocation(fmt.Sprintf("%s-%05d-deletes.parquet", prefix, i))
				files[i], errs[i] = w.writeDeleteFile(path, dels[i])
				if errs[i] != nil {
					_ = w.wfs.Remove(path)
				}
			}
		})
	}
	for i := range dels {
		if ctx.Err() != nil {
			errs[i] = context.Cause(ctx)
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for _, f := range files {
				if f != nil {
					_ = w.wfs.Remove(f.FilePath())
				}
			}
			return nil, err
		}
	}
	return files, nil
}

// writeDeleteFile writes d to path and describes the file for the manifest.
func (w *target) writeDeleteFile(path string, d posDeletes) (iceberg.DataFile, error) {
	out, err := w.wfs.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	sink := &countingWriter{w: out}
	sc := table.PositionalDeleteArrowSchema
	pw, err := pqarrow.NewFileWriter(sc, sink, w.layout.writerProps(sc), pqarrow.DefaultWriterProps())
	if err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	bld := array.NewRecordBuilder(memory.NewGoAllocator(), sc)
	defer bld.Release()
	paths, positions := bld.Field(0).(*array.StringBuilder), bld.Field(1).(*array.Int64Builder)
	for start := 0; start < len(d.pos); start += deleteBatchRows {
		chunk := d.pos[start:min(start+deleteBatchRows, len(d.pos))]
		paths.ReserveData(len(chunk) * len(d.dataFile))
		for range chunk {
			paths.Append(d.dataFile)
		}
		positions.AppendValues(chunk, nil)
		b := bld.NewRecordBatch()
		err := pw.WriteBuffered(b)
		b.Release()
		if err != nil {
			_ = pw.Close()
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := pw.Close(); err != nil { // closes out too
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return deleteDataFile(path, sink.n, d)
}

// deleteDataFile describes a position-delete file written from d, with the
// column metrics a reader prunes by: both bounds of file_path are the data
// file (Java writes them in full for delete files too), those of pos the
// first and last position.
func deleteDataFile(path string, size int64, d posDeletes) (iceberg.DataFile, error) {
	fields := iceberg.PositionalDeleteSchema.Fields()
	pathID, posID := fields[0].ID, fields[1].ID
	rows := int64(len(d.pos))
	lo, err := iceberg.Int64Literal(d.pos[0]).MarshalBinary()
	if err != nil {
		return nil, err
	}
	hi, err := iceberg.Int64Literal(d.pos[len(d.pos)-1]).MarshalBinary()
	if err != nil {
		return nil, err
	}
	spec, values := *iceberg.UnpartitionedSpec, map[int]any(nil)
	if d.part != nil {
		spec, values = d.part.spec, d.part.values
	}
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentPosDeletes,
		path, iceberg.ParquetFile, values, nil, nil, rows, size)
	if err != nil {
		return nil, err
	}
	return b.ReferencedDataFile(d.dataFile).
		ValueCounts(map[int]int64{pathID: rows, posID: rows}).
		NullValueCounts(map[int]int64{pathID: 0, posID: 0}).
		LowerBoundValues(map[int][]byte{pathID: []byte(d.dataFile), posID: lo}).
		UpperBoundValues(map[int][]byte{pathID: []byte(d.dataFile), posID: hi}).
		Build(), nil
}

// countingWriter counts the bytes written to a file, which is its size
// once closed.
type countingWriter struct {
	w io.WriteCloser
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Close() error { return c.w.Close() }
