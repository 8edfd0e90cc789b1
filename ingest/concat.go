package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Concat reads several inputs one after another as one stream, so that they
// commit as one snapshot (`lakeflight ingest a.csv b.csv`, a multipart
// upload of several files). Inputs are opened lazily, each when the one
// before it ends. Every input must have the first one's columns — the same
// names with the same types, in any order; a later input that differs ends
// the stream with an ErrSchema error naming both inputs and the columns.
// Rejected rows and counts are collected from all inputs.
//
// Like Reader, a Concat is used by one goroutine; Stats may be called from
// others.
type Concat struct {
	refs   atomic.Int64
	ctx    context.Context
	next   func(ctx context.Context) (*Reader, error)
	schema *arrow.Schema
	first  string // source of the first input, for schema errors

	mu      sync.Mutex // guards cur, done, rejects, inputs
	cur     *Reader
	order   []int // column i of the output is column order[i] of cur; nil: same order
	done    Stats // sums over finished inputs
	rejects []RowError
	inputs  int

	out  arrow.RecordBatch
	err  error
	over bool

	// InputDone, when set, is called (on the reading goroutine) as each
	// input ends cleanly, with its source and final counts.
	InputDone func(source string, st Stats)
}

var _ array.RecordReader = (*Concat)(nil)

// NewConcat reads first, then each Reader next returns, until next returns
// io.EOF. Concat owns the Readers and closes each when it ends.
func NewConcat(ctx context.Context, first *Reader, next func(ctx context.Context) (*Reader, error)) *Concat {
	c := &Concat{ctx: ctx, next: next, schema: first.Schema(), first: first.Source(), cur: first, inputs: 1}
	c.refs.Store(1)
	return c
}

// Source is the name the Reader's input goes by (Options.Source).
func (r *Reader) Source() string { return r.opts.Source }

// Schema is the first input's schema.
func (c *Concat) Schema() *arrow.Schema { return c.schema }

// Next advances to the next batch, moving on to the next input when the
// current one ends.
func (c *Concat) Next() bool {
	if c.out != nil {
		c.out.Release()
		c.out = nil
	}
	for !c.over {
		cur := c.cur
		if cur.Next() {
			b := cur.RecordBatch()
			if c.order == nil {
				b.Retain()
				c.out = b
			} else {
				cols := make([]arrow.Array, len(c.order))
				for i, j := range c.order {
					cols[i] = b.Column(j)
				}
				c.out = array.NewRecordBatch(c.schema, cols, b.NumRows())
			}
			return true
		}
		if err := cur.Err(); err != nil {
			c.fail(err)
			return false
		}
		c.finishInput()
		nr, err := c.next(c.ctx)
		if errors.Is(err, io.EOF) {
			c.over = true
			return false
		}
		if err != nil {
			c.fail(err)
			return false
		}
		order, err := c.columnOrder(nr)
		if err != nil {
			nr.Release()
			c.fail(err)
			return false
		}
		c.mu.Lock()
		c.cur, c.order = nr, order
		c.inputs++
		c.mu.Unlock()
	}
	return false
}

// finishInput folds the current input's counts and rejects into the totals
// and closes it.
func (c *Concat) finishInput() {
	cur := c.cur
	st := cur.Stats()
	rej := cur.TakeRejects()
	c.mu.Lock()
	c.done = addStats(c.done, st)
	c.rejects = append(c.rejects, rej...)
	c.cur = nil
	c.mu.Unlock()
	if c.InputDone != nil {
		c.InputDone(cur.Source(), st)
	}
	cur.Release()
}

func (c *Concat) fail(err error) {
	c.err = err
	c.over = true
}

// columnOrder maps a later input's columns onto the first input's schema.
func (c *Concat) columnOrder(r *Reader) ([]int, error) {
	got := r.Schema()
	var diffs []string
	order := make([]int, c.schema.NumFields())
	same := got.NumFields() == c.schema.NumFields()
	for i, f := range c.schema.Fields() {
		idx := got.FieldIndices(f.Name)
		switch {
		case len(idx) == 0:
			diffs = append(diffs, fmt.Sprintf("column %q is missing", f.Name))
		case !arrow.TypeEqual(got.Field(idx[0]).Type, f.Type):
			diffs = append(diffs, fmt.Sprintf("column %q is %s, not %s", f.Name, got.Field(idx[0]).Type, f.Type))
		default:
			order[i] = idx[0]
			same = same && idx[0] == i
		}
	}
	for _, f := range got.Fields() {
		if !c.schema.HasField(f.Name) {
			diffs = append(diffs, fmt.Sprintf("column %q is extra", f.Name))
		}
	}
	if len(diffs) > 0 {
		return nil, fmt.Errorf("%w: %s does not match %s, the first input (one ingest needs the same columns and types in every input): in %s, %s",
			ErrSchema, r.Source(), c.first, r.Source(), strings.Join(diffs, "; "))
	}
	if same {
		return nil, nil
	}
	return order, nil
}

func addStats(a, b Stats) Stats {
	a.Rows += b.Rows
	a.Bytes += b.Bytes
	a.Skipped += b.Skipped
	a.Rejected += b.Rejected
	if a.Size >= 0 && b.Size >= 0 {
		a.Size += b.Size
	} else {
		a.Size = -1
	}
	if len(b.SkipReasons) > 0 {
		if a.SkipReasons == nil {
			a.SkipReasons = map[string]int64{}
		}
		for k, v := range b.SkipReasons {
			a.SkipReasons[k] += v
		}
	}
	return a
}

// RecordBatch is the current batch, valid until the next call to Next.
func (c *Concat) RecordBatch() arrow.RecordBatch { return c.out }

// Record is RecordBatch.
//
// Deprecated: use RecordBatch.
func (c *Concat) Record() arrow.RecordBatch { return c.out }

// Err is the reason the stream ended early, or nil.
func (c *Concat) Err() error { return c.err }

// Stats are the counts over every input so far. Size is the sum of the
// sizes of the inputs opened so far (-1 if one is unknown); callers that
// know the sizes of inputs not yet opened add them themselves.
func (c *Concat) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := addStats(Stats{SkipReasons: map[string]int64{}}, c.done)
	if c.cur != nil {
		st = addStats(st, c.cur.Stats())
	}
	return st
}

// Inputs is how many inputs have been opened so far.
func (c *Concat) Inputs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inputs
}

// TakeRejects returns the rejected rows of every input collected since the
// last call and forgets them.
func (c *Concat) TakeRejects() []RowError {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.rejects
	c.rejects = nil
	if c.cur != nil {
		out = append(out, c.cur.TakeRejects()...)
	}
	return out
}

// Retain adds a reference.
func (c *Concat) Retain() { c.refs.Add(1) }

// Release drops a reference; the last one closes the input being read.
func (c *Concat) Release() {
	if c.refs.Add(-1) == 0 {
		_ = c.Close()
	}
}

// Close releases the current batch and input regardless of references.
func (c *Concat) Close() error {
	if c.out != nil {
		c.out.Release()
		c.out = nil
	}
	c.mu.Lock()
	cur := c.cur
	c.cur = nil
	c.mu.Unlock()
	if cur != nil {
		_ = cur.Close()
	}
	c.over = true
	return nil
}
