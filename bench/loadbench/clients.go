package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The three client classes. Each client is one goroutine with its own
// Flight SQL connection (so its own server session and DuckDB
// connection) running one operation after another, as fast as the server
// answers: a closed loop, like a BI tool's or a notebook's user who waits
// for each answer.
const (
	classLookup = "lookup" // one-row SELECT … WHERE id = ? (prepared, bound parameter)
	classHeavy  = "heavy"  // TPC-H queries in turn
	classIngest = "ingest" // DoPut bulk ingest of a small batch, one snapshot each
)

// client is one connection of a class; op runs one operation.
type client interface {
	op(ctx context.Context) error
	close()
}

// lookupClient runs a prepared one-row lookup with a random key.
type lookupClient struct {
	cl      *afsql.Client
	prep    *afsql.PreparedStatement // nil when literal
	literal bool
	rng     *rand.Rand
	rows    int64
	schema  *arrow.Schema
}

// lookupSQL is the lookup; literal puts the key in the text instead of a
// parameter (each execution is then a new ad-hoc statement).
const lookupSQL = "SELECT id, name, balance, since FROM " + lookupTable + " WHERE id = "

func newLookupClient(ctx context.Context, addr string, rows int64, seed uint64, literal bool) (*lookupClient, error) {
	cl, err := dial(addr)
	if err != nil {
		return nil, err
	}
	c := &lookupClient{cl: cl, rows: rows, literal: literal,
		rng:    rand.New(rand.NewPCG(seed, 0x10ad)),
		schema: arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil),
	}
	if literal {
		return c, nil
	}
	prep, err := cl.Prepare(ctx, lookupSQL+"?")
	if err != nil {
		_ = cl.Close()
		return nil, fmt.Errorf("preparing the lookup: %w", err)
	}
	c.prep = prep
	return c, nil
}

func (c *lookupClient) op(ctx context.Context) error {
	id := c.rng.Int64N(c.rows)
	var info *flight.FlightInfo
	var err error
	if c.literal {
		info, err = c.cl.Execute(ctx, lookupSQL+strconv.FormatInt(id, 10))
	} else {
		info, err = c.execPrepared(ctx, id)
	}
	if err != nil {
		return err
	}
	n, err := fetch(ctx, c.cl, info)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("lookup of id %d: %d rows, want 1", id, n)
	}
	return nil
}

// execPrepared binds id to the prepared lookup and executes it.
func (c *lookupClient) execPrepared(ctx context.Context, id int64) (*flight.FlightInfo, error) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.Append(id)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(c.schema, []arrow.Array{col}, 1)
	col.Release()
	c.prep.SetParameters(rec)
	rec.Release()
	return c.prep.Execute(ctx)
}

func (c *lookupClient) close() {
	if c.prep != nil {
		_ = c.prep.Close(context.Background())
	}
	_ = c.cl.Close()
}

// heavyQuery is one TPC-H query text.
type heavyQuery struct{ name, sql string }

// heavyClient runs the TPC-H queries in turn, starting at a different one
// per client, in a session that said USE tpch (the texts name bare tables).
type heavyClient struct {
	cl      *afsql.Client
	queries []heavyQuery
	next    int
}

func newHeavyClient(ctx context.Context, addr string, queries []heavyQuery, first int) (*heavyClient, error) {
	cl, err := dial(addr)
	if err != nil {
		return nil, err
	}
	if _, err := cl.ExecuteUpdate(ctx, "USE tpch"); err != nil {
		_ = cl.Close()
		return nil, fmt.Errorf("USE tpch: %w", err)
	}
	return &heavyClient{cl: cl, queries: queries, next: first % len(queries)}, nil
}

func (c *heavyClient) op(ctx context.Context) error {
	q := c.queries[c.next]
	c.next = (c.next + 1) % len(c.queries)
	info, err := c.cl.Execute(ctx, q.sql)
	if err != nil {
		return fmt.Errorf("%s: %w", q.name, err)
	}
	if _, err := fetch(ctx, c.cl, info); err != nil {
		return fmt.Errorf("%s: %w", q.name, err)
	}
	return nil
}

func (c *heavyClient) close() { _ = c.cl.Close() }

// ingestClient appends batches of ingestRows generated rows to its table
// with Flight SQL bulk ingest (what ADBC's adbc_ingest sends): each call
// commits one Iceberg snapshot.
type ingestClient struct {
	cl    *afsql.Client
	table string
	rows  int
	seq   int64
	opts  *afsql.ExecuteIngestOpts
}

func newIngestClient(addr, table string, rows int) (*ingestClient, error) {
	cl, err := dial(addr)
	if err != nil {
		return nil, err
	}
	opts := &afsql.ExecuteIngestOpts{
		Table: table,
		TableDefinitionOptions: &afsql.TableDefinitionOptions{
			IfNotExist: afsql.TableDefinitionOptionsTableNotExistOptionCreate,
			IfExists:   afsql.TableDefinitionOptionsTableExistsOptionAppend,
		},
	}
	return &ingestClient{cl: cl, table: table, rows: rows, opts: opts}, nil
}

var ingestSchema = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us},
	{Name: "device", Type: arrow.BinaryTypes.String},
	{Name: "reading", Type: arrow.PrimitiveTypes.Float64},
}, nil)

func (c *ingestClient) op(ctx context.Context) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, ingestSchema)
	defer b.Release()
	now := arrow.Timestamp(time.Now().UnixMicro())
	for i := range c.rows {
		c.seq++
		b.Field(0).(*array.Int64Builder).Append(c.seq)
		b.Field(1).(*array.TimestampBuilder).Append(now + arrow.Timestamp(i))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("device-%03d", c.seq%500))
		b.Field(3).(*array.Float64Builder).Append(float64(c.seq%1000) / 10)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(ingestSchema, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rdr.Release()
	n, err := c.cl.ExecuteIngest(ctx, rdr, c.opts)
	if err != nil {
		return err
	}
	if n != int64(c.rows) {
		return fmt.Errorf("ingest into %s: %d rows acknowledged, sent %d", c.table, n, c.rows)
	}
	return nil
}

func (c *ingestClient) close() { _ = c.cl.Close() }

// fetch reads every endpoint of info to the end and returns the rows.
func fetch(ctx context.Context, cl *afsql.Client, info *flight.FlightInfo) (int64, error) {
	var n int64
	for _, ep := range info.GetEndpoint() {
		rdr, err := cl.DoGet(ctx, ep.GetTicket())
		if err != nil {
			return n, err
		}
		for rdr.Next() {
			n += rdr.RecordBatch().NumRows()
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
