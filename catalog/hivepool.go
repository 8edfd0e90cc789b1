package catalog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"sync/atomic"
	"time"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hive"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
	"github.com/apache/thrift/lib/go/thrift"
)

// hivePool shares a few Hive Metastore connections among all callers.
// iceberg-go's Hive catalog (v0.7.0) talks over one Thrift connection that
// is not safe for concurrent use (two sessions loading tables at once
// corrupt its buffer and panic), and never dials again once the connection
// breaks. So each call takes a catalog of its own from the pool, and a
// catalog whose connection failed is closed and dialled anew on next use.
// Listings are collected before they are handed out, so no connection is
// held while the caller iterates.
type hivePool struct {
	dial   func() (*hive.Catalog, error)
	slots  chan *hive.Catalog // nil entries: to be dialled
	closed atomic.Bool
}

// hivePoolSize bounds a process's connections to the metastore.
const hivePoolSize = 4

func newHivePool(dial func() (*hive.Catalog, error)) (*hivePool, error) {
	first, err := dial()
	if err != nil {
		return nil, err
	}
	p := &hivePool{dial: dial, slots: make(chan *hive.Catalog, hivePoolSize)}
	p.slots <- first
	for range hivePoolSize - 1 {
		p.slots <- nil
	}
	return p, nil
}

// with runs f on a pooled catalog, waiting for one while all are busy.
func (p *hivePool) with(ctx context.Context, f func(*hive.Catalog) error) error {
	_, err := call(ctx, p, func(c *hive.Catalog) (struct{}, error) { return struct{}{}, f(c) })
	return err
}

// call runs f on a pooled catalog, waiting for one while all are busy,
// and hands back what f returned; the result travels by channel, so a
// call its caller stopped waiting for shares nothing with it.
func call[T any](ctx context.Context, p *hivePool, f func(*hive.Catalog) (T, error)) (T, error) {
	var zero T
	var cat *hive.Catalog
	select {
	case cat = <-p.slots:
	case <-ctx.Done():
		return zero, context.Cause(ctx)
	}
	if p.closed.Load() {
		p.put(cat, nil)
		return zero, errHiveClosed
	}
	if cat == nil {
		var err error
		if cat, err = p.dial(); err != nil {
			p.slots <- nil
			return zero, err
		}
	}
	// The Thrift calls do not watch ctx, and closing a connection under a
	// running call would crash it (iceberg-go's client drops its state on
	// Close): the call runs aside, and a caller that stops waiting leaves
	// it to finish and give its connection back.
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("%w: the hive metastore client failed: %v", errHiveBroken, r)}
			}
		}()
		v, err := f(cat)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		p.put(cat, r.err)
		return r.v, r.err
	case <-ctx.Done():
		select {
		case r := <-done: // finished meanwhile: its result stands
			p.put(cat, r.err)
			return r.v, r.err
		default:
		}
		go func() { p.put(cat, (<-done).err) }()
		return zero, fmt.Errorf("hive metastore call abandoned (it goes on until the metastore answers): %w", context.Cause(ctx))
	}
}

// put gives cat back after a call that ended with err: a connection that
// failed (or a pool closed meanwhile) is closed and its slot left to be
// dialled again.
func (p *hivePool) put(cat *hive.Catalog, err error) {
	if cat != nil && (brokenConn(err) || errors.Is(err, errHiveBroken) || p.closed.Load()) {
		_ = cat.Close()
		cat = nil
	}
	p.slots <- cat
}

var (
	errHiveClosed = errors.New("the hive metastore catalog is closed")
	errHiveBroken = errors.New("hive metastore connection broken")
)

// brokenConn reports whether err says the connection itself failed.
func brokenConn(err error) bool {
	var te thrift.TTransportException
	var ne net.Error
	return errors.As(err, &te) || errors.As(err, &ne)
}

func (p *hivePool) CatalogType() icecat.Type { return icecat.Hive }

func (p *hivePool) CreateTable(ctx context.Context, id table.Identifier, sc *iceberg.Schema, opts ...icecat.CreateTableOpt) (*table.Table, error) {
	return call(ctx, p, func(c *hive.Catalog) (*table.Table, error) { return c.CreateTable(ctx, id, sc, opts...) })
}

func (p *hivePool) CommitTable(ctx context.Context, id table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	type committed struct {
		md  table.Metadata
		loc string
	}
	r, err := call(ctx, p, func(c *hive.Catalog) (committed, error) {
		md, loc, err := c.CommitTable(ctx, id, reqs, updates)
		return committed{md, loc}, err
	})
	return r.md, r.loc, err
}

func (p *hivePool) ListTables(ctx context.Context, ns table.Identifier) iter.Seq2[table.Identifier, error] {
	return collected(ctx, p, func(c *hive.Catalog) iter.Seq2[table.Identifier, error] { return c.ListTables(ctx, ns) })
}

func (p *hivePool) ListViews(ctx context.Context, ns table.Identifier) iter.Seq2[table.Identifier, error] {
	return collected(ctx, p, func(c *hive.Catalog) iter.Seq2[table.Identifier, error] { return c.ListViews(ctx, ns) })
}

