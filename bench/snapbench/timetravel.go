package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ttQueries are the time-travel queries: %s is the table reference, with or
// without its AT clause.
var ttQueries = []struct{ name, sql string }{
	{"aggregate over every column", "SELECT count(*), sum(qty), avg(price), count(DISTINCT name), max(ts) FROM %s"},
	{"selective filter (1,000 rows)", "SELECT * FROM %s WHERE id BETWEEN 500000 AND 500999"},
	{"full scan, every row streamed", "SELECT * FROM %s"},
}

// ttTarget: a query at an old snapshot costs at most this many times the
// same query at the current snapshot of the same size.
const ttTarget = 1.2

// timeTravel: a table with two snapshots of equal size — the first
// overwrite writes ttRows rows, the second replaces them all with as many
// other rows (same ids, same distributions, other values; same writer, same
// file layout) — so a query AT (VERSION => first) and the same query on the
// current snapshot read the same amount of data. Runs alternate between the
// two; the median of the pairs' ratios is the figure.
func (b *bench) timeTravel(ctx context.Context) error {
	id, err := b.createTable(ctx, "travel")
	if err != nil {
		return err
	}
	n := int64(b.cfg.ttRows)
	old, err := b.overwriteRows(ctx, id, n, 1)
	if err != nil {
		return err
	}
	if _, err := b.overwriteRows(ctx, id, n, 2); err != nil {
		return err
	}
	if err := b.eng.Refresh(ctx, id); err != nil {
		return err
	}
	cur := "silver.travel"
	past := "silver.travel AT (VERSION => " + strconv.FormatInt(old, 10) + ")"

	// Check the two snapshots differ and have the same size.
	_, nOld, err := b.query(ctx, "SELECT count(*) FROM "+past)
	if err != nil {
		return err
	}
	_, nCur, err := b.query(ctx, "SELECT count(*) FROM "+cur)
	if err != nil {
		return err
	}
	_, diff, err := b.query(ctx, "SELECT count(*) FROM (SELECT * FROM "+past+" EXCEPT SELECT * FROM "+cur+")")
	if err != nil {
		return err
	}
	if nOld != strconv.FormatInt(n, 10) || nCur != nOld || diff != nOld {
		return fmt.Errorf("snapshots: %s rows then, %s now, %s rows differ", nOld, nCur, diff)
	}

	for _, q := range ttQueries {
		// Each text once before timing (the pinned view and DuckDB's
		// prepared statement exist afterwards, for both alike).
		var rowsOld, rowsCur int64
		if rowsOld, _, err = b.query(ctx, fmt.Sprintf(q.sql, past)); err != nil {
			return err
		}
		if rowsCur, _, err = b.query(ctx, fmt.Sprintf(q.sql, cur)); err != nil {
			return err
		}
		if rowsOld != rowsCur {
			return fmt.Errorf("%s: %d rows at the old snapshot, %d now", q.name, rowsOld, rowsCur)
		}
		var tOld, tCur []time.Duration
		var ratios []float64
		for range b.cfg.runs {
			d, err := timed(func() error { _, _, err := b.query(ctx, fmt.Sprintf(q.sql, past)); return err })
			if err != nil {
				return err
			}
			tOld = append(tOld, d)
			d, err = timed(func() error { _, _, err := b.query(ctx, fmt.Sprintf(q.sql, cur)); return err })
			if err != nil {
				return err
			}
			tCur = append(tCur, d)
			ratios = append(ratios, float64(tOld[len(tOld)-1])/float64(d))
		}
		mo, mc := median(tOld), median(tCur)
		slices.Sort(ratios)
		ratio := ratios[len(ratios)/2]
		b.add(figure{
			section: secTravel, name: q.name + ": old / current snapshot",
			value:  fmt.Sprintf("%.2f× (%.1f ms / %.1f ms)", ratio, ms(mo), ms(mc)),
			target: fmt.Sprintf("≤ %.1f×", ttTarget), met: verdict(ratio <= ttTarget),
			chart: []bar{{q.name + ", current", ms(mc)}, {q.name + ", old", ms(mo)}},
		})
	}

	// The first query at a snapshot no statement has read yet: the engine
	// resolves and plans it and creates its pinned view. A third snapshot
	// (same size again) that nothing has pinned.
	third, err := b.overwriteRows(ctx, id, n, 3)
	if err != nil {
		return err
	}
	if err := b.eng.Refresh(ctx, id); err != nil {
		return err
	}
	q := fmt.Sprintf(ttQueries[0].sql, "silver.travel AT (VERSION => "+strconv.FormatInt(third, 10)+")")
	first, err := timed(func() error { _, _, err := b.query(ctx, q); return err })
	if err != nil {
		return err
	}
	var again []time.Duration
	for range b.cfg.runs {
		d, err := timed(func() error { _, _, err := b.query(ctx, q); return err })
		if err != nil {
			return err
		}
		again = append(again, d)
	}
	b.add(figure{
		section: secTravel, name: "aggregate at a snapshot not read before: first query / later ones",
		value:  fmt.Sprintf("%.1f ms / %.1f ms", ms(first), ms(median(again))),
		target: "—", met: "",
	})
	return nil
}
