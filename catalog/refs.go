package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/iceberg-go/table"
)

// Ref is a named reference of a table: a branch or a tag.
type Ref struct {
	Name       string
	Type       string // "branch" or "tag"
	SnapshotID int64
	// Retention settings, nil when the ref has none of its own (the table's
	// defaults apply).
	MaxRefAgeMs        *int64
	MaxSnapshotAgeMs   *int64
	MinSnapshotsToKeep *int
}

// Refs lists the table's branches and tags: "main" first, then by name. A
// table without a snapshot has none.
func (c *Catalog) Refs(ctx context.Context, id Ident) ([]Ref, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	return refsOf(tbl.Metadata()), nil
}

// ResolveRef is the snapshot id the tag or branch name points at. An
// unknown name wraps ErrNoSuchSnapshot and lists the names the table has.
func (c *Catalog) ResolveRef(ctx context.Context, id Ident, name string) (int64, error) {
	if err := validRefName(name); err != nil {
		return 0, err
	}
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return 0, err
	}
	ref, err := findRef(id, tbl.Metadata(), name)
	if err != nil {
		return 0, fmt.Errorf("resolving %q: %w", name, err)
	}
	return ref.SnapshotID, nil
}

// CreateTag names a snapshot (0: the current one) with a tag and returns
// the snapshot tagged. A name the table already uses wraps ErrRefExists.
func (c *Catalog) CreateTag(ctx context.Context, id Ident, name string, snapshotID int64) (int64, error) {
	return c.createRef(ctx, id, name, table.TagRef, snapshotID)
}

// CreateBranch starts a branch at a snapshot (0: the current one) and
// returns that snapshot. A name the table already uses wraps ErrRefExists.
func (c *Catalog) CreateBranch(ctx context.Context, id Ident, name string, snapshotID int64) (int64, error) {
	return c.createRef(ctx, id, name, table.BranchRef, snapshotID)
}

func (c *Catalog) createRef(ctx context.Context, id Ident, name string, typ table.RefType, snapshotID int64) (int64, error) {
	if err := validRefName(name); err != nil {
		return 0, err
	}
	var target int64
	err := c.commitMetadata(ctx, id, func(md table.Metadata) ([]table.Update, []table.Requirement, error) {
		if ref, err := findRef(id, md, name); err == nil {
			return nil, nil, fmt.Errorf("%w: %q is a %s at snapshot %d", ErrRefExists, name, ref.Type, ref.SnapshotID)
		}
		snap, err := snapshotOrCurrent(id, md, snapshotID)
		if err != nil {
			return nil, nil, err
		}
		target = snap.SnapshotID
		return []table.Update{table.NewSetSnapshotRefUpdate(name, target, typ, 0, 0, 0)},
			[]table.Requirement{table.AssertRefSnapshotID(name, nil)}, nil
	})
	if err != nil {
		return 0, fmt.Errorf("creating %s %q of %s: %w", typ, name, id, err)
	}
	c.log.Info(string(typ)+" created", "table", id.String(), "name", name, "snapshot", target)
	return target, nil
}

// DropRef removes a tag or a branch (not the snapshots it pointed at).
// "main" cannot be dropped.
func (c *Catalog) DropRef(ctx context.Context, id Ident, name string) error {
	if err := validRefName(name); err != nil {
		return err
	}
	if name == table.MainBranch {
		return fmt.Errorf("dropping %q of %s: %w: the main branch cannot be dropped", name, id, ErrInvalidArgument)
	}
	err := c.commitMetadata(ctx, id, func(md table.Metadata) ([]table.Update, []table.Requirement, error) {
		ref, err := findRef(id, md, name)
		if err != nil {
			return nil, nil, err
		}
		return []table.Update{table.NewRemoveSnapshotRefUpdate(name)},
			[]table.Requirement{table.AssertRefSnapshotID(name, &ref.SnapshotID)}, nil
	})
	if err != nil {
		return fmt.Errorf("dropping %q of %s: %w", name, id, err)
	}
	c.log.Info("ref dropped", "table", id.String(), "name", name)
	return nil
}

// Rollback makes snapshotID the table's current snapshot (the head of its
// main branch). Any snapshot the table still has will do, so a rollback
// can itself be taken back by rolling "back" to the snapshot it left.
// Rolling back to the current snapshot changes nothing; an id the table
// does not have wraps ErrNoSuchSnapshot.
func (c *Catalog) Rollback(ctx context.Context, id Ident, snapshotID int64) error {
	moved := false
	err := c.commitMetadata(ctx, id, func(md table.Metadata) ([]table.Update, []table.Requirement, error) {
		if md.SnapshotByID(snapshotID) == nil {
			return nil, nil, fmt.Errorf("%w: table %s has no snapshot %d", ErrNoSuchSnapshot, id, snapshotID)
		}
		main, ok := refOf(md, table.MainBranch)
		if ok && main.SnapshotID == snapshotID {
			return nil, nil, nil
		}
		// Keep main's own retention settings.
		var maxRefAge, maxSnapAge int64
		var minKeep int
		var head *int64
		if ok {
			head = &main.SnapshotID
			maxRefAge, maxSnapAge, minKeep = deref(main.MaxRefAgeMs), deref(main.MaxSnapshotAgeMs), deref(main.MinSnapshotsToKeep)
		}
		moved = true
		return []table.Update{table.NewSetSnapshotRefUpdate(table.MainBranch, snapshotID, table.BranchRef, maxRefAge, maxSnapAge, minKeep)},
			[]table.Requirement{table.AssertRefSnapshotID(table.MainBranch, head)}, nil
	})
	if err != nil {
		return fmt.Errorf("rolling back %s to snapshot %d: %w", id, snapshotID, err)
	}
	if moved {
		c.log.Info("table rolled back", "table", id.String(), "snapshot", snapshotID)
	}
	return nil
}

