package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	icetable "github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/catalog"
)

// Mode is how an ingest treats the target table (the modes of ADBC's
// adbc_ingest).
type Mode string

// The ingest modes.
const (
	ModeCreate       Mode = "create"        // create the table; fail if it exists
	ModeAppend       Mode = "append"        // append; fail if the table is missing
	ModeReplace      Mode = "replace"       // create, or replace all rows and the schema
	ModeCreateAppend Mode = "create_append" // create if missing, then append
)

// ParseMode reads a mode name; "" means create_append.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeCreateAppend, nil
	case ModeCreate, ModeAppend, ModeReplace, ModeCreateAppend:
		return m, nil
	}
	return "", fmt.Errorf("%w: unknown ingest mode %q (want create, append, replace or create_append)", ErrOptions, s)
}

// Snapshot summary keys an ingest records.
const (
	SummaryKey      = "lakeflight.ingest.key"
	SummarySource   = "lakeflight.ingest.source"
	SummaryRows     = "lakeflight.ingest.rows"
	SummaryBytes    = "lakeflight.ingest.bytes"
	SummaryRejected = "lakeflight.ingest.rejected"
	SummarySkipped  = "lakeflight.ingest.skipped"
	SummaryMode     = "lakeflight.ingest.mode"
)

// Request is one ingest: a stream of batches into one table.
type Request struct {
	Table catalog.Ident
	Mode  Mode
	// Key, when set, makes the ingest idempotent: if a snapshot of the
	// table already carries it, nothing is written and that ingest's result
	// is returned (Replayed).
	Key    string
	Source string // recorded in the snapshot summary
	// Records is consumed, not released.
	Records array.RecordReader
	// After is called once Records is exhausted, before anything commits:
	// it returns the rows rejected by the parser (committed to the rejects
	// table with the data), the input bytes and the rows skipped.
	After func() (rejects []RowError, bytes, skipped int64)
	// InvalidUTF8 is what text that is not valid UTF-8 does: fail the
	// ingest (UTF8Error, the default), or become U+FFFD (UTF8Replace).
	// Readers from Open have applied it already; batches from elsewhere
	// (a Flight client) are checked here.
	InvalidUTF8 UTF8Policy
	// PartitionBy, when set, is a PARTITIONED BY clause's terms
	// (catalog.ParsePartitionSpec): a table the ingest creates is
	// partitioned so, and an existing table must already be.
	PartitionBy string
}

// Result says what an ingest committed.
type Result struct {
	Table             string        `json:"table"`
	SnapshotID        int64         `json:"snapshot_id"`
	Rows              int64         `json:"rows"`
	Rejected          int64         `json:"rejected"`
	Skipped           int64         `json:"skipped"`
	Bytes             int64         `json:"bytes"`
	RejectsTable      string        `json:"rejects_table,omitempty"`
	RejectsSnapshotID int64         `json:"rejects_snapshot_id,omitempty"`
	Replayed          bool          `json:"replayed"`
	Duration          time.Duration `json:"-"`
	Created           bool          `json:"created"`
	// Timings says where the server's time went; nil for a replay.
	Timings *Timings `json:"timings,omitempty"`
}

// Timings are the phases of one ingest on the server, in milliseconds. The
// data files are written while the rows stream in, so Receive holds the
// client's parsing and sending and the server's encoding as they overlap;
// Flush is what encoding had left when the stream ended (the last row
// group, the footers); Commit writes the Iceberg metadata and the catalog
// row (and the rejects table's snapshot, if any).
type Timings struct {
	OpenMS    float64 `json:"open_ms"`    // open (or create) the table, check the key, plan the schema
	ReceiveMS float64 `json:"receive_ms"` // the table opened until the stream ended
	FlushMS   float64 `json:"flush_ms"`   // stream end until every data file is closed
	CommitMS  float64 `json:"commit_ms"`  // the snapshot commit(s)
}

// millis is d in milliseconds to a tenth.
func millis(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond).Microseconds()) / 1000
}

// Writer commits ingests to the catalog: it checks the idempotency key,
// creates or evolves the table, writes the data files while the batches
// stream in, and commits one snapshot (plus one on the rejects table).
type Writer struct {
	cat *catalog.Catalog
	log *slog.Logger
	mem memory.Allocator
	// writers is how many Parquet files are written at once (GOMAXPROCS).
	writers int
	// committed, when set, hears of every table an ingest committed to, so
	// that a query engine in the same process sees a new table at once.
	committed func(ctx context.Context, id catalog.Ident)
	m         *metrics // nil until Register
}

