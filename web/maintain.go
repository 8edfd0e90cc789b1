package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/catalog"
)

// Table maintenance over REST: POST /v1/tables/{ns}/{table}/expire-snapshots
// and …/remove-orphan-files run the action and answer its report (what the
// table's snapshots and files were before and after).

// Defaults of the maintenance bodies: Iceberg's own defaults for snapshot
// age (5 days) and for the orphan safety window (3 days).
const (
	defaultExpireAge  = 5 * 24 * time.Hour
	defaultRetainLast = 1
)

type expireRequest struct {
	OlderThan  *string `json:"older_than"`  // a duration: "120h", "7d"; default 5d
	RetainLast *int    `json:"retain_last"` // default 1
}

type orphansRequest struct {
	OlderThan *string `json:"older_than"` // default 3d, at least 1h
	DryRun    bool    `json:"dry_run"`
}

// expireSnapshots is POST /v1/tables/{ns}/{table}/expire-snapshots.
func (s *Server) expireSnapshots(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	var req expireRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	o := catalog.ExpireOptions{OlderThan: defaultExpireAge, RetainLast: defaultRetainLast}
	if req.OlderThan != nil {
		if o.OlderThan, err = parseAge("older_than", *req.OlderThan); err != nil {
			return err
		}
	}
	if req.RetainLast != nil {
		o.RetainLast = *req.RetainLast
	}
	rep, err := snap.ExpireSnapshots(c.Request().Context(), id, o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// removeOrphanFiles is POST /v1/tables/{ns}/{table}/remove-orphan-files.
func (s *Server) removeOrphanFiles(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	var req orphansRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	age := catalog.DefaultOrphanAge
	if req.OlderThan != nil {
		if age, err = parseAge("older_than", *req.OlderThan); err != nil {
			return err
		}
	}
	rep, err := snap.RemoveOrphanFiles(c.Request().Context(), id, age, req.DryRun)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// parseAge reads a duration as Go writes them ("36h", "90m") or a whole
// number of days ("7d").
func parseAge(field, v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: %s %q: want a duration such as \"120h\" or \"7d\"", errBadRequest, field, v)
	}
	return d, nil
}
