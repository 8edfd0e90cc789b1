//go:build duckdb_arrow

package flightsql

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/ingest"
)

// idNameReader is a reader of batches (id int64, name utf8); ids run from
// start, one batch per entry of sizes.
func idNameReader(t testing.TB, start int64, sizes ...int) array.RecordReader {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	var recs []arrow.RecordBatch
	id := start
	for _, n := range sizes {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for range n {
			b.Field(0).(*array.Int64Builder).Append(id)
			b.Field(1).(*array.StringBuilder).Append("n" + strings.Repeat("x", int(id%3)))
			id++
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	rdr, err := array.NewRecordReader(sc, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	t.Cleanup(rdr.Release)
	return rdr
}

func ingestOpts(table string, mode ingest.Mode) *afsql.ExecuteIngestOpts {
	o := &afsql.ExecuteIngestOpts{Table: table, Options: map[string]string{}}
	switch mode {
	case ingest.ModeCreate:
		o.TableDefinitionOptions = &afsql.TableDefinitionOptions{IfNotExist: afsql.TableDefinitionOptionsTableNotExistOptionCreate, IfExists: afsql.TableDefinitionOptionsTableExistsOptionFail}
	case ingest.ModeAppend:
		o.TableDefinitionOptions = &afsql.TableDefinitionOptions{IfNotExist: afsql.TableDefinitionOptionsTableNotExistOptionFail, IfExists: afsql.TableDefinitionOptionsTableExistsOptionAppend}
	case ingest.ModeReplace:
		o.TableDefinitionOptions = &afsql.TableDefinitionOptions{IfNotExist: afsql.TableDefinitionOptionsTableNotExistOptionCreate, IfExists: afsql.TableDefinitionOptionsTableExistsOptionReplace}
	default:
		o.TableDefinitionOptions = &afsql.TableDefinitionOptions{IfNotExist: afsql.TableDefinitionOptionsTableNotExistOptionCreate, IfExists: afsql.TableDefinitionOptionsTableExistsOptionAppend}
	}
	return o
}

func TestIngestModes(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()

	n, err := cl.ExecuteIngest(ctx, idNameReader(t, 0, 1000, 24), ingestOpts("loads", ingest.ModeCreate))
	if err != nil || n != 1024 {
		t.Fatalf("create: %d, %v", n, err)
	}
	if got := query(t, cl, "SELECT count(*), sum(id) FROM bronze.loads").rows[0]; got[0] != "1024" || got[1] != "523776" {
		t.Fatalf("after create: %v", got)
	}
	_, err = cl.ExecuteIngest(ctx, idNameReader(t, 0, 1), ingestOpts("loads", ingest.ModeCreate))
	wantCode(t, err, codes.AlreadyExists)
	_, err = cl.ExecuteIngest(ctx, idNameReader(t, 0, 1), ingestOpts("missing", ingest.ModeAppend))
	wantCode(t, err, codes.NotFound)

	if n, err = cl.ExecuteIngest(ctx, idNameReader(t, 5000, 10), ingestOpts("loads", ingest.ModeAppend)); err != nil || n != 10 {
		t.Fatalf("append: %d, %v", n, err)
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.loads").rows[0][0]; got != "1034" {
		t.Fatalf("after append: %s rows", got)
	}
	// schema given: that namespace.
	o := ingestOpts("copy", ingest.ModeCreateAppend)
	silver := "silver"
	o.Schema = &silver
	if err := env.cat.EnsureNamespace(ctx, "silver"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ExecuteIngest(ctx, idNameReader(t, 0, 3), o); err != nil {
		t.Fatal(err)
	}
	if got := query(t, cl, "SELECT count(*) FROM silver.copy").rows[0][0]; got != "3" {
		t.Fatalf("silver.copy: %s rows", got)
	}
	if n, err = cl.ExecuteIngest(ctx, idNameReader(t, 7, 2), ingestOpts("loads", ingest.ModeReplace)); err != nil || n != 2 {
		t.Fatalf("replace: %d, %v", n, err)
	}
	if got := query(t, cl, "SELECT min(id), count(*) FROM bronze.loads").rows[0]; got[0] != "7" || got[1] != "2" {
		t.Fatalf("after replace: %v", got)
	}
}

func TestIngestSchemaErrorsCommitNothing(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	if _, err := cl.ExecuteIngest(ctx, idNameReader(t, 0, 5), ingestOpts("s", ingest.ModeCreate)); err != nil {
		t.Fatal(err)
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.StringBuilder).Append("not a number")
	rec := b.NewRecordBatch()
	b.Release()
	rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	rec.Release()
	defer rdr.Release()
	_, err := cl.ExecuteIngest(ctx, rdr, ingestOpts("s", ingest.ModeAppend))
	st := wantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(st.Message(), `column "id"`) {
		t.Fatalf("message %q does not name the column", st.Message())
	}
	snaps, err := env.cat.Snapshots(ctx, catalog.Ident{Namespace: "bronze", Name: "s"})
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots: %d, %v", len(snaps), err)
	}
}

// The lakeflight client protocol: idempotency key, rejects and stats as app
// metadata, result in the trailer.
func TestIngestSendProtocol(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx := context.Background()
	rejects := []ingest.RowError{{Source: "f.csv", Line: 9, Column: "id", Value: "x", Expected: "int64", Reason: `cannot parse "x" as int64`, Raw: "x,a"}}
	final := func() ([]ingest.RowError, ingest.WireStats) {
		return rejects, ingest.WireStats{Bytes: 4242, Skipped: 0}
	}
	o := ingest.SendOptions{Table: "sent", Mode: ingest.ModeCreateAppend, Key: "k-1", Source: "f.csv"}
	res, err := ingest.Send(ctx, cl, idNameReader(t, 0, 100, 100), o, final)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 200 || res.Rejected != 1 || res.Bytes != 4242 || res.SnapshotID == 0 || res.RejectsTable != "bronze.sent__rejects" {
		t.Fatalf("result: %+v", res)
	}
	again, err := ingest.Send(ctx, cl, idNameReader(t, 0, 100, 100), o, final)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.SnapshotID != res.SnapshotID {
		t.Fatalf("retry: %+v", again)
	}
	if got := query(t, cl, "SELECT count(*) FROM bronze.sent").rows[0][0]; got != "200" {
		t.Fatalf("rows after retry: %s", got)
	}
	got := query(t, cl, "SELECT line, column_name, reason FROM bronze.sent__rejects").rows
	if len(got) != 1 || got[0][0] != "9" || got[0][1] != "id" {
		t.Fatalf("rejects: %v", got)
	}
}

// A client that goes away in the middle of its stream commits nothing.
func TestIngestDisconnectCommitsNothing(t *testing.T) {
	env := newTestEnv(t)
	cl := env.client(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	rdr := &cancelAfter{RecordReader: idNameReader(t, 0, 100, 100, 100, 100), n: 2, cancel: cancel}
	_, err := ingest.Send(ctx, cl, rdr, ingest.SendOptions{Table: "half", Mode: ingest.ModeCreateAppend}, nil)
	if err == nil {
		t.Fatal("cancelled ingest succeeded")
	}
	snaps, err := env.cat.Snapshots(context.Background(), catalog.Ident{Namespace: "bronze", Name: "half"})
	if err == nil && len(snaps) > 0 {
		t.Fatalf("a broken stream committed %d snapshots", len(snaps))
	}
}

// cancelAfter cancels its context after n batches.
type cancelAfter struct {
	array.RecordReader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Next() bool {
	if c.n == 0 {
		c.cancel()
		return false
	}
	c.n--
	return c.RecordReader.Next()
}