// collected runs a listing to its end on one pooled catalog, then yields
// what it found (or its error).
func collected(ctx context.Context, p *hivePool, list func(*hive.Catalog) iter.Seq2[table.Identifier, error]) iter.Seq2[table.Identifier, error] {
	ids, err := call(ctx, p, func(c *hive.Catalog) ([]table.Identifier, error) {
		var ids []table.Identifier
		for id, err := range list(c) {
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, nil
	})
	return func(yield func(table.Identifier, error) bool) {
		if err != nil {
			yield(nil, err)
			return
		}
		for _, id := range ids {
			if !yield(id, nil) {
				return
			}
		}
	}
}

func (p *hivePool) LoadTable(ctx context.Context, id table.Identifier) (*table.Table, error) {
	return call(ctx, p, func(c *hive.Catalog) (*table.Table, error) { return c.LoadTable(ctx, id) })
}

func (p *hivePool) DropTable(ctx context.Context, id table.Identifier) error {
	return p.with(ctx, func(c *hive.Catalog) error { return c.DropTable(ctx, id) })
}

func (p *hivePool) RenameTable(ctx context.Context, from, to table.Identifier) (*table.Table, error) {
	return call(ctx, p, func(c *hive.Catalog) (*table.Table, error) { return c.RenameTable(ctx, from, to) })
}

func (p *hivePool) CheckTableExists(ctx context.Context, id table.Identifier) (bool, error) {
	return call(ctx, p, func(c *hive.Catalog) (bool, error) { return c.CheckTableExists(ctx, id) })
}

func (p *hivePool) ListNamespaces(ctx context.Context, parent table.Identifier) ([]table.Identifier, error) {
	return call(ctx, p, func(c *hive.Catalog) ([]table.Identifier, error) { return c.ListNamespaces(ctx, parent) })
}

func (p *hivePool) CreateNamespace(ctx context.Context, ns table.Identifier, props iceberg.Properties) error {
	return p.with(ctx, func(c *hive.Catalog) error { return c.CreateNamespace(ctx, ns, props) })
}

func (p *hivePool) DropNamespace(ctx context.Context, ns table.Identifier) error {
	return p.with(ctx, func(c *hive.Catalog) error { return c.DropNamespace(ctx, ns) })
}

func (p *hivePool) CheckNamespaceExists(ctx context.Context, ns table.Identifier) (bool, error) {
	return call(ctx, p, func(c *hive.Catalog) (bool, error) { return c.CheckNamespaceExists(ctx, ns) })
}

func (p *hivePool) LoadNamespaceProperties(ctx context.Context, ns table.Identifier) (iceberg.Properties, error) {
	return call(ctx, p, func(c *hive.Catalog) (iceberg.Properties, error) { return c.LoadNamespaceProperties(ctx, ns) })
}

func (p *hivePool) UpdateNamespaceProperties(ctx context.Context, ns table.Identifier, removals []string, updates iceberg.Properties) (icecat.PropertiesUpdateSummary, error) {
	return call(ctx, p, func(c *hive.Catalog) (icecat.PropertiesUpdateSummary, error) {
		return c.UpdateNamespaceProperties(ctx, ns, removals, updates)
	})
}

func (p *hivePool) CheckViewExists(ctx context.Context, id table.Identifier) (bool, error) {
	return call(ctx, p, func(c *hive.Catalog) (bool, error) { return c.CheckViewExists(ctx, id) })
}

func (p *hivePool) LoadView(ctx context.Context, id table.Identifier) (*view.View, error) {
	return call(ctx, p, func(c *hive.Catalog) (*view.View, error) { return c.LoadView(ctx, id) })
}

func (p *hivePool) DropView(ctx context.Context, id table.Identifier) error {
	return p.with(ctx, func(c *hive.Catalog) error { return c.DropView(ctx, id) })
}

// Close closes every pooled connection, waiting up to hiveCloseWait for
// calls in flight; calls after it fail.
func (p *hivePool) Close() error {
	p.closed.Store(true)
	var errs []error
	timeout := time.After(hiveCloseWait)
	for range hivePoolSize {
		select {
		case c := <-p.slots:
			if c != nil {
				errs = append(errs, c.Close())
			}
		case <-timeout:
			// A call still waits for the metastore; it closes its own
			// connection when it ends (put).
			return errors.New("closing hive metastore connections: calls still waiting for the metastore")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing hive metastore connections: %w", err)
	}
	return nil
}

// hiveCloseWait bounds how long Close waits for calls in flight.
const hiveCloseWait = 10 * time.Second

// createViewOnHive creates a view with iceberg-go's Hive catalog itself
// (tests stand in for another engine with it; lakeflight makes none).
func (p *hivePool) createViewOnHive(ctx context.Context, id table.Identifier, v *view.Version, sc *iceberg.Schema) error {
	return p.with(ctx, func(c *hive.Catalog) error {
		_, err := c.CreateView(ctx, id, v, sc)
		return err
	})
}
