//go:build duckdb_arrow

package flightsql

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver: the oracle

	"github.com/lakeflight/lakeflight/internal/sqlcorpus"
)

// oracle is DuckDB in-process (its database/sql driver) over plain tables
// built from the corpus fixture.
func oracle(t *testing.T, setup ...string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // USE must stick
	t.Cleanup(func() { _ = db.Close() })
	for _, q := range append([]string{"CREATE SCHEMA silver"}, setup...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("oracle: %s: %v", q, err)
		}
	}
	return db
}

// oracleRows runs q and renders each value the way arrow's ValueStr does
// for the corpus's types.
func oracleRows(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("oracle: %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				r[i] = "NULL"
			case *big.Int:
				r[i] = v.String()
			case float64:
				r[i] = strconv.FormatFloat(v, 'g', -1, 64)
			default:
				r[i] = fmt.Sprint(v)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// flightRows renders a Flight result like oracleRows.
func flightRows(res result) [][]string {
	for _, r := range res.rows {
		for i, v := range r {
			if v == "(null)" {
				r[i] = "NULL"
			}
		}
	}
	return res.rows
}

func sortedRows(rows [][]string, ordered bool) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "\x00")
	}
	if !ordered {
		slices.Sort(out)
	}
	return out
}

// The shared corpus through a real Flight SQL client, as statements and as
// prepared statements, now and (on a second connection, whose session holds
// lakeflight_as_of without cookies) as of a time before silver.t grew; each
// answer is checked against DuckDB's on plain tables.
func TestCorpusOverFlight(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	cl := env.client(t, false)
	update := func(c *afsql.Client, q string) {
		t.Helper()
		if _, err := c.ExecuteUpdate(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	update(cl, "CREATE SCHEMA IF NOT EXISTS silver")
	update(cl, sqlcorpus.CreateT)
	update(cl, sqlcorpus.CreateU)
	then := query(t, cl, "SELECT CAST(max(timestamp_ms) AS VARCHAR) FROM iceberg_snapshots('silver.u')").rows[0][0]
	at, err := time.Parse("2006-01-02 15:04:05.999", then)
	if err != nil {
		t.Fatal(err)
	}
	for !time.Now().After(at.Add(time.Millisecond)) {
		runtime.Gosched()
	}
	update(cl, sqlcorpus.GrowT)
	travel := env.client(t, false)
	update(travel, "SET lakeflight_as_of = '"+then+"+00'")

	now := oracle(t, sqlcorpus.CreateT, sqlcorpus.CreateU, sqlcorpus.GrowT)
	past := oracle(t, sqlcorpus.CreateT, sqlcorpus.CreateU)
	for _, c := range sqlcorpus.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			switch {
			case c.Refused != "":
				if _, err := cl.Execute(ctx, c.SQL); err == nil || !strings.Contains(err.Error(), c.Refused) {
					t.Errorf("%v; want a refusal containing %q", err, c.Refused)
				}
			case c.Query:
				for _, run := range []struct {
					name string
					cl   *afsql.Client
					db   *sql.DB
				}{{"now", cl, now}, {"as-of", travel, past}} {
					if c.Use != "" {
						update(run.cl, "USE lakehouse."+c.Use)
						if _, err := run.db.Exec("USE " + c.Use); err != nil {
							t.Fatal(err)
						}
					}
					want := sortedRows(oracleRows(t, run.db, c.SQL), c.Ordered)
					info, err := run.cl.Execute(ctx, c.SQL)
					var res result
					if err == nil {
						res, err = fetch(ctx, run.cl, info)
					}
					if err != nil {
						t.Fatalf("%s: %v", run.name, err)
					}
					if got := sortedRows(flightRows(res), c.Ordered); !slices.Equal(got, want) {
						t.Errorf("%s: lakeflight answered %q, DuckDB %q", run.name, got, want)
					}
					prep, err := run.cl.Prepare(ctx, c.SQL)
					if err != nil {
						t.Fatalf("%s: prepare: %v", run.name, err)
					}
					info, err = prep.Execute(ctx)
					if err == nil {
						res, err = fetch(ctx, run.cl, info)
					}
					_ = prep.Close(ctx)
					if err != nil {
						t.Fatalf("%s: prepared: %v", run.name, err)
					}
					if got := sortedRows(flightRows(res), c.Ordered); !slices.Equal(got, want) {
						t.Errorf("%s, prepared: lakeflight answered %q, DuckDB %q", run.name, got, want)
					}
					if c.Use != "" {
						update(run.cl, "USE lakehouse.main")
						if _, err := run.db.Exec("USE memory.main"); err != nil {
							t.Fatal(err)
						}
					}
				}
			case c.Write:
				for _, q := range []string{sqlcorpus.DropW, sqlcorpus.ResetW} {
					update(cl, q)
					if _, err := now.Exec(q); err != nil {
						t.Fatalf("oracle: %s: %v", q, err)
					}
				}
				if c.Returning {
					got := sortedRows(flightRows(query(t, cl, c.SQL)), false)
					if want := sortedRows(oracleRows(t, now, c.SQL), false); !slices.Equal(got, want) {
						t.Errorf("RETURNING: lakeflight %q, DuckDB %q", got, want)
					}
				} else {
					update(cl, c.SQL)
					if _, err := now.Exec(c.SQL); err != nil {
						t.Fatalf("oracle: %s: %v", c.SQL, err)
					}
				}
				got := sortedRows(flightRows(query(t, cl, sqlcorpus.ReadW)), true)
				if want := sortedRows(oracleRows(t, now, sqlcorpus.ReadW), true); !slices.Equal(got, want) {
					t.Errorf("silver.w after the write: lakeflight %q, DuckDB %q", got, want)
				}
			}
		})
	}
}