// OnCommit sets a function called after each successful ingest with the
// table (and the rejects table, when one was written). Set it before the
// first Write.
func (w *Writer) OnCommit(fn func(ctx context.Context, id catalog.Ident)) { w.committed = fn }

// NewWriter returns a Writer over cat.
func NewWriter(cat *catalog.Catalog, log *slog.Logger, mem memory.Allocator) *Writer {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Writer{cat: cat, log: log, mem: mem, writers: runtime.GOMAXPROCS(0)}
}

// Write runs one ingest. Nothing is committed unless every batch arrived:
// an error from Records, a cancelled ctx or a schema conflict leaves the
// table as it was.
func (w *Writer) Write(ctx context.Context, req Request) (res Result, err error) {
	start := time.Now()
	defer func() { w.observe(start, res, err) }()
	res = Result{Table: req.Table.String()}
	if req.Mode == "" {
		req.Mode = ModeCreateAppend
	}
	if _, err := ParseMode(string(req.Mode)); err != nil {
		return res, err
	}
	if _, err := ParseUTF8Policy(string(req.InvalidUTF8)); err != nil {
		return res, err
	}
	if err := checkKey(req.Key); err != nil {
		return res, err
	}
	in, err := icebergSchema(req.Records.Schema())
	if err != nil {
		return res, fmt.Errorf("ingesting into %s: %w", req.Table, err)
	}

	txn, created, err := w.begin(ctx, req, in)
	if err != nil {
		return res, err
	}
	defer txn.Abort()
	if w.committed != nil {
		defer func() {
			if err != nil || res.Replayed {
				return
			}
			w.committed(context.WithoutCancel(ctx), req.Table)
			if rid, perr := ParseTable(res.RejectsTable); res.RejectsTable != "" && perr == nil {
				w.committed(context.WithoutCancel(ctx), rid)
			}
		}()
	}
	res.Created = created
	if created {
		defer func() {
			if err != nil { // take back the table this failed ingest created
				txn.Abort()
				if _, derr := w.cat.DropIfEmpty(context.WithoutCancel(ctx), req.Table); derr != nil {
					w.log.Warn("dropping the table of a failed ingest", "table", res.Table, "err", derr)
				}
			}
		}()
	}

	if req.Key != "" {
		if prev, ok := findKey(txn.Table(), req.Key); ok {
			prev.Table, prev.Duration = res.Table, time.Since(start)
			w.log.Info("ingest replayed", "table", res.Table, "key", req.Key, "snapshot", prev.SnapshotID)
			return prev, nil
		}
		if req.Mode == ModeCreate && !created {
			return res, fmt.Errorf("ingesting into %s: %w", req.Table, catalog.ErrTableAlreadyExists)
		}
	}

	if req.PartitionBy != "" && !created {
		if err := catalog.CheckPartitioning(txn.Table(), req.Table, req.PartitionBy); err != nil {
			return res, fmt.Errorf("ingesting into %s: %w", req.Table, err)
		}
	}

	tblSchema, err := txn.ArrowSchema()
	if err != nil {
		return res, err
	}
	change, err := planSchema(tblSchema, in, req.Mode == ModeReplace)
	if err != nil {
		return res, fmt.Errorf("ingesting into %s: %w", req.Table, err)
	}
	if !change.empty() {
		if err := txn.EvolveSchema(change.apply); err != nil {
			return res, err // names the table already
		}
		if tblSchema, err = txn.ArrowSchema(); err != nil {
			return res, err
		}
	}

	conf, err := newConformReader(ctx, req.Records, tblSchema, w.mem)
	if err != nil {
		return res, fmt.Errorf("ingesting into %s: %w", req.Table, err)
	}
	defer conf.Release()
	conf.replaceUTF8 = req.InvalidUTF8 == UTF8Replace
	summary := map[string]string{SummaryMode: string(req.Mode)}
	if req.Source != "" {
		summary[SummarySource] = req.Source
	}
	if req.Key != "" {
		summary[SummaryKey] = req.Key
	}
	// The counts are known only when the stream ends; iceberg-go reads the
	// summary map when it builds the snapshot, right after that.
	var rejects []RowError
	opened := time.Now()
	var streamEnd time.Time
	conf.atEnd = func() error {
		streamEnd = time.Now()
		res.Rows = conf.rows.Load()
		if req.After != nil {
			rejects, res.Bytes, res.Skipped = req.After()
		}
		res.Rejected = int64(len(rejects))
		summary[SummaryRows] = strconv.FormatInt(res.Rows, 10)
		summary[SummaryBytes] = strconv.FormatInt(res.Bytes, 10)
		summary[SummaryRejected] = strconv.FormatInt(res.Rejected, 10)
		summary[SummarySkipped] = strconv.FormatInt(res.Skipped, 10)
		return ctx.Err() // a cancelled ingest must not reach the commit
	}
	write := func(ctx context.Context, rdr array.RecordReader, summary map[string]string) error {
		return txn.AppendParallel(ctx, rdr, summary, w.writers)
	}
	if req.Mode == ModeReplace {
		write = txn.Overwrite
	}
	if err := write(ctx, conf, summary); err != nil {
		return res, w.streamErr(ctx, req, conf, err)
	}
	if err := firstErr(conf.Err(), req.Records.Err(), ctx.Err()); err != nil {
		return res, fmt.Errorf("ingesting into %s: %w", req.Table, err)
	}
	if !conf.done { // the writer stopped reading early
		return res, fmt.Errorf("ingesting into %s: the input was not read to its end", req.Table)
	}

	flushed := time.Now() // conf.done: atEnd ran and set streamEnd
	var undo func()
	if len(rejects) > 0 {
		rid := catalog.Ident{Namespace: req.Table.Namespace, Name: req.Table.Name + RejectsSuffix}
		snap, parent, err := w.commitRejects(ctx, rid, rejects, req.Key, summary)
		if err != nil {
			return res, err
		}
		res.RejectsTable, res.RejectsSnapshotID = rid.String(), snap
		undo = func() {
			if uerr := w.cat.Undo(context.WithoutCancel(ctx), rid, snap, parent); uerr != nil {
				w.log.Error("taking back rejects after a failed ingest", "table", rid.String(), "err", uerr)
			}
		}
	}
	if err := txn.ClearPending(); err != nil {
		return res, fmt.Errorf("ingesting into %s: %w", req.Table, err)
	}
	snap, err := txn.Commit(ctx)
	if err != nil {
		if undo != nil {
			undo()
		}
		return res, err
	}
	res.SnapshotID, res.Duration = snap, time.Since(start)
	res.Timings = &Timings{
		OpenMS: millis(opened.Sub(start)), ReceiveMS: millis(streamEnd.Sub(opened)),
		FlushMS: millis(flushed.Sub(streamEnd)), CommitMS: millis(time.Since(flushed)),
	}
	w.log.Info("ingest committed", "table", res.Table, "snapshot", snap, "rows", res.Rows,
		"rejected", res.Rejected, "skipped", res.Skipped, "bytes", res.Bytes, "mode", string(req.Mode),
		"duration", res.Duration.Round(time.Millisecond), "open_ms", res.Timings.OpenMS,
		"receive_ms", res.Timings.ReceiveMS, "flush_ms", res.Timings.FlushMS, "commit_ms", res.Timings.CommitMS)
	return res, nil
}

