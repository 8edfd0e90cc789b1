package catalog

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestRefsLifecycle(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "events")
	s1 := appendRows(t, c, mem, id, 0, 10, nil)
	s2 := appendRows(t, c, mem, id, 10, 10, nil)
	s3 := appendRows(t, c, mem, id, 20, 10, nil)

	refs, err := c.Refs(ctx, id)
	if err != nil || len(refs) != 1 || refs[0].Name != "main" || refs[0].Type != "branch" || refs[0].SnapshotID != s3 {
		t.Fatalf("refs of a fresh table = %+v (%v), want main at %d", refs, err, s3)
	}

	creates := []struct {
		name   string
		branch bool
		at     int64
		want   int64
	}{
		{"v1", false, s1, s1},
		{"latest", false, 0, s3},
		{"dev", true, s2, s2},
	}
	for _, cr := range creates {
		before, _ := c.MetadataLocation(ctx, id)
		create := c.CreateTag
		if cr.branch {
			create = c.CreateBranch
		}
		got, err := create(ctx, id, cr.name, cr.at)
		if err != nil || got != cr.want {
			t.Fatalf("create %s at %d = %d (%v), want %d", cr.name, cr.at, got, err, cr.want)
		}
		if after, _ := c.MetadataLocation(ctx, id); after == before {
			t.Errorf("creating %s left the metadata location at %s", cr.name, before)
		}
	}

	refs, err = c.Refs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.Name+":"+r.Type)
		if r.MinSnapshotsToKeep != nil || r.MaxRefAgeMs != nil || r.MaxSnapshotAgeMs != nil {
			t.Errorf("ref %s has retention settings: %+v", r.Name, r)
		}
	}
	if strings.Join(got, ",") != "main:branch,dev:branch,latest:tag,v1:tag" {
		t.Errorf("refs = %v", got)
	}
	for name, want := range map[string]int64{"main": s3, "v1": s1, "latest": s3, "dev": s2} {
		if got, err := c.ResolveRef(ctx, id, name); err != nil || got != want {
			t.Errorf("resolve %s = %d (%v), want %d", name, got, err, want)
		}
	}
	if st, err := c.TableState(ctx, id); err != nil || st.SnapshotID != s3 || rowCount(st) != 30 {
		t.Errorf("refs moved the table: %+v (%v)", st, err)
	}

	if err := c.DropRef(ctx, id, "v1"); err != nil {
		t.Fatalf("drop v1: %v", err)
	}
	if err := c.DropRef(ctx, id, "dev"); err != nil {
		t.Fatalf("drop dev: %v", err)
	}
	_, err = c.ResolveRef(ctx, id, "v1")
	if !errors.Is(err, ErrNoSuchSnapshot) || !strings.Contains(err.Error(), `table bronze.events has no tag or branch "v1" (it has: main, latest)`) {
		t.Errorf("resolve a dropped tag: %v", err)
	}
	if snaps, _ := c.Snapshots(ctx, id); len(snaps) != 3 {
		t.Errorf("dropping refs dropped snapshots: %d left", len(snaps))
	}
}

