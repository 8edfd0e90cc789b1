package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/catalog"
)

// Snapshotter manages a table's snapshots, tags and branches: *catalog.Catalog.
type Snapshotter interface {
	Snapshots(ctx context.Context, id catalog.Ident) ([]catalog.Snapshot, error)
	History(ctx context.Context, id catalog.Ident) ([]catalog.HistoryEntry, error)
	Refs(ctx context.Context, id catalog.Ident) ([]catalog.Ref, error)
	CreateTag(ctx context.Context, id catalog.Ident, name string, snapshotID int64) (int64, error)
	CreateBranch(ctx context.Context, id catalog.Ident, name string, snapshotID int64) (int64, error)
	DropRef(ctx context.Context, id catalog.Ident, name string) error
	Rollback(ctx context.Context, id catalog.Ident, snapshotID int64) error
	ExpireSnapshots(ctx context.Context, id catalog.Ident, o catalog.ExpireOptions) (catalog.MaintenanceReport, error)
	RemoveOrphanFiles(ctx context.Context, id catalog.Ident, olderThan time.Duration, dryRun bool) (catalog.MaintenanceReport, error)
	RewriteManifests(ctx context.Context, id catalog.Ident) (catalog.MaintenanceReport, error)
}

var _ Snapshotter = (*catalog.Catalog)(nil)

// The bodies of the snapshot endpoints. Times are RFC 3339 in UTC with
// milliseconds, as Iceberg records them.

type snapshotsResponse struct {
	Table             string         `json:"table"`
	CurrentSnapshotID *int64         `json:"current_snapshot_id"` // null: no snapshot yet
	Snapshots         []snapshotJSON `json:"snapshots"`
}

type snapshotJSON struct {
	SnapshotID     int64             `json:"snapshot_id"`
	ParentID       *int64            `json:"parent_id"`
	SequenceNumber int64             `json:"sequence_number"`
	Timestamp      string            `json:"timestamp"`
	TimestampMS    int64             `json:"timestamp_ms"`
	Operation      string            `json:"operation"`
	ManifestList   string            `json:"manifest_list"`
	Summary        map[string]string `json:"summary"`
}

type refsResponse struct {
	Table string    `json:"table"`
	Refs  []refJSON `json:"refs"`
}

type refJSON struct {
	Name               string `json:"name"`
	Type               string `json:"type"`
	SnapshotID         int64  `json:"snapshot_id"`
	MaxRefAgeMS        *int64 `json:"max_ref_age_ms,omitempty"`
	MaxSnapshotAgeMS   *int64 `json:"max_snapshot_age_ms,omitempty"`
	MinSnapshotsToKeep *int   `json:"min_snapshots_to_keep,omitempty"`
}

type historyResponse struct {
	Table   string        `json:"table"`
	History []historyJSON `json:"history"`
}

type historyJSON struct {
	MadeCurrentAt     string `json:"made_current_at"`
	MadeCurrentAtMS   int64  `json:"made_current_at_ms"`
	SnapshotID        int64  `json:"snapshot_id"`
	ParentID          *int64 `json:"parent_id"`
	IsCurrentAncestor bool   `json:"is_current_ancestor"`
}

type rollbackRequest struct {
	SnapshotID *int64 `json:"snapshot_id"`
}

type rollbackResponse struct {
	Table      string `json:"table"`
	SnapshotID int64  `json:"snapshot_id"`
}

type createRefRequest struct {
	Name       *string `json:"name"`
	SnapshotID int64   `json:"snapshot_id"` // 0 or absent: the current snapshot
}

