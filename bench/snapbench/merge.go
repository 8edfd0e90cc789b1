package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

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

// merge: the MERGE through the engine, twice on identical tables, with the
// phases the engine itself timed (engine.Session.LastWrite).
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
	// A second table on the same data files, for the MERGE again, and a
	// third for it in copy-on-write mode.
	id2, err := b.sameFiles(ctx, id, "big2")
	if err != nil {
		return err
	}
	id3, err := b.sameFiles(ctx, id, "big3")
	if err != nil {
		return err
	}
	if err := b.cat.SetProperty(ctx, id3, catalog.PropMergeMode, catalog.ModeCopyOnWrite); err != nil {
		return err
	}
	for _, t := range []catalog.Ident{id, id2, id3} {
		if err := b.eng.Refresh(ctx, t); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("MERGE through the engine (%s rows changed: %s updated, %s inserted)", count(changes), count(changes*9/10), count(changes-changes*9/10))
	first, prep, err := b.engineMerge(ctx, "silver.big", rows, changes)
	if err != nil {
		return err
	}
	b.add(figure{section: secMerge, name: name + ", the first in the process",
		value: fmt.Sprintf("%.2f s", first.Seconds()), target: "— (reported)", chart: []bar{{"MERGE, engine, first", ms(first)}}})
	b.add(figure{section: secMerge, name: "of which prepare (the statement checked against an empty stand-in)", value: fmt.Sprintf("%.2f s", prep.Seconds()), target: "—"})
	again, _, err := b.engineMerge(ctx, "silver.big2", rows, changes)
	if err != nil {
		return err
	}
	b.add(figure{section: secMerge, name: name + ", again on an identical table",
		value: fmt.Sprintf("%.2f s", again.Seconds()), target: "— (reported)", chart: []bar{{"MERGE, engine, again", ms(again)}}})
	ws := b.sess.LastWrite()
	phases := []struct {
		label, name string
		d           time.Duration
	}{
		{"plan", "lock the table and plan its snapshot", ws.Plan},
		{"stand-in", "copy the snapshot into the TEMP stand-in, with row identity", ws.StandIn},
		{"MERGE", "DuckDB runs the MERGE on the stand-in, RETURNING read", ws.Run},
		{"collect", "sort the returned rows into new rows and deletes", ws.Collect},
		{"write", "write data and position-delete files", ws.Write},
		{"commit", "commit the snapshot", ws.Commit},
	}
	var sum time.Duration
	for _, p := range phases {
		sum += p.d
		b.add(figure{section: secMerge, name: "of the MERGE again: " + p.name, value: fmt.Sprintf("%.2f s (%.0f%%)", p.d.Seconds(), 100*p.d.Seconds()/again.Seconds()),
			target: "—", chart: []bar{{"phase: " + p.label, ms(p.d)}}})
	}
	b.add(figure{section: secMerge, name: "of the MERGE again: the rest (prepare, session, checks)",
		value: fmt.Sprintf("%.2f s (%.0f%%)", (again - sum).Seconds(), 100*(again-sum).Seconds()/again.Seconds()), target: "—"})
	// A DELETE of one row, whose WHERE lets the engine copy only that row
	// into the stand-in.
	del, err := timed(func() error {
		_, err := b.sess.Exec(ctx, "DELETE FROM silver.big2 WHERE id = 12345")
		return err
	})
	if err != nil {
		return err
	}
	dws := b.sess.LastWrite()
	b.add(figure{section: secMerge, name: fmt.Sprintf("DELETE of one row by id from that table (%s row copied into the stand-in)", count(int(dws.StandInRows))),
		value: fmt.Sprintf("%.3f s", del.Seconds()), target: "— (reported)", chart: []bar{{"DELETE one row", ms(del)}}})
	if err := b.copyOnWriteMerge(ctx, rows, changes); err != nil {
		return err
	}
	b.notes = append(b.notes, fmt.Sprintf("The MERGE's time goes to DuckDB: finding the target rows whose id is in the source "+
		"(a scan of the %s-row snapshot) and copying those %s rows into the stand-in (%.1f s), and the MERGE itself (%.2f s); "+
		"writing the %s new rows and the position deletes and committing take %.2f s. "+
		"The phases are the engine's own timings of the statement (engine.Session.LastWrite).", count(rows), count(int(ws.StandInRows)),
		ws.StandIn.Seconds(), ws.Run.Seconds(), count(changes), (ws.Write+ws.Commit).Seconds()))
	return nil
}

// copyOnWriteMerge runs the MERGE again on the third identical table
// (silver.big3, set to copy-on-write), and times a full scan of it against
// the merge-on-read table merged before (silver.big2).
func (b *bench) copyOnWriteMerge(ctx context.Context, rows, changes int) error {
	cow, _, err := b.engineMerge(ctx, "silver.big3", rows, changes)
	if err != nil {
		return err
	}
	ws := b.sess.LastWrite()
	if !ws.CopyOnWrite {
		return fmt.Errorf("the MERGE into silver.big3 did not copy on write")
	}
	b.add(figure{section: secMerge, name: fmt.Sprintf("the same MERGE on a copy-on-write table (%s surviving rows rewritten: every file has a changed row)", count(int(ws.RewrittenRows))),
		value: fmt.Sprintf("%.2f s (rewrite %.2f s, write %.2f s)", cow.Seconds(), ws.Rewrite.Seconds(), ws.Write.Seconds()), target: "— (reported)",
		chart: []bar{{"MERGE, copy-on-write", ms(cow)}}})
	const scan = "SELECT sum(qty), count(*) FROM "
	var mor, cowScan []time.Duration
	for range 5 {
		for _, t := range []string{"silver.big2", "silver.big3"} {
			d, err := timed(func() error { _, _, err := b.query(ctx, scan+t); return err })
			if err != nil {
				return err
			}
			if t == "silver.big2" {
				mor = append(mor, d)
			} else {
				cowScan = append(cowScan, d)
			}
		}
	}
	m, c := median(mor), median(cowScan)
	b.add(figure{section: secMerge, name: "full scan after the MERGE (sum and count, median of 5): merge-on-read / copy-on-write",
		value: fmt.Sprintf("%.0f ms / %.0f ms (%.2f×)", ms(m), ms(c), m.Seconds()/c.Seconds()), target: "— (reported)",
		chart: []bar{{"scan after, merge-on-read", ms(m)}, {"scan after, copy-on-write", ms(c)}}})
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