func TestRefErrors(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "events")
	s1 := appendRows(t, c, mem, id, 0, 10, nil)
	if _, err := c.CreateTag(ctx, id, "v1", s1); err != nil {
		t.Fatal(err)
	}
	empty := Ident{"bronze", "empty"}
	mustCreate(ctx, t, c, empty, richSchema)
	missing := Ident{"bronze", "nope"}

	cases := []struct {
		name string
		call func() error
		want error
		msg  string // in the error's text
	}{
		{"resolve unknown", func() error { _, err := c.ResolveRef(ctx, id, "v9"); return err },
			ErrNoSuchSnapshot, `table bronze.events has no tag or branch "v9" (it has: main, v1)`},
		{"resolve on empty table", func() error { _, err := c.ResolveRef(ctx, empty, "main"); return err },
			ErrNoSuchSnapshot, `table bronze.empty has no tag or branch "main" (it has none)`},
		{"resolve blank", func() error { _, err := c.ResolveRef(ctx, id, " "); return err }, ErrInvalidArgument, "empty tag or branch name"},
		{"tag exists", func() error { _, err := c.CreateTag(ctx, id, "v1", 0); return err }, ErrRefExists, `"v1" is a tag`},
		{"branch named like a tag", func() error { _, err := c.CreateBranch(ctx, id, "v1", 0); return err }, ErrRefExists, `"v1" is a tag`},
		{"tag named main", func() error { _, err := c.CreateTag(ctx, id, "main", 0); return err }, ErrRefExists, `"main" is a branch`},
		{"tag unknown snapshot", func() error { _, err := c.CreateTag(ctx, id, "v2", 42); return err },
			ErrNoSuchSnapshot, "table bronze.events has no snapshot 42"},
		{"branch unknown snapshot", func() error { _, err := c.CreateBranch(ctx, id, "b", 42); return err },
			ErrNoSuchSnapshot, "table bronze.events has no snapshot 42"},
		{"tag empty name", func() error { _, err := c.CreateTag(ctx, id, "", 0); return err }, ErrInvalidArgument, "empty"},
		{"branch blank name", func() error { _, err := c.CreateBranch(ctx, id, " \t", 0); return err }, ErrInvalidArgument, "empty"},
		{"tag padded name", func() error { _, err := c.CreateTag(ctx, id, " v2", 0); return err }, ErrInvalidArgument, "spaces"},
		{"tag on empty table", func() error { _, err := c.CreateTag(ctx, empty, "v1", 0); return err },
			ErrNoSuchSnapshot, "table bronze.empty has no snapshot yet"},
		{"branch on empty table", func() error { _, err := c.CreateBranch(ctx, empty, "dev", 0); return err },
			ErrNoSuchSnapshot, "no snapshot yet"},
		{"drop main", func() error { return c.DropRef(ctx, id, "main") }, ErrInvalidArgument, "main branch cannot be dropped"},
		{"drop unknown", func() error { return c.DropRef(ctx, id, "v9") }, ErrNoSuchSnapshot, `no tag or branch "v9"`},
		{"drop blank", func() error { return c.DropRef(ctx, id, "") }, ErrInvalidArgument, "empty"},
		{"rollback unknown", func() error { return c.Rollback(ctx, id, 42) }, ErrNoSuchSnapshot, "table bronze.events has no snapshot 42"},
		{"rollback empty table", func() error { return c.Rollback(ctx, empty, s1) }, ErrNoSuchSnapshot, "bronze.empty"},
		{"refs of missing table", func() error { _, err := c.Refs(ctx, missing); return err }, ErrNoSuchTable, "bronze.nope"},
		{"resolve on missing table", func() error { _, err := c.ResolveRef(ctx, missing, "main"); return err }, ErrNoSuchTable, "bronze.nope"},
		{"tag on missing table", func() error { _, err := c.CreateTag(ctx, missing, "v1", 0); return err }, ErrNoSuchTable, "bronze.nope"},
		{"drop on missing table", func() error { return c.DropRef(ctx, missing, "v1") }, ErrNoSuchTable, "bronze.nope"},
		{"rollback missing table", func() error { return c.Rollback(ctx, missing, 1) }, ErrNoSuchTable, "bronze.nope"},
		{"tag on bad ident", func() error { _, err := c.CreateTag(ctx, Ident{"a.b", "t"}, "v1", 0); return err }, ErrInvalidArgument, "namespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := c.MetadataLocation(ctx, id)
			err := tc.call()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if after, _ := c.MetadataLocation(ctx, id); after != before {
				t.Errorf("a failed call committed: %s -> %s", before, after)
			}
		})
	}
}