type createRefResponse struct {
	Table      string `json:"table"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	SnapshotID int64  `json:"snapshot_id"`
}

// listSnapshots is GET /v1/tables/{ns}/{table}/snapshots: every snapshot,
// oldest first, and which one is current.
func (s *Server) listSnapshots(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The current snapshot first: a commit landing in between then only
	// adds a snapshot to the list, never a current id missing from it.
	refs, err := snap.Refs(ctx, id)
	if err != nil {
		return err
	}
	list, err := snap.Snapshots(ctx, id)
	if err != nil {
		return err
	}
	res := snapshotsResponse{Table: id.String(), Snapshots: make([]snapshotJSON, 0, len(list))}
	for _, r := range refs {
		if r.Name == "main" {
			res.CurrentSnapshotID = &r.SnapshotID
		}
	}
	for _, sn := range list {
		res.Snapshots = append(res.Snapshots, snapshotJSON{
			SnapshotID:     sn.SnapshotID,
			ParentID:       optionalID(sn.ParentID),
			SequenceNumber: sn.SequenceNumber,
			Timestamp:      formatTime(sn.Timestamp),
			TimestampMS:    sn.Timestamp.UnixMilli(),
			Operation:      sn.Operation,
			ManifestList:   sn.ManifestList,
			Summary:        sn.Summary,
		})
	}
	return c.JSON(http.StatusOK, res)
}

// listRefs is GET /v1/tables/{ns}/{table}/refs: branches and tags, "main"
// first.
func (s *Server) listRefs(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	refs, err := snap.Refs(c.Request().Context(), id)
	if err != nil {
		return err
	}
	res := refsResponse{Table: id.String(), Refs: make([]refJSON, 0, len(refs))}
	for _, r := range refs {
		res.Refs = append(res.Refs, refJSON{
			Name:               r.Name,
			Type:               r.Type,
			SnapshotID:         r.SnapshotID,
			MaxRefAgeMS:        r.MaxRefAgeMs,
			MaxSnapshotAgeMS:   r.MaxSnapshotAgeMs,
			MinSnapshotsToKeep: r.MinSnapshotsToKeep,
		})
	}
	return c.JSON(http.StatusOK, res)
}

// listHistory is GET /v1/tables/{ns}/{table}/history: when each snapshot
// became current, oldest first.
func (s *Server) listHistory(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	hist, err := snap.History(c.Request().Context(), id)
	if err != nil {
		return err
	}
	res := historyResponse{Table: id.String(), History: make([]historyJSON, 0, len(hist))}
	for _, h := range hist {
		res.History = append(res.History, historyJSON{
			MadeCurrentAt:     formatTime(h.MadeCurrentAt),
			MadeCurrentAtMS:   h.MadeCurrentAt.UnixMilli(),
			SnapshotID:        h.SnapshotID,
			ParentID:          optionalID(h.ParentID),
			IsCurrentAncestor: h.IsCurrentAncestor,
		})
	}
	return c.JSON(http.StatusOK, res)
}

// rollback is POST /v1/tables/{ns}/{table}/rollback {"snapshot_id": N}:
// N becomes the current snapshot.
func (s *Server) rollback(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	var req rollbackRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	if req.SnapshotID == nil {
		return missingField("snapshot_id")
	}
	if err := snap.Rollback(c.Request().Context(), id, *req.SnapshotID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rollbackResponse{Table: id.String(), SnapshotID: *req.SnapshotID})
}

// createTag is POST /v1/tables/{ns}/{table}/tags {"name": "v1",
// "snapshot_id": N}; without snapshot_id the current snapshot is tagged.
func (s *Server) createTag(c echo.Context) error { return s.createRef(c, "tag") }

// createBranch is POST /v1/tables/{ns}/{table}/branches, shaped as
// createTag.
func (s *Server) createBranch(c echo.Context) error { return s.createRef(c, "branch") }

func (s *Server) createRef(c echo.Context, typ string) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	var req createRefRequest
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return missingField("name")
	}
	create := snap.CreateTag
	if typ == "branch" {
		create = snap.CreateBranch
	}
	at, err := create(c.Request().Context(), id, *req.Name, req.SnapshotID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createRefResponse{Table: id.String(), Name: *req.Name, Type: typ, SnapshotID: at})
}

// dropRef is DELETE /v1/tables/{ns}/{table}/refs/{name}: the tag or branch
// goes, its snapshots stay.
func (s *Server) dropRef(c echo.Context) error {
	snap, id, err := s.snapshotTarget(c)
	if err != nil {
		return err
	}
	name, err := pathParam(c, "name")
	if err != nil {
		return err
	}
	if err := snap.DropRef(c.Request().Context(), id, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// snapshotTarget is the Snapshotter and the table the request names.
func (s *Server) snapshotTarget(c echo.Context) (Snapshotter, catalog.Ident, error) {
	if s.opts.Snapshots == nil {
		return nil, catalog.Ident{}, errSnapshotsOff
	}
	id, err := tableParam(c)
	return s.opts.Snapshots, id, err
}

// tableParam is the table of a /v1/tables/{ns}/{table}/… route.
func tableParam(c echo.Context) (catalog.Ident, error) {
	ns, err := pathParam(c, "ns")
	if err != nil {
		return catalog.Ident{}, err
	}
	name, err := pathParam(c, "table")
	if err != nil {
		return catalog.Ident{}, err
	}
	return catalog.Ident{Namespace: ns, Name: name}, nil
}

// pathParam is a path parameter, unescaped: echo routes on the raw path
// when the request escaped a character ("feature%2Fx"), and then hands out
// the parameter as sent.
func pathParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("%w: path parameter %s: %w", errBadRequest, name, err)
	}
	return u, nil
}

func optionalID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
