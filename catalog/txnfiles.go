package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// txnFiles records the files a Txn writes (data files, and the manifests a
// commit writes), so that a Txn aborted before it committed removes them:
// nothing can reference them, and a failed ingest or statement leaves
// nothing behind in the table's directory.
type txnFiles struct {
	mu    sync.Mutex
	names []string
	base  icebergio.IO // the FS the files were written through, for removing them

	// serverMetadata: the catalog writes the table metadata files and
	// removes the old ones itself (a REST catalog). iceberg-go would remove
	// them again after each commit (write.metadata.delete-after-commit),
	// find them gone and log a warning per file; its removals of metadata
	// files are skipped.
	serverMetadata bool
}

func (w *txnFiles) add(name string) {
	w.mu.Lock()
	w.names = append(w.names, name)
	w.mu.Unlock()
}

// fsys wraps the table's FS so that every file created through it is
// recorded.
func (w *txnFiles) fsys(base table.FSysF) table.FSysF {
	return func(ctx context.Context) (icebergio.IO, error) {
		b, err := base(ctx)
		if err != nil {
			return nil, err
		}
		wb, ok := b.(icebergio.WriteFileIO)
		if !ok {
			return b, nil // nothing can be written through it anyway
		}
		w.mu.Lock()
		w.base = b
		w.mu.Unlock()
		return recordingIO{base: wb, rec: w, keepMetadata: w.serverMetadata}, nil
	}
}

// remove deletes every recorded file; a file already gone is fine.
func (w *txnFiles) remove() error {
	w.mu.Lock()
	names, base := w.names, w.base
	w.names = nil
	w.mu.Unlock()
	var errs []error
	for _, n := range names {
		if err := base.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing %d of the %d files an aborted write left: %w", len(errs), len(names), errors.Join(errs...))
	}
	return nil
}

// recordingIO is a WriteFileIO (also ReadFileIO and StatIO, which
// iceberg-go looks for) that records the names it creates.
type recordingIO struct {
	base         icebergio.WriteFileIO
	rec          *txnFiles
	keepMetadata bool // see txnFiles.serverMetadata
}

func (r recordingIO) Open(name string) (icebergio.File, error) { return r.base.Open(name) }

func (r recordingIO) Remove(name string) error {
	if r.keepMetadata && strings.HasSuffix(name, ".metadata.json") {
		return nil
	}
	return r.base.Remove(name)
}

func (r recordingIO) Create(name string) (icebergio.FileWriter, error) {
	f, err := r.base.Create(name)
	if err == nil {
		r.rec.add(name)
	}
	return f, err
}

func (r recordingIO) WriteFile(name string, p []byte) error {
	r.rec.add(name) // even a failed write may have left part of the file
	return r.base.WriteFile(name, p)
}

func (r recordingIO) ReadFile(name string) ([]byte, error) {
	if rf, ok := r.base.(icebergio.ReadFileIO); ok {
		return rf.ReadFile(name)
	}
	f, err := r.base.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(f)
}

func (r recordingIO) Stat(name string) (fs.FileInfo, error) {
	if s, ok := r.base.(icebergio.StatIO); ok {
		return s.Stat(name)
	}
	f, err := r.base.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return f.Stat()
}