// TableTypes are the column types of an existing table, for
// Options.TypeHints; nil when the table does not exist (or cannot be read).
func (w *Writer) TableTypes(ctx context.Context, id catalog.Ident) map[string]arrow.DataType {
	tbl, err := w.cat.LoadTable(ctx, id)
	if err != nil {
		return nil
	}
	sc, err := icetable.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		return nil
	}
	return ColumnTypesOf(sc)
}

// begin opens the target for writing, creating it when the mode allows.
func (w *Writer) begin(ctx context.Context, req Request, in *arrow.Schema) (*catalog.Txn, bool, error) {
	txn, err := w.cat.Begin(ctx, req.Table)
	switch {
	case err == nil:
		if req.Mode == ModeCreate && req.Key == "" {
			txn.Abort()
			return nil, false, fmt.Errorf("ingesting into %s (mode create): %w", req.Table, catalog.ErrTableAlreadyExists)
		}
		return txn, false, nil
	case !errors.Is(err, catalog.ErrNoSuchTable):
		return nil, false, err
	case req.Mode == ModeAppend:
		return nil, false, fmt.Errorf("ingesting into %s (mode append; use create_append to create it): %w", req.Table, err)
	}
	// Created pending: if this process dies before the commit below, the
	// next start drops the empty table (catalog.SweepPending).
	err = w.cat.CreateTable(ctx, req.Table, in, catalog.PartitionedBy(req.PartitionBy), catalog.Pending())
	if err != nil && !errors.Is(err, catalog.ErrTableAlreadyExists) {
		return nil, false, err
	}
	created := err == nil
	txn, err = w.cat.Begin(ctx, req.Table)
	if err != nil && created {
		// The client went away (or the catalog failed) between creating
		// the table and starting the write: take the empty table back, or
		// a retry with mode=create would find it there.
		if _, derr := w.cat.DropIfEmpty(context.WithoutCancel(ctx), req.Table); derr != nil {
			w.log.Warn("dropping the table of a failed ingest", "table", req.Table.String(), "err", derr)
		}
	}
	return txn, created && err == nil, err
}

