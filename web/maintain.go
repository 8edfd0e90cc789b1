package web

import (
	"context"
	"fmt"
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
	return s.maintenance(c, id, "expire_snapshots", func(ctx context.Context) (catalog.MaintenanceReport, error) {
		return snap.ExpireSnapshots(ctx, id, o)
	})
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
	return s.maintenance(c, id, "remove_orphan_files", func(ctx context.Context) (catalog.MaintenanceReport, error) {
		return snap.RemoveOrphanFiles(ctx, id, age, req.DryRun)
	})
}

// rewriteManifests is POST /v1/tables/{ns}/{table}/rewrite-manifests.
func (s *Server) rewriteManifests(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	if err := decodeJSONBody(c, &struct{}{}); err != nil {
		return err
	}
	return s.maintenance(c, id, "rewrite_manifests", func(ctx context.Context) (catalog.MaintenanceReport, error) {
		return snap.RewriteManifests(ctx, id)
	})
}

// parseAge reads a duration field (catalog.ParseAge).
func parseAge(field, v string) (time.Duration, error) {
	d, err := catalog.ParseAge(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %w", errBadRequest, field, err)
	}
	return d, nil
}

// Compactor rewrites a table's small files (the engine's Compact).
type Compactor interface {
	Compact(ctx context.Context, id catalog.Ident, targetBytes int64, minFiles int) (catalog.MaintenanceReport, error)
}

type compactRequest struct {
	TargetFileSizeBytes *int64 `json:"target_file_size_bytes"` // files under 3/4 of it are small; default 128 MiB
	MinFiles            *int   `json:"min_files"`              // small files a partition needs to be compacted; default 2
}

// compact is POST /v1/tables/{ns}/{table}/compact.
func (s *Server) compact(c echo.Context) error {
	if s.opts.Compactor == nil {
		return errCompactOff
	}
	id, err := tableParam(c)
	if err != nil {
		return err
	}
	var req compactRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	var target int64
	minFiles := 0
	if req.TargetFileSizeBytes != nil {
		if target = *req.TargetFileSizeBytes; target < 1<<20 {
			return fmt.Errorf("%w: target_file_size_bytes %d: want at least 1 MiB (1048576)", errBadRequest, target)
		}
	}
	if req.MinFiles != nil {
		if minFiles = *req.MinFiles; minFiles < 2 {
			return fmt.Errorf("%w: min_files %d: want at least 2", errBadRequest, minFiles)
		}
	}
	return s.maintenance(c, id, "compact", func(ctx context.Context) (catalog.MaintenanceReport, error) {
		return s.opts.Compactor.Compact(ctx, id, target, minFiles)
	})
}
