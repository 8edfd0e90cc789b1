package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/engine"
)

// mergeSQL is the benchmark's MERGE into target (a table of rows ids
// 0 … rows-1): changes source rows, nine in ten matching an existing id
// (spread over the whole table) and updated, one in ten new and inserted.
// Changed rows get qty = -1, which generated rows never have.
func mergeSQL(target string, rows, changes int) string {
	updates := changes * 9 / 10
	step := max(rows/max(updates, 1), 1)
	return fmt.Sprintf(`MERGE INTO %s AS t
USING (SELECT CASE WHEN i < %d THEN i * %d ELSE %d + i END AS id, -1 AS qty, i * 0.25 AS price,
              'merged-' || (i %% 100) AS name, TIMESTAMP '2027-01-01' + to_seconds(i) AS ts
       FROM range(%d) r(i)) AS s
ON t.id = s.id
WHEN MATCHED THEN UPDATE SET qty = s.qty, price = s.price, name = s.name
WHEN NOT MATCHED THEN INSERT (id, qty, price, name, ts) VALUES (s.id, s.qty, s.price, s.name, s.ts)`,
		target, updates, step, rows, changes)
}

// merge: the MERGE through the engine, then its phases replayed.
func (b *bench) merge(ctx context.Context) error {
	id, err := b.createTable(ctx, "big")
	if err != nil {
		return err
	}
	rows, changes := b.cfg.mergeRows, b.cfg.mergeDelta
	load, err := timed(func() error { _, err := b.appendRows(ctx, id, int64(rows), 5, runtime.GOMAXPROCS(0)); return err })
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  (%d rows written and committed in %.1f s)\n", rows, load.Seconds())
	// Two more tables on the same data files: one for the replay, one for
	// the MERGE through the engine again afterwards.
	id2, err := b.sameFiles(ctx, id, "big2")
	if err != nil {
		return err
	}
	id3, err := b.sameFiles(ctx, id, "big3")
	if err != nil {
		return err
	}
	for _, t := range []catalog.Ident{id, id2, id3} {
		if err := b.eng.Refresh(ctx, t); err != nil {
			return err
		}
	}

	first, prep, err := b.engineMerge(ctx, "silver.big", rows, changes)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("MERGE through the engine (%s rows changed: %s updated, %s inserted)", count(changes), count(changes*9/10), count(changes-changes*9/10))
	b.add(figure{section: secMerge, name: name + ", the first in the process",
		value: fmt.Sprintf("%.2f s", first.Seconds()), target: "— (reported)", chart: []bar{{"MERGE, engine, first", ms(first)}}})
	b.add(figure{section: secMerge, name: "of which prepare (the statement checked against an empty stand-in)", value: fmt.Sprintf("%.2f s", prep.Seconds()), target: "—"})

	// The same phases one by one on big2.
	ph, err := b.replayMerge(ctx, id2, rows, changes)
	if err != nil {
		return err
	}
	if err := b.checkMerged(ctx, "silver.big2", rows, changes); err != nil {
		return err
	}
	// And the whole MERGE through the engine again, on big3.
	again, _, err := b.engineMerge(ctx, "silver.big3", rows, changes)
	if err != nil {
		return err
	}
	b.add(figure{section: secMerge, name: name + ", again on an identical table",
		value: fmt.Sprintf("%.2f s", again.Seconds()), target: "— (reported)", chart: []bar{{"MERGE, engine, again", ms(again)}}})
	var sum time.Duration
	for _, p := range ph {
		sum += p.d
		b.add(figure{section: secMerge, name: "replayed: " + p.name, value: fmt.Sprintf("%.2f s (%.0f%%)", p.d.Seconds(), 100*p.d.Seconds()/again.Seconds()),
			target: "—", chart: []bar{{"replayed: " + p.label, ms(p.d)}}})
	}
	b.add(figure{section: secMerge, name: "the engine's own share (the MERGE again less the replayed phases)",
		value: fmt.Sprintf("%.2f s (%.0f%%)", (again - sum).Seconds(), 100*(again-sum).Seconds()/again.Seconds()), target: "—"})
	b.add(figure{section: secMerge, name: "DuckDB memory in use while the stand-in exists", value: b.standInMB + " MB", target: "—"})
	b.notes = append(b.notes, fmt.Sprintf("The MERGE's time goes to DuckDB: copying the %s-row snapshot into the stand-in (%.1f s, "+
		"%s MB of DuckDB memory, most of it the data file's path repeated on every row) and the MERGE itself (%.1f s); writing "+
		"the %s new rows and the position deletes and committing take %.2f s.", count(rows), ph[1].d.Seconds(), b.standInMB,
		ph[2].d.Seconds(), count(changes), (ph[4].d+ph[5].d).Seconds()))
	return nil
}

