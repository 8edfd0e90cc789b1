package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// tpchTables are the eight TPC-H tables, one Parquet file each in -tpch.
var tpchTables = []string{"region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"}

// lookupTable is the one-row lookups' table: lookupRows rows whose id is
// 0 … lookupRows-1, written in id order, so each data file's row groups
// have narrow id ranges and a lookup reads one of them.
const lookupTable = "bronze.load_lookup"

// dial opens a Flight SQL client: its own gRPC connection, so its own
// server session.
func dial(addr string) (*afsql.Client, error) {
	return afsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
}

// lookupRowGroup is the lookup table's row-group limit (the Iceberg
// property write.parquet.row-group-limit): a one-row lookup reads the row
// groups whose id range holds its key, so their size is most of its cost
// (measured: 40 ms a lookup with the default 1Mi rows, 8 ms with 16Ki).
const lookupRowGroup = 16384

// setupLookup creates the lookup table with rows rows: empty first, so the
// row-group limit is set before the rows are written.
func setupLookup(ctx context.Context, addr string, rows int64) (time.Duration, error) {
	cl, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer func() { _ = cl.Close() }()
	start := time.Now()
	const cols = `range AS id, 'customer-' || range AS name, (range * 7919) %% 100000 / 100.0 AS balance,
  DATE '2020-01-01' + (range %% 2000)::INTEGER AS since`
	for _, q := range []string{
		fmt.Sprintf("CREATE TABLE %s AS SELECT "+cols+" FROM range(0)", lookupTable),
		fmt.Sprintf("CALL iceberg_set_property('%s', 'write.parquet.row-group-limit', '%d')", lookupTable, lookupRowGroup),
		fmt.Sprintf("INSERT INTO %s SELECT "+cols+" FROM range(%d) ORDER BY id", lookupTable, rows),
	} {
		if _, err := cl.ExecuteUpdate(ctx, q); err != nil {
			return 0, fmt.Errorf("creating %s: %w", lookupTable, err)
		}
	}
	return time.Since(start), nil
}

// loadTPCH loads each table's Parquet file from dir with `bin ingest`
// into namespace tpch, as bench/tpch does.
func loadTPCH(ctx context.Context, bin, addr, dir string) (time.Duration, error) {
	cl, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer func() { _ = cl.Close() }()
	if _, err := cl.ExecuteUpdate(ctx, "CREATE SCHEMA IF NOT EXISTS tpch"); err != nil {
		return 0, fmt.Errorf("creating schema tpch: %w", err)
	}
	start := time.Now()
	for _, t := range tpchTables {
		file := filepath.Join(dir, t+".parquet")
		if _, err := os.Stat(file); err != nil {
			return 0, fmt.Errorf("-tpch %s: %w", dir, err)
		}
		cmd := exec.CommandContext(ctx, bin, "ingest", "--server", addr, "--table", "tpch."+t,
			"--mode", "create", "--progress", "none", file)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("lakeflight ingest %s: %w\n%s", file, err, strings.TrimSpace(out.String()))
		}
	}
	return time.Since(start), nil
}

// tpchScale reads the scale factor bench/tpch/gen.py stamps its
// directories with ("" when there is no stamp).
func tpchScale(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "dbgen.sf"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readQueries reads bench/tpch/queries/qNN.sql for each number.
func readQueries(dir string, nrs []int) ([]heavyQuery, error) {
	out := make([]heavyQuery, 0, len(nrs))
	for _, nr := range nrs {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("q%02d.sql", nr)))
		if err != nil {
			return nil, err
		}
		out = append(out, heavyQuery{name: fmt.Sprintf("Q%02d", nr), sql: string(b)})
	}
	return out, nil
}
