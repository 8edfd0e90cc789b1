package catalog

import (
	"fmt"
	"testing"

	"github.com/apache/iceberg-go"
)

// BenchmarkFiles lists a table of 10,000 data files (in 10 manifests) with
// metrics for every column, as ingest writes them.
func BenchmarkFiles(b *testing.B) {
	const commits, perCommit = 10, 1000
	ctx := b.Context()
	env, id := manyFilesTable(b, commits, perCommit)
	c, err := Open(ctx, env.cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close() }()

	b.Run("Files", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			files, err := c.Files(ctx, id, 0)
			if err != nil || len(files) != commits*perCommit {
				b.Fatalf("%d files (%v)", len(files), err)
			}
		}
	})
	// For scale: what a reader's TableState costs (its plan cached after
	// the first call; BenchmarkTableStateAt10k separates cold and warm).
	b.Run("TableState", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := c.TableState(ctx, id)
			if err != nil || len(st.DataFiles) != commits*perCommit {
				b.Fatalf("%d files (%v)", len(st.DataFiles), err)
			}
		}
	})
}

// manyFilesTable creates a table of commits×perCommit data files (one
// manifest per commit) with metrics for every column, as ingest writes
// them. The files are registered only, not written.
func manyFilesTable(b *testing.B, commits, perCommit int) (*testEnv, Ident) {
	b.Helper()
	ctx := b.Context()
	env := &testEnv{dir: b.TempDir()}
	env.cfg = Config{Driver: "sqlite", URI: env.dir + "/catalog.db", Warehouse: env.dir + "/warehouse"}
	c, err := Open(ctx, env.cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	id := Ident{"bronze", "many"}
	if err := c.EnsureNamespace(ctx, id.Namespace); err != nil {
		b.Fatal(err)
	}
	if err := c.CreateTable(ctx, id, richSchema); err != nil {
		b.Fatal(err)
	}
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	sc := tbl.Schema()
	leaves := map[int]iceberg.Literal{}
	for _, name := range []string{"id", "i32", "f64", "s", "b", "d", "ts", "tstz", "addr.city", "addr.zip"} {
		f, _ := sc.FindFieldByName(name)
		var lit iceberg.Literal
		switch name {
		case "s", "addr.city":
			lit = iceberg.NewLiteral("some-string-value")
		case "b":
			lit = iceberg.NewLiteral(true)
		case "f64":
			lit = iceberg.NewLiteral(1.5)
		case "i32", "addr.zip":
			lit = iceberg.NewLiteral(int32(7))
		case "d":
			lit = iceberg.NewLiteral(iceberg.Date(20000))
		default:
			lit = iceberg.NewLiteral(iceberg.Timestamp(1_700_000_000_000_000))
		}
		if name == "id" {
			lit = iceberg.NewLiteral(int64(42))
		}
		leaves[f.ID] = lit
	}
	counts := map[int]int64{}
	bounds := map[int][]byte{}
	for fid, lit := range leaves {
		counts[fid] = 1000
		bounds[fid], _ = lit.MarshalBinary()
	}
	for n := range commits {
		files := make([]iceberg.DataFile, 0, perCommit)
		for i := range perCommit {
			bld, err := iceberg.NewDataFileBuilder(*iceberg.UnpartitionedSpec, iceberg.EntryContentData,
				fmt.Sprintf("%s/data/f-%d-%d.parquet", c.Warehouse(), n, i), iceberg.ParquetFile, nil, nil, nil, 1000, 64<<10)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, bld.ColumnSizes(counts).ValueCounts(counts).NullValueCounts(counts).
				LowerBoundValues(bounds).UpperBoundValues(bounds).Build())
		}
		txn, err := c.Begin(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if err := txn.tx.AddDataFiles(ctx, files, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := txn.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return env, id
}