// commitMetadata commits a metadata-only change (refs, properties) under the table's commit
// lock. plan sees freshly loaded metadata and returns the updates (none:
// nothing to do) and the requirements that make them safe; the catalog
// checks those against its current metadata and swaps the metadata location
// only if nobody committed in between. A commit that loses that race to
// another process is planned again on the new metadata.
//
// iceberg-go's Transaction has no public way to stage a ref update (its
// apply is unexported), so the updates go to the catalog's CommitTable
// directly, as iceberg-go's own CLI does for branches and tags.
func (c *Catalog) commitMetadata(ctx context.Context, id Ident, plan func(table.Metadata) ([]table.Update, []table.Requirement, error)) error {
	if err := id.validate(); err != nil {
		return err
	}
	mu := c.tableLock(id)
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		tbl, err := c.LoadTable(ctx, id)
		if err != nil {
			return err
		}
		md := tbl.Metadata()
		updates, reqs, err := plan(md)
		if err != nil || len(updates) == 0 {
			return err
		}
		reqs = append(reqs, table.AssertTableUUID(md.TableUUID()))
		_, loc, err := committer{c.ice}.CommitTable(ctx, id.iceberg(), reqs, updates)
		if err == nil {
			c.log.Debug("refs committed", "table", id.String(), "metadata", loc)
			return nil
		}
		if !errors.Is(err, table.ErrCommitFailed) || attempt >= commitRetries {
			return err
		}
	}
}

// refsOf lists md's refs, "main" first, then by name.
func refsOf(md table.Metadata) []Ref {
	out := []Ref{}
	for name, r := range md.Refs() {
		out = append(out, Ref{
			Name:               name,
			Type:               string(r.SnapshotRefType),
			SnapshotID:         r.SnapshotID,
			MaxRefAgeMs:        r.MaxRefAgeMs,
			MaxSnapshotAgeMs:   r.MaxSnapshotAgeMs,
			MinSnapshotsToKeep: r.MinSnapshotsToKeep,
		})
	}
	slices.SortFunc(out, func(a, b Ref) int {
		if (a.Name == table.MainBranch) != (b.Name == table.MainBranch) {
			if a.Name == table.MainBranch {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

func refOf(md table.Metadata, name string) (table.SnapshotRef, bool) {
	for n, r := range md.Refs() {
		if n == name {
			return r, true
		}
	}
	return table.SnapshotRef{}, false
}

// findRef is the ref called name; none wraps ErrNoSuchSnapshot with the
// names the table has.
func findRef(id Ident, md table.Metadata, name string) (Ref, error) {
	refs := refsOf(md)
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		if r.Name == name {
			return r, nil
		}
		names = append(names, r.Name)
	}
	has := "it has none"
	if len(names) > 0 {
		has = "it has: " + strings.Join(names, ", ")
	}
	return Ref{}, fmt.Errorf("%w: table %s has no tag or branch %q (%s)", ErrNoSuchSnapshot, id, name, has)
}

// snapshotOrCurrent is snapshot snapshotID of md, or its current snapshot
// for 0.
func snapshotOrCurrent(id Ident, md table.Metadata, snapshotID int64) (*table.Snapshot, error) {
	if len(md.Snapshots()) == 0 {
		return nil, fmt.Errorf("%w: table %s has no snapshot yet", ErrNoSuchSnapshot, id)
	}
	if snapshotID == 0 {
		if s := md.CurrentSnapshot(); s != nil {
			return s, nil
		}
		return nil, fmt.Errorf("%w: table %s has no current snapshot", ErrNoSuchSnapshot, id)
	}
	if s := md.SnapshotByID(snapshotID); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: table %s has no snapshot %d", ErrNoSuchSnapshot, id, snapshotID)
}

// validRefName refuses names a user cannot have meant: empty or blank ones,
// ones with leading or trailing spaces, and ones with control characters.
func validRefName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%w: empty tag or branch name", ErrInvalidArgument)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: tag or branch name %q has leading or trailing spaces", ErrInvalidArgument, name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%w: tag or branch name %q contains control characters", ErrInvalidArgument, name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: tag or branch name %q is not valid UTF-8", ErrInvalidArgument, name)
	case len(name) > maxRefNameBytes: // every later metadata file would carry it
		return fmt.Errorf("%w: tag or branch name of %d bytes is longer than %d", ErrInvalidArgument, len(name), maxRefNameBytes)
	}
	return nil
}

// maxRefNameBytes bounds tag and branch names.
const maxRefNameBytes = 255

func deref[T int | int64](p *T) T {
	if p == nil {
		return 0
	}
	return *p
}
