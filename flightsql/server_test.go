//go:build duckdb_arrow

package flightsql

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
	"github.com/lakeflight/lakeflight/ingest"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testEnv is a real server on 127.0.0.1:0 over a real engine and a real
// Iceberg catalog (SQLite + local warehouse), seeded with bronze.events.
type testEnv struct {
	srv  *Server
	eng  *engine.Engine
	cat  *catalog.Catalog
	addr string
	mem  *memory.CheckedAllocator
	reg  *prometheus.Registry
}

type envOption func(*Options)

func newTestEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("FLIGHTSQL_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	warehouse := filepath.Join(dir, "warehouse")
	cat, err := catalog.Open(ctx, catalog.Config{Name: "lakehouse", URI: filepath.Join(dir, "catalog.db"), Warehouse: warehouse}, log)
	if err != nil {
		t.Fatalf("catalog.Open: %v", err)
	}
	seedEvents(t, cat)
	eng, err := engine.Open(ctx, engine.Config{Warehouse: warehouse, CatalogName: "lakehouse", Threads: 2}, cat, log)
	if err != nil {
		_ = cat.Close()
		t.Fatalf("engine.Open: %v", err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	reg := prometheus.NewRegistry()
	o := Options{Engine: eng, Logger: log, Registerer: reg, Allocator: mem, Version: "test",
		Ingest: ingest.NewWriter(cat, log, nil)}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	gs := grpc.NewServer(srv.ServerOptions()...)
	srv.Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = gs.Serve(lis) }()
	env := &testEnv{srv: srv, eng: eng, cat: cat, addr: lis.Addr().String(), mem: mem, reg: reg}
	t.Cleanup(func() {
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			gs.Stop()
		}
		<-served
		if err := srv.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		if err := eng.Close(); err != nil {
			t.Errorf("engine.Close: %v", err)
		}
		_ = cat.Close()
		mem.AssertSize(t, 0)
	})
	return env
}

func seedEvents(t testing.TB, cat *catalog.Catalog) {
	t.Helper()
	ctx := context.Background()
	if err := cat.EnsureNamespace(ctx, "bronze"); err != nil {
		t.Fatalf("EnsureNamespace: %v", err)
	}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	id := catalog.Ident{Namespace: "bronze", Name: "events"}
	if err := cat.CreateTable(ctx, id, sc); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"alpha", "beta", ""}, []bool{true, true, false})
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.5, 2.25, 0}, []bool{true, true, false})
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	if _, err := cat.Append(ctx, id, rdr, map[string]string{"source": "test"}); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// client connects a Flight SQL client; with cookies it keeps one session
// across connections too.
func (e *testEnv) client(t testing.TB, cookies bool) *afsql.Client {
	t.Helper()
	if !cookies {
		return e.dial(t)
	}
	cl := e.dial(t, flight.NewClientCookieMiddleware())
	// A first call that takes the session cookie, as drivers do at
	// connect. It must be unary: arrow-go's client hands the headers of a
	// streaming call (DoPut, DoAction) to its cookie middleware only when
	// the stream is finished, which may be after the next call.
	if _, err := cl.GetSqlInfoSchema(context.Background()); err != nil {
		t.Fatal(err)
	}
	return cl
}

// dial connects a Flight SQL client with the given middleware (clients
// dialled with one cookie middleware share its cookies).
func (e *testEnv) dial(t testing.TB, mw ...flight.ClientMiddleware) *afsql.Client {
	t.Helper()
	cl, err := afsql.NewClient(e.addr, nil, mw, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// result is a fetched result: schema and cells rendered with ValueStr.
type result struct {
	schema *arrow.Schema
	rows   [][]string
}

// fetch reads every endpoint of info.
func fetch(ctx context.Context, cl *afsql.Client, info *flight.FlightInfo) (result, error) {
	var res result
	if sc, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator); err == nil {
		res.schema = sc
	}
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return res, err
		}
		if res.schema == nil {
			res.schema = rdr.Schema()
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				r := make([]string, rec.NumCols())
				for j, c := range rec.Columns() {
					r[j] = c.ValueStr(i)
				}
				res.rows = append(res.rows, r)
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func query(t testing.TB, cl *afsql.Client, sql string) result {
	t.Helper()
	ctx := context.Background()
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		t.Fatalf("Execute(%q): %v", sql, err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatalf("fetch(%q): %v", sql, err)
	}
	return res
}

// wantCode asserts err is a gRPC status with the code.
func wantCode(t testing.TB, err error, code codes.Code) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		var se interface{ GRPCStatus() *status.Status }
		if errors.As(err, &se) {
			st = se.GRPCStatus()
		} else {
			t.Fatalf("got %v (not a status), want %s", err, code)
		}
	}
	if st.Code() != code {
		t.Fatalf("got %s: %s, want %s", st.Code(), st.Message(), code)
	}
	return st
}

func emptyReader(t testing.TB) array.RecordReader {
	sc := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rdr.Release)
	return rdr
}

// int64Params is one column of int64 parameters named name, a row per value.
func int64Params(name string, vals ...int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.PrimitiveTypes.Int64}}, nil))
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(vals, nil)
	return b.NewRecordBatch()
}

// queryWith binds params (and releases them) to prep, executes it and
// fetches the result.
func queryWith(ctx context.Context, t testing.TB, cl *afsql.Client, prep *afsql.PreparedStatement, params arrow.RecordBatch) result {
	t.Helper()
	prep.SetParameters(params)
	params.Release()
	info, err := prep.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(ctx, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