// engineMerge runs the benchmark's MERGE into table through the engine:
// prepare (checked against an empty stand-in), then execute; and checks
// the result. It returns the total time and the prepare's.
func (b *bench) engineMerge(ctx context.Context, table string, rows, changes int) (total, prep time.Duration, err error) {
	var (
		affected int64
		stmt     *engine.Statement
	)
	prep, err = timed(func() error {
		stmt, err = b.sess.Prepare(ctx, mergeSQL(table, rows, changes))
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	exec, err := timed(func() error {
		n, err := stmt.Exec(ctx, nil)
		affected = n
		return err
	})
	_ = stmt.Close()
	if err != nil {
		return 0, 0, err
	}
	if affected != int64(changes) {
		return 0, 0, fmt.Errorf("MERGE changed %d rows, want %d", affected, changes)
	}
	return prep + exec, prep, b.checkMerged(ctx, table, rows, changes)
}

// checkMerged checks the table after the MERGE: rows + inserted rows, and
// exactly the changed rows with qty = -1.
func (b *bench) checkMerged(ctx context.Context, name string, rows, changes int) error {
	_, got, err := b.query(ctx, "SELECT count(*) FROM "+name)
	if err != nil {
		return err
	}
	_, changed, err := b.query(ctx, "SELECT count(*) FROM "+name+" WHERE qty = -1")
	if err != nil {
		return err
	}
	if want := strconv.Itoa(rows + changes - changes*9/10); got != want || changed != strconv.Itoa(changes) {
		return fmt.Errorf("%s after the MERGE: %s rows (want %s), %s changed (want %d)", name, got, want, changed, changes)
	}
	return nil
}

// sameFiles creates silver.<name> holding the data files of table src.
func (b *bench) sameFiles(ctx context.Context, src catalog.Ident, name string) (catalog.Ident, error) {
	id, err := b.createTable(ctx, name)
	if err != nil {
		return id, err
	}
	tbl, err := b.cat.LoadTable(ctx, src)
	if err != nil {
		return id, err
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return id, err
	}
	manifests, err := tbl.CurrentSnapshot().Manifests(fs)
	if err != nil {
		return id, err
	}
	var files []iceberg.DataFile
	for _, m := range manifests {
		for e, err := range m.Entries(fs, true) {
			if err != nil {
				return id, err
			}
			files = append(files, e.DataFile())
		}
	}
	dst, err := b.cat.LoadTable(ctx, id)
	if err != nil {
		return id, err
	}
	tx := dst.NewTransaction()
	if err := tx.AddDataFiles(ctx, files, nil, table.WithoutDuplicateCheck()); err != nil {
		return id, err
	}
	_, err = tx.Commit(ctx)
	return id, err
}

// mergeRepeats is how often the replay runs its DuckDB phases.
const mergeRepeats = 3

type phase struct {
	name, label string // label: short, for the chart
	d           time.Duration
}

// replayMerge runs the engine's MERGE phases on id one at a time, with the
// statements the engine runs: plan the base snapshot, copy it into a TEMP
// stand-in with row identity, MERGE into the stand-in with RETURNING,
// collect the new rows and the replaced rows' positions, write data and
// delete files, commit, rebind.
func (b *bench) replayMerge(ctx context.Context, id catalog.Ident, rows, changes int) ([]phase, error) {
	var out []phase
	step := func(label, name string, f func() error) error {
		d, err := timed(f)
		out = append(out, phase{name: name, label: label, d: d})
		return err
	}
	txn, err := b.cat.Begin(ctx, id)
	if err != nil {
		return nil, err
	}
	defer txn.Abort()
	var base *catalog.TableState
	if err := step("plan", "plan the base snapshot (Begin, TableState)", func() error { base, err = txn.State(ctx); return err }); err != nil {
		return nil, err
	}
	body, err := viewBody(base, true)
	if err != nil {
		return nil, err
	}
	// The two DuckDB phases change only the TEMP stand-in, so they run
	// mergeRepeats times (a fresh copy each time) and their medians count.
	const standIn = "bench_stand_in"
	defer func() { _, _ = b.sess.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp."+standIn) }()
	var returned []arrow.RecordBatch
	release := func() {
		for _, r := range returned {
			r.Release()
		}
		returned = nil
	}
	defer release()
	text := mergeSQL("temp.main."+standIn, rows, changes) + "\nRETURNING merge_action, *"
	var copies, merges []time.Duration
	for range mergeRepeats {
		release()
		// The engine drops its stand-in after every statement.
		if _, err := b.sess.Exec(ctx, "DROP TABLE IF EXISTS temp."+standIn); err != nil {
			return nil, err
		}
		d, err := timed(func() error {
			_, err := b.sess.Exec(ctx, "CREATE OR REPLACE TEMP TABLE "+standIn+" AS "+body)
			return err
		})
		if err != nil {
			return nil, err
		}
		copies = append(copies, d)
		_, mem, err := b.query(ctx, "SELECT sum(memory_usage_bytes) // 1000000 FROM duckdb_memory()")
		if err != nil {
			return nil, err
		}
		b.standInMB = mem
		d, err = timed(func() error {
			st, err := b.sess.Prepare(ctx, text)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			rdr, err := st.Query(ctx, nil, b.mem)
			if err != nil {
				return err
			}
			defer rdr.Release()
			for rdr.Next() {
				rec := rdr.RecordBatch()
				rec.Retain()
				returned = append(returned, rec)
			}
			return rdr.Err()
		})
		if err != nil {
			return nil, err
		}
		merges = append(merges, d)
	}
	out = append(out,
		phase{label: "copy into the stand-in", name: fmt.Sprintf("copy the snapshot into the TEMP stand-in, with row identity (median of %d)", mergeRepeats), d: median(copies)},
		phase{label: "DuckDB MERGE", name: fmt.Sprintf("MERGE into the stand-in in DuckDB, RETURNING read (median of %d)", mergeRepeats), d: median(merges)})

	target, err := txn.ArrowSchema()
	if err != nil {
		return nil, err
	}
	var newRows []arrow.RecordBatch
	defer func() {
		for _, r := range newRows {
			r.Release()
		}
	}()
	var dels []catalog.PositionDeletes
	if err := step("collect changes", "collect new rows and replaced positions", func() error {
		newRows, dels, err = collect(returned, base, target)
		return err
	}); err != nil {
		return nil, err
	}
	if err := step("write files", "write data and position-delete files (Txn.Delta)", func() error {
		rdr, err := array.NewRecordReader(target, newRows)
		if err != nil {
			return err
		}
		defer rdr.Release()
		return txn.Delta(ctx, rdr, dels, map[string]string{"lakeflight.sql.statement": "MERGE"}, runtime.GOMAXPROCS(0))
	}); err != nil {
		return nil, err
	}
	if err := step("commit", "commit the snapshot", func() error { _, err := txn.Commit(ctx); return err }); err != nil {
		return nil, err
	}
	if err := step("rebind", "rebind the table's view (Refresh)", func() error { return b.eng.Refresh(ctx, id) }); err != nil {
		return nil, err
	}
	return out, nil
}

// viewBody is the engine's view of a snapshot without deletes
// (engine/views.go viewSQLWith): every column by field id, and with
// identity each row's file and position.
func viewBody(st *catalog.TableState, identity bool) (string, error) {
	if len(st.DeleteFiles) > 0 {
		return "", fmt.Errorf("the bench builds views of snapshots without deletes only")
	}
	types := map[string]string{"long": "BIGINT", "int": "INTEGER", "double": "DOUBLE", "string": "VARCHAR", "timestamp": "TIMESTAMP"}
	var cols, schema []string
	for _, f := range st.Schema.Fields() {
		t, ok := types[f.Type.String()]
		if !ok {
			return "", fmt.Errorf("column %s: type %s", f.Name, f.Type)
		}
		cols = append(cols, "d."+quoteIdent(f.Name))
		schema = append(schema, fmt.Sprintf("%d: {name: %s, type: '%s', default_value: NULL}", f.ID, quoteString(f.Name), t))
	}
	files := make([]string, len(st.DataFiles))
	for i, f := range st.DataFiles {
		files[i] = quoteString(f.Path)
	}
	q := "SELECT " + strings.Join(cols, ", ")
	opts := ""
	if identity {
		q += ", d.__lakeflight_file, d.file_row_number AS __lakeflight_pos"
		opts = ", filename = '__lakeflight_file', file_row_number = true"
	}
	return q + " FROM read_parquet([" + strings.Join(files, ", ") + "], schema = map{" + strings.Join(schema, ", ") + "}" + opts + ") AS d", nil
}

// collect splits the MERGE's RETURNING rows (merge_action, the table's
// columns, file, position) into the rows to write and the positions to
// delete, by data file location.
func collect(returned []arrow.RecordBatch, base *catalog.TableState, target *arrow.Schema) ([]arrow.RecordBatch, []catalog.PositionDeletes, error) {
	locations := map[string]string{}
	for _, f := range base.DataFiles {
		locations[f.Path] = f.Location
	}
	n := target.NumFields()
	byFile := map[string][]int64{}
	var out []arrow.RecordBatch
	for _, rec := range returned {
		actions, ok := rec.Column(0).(*array.String)
		files, ok2 := rec.Column(n + 1).(*array.String)
		pos, ok3 := rec.Column(n + 2).(*array.Int64)
		if !ok || !ok2 || !ok3 {
			return nil, nil, fmt.Errorf("RETURNING columns: %s", rec.Schema())
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			if actions.Value(r) != "INSERT" {
				byFile[files.Value(r)] = append(byFile[files.Value(r)], pos.Value(r))
			}
		}
		cols := make([]arrow.Array, n)
		for i, f := range target.Fields() {
			cols[i] = rec.Column(1 + i)
			if !arrow.TypeEqual(cols[i].DataType(), f.Type) {
				return nil, nil, fmt.Errorf("column %s came back as %s, the table has %s", f.Name, cols[i].DataType(), f.Type)
			}
		}
		out = append(out, array.NewRecordBatch(target, cols, rec.NumRows()))
	}
	var dels []catalog.PositionDeletes
	for f, p := range byFile {
		loc, ok := locations[f]
		if !ok {
			return nil, nil, fmt.Errorf("unknown data file %q", f)
		}
		dels = append(dels, catalog.PositionDeletes{DataFile: loc, Positions: p})
	}
	return out, dels, nil
}

func quoteIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
