//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakeflight/lakeflight/catalog"
)

// icebergEnv is a SQLite catalog + warehouse in a temp dir.
type icebergEnv struct {
	cfg catalog.Config
}

func newIcebergEnv(t testing.TB) *icebergEnv {
	dir := t.TempDir()
	env := &icebergEnv{cfg: catalog.Config{
		Driver:    "sqlite",
		URI:       filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse"),
	}}
	switch {
	case testPG != nil:
		dsn, err := testPG.NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		env.cfg.Driver, env.cfg.URI = "postgres", dsn
	case testREST != nil:
		// One REST catalog for the suite, emptied for each test (they run
		// one at a time); the warehouse is the test's own.
		if err := testREST.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		env.cfg.Driver, env.cfg.URI = "rest", testREST.URI
	case testHive != nil:
		// As for REST; and emptied again before the test's warehouse goes,
		// since the metastore drops a view only with its metadata file.
		if err := testHive.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := testHive.Reset(context.Background()); err != nil {
				t.Error(err)
			}
		})
		env.cfg.Driver, env.cfg.URI = "hive", testHive.URI
	}
	if testS3 != nil {
		s3Warehouse(&env.cfg)
	}
	return env
}

func (env *icebergEnv) open(t testing.TB) *catalog.Catalog {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := catalog.Open(context.Background(), env.cfg, log)
	if err != nil {
		t.Fatalf("open catalog: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var eventsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

// appendEvents appends rows [from, from+n) to id.
func appendEvents(t testing.TB, c *catalog.Catalog, id catalog.Ident, from, n int) {
	t.Helper()
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, eventsSchema)
	defer b.Release()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("event %d", i))
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i * 100)))
		if i%2 == 0 {
			b.Field(3).(*array.Float64Builder).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(float64(i) / 4)
		}
		b.Field(4).(*array.BooleanBuilder).Append(i%3 == 0)
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(base.AddDate(0, 0, i)))
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(i) * time.Second).UnixMicro()))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(eventsSchema, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	if _, err := c.Append(context.Background(), id, rdr, map[string]string{"source": "test"}); err != nil {
		t.Fatalf("append: %v", err)
	}
}

func TestIcebergTables(t *testing.T) {
	env := newIcebergEnv(t)
	cat := env.open(t)
	ctx := context.Background()
	events := catalog.Ident{Namespace: "bronze", Name: "events"}
	for _, ns := range []string{"bronze", "silver"} {
		if err := cat.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.CreateTable(ctx, events, eventsSchema); err != nil {
		t.Fatal(err)
	}
	e, err := Open(ctx, icebergConfig(t, cat), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := newSession(t, e)

	// No snapshot yet: a typed empty view.
	schema, rows, err := queryAll(t, s, "SELECT * FROM bronze.events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 || schema.NumFields() != 7 {
		t.Fatalf("empty table: %v %v", schema, rows)
	}
	wantTypes := "[int64 utf8 decimal(10, 2) float64 bool date32 timestamp[us, tz=Etc/UTC]]"
	var types []string
	for _, f := range schema.Fields() {
		types = append(types, f.Type.String())
	}
	if fmt.Sprint(types) != wantTypes {
		t.Errorf("types %v, want %v", types, wantTypes)
	}

	// This server commits, then refreshes.
	appendEvents(t, cat, events, 0, 3)
	if err := e.Refresh(ctx, events); err != nil {
		t.Fatal(err)
	}
	got := mustQuery(t, s, "SELECT * FROM bronze.events ORDER BY id")
	want := "[[0 event 0 0.00  true 2026-11-01 2026-11-01T00:00:00Z] [1 event 1 1.00 0.25 false 2026-11-02 2026-11-01T00:00:01Z] [2 event 2 2.00  false 2026-11-03 2026-11-01T00:00:02Z]]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM lakehouse.bronze.events"); got[0][0] != "3" {
		t.Errorf("fully qualified: %v", got)
	}
	mustExec(t, s, "USE lakehouse.bronze")
	if got := mustQuery(t, s, "SELECT count(*) FROM events"); got[0][0] != "3" {
		t.Errorf("unqualified after USE: %v", got)
	}

	// Another writer (a second *catalog.Catalog on the same files) commits;
	// no Refresh: the engine notices the moved metadata location.
	other := env.open(t)
	appendEvents(t, other, events, 3, 2)
	if got := mustQuery(t, s, "SELECT count(*), sum(id) FROM bronze.events"); fmt.Sprint(got) != "[[5 10]]" {
		t.Errorf("after another writer's append: %v", got)
	}
	// A prepared statement reads the snapshot it was prepared against (its
	// ticket pins it); a new prepare sees the new snapshot.
	st, err := s.Prepare(ctx, "SELECT count(*) FROM bronze.events")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendEvents(t, other, events, 5, 1)
	if err := e.Refresh(ctx, events); err != nil {
		t.Fatal(err)
	}
	rdr, err := st.Query(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rdr.Next()
	if n := rdr.RecordBatch().Column(0).(*array.Int64).Value(0); n != 5 {
		t.Errorf("old prepared statement after refresh: %d, want the pinned 5", n)
	}
	rdr.Release()
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.events"); got[0][0] != "6" {
		t.Errorf("new prepare after refresh: %v", got)
	}

	// A table created after Open is found on first use.
	later := catalog.Ident{Namespace: "silver", Name: "later"}
	if err := other.CreateTable(ctx, later, eventsSchema); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, other, later, 0, 4)
	if got := mustQuery(t, s, "SELECT count(*) FROM silver.later"); got[0][0] != "4" {
		t.Errorf("new table: %v", got)
	}
	// SQL writes commit snapshots (write_test.go has the details); the
	// views themselves cannot be dropped, and the catalog file is out of reach.
	if n, err := s.Exec(ctx, "INSERT INTO bronze.events (id) VALUES (99)"); err != nil || n != 1 {
		t.Errorf("INSERT: %d, %v", n, err)
	}
	if n, err := s.Exec(ctx, "DELETE FROM lakehouse.bronze.events WHERE id = 99"); err != nil || n != 1 {
		t.Errorf("DELETE: %d, %v", n, err)
	}
	if _, err := s.Exec(ctx, "DROP VIEW bronze.events"); !errors.Is(err, ErrInvalidSQL) || !strings.Contains(err.Error(), "use DROP TABLE") {
		t.Errorf("DROP VIEW: %v", err)
	}
	if got := mustQuery(t, s, "SELECT count(*) FROM bronze.events"); len(got) != 1 {
		t.Errorf("after DROP VIEW of the table: %v", got)
	}
	if _, err := s.Exec(ctx, "SELECT * FROM read_blob('"+env.cfg.URI+"')"); !errors.Is(err, ErrPermission) {
		t.Errorf("reading the catalog database: %v", err)
	}
	if st := e.Stats(); st.Tables != 2 || st.Rebinds < 3 {
		t.Errorf("stats %+v", st)
	}
}