func TestRollback(t *testing.T) {
	ctx := t.Context()
	c, id, mem := eventsTable(t, "events")
	s1 := appendRows(t, c, mem, id, 0, 250, nil)
	s2 := appendRows(t, c, mem, id, 250, 50, nil)
	if _, err := c.CreateTag(ctx, id, "before-rollback", s2); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		to       int64
		wantRows int64
		moves    bool
	}{
		{s1, 250, true},
		{s1, 250, false}, // already there: nothing to commit
		{s2, 300, true},  // forward again, to the snapshot the rollback left
		{s1, 250, true},
	}
	for i, st := range steps {
		before, _ := c.MetadataLocation(ctx, id)
		if err := c.Rollback(ctx, id, st.to); err != nil {
			t.Fatalf("step %d: rollback to %d: %v", i, st.to, err)
		}
		after, _ := c.MetadataLocation(ctx, id)
		if (after != before) != st.moves {
			t.Errorf("step %d: metadata location %s -> %s, want a change: %v", i, before, after, st.moves)
		}
		state, err := c.TableState(ctx, id)
		if err != nil || state.SnapshotID != st.to || rowCount(state) != st.wantRows || state.MetadataLocation != after {
			t.Fatalf("step %d: state = %+v (%v), want %d rows at %d", i, state, err, st.wantRows, st.to)
		}
		if main, err := c.ResolveRef(ctx, id, "main"); err != nil || main != st.to {
			t.Errorf("step %d: main = %d (%v)", i, main, err)
		}
	}

	// The next append builds on the snapshot rolled back to.
	s3 := appendRows(t, c, mem, id, 1000, 5, nil)
	snaps, _ := c.Snapshots(ctx, id)
	if last := snaps[len(snaps)-1]; last.SnapshotID != s3 || last.ParentID != s1 {
		t.Errorf("append after rollback: %+v, want parent %d", last, s1)
	}
	if st, _ := c.TableState(ctx, id); rowCount(st) != 255 {
		t.Errorf("after append: %d rows, want 255", rowCount(st))
	}
	if tagged, err := c.ResolveRef(ctx, id, "before-rollback"); err != nil || tagged != s2 {
		t.Errorf("tag after rollbacks = %d (%v), want %d", tagged, err, s2)
	}
}

// TestRefsTwoWriters creates refs through one *Catalog while another (a
// second process) appends: every commit lands, and of two processes
// creating the same tag exactly one wins.
func TestRefsTwoWriters(t *testing.T) {
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := newEnv(t)
	a, b := env.open(t), env.open(t)
	id := Ident{"bronze", "shared"}
	mustCreate(ctx, t, a, id, richSchema)
	appendRows(t, a, mem, id, 0, 10, nil)

	const appends, tags = 4, 4
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range appends {
			rdr := richReader(t, mem, 100*(i+1), 10)
			if _, err := a.Append(ctx, id, rdr, nil); err != nil {
				t.Errorf("append %d: %v", i, err)
			}
			rdr.Release()
		}
	})
	wg.Go(func() {
		for i := range tags {
			if _, err := b.CreateTag(ctx, id, "t"+string(rune('0'+i)), 0); err != nil {
				t.Errorf("tag %d: %v", i, err)
			}
		}
	})
	wg.Wait()
	refs, err := a.Refs(ctx, id)
	if err != nil || len(refs) != 1+tags {
		t.Errorf("refs = %+v (%v), want main and %d tags", refs, err, tags)
	}
	if st, _ := a.TableState(ctx, id); rowCount(st) != 10*(1+appends) {
		t.Errorf("%d rows, want %d", rowCount(st), 10*(1+appends))
	}

	errs := make([]error, 2)
	for i, c := range []*Catalog{a, b} {
		wg.Go(func() { _, errs[i] = c.CreateTag(ctx, id, "race", 0) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrRefExists):
			t.Errorf("losing tag creation: %v, want ErrRefExists", err)
		}
	}
	if won != 1 {
		t.Errorf("%d creations of the same tag succeeded, want 1 (%v)", won, errs)
	}
}
