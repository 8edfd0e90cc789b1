// Command goclient is the TPC-H bench's arrow-go side: lakeflight over
// Flight SQL through arrow-go's flightsql client, the way a Go program
// reads a result. The driver (bench/tpch/main.py) runs it as a worker
// process and speaks the same line protocol as worker.py, the in-process
// DuckDB worker: one JSON request a line on stdin, one JSON answer a line on
// stdout.
//
//	{"op": "setup", "addr": "127.0.0.1:PORT", "sql": [statement, ...]}
//	    connect (keeping the session cookie) and run each statement in the
//	    session; answers {"version": "arrow-go vX"}
//	{"op": "run", "sql": query, "save": path or null}
//	    execute, then DoGet every endpoint to the end; answers
//	    {"seconds": s, "rows": n} and writes the batches to save (Arrow IPC
//	    file) when given
//	{"op": "explain", "sql": query}
//	    answers {"plan": text} from EXPLAIN ANALYZE
//
// An error answers {"error": text}; end of input ends the worker.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type request struct {
	Op   string `json:"op"`
	Addr string `json:"addr"`
	SQL  any    `json:"sql"` // setup: a list of statements; run, explain: one query
	Save string `json:"save"`
}

type answer struct {
	Version string  `json:"version,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	Rows    int64   `json:"rows,omitempty"`
	Plan    string  `json:"plan,omitempty"`
	Error   string  `json:"error,omitempty"`
}

func main() {
	if err := serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "goclient:", err)
		os.Exit(1)
	}
}

// serve answers requests until stdin ends.
func serve(ctx context.Context) error {
	var w worker
	defer w.close()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		ans, err := answer{}, json.Unmarshal(in.Bytes(), &req)
		if err == nil {
			ans, err = w.handle(ctx, req)
		}
		if err != nil {
			ans = answer{Error: err.Error()}
		}
		if err := out.Encode(ans); err != nil {
			return err
		}
	}
	return in.Err()
}

type worker struct {
	cl *afsql.Client
}

func (w *worker) close() {
	if w.cl != nil {
		_ = w.cl.Close()
	}
}

func (w *worker) handle(ctx context.Context, req request) (answer, error) {
	switch req.Op {
	case "setup":
		stmts, _ := req.SQL.([]any)
		return w.setup(ctx, req.Addr, stmts)
	case "run", "explain":
		text, ok := req.SQL.(string)
		if !ok {
			return answer{}, fmt.Errorf("%s: sql must be one string", req.Op)
		}
		if w.cl == nil {
			return answer{}, errors.New("run before setup")
		}
		if req.Op == "explain" {
			return w.explain(ctx, text)
		}
		return w.run(ctx, text, req.Save)
	}
	return answer{}, fmt.Errorf("unknown op %q", req.Op)
}

func (w *worker) setup(ctx context.Context, addr string, stmts []any) (answer, error) {
	// The cookie middleware keeps the server's session cookie, so the
	// statements (USE tpch) hold for the queries that follow, as with ADBC.
	cl, err := afsql.NewClient(addr, nil, []flight.ClientMiddleware{flight.NewClientCookieMiddleware()},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return answer{}, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	w.cl = cl
	for _, s := range stmts {
		text, _ := s.(string)
		if _, err := cl.ExecuteUpdate(ctx, text); err != nil {
			return answer{}, fmt.Errorf("%s: %w", text, err)
		}
	}
	return answer{Version: "arrow-go " + arrowGoVersion()}, nil
}

func (w *worker) run(ctx context.Context, sql, save string) (answer, error) {
	start := time.Now()
	schema, recs, err := w.read(ctx, sql)
	seconds := time.Since(start).Seconds()
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if err != nil {
		return answer{}, err
	}
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	if save != "" {
		if err := writeFile(save, schema, recs); err != nil {
			return answer{}, err
		}
	}
	return answer{Seconds: seconds, Rows: rows}, nil
}

// read executes sql and keeps every batch, as a client that wants the whole
// result does.
func (w *worker) read(ctx context.Context, sql string) (*arrow.Schema, []arrow.RecordBatch, error) {
	info, err := w.cl.Execute(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	var schema *arrow.Schema
	var recs []arrow.RecordBatch
	for _, ep := range info.Endpoint {
		rdr, err := w.cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, recs, err
		}
		schema = rdr.Schema()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return nil, recs, err
		}
	}
	if schema == nil {
		return nil, recs, errors.New("the server answered with no endpoint")
	}
	return schema, recs, nil
}

func (w *worker) explain(ctx context.Context, sql string) (answer, error) {
	_, recs, err := w.read(ctx, "EXPLAIN ANALYZE "+sql)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if err != nil {
		return answer{}, err
	}
	var b strings.Builder
	for _, r := range recs {
		col, ok := r.Column(int(r.NumCols()) - 1).(*array.String)
		if !ok {
			return answer{}, fmt.Errorf("EXPLAIN ANALYZE answered %s, not text", r.Column(int(r.NumCols())-1).DataType())
		}
		for i := range col.Len() {
			b.WriteString(col.Value(i))
			b.WriteByte('\n')
		}
	}
	return answer{Plan: b.String()}, nil
}

func writeFile(path string, schema *arrow.Schema, recs []arrow.RecordBatch) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err == nil {
		for _, r := range recs {
			if err = fw.Write(r); err != nil {
				break
			}
		}
		if cerr := fw.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func arrowGoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/apache/arrow-go/v18" {
				return d.Version
			}
		}
	}
	return "?"
}