// commitRejects appends rejected rows to the rejects table (creating it)
// and returns the new snapshot and the one it replaced (0: none).
func (w *Writer) commitRejects(ctx context.Context, id catalog.Ident, rows []RowError, key string, summary map[string]string) (int64, int64, error) {
	if err := w.cat.CreateTable(ctx, id, rejectsSchema); err != nil && !errors.Is(err, catalog.ErrTableAlreadyExists) {
		return 0, 0, err
	}
	txn, err := w.cat.Begin(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	defer txn.Abort()
	var parent int64
	if cur := txn.Table().CurrentSnapshot(); cur != nil {
		parent = cur.SnapshotID
	}
	b := rejectsBatch(w.mem, rows, key, time.Now())
	defer b.Release()
	rdr, err := array.NewRecordReader(rejectsSchema, []arrow.RecordBatch{b})
	if err != nil {
		return 0, 0, err
	}
	defer rdr.Release()
	rsum := map[string]string{SummaryRejected: strconv.Itoa(len(rows))}
	for _, k := range []string{SummarySource, SummaryKey, SummaryMode} {
		if v, ok := summary[k]; ok {
			rsum[k] = v
		}
	}
	if err := txn.Append(ctx, rdr, rsum); err != nil {
		return 0, 0, err
	}
	snap, err := txn.Commit(ctx)
	return snap, parent, err
}

// streamErr explains a failed write: the input's own error (a bad row, a
// dropped client) matters more than iceberg-go's wrapping of it.
func (w *Writer) streamErr(ctx context.Context, req Request, conf *conformReader, err error) error {
	if cause := firstErr(conf.Err(), req.Records.Err()); cause != nil {
		err = cause
	} else if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("ingesting into %s: %w", req.Table, err)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// findKey looks for a snapshot committed by an ingest with key and rebuilds
// its result from the snapshot summary.
func findKey(tbl *icetable.Table, key string) (Result, bool) {
	snaps := tbl.Metadata().Snapshots()
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if s.Summary == nil || s.Summary.Properties[SummaryKey] != key {
			continue
		}
		p := s.Summary.Properties
		num := func(k string) int64 { n, _ := strconv.ParseInt(p[k], 10, 64); return n }
		return Result{SnapshotID: s.SnapshotID, Rows: num(SummaryRows), Bytes: num(SummaryBytes),
			Rejected: num(SummaryRejected), Skipped: num(SummarySkipped), Replayed: true}, true
	}
	return Result{}, false
}

// MaxKeyBytes bounds an idempotency key: every later snapshot summary and
// metadata file of the table carries it.
const MaxKeyBytes = 256

// checkKey refuses an idempotency key that is too long or not valid text.
func checkKey(key string) error {
	switch {
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: the idempotency key is %d bytes, longer than %d (every later metadata file of the table keeps it): "+
			"use a hash of what identifies the load", ErrOptions, len(key), MaxKeyBytes)
	case !utf8.ValidString(key) || strings.ContainsFunc(key, unicode.IsControl):
		return fmt.Errorf("%w: the idempotency key %q must be printable UTF-8 text", ErrOptions, key)
	}
	return nil
}
