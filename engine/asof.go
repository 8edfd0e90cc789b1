//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/sqltext"
)

// Time travel: which snapshot of a table a statement reads. An AT clause
// on the table reference wins; otherwise the session's lakeflight_as_of
// (SET lakeflight_as_of = …, or the Flight SQL session option of that
// name) applies to every Iceberg table; otherwise the current snapshot.
//
// What to read as of is a snapshot id (VERSION => 8123456789), a tag or
// branch name (VERSION => 'v1'), or a point in time (TIMESTAMP =>
// TIMESTAMP '2026-11-01 10:00:00'; a timestamp without zone is read in the
// session's TimeZone): the snapshot current at that time.

// AsOfSetting is the name of the session setting (and Flight SQL session
// option) that makes a session read every Iceberg table as of a snapshot,
// tag, branch or time.
const AsOfSetting = "lakeflight_as_of"

// asOf is one resolved time-travel request.
type asOf struct {
	snapshot int64     // VERSION => id
	ref      string    // VERSION => 'name'
	at       time.Time // TIMESTAMP => …
	text     string    // as the user gave it, for messages and GetSessionOptions
}

func (a *asOf) String() string { return a.text }

// evalAtExpr evaluates the expression of AT (unit => expr) on the session's
// connection (so a timestamp without zone is in its TimeZone). A VERSION is
// a snapshot id, or a tag or branch name (always, when literal: a string
// literal was written).
func (s *Session) evalAtExpr(dc *dconn, id catalog.Ident, unit, expr string, literal bool) (*asOf, error) {
	switch strings.ToUpper(unit) {
	case "VERSION":
		rows, err := queryStrings(dc.c, "SELECT CAST(("+expr+") AS VARCHAR)")
		if err != nil {
			return nil, fmt.Errorf("evaluating the AT (VERSION => …) clause of %s: %w", id, err)
		}
		v := rows[0][0]
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && !literal {
			return &asOf{snapshot: n, text: v}, nil
		}
		return &asOf{ref: v, text: v}, nil
	case "TIMESTAMP":
		rows, err := queryStrings(dc.c, "SELECT epoch_ms(CAST(("+expr+") AS TIMESTAMPTZ)), CAST(CAST(("+expr+") AS TIMESTAMPTZ) AS VARCHAR)")
		if err != nil {
			return nil, fmt.Errorf("evaluating the AT (TIMESTAMP => …) clause of %s: %w", id, err)
		}
		ms, err := strconv.ParseInt(rows[0][0], 10, 64)
		if err != nil {
			return nil, newError(ErrInvalidSQL, "the AT (TIMESTAMP => …) clause of "+id.String()+" is NULL")
		}
		return &asOf{at: time.UnixMilli(ms).UTC(), text: rows[0][1]}, nil
	}
	return nil, newError(ErrUnsupported, "AT ("+unit+" => …) is not supported: use VERSION or TIMESTAMP")
}

// TimeTravel resolves what AT clauses and lakeflight_as_of name, and lists
// a table's snapshots for the messages that explain a miss.
type TimeTravel interface {
	SnapshotAsOf(ctx context.Context, id catalog.Ident, ts time.Time) (int64, error)
	ResolveRef(ctx context.Context, id catalog.Ident, name string) (int64, error)
	Snapshots(ctx context.Context, id catalog.Ident) ([]catalog.Snapshot, error)
}

// errNoTravel refuses time travel on an engine whose catalog keeps no history.
var errNoTravel = newError(ErrUnsupported, "time travel needs a catalog with snapshot history, and this engine has none")

// resolveAsOf finds the snapshot of id that req names.
func (e *Engine) resolveAsOf(ctx context.Context, id catalog.Ident, req *asOf) (int64, error) {
	if e.travel == nil {
		return 0, errNoTravel
	}
	switch {
	case req.ref != "":
		snap, err := e.travel.ResolveRef(ctx, id, req.ref)
		if errors.Is(err, catalog.ErrNoSuchSnapshot) {
			return 0, &Error{Kind: ErrNotFound, Msg: err.Error(), Cause: err}
		}
		return snap, err
	case !req.at.IsZero():
		snap, err := e.travel.SnapshotAsOf(ctx, id, req.at)
		if errors.Is(err, catalog.ErrNoSuchSnapshot) {
			return 0, e.noSnapshotAt(ctx, id, req)
		}
		return snap, err
	}
	return req.snapshot, nil
}

