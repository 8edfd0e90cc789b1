// Command goclient runs the partition-pruning bench's queries through
// arrow-go's Flight SQL client, whose round trip is far shorter than the
// Python ADBC driver's, so the ratio shows what the server itself does.
//
// It starts `lakeflight serve` on a fresh data directory, creates the same
// two tables as bench/partitions/main.py (10M rows over 100 days,
// PARTITIONED BY (day(ts)) and not), times SELECT 1, the one-day query on
// each table, runs times each (medians), checks that both tables answer the
// same, and appends a section to --out. bench/partitions/run.sh runs it
// after main.py.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lakeflight/lakeflight/bench/lfserver"
)

// goalVsFlat is the goal: the one-day query this many times faster
// on the partitioned table.
const goalVsFlat = 20.0

// The rows and the query are main.py's.
const (
	selectRows = "SELECT range AS id, range %% 1000 AS k, (range * 7919 %% 10007) / 10007.0 AS v, " +
		"TIMESTAMP '2026-01-01' + INTERVAL (range %% 100) DAY + INTERVAL (range %% 86400) SECOND AS ts FROM range(%d)"
	query = "SELECT count(*) AS n, round(sum(v), 6) AS s, max(k) AS mk FROM %s " +
		"WHERE ts >= TIMESTAMP '2026-02-10' AND ts < TIMESTAMP '2026-02-11'"
)

func main() {
	bin := flag.String("bin", "bin/lakeflight", "the lakeflight binary")
	rows := flag.Int("rows", 10_000_000, "rows in each table")
	runs := flag.Int("runs", 21, "timed runs of each query")
	out := flag.String("out", "docs/benchmarks-partitions.md", "the report to append to (empty: stdout only)")
	flag.Parse()
	if err := run(*bin, *rows, *runs, *out); err != nil {
		log.Fatal(err)
	}
}

func run(bin string, rows, runs int, out string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "partbench-go-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	srv, err := lfserver.Start(ctx, bin, dir)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	cl, err := flightsql.NewClient(srv.FlightAddr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = cl.Close() }()

	for _, c := range []string{
		"CREATE TABLE bronze.part PARTITIONED BY (day(ts)) AS " + fmt.Sprintf(selectRows, rows),
		"CREATE TABLE bronze.flat AS " + fmt.Sprintf(selectRows, rows),
	} {
		if _, err := fetch(ctx, cl, c); err != nil {
			return err
		}
	}
	sides := []struct{ name, sql string }{
		{"SELECT 1 (the round trip)", "SELECT 1"},
		{"lakeflight, PARTITIONED BY (day(ts))", fmt.Sprintf(query, "bronze.part")},
		{"lakeflight, not partitioned", fmt.Sprintf(query, "bronze.flat")},
	}
	times := make([][]time.Duration, len(sides))
	answers := make([]string, len(sides))
	for i, s := range sides {
		if answers[i], err = fetch(ctx, cl, s.sql); err != nil { // untimed first run
			return err
		}
	}
	if answers[1] != answers[2] {
		return fmt.Errorf("the tables disagree: %s against %s", answers[1], answers[2])
	}
	for r := range runs {
		for k := range sides {
			i := (k + r) % len(sides)
			start := time.Now()
			got, err := fetch(ctx, cl, sides[i].sql)
			if err != nil {
				return err
			}
			times[i] = append(times[i], time.Since(start))
			if got != answers[i] {
				return fmt.Errorf("%s: answer %s changed from %s", sides[i].name, got, answers[i])
			}
		}
	}
	med := make([]time.Duration, len(sides))
	for i := range sides {
		slices.Sort(times[i])
		med[i] = times[i][len(times[i])/2]
	}
	ratio := float64(med[2]) / float64(med[1])
	verdict := "met"
	if ratio < goalVsFlat {
		verdict = "**not met**"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Through arrow-go's Flight SQL client\n\n")
	fmt.Fprintf(&b, "The same tables and query (written by `go run ./bench/partitions/goclient`, which run.sh runs after main.py), "+
		"through arrow-go's Flight SQL client (execute + DoGet, read to the end), whose round trip is far shorter than "+
		"the Python ADBC driver's; %d timed runs each after an untimed one, the sides rotating; medians:\n\n", runs)
	b.WriteString("| side | median ms | answer |\n|---|---:|---|\n")
	for i, s := range sides {
		fmt.Fprintf(&b, "| %s | %.2f | %s |\n", s.name, float64(med[i].Microseconds())/1000, answers[i])
	}
	fmt.Fprintf(&b, "\n- one-day query, partitioned against not partitioned: **%.1f× faster** (goal ≥ %.0f×: %s)\n",
		ratio, goalVsFlat, verdict)
	fmt.Fprintf(&b, "- above the round trip, the partitioned query takes %.2f ms and the flat one %.2f ms\n",
		float64((med[1]-med[0]).Microseconds())/1000, float64((med[2]-med[0]).Microseconds())/1000)
	fmt.Print(b.String())
	if out == "" {
		return nil
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(b.String())
	return errors.Join(err, f.Close())
}

// fetch runs sql and reads its result to the end; the answer is the
// first row as text.
func fetch(ctx context.Context, cl *flightsql.Client, sql string) (string, error) {
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		return "", fmt.Errorf("%s: %w", sql, err)
	}
	answer := ""
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return "", fmt.Errorf("%s: %w", sql, err)
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			if answer == "" && rec.NumRows() > 0 {
				cols := make([]string, rec.NumCols())
				for i, c := range rec.Columns() {
					cols[i] = c.ValueStr(0)
				}
				answer = "[" + strings.Join(cols, ", ") + "]"
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return "", fmt.Errorf("%s: %w", sql, err)
		}
	}
	return answer, nil
}