// noSnapshotAt explains a time before the table's first snapshot.
func (e *Engine) noSnapshotAt(ctx context.Context, id catalog.Ident, req *asOf) error {
	msg := fmt.Sprintf("table %s has no snapshot at or before %s", id, req.text)
	if e.travel == nil {
		return errNoTravel
	}
	if snaps, err := e.travel.Snapshots(ctx, id); err == nil {
		if len(snaps) == 0 {
			msg += ": it has no snapshots yet"
		} else {
			first := snaps[0]
			for _, sn := range snaps {
				if sn.Timestamp.Before(first.Timestamp) {
					first = sn
				}
			}
			msg += fmt.Sprintf(": its first snapshot, %d, was committed at %s", first.SnapshotID,
				first.Timestamp.UTC().Format("2006-01-02 15:04:05.000 MST"))
		}
	}
	return newError(ErrNotFound, msg)
}

// noSuchSnapshot explains an unknown snapshot id, listing the latest ones.
func (e *Engine) noSuchSnapshot(ctx context.Context, id catalog.Ident, snap int64) error {
	msg := fmt.Sprintf("table %s has no snapshot %d", id, snap)
	if e.travel == nil {
		return errNoTravel
	}
	if snaps, err := e.travel.Snapshots(ctx, id); err == nil {
		switch {
		case len(snaps) == 0:
			msg += ": it has no snapshots yet"
		default:
			const show = 5
			ids := make([]string, 0, show)
			for i := len(snaps) - 1; i >= 0 && len(ids) < show; i-- {
				ids = append(ids, strconv.FormatInt(snaps[i].SnapshotID, 10))
			}
			msg += fmt.Sprintf(" (it has %d; the latest: %s; see iceberg_snapshots('%s'))", len(snaps), strings.Join(ids, ", "), id)
		}
	}
	return newError(ErrNotFound, msg)
}

// parseAsOf reads a lakeflight_as_of value: a snapshot id, a timestamp
// (read in the session's TimeZone by DuckDB), or a tag or branch name.
// "" means none.
func (s *Session) parseAsOf(dc *dconn, v string) (*asOf, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return &asOf{snapshot: n, text: v}, nil
	}
	rows, err := queryStrings(dc.c, "SELECT epoch_ms(TRY_CAST("+quoteString(v)+" AS TIMESTAMPTZ))")
	if err != nil {
		return nil, err
	}
	if ms, err := strconv.ParseInt(rows[0][0], 10, 64); err == nil {
		return &asOf{at: time.UnixMilli(ms).UTC(), text: v}, nil
	}
	return &asOf{ref: v, text: v}, nil
}

// AsOf is the session's lakeflight_as_of ("" when it reads current data).
func (s *Session) AsOf() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asOf == nil {
		return ""
	}
	return s.asOf.text
}

// SetAsOf sets the session's lakeflight_as_of; "" resets it.
func (s *Session) SetAsOf(ctx context.Context, v string) error {
	if strings.TrimSpace(v) == "" {
		_, err := s.Exec(ctx, "RESET "+AsOfSetting)
		return err
	}
	_, err := s.Exec(ctx, "SET "+AsOfSetting+" = "+quoteString(v))
	return err
}

// asOfStatement recognises SET/RESET lakeflight_as_of and returns the
// DuckDB statement that stands for it: a session variable of the same
// name, read back after it ran (noteAsOf). While it is set, the current
// views refuse to bind (views.go), so nothing reads current data unseen.
func asOfStatement(sql string, toks sqltext.Tokens) (string, bool) {
	i := 1
	if toks.Word(i, "session") || toks.Word(i, "local") {
		i++
	}
	if len(toks) <= i || !toks[i].Is(AsOfSetting) || !toks.Word(0, "set") && !toks.Word(0, "reset") {
		return "", false
	}
	return sql[:toks[0].End] + " VARIABLE " + sql[toks[i].Pos:], true
}

// noteAsOf reads the lakeflight_as_of variable back after SET/RESET.
func (s *Session) noteAsOf(dc *dconn) error {
	rows, err := queryStrings(dc.c, "SELECT CAST(getvariable('"+AsOfSetting+"') AS VARCHAR)")
	if err != nil {
		return err
	}
	req, err := s.parseAsOf(dc, rows[0][0])
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.asOf = req
	s.mu.Unlock()
	return nil
}
