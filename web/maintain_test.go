package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakeflight/lakeflight/catalog"
)

// The maintenance endpoints run on the real catalog and answer reports.
func TestMaintenanceEndpoints(t *testing.T) {
	h, cat, s1, s2 := snapshotServer(t)
	const base = "/v1/tables/bronze/events"

	// Defaults (5 days): nothing is that old.
	var rep catalog.MaintenanceReport
	callJSON(t, h, http.MethodPost, base+"/expire-snapshots", "", http.StatusOK, &rep)
	if rep.Action != "expire_snapshots" || rep.SnapshotsBefore != 2 || rep.SnapshotsAfter != 2 || rep.FilesBefore == 0 {
		t.Fatalf("default expiry: %+v", rep)
	}
	callJSON(t, h, http.MethodPost, base+"/expire-snapshots", `{"older_than": "0d", "retain_last": 1}`, http.StatusOK, &rep)
	// Both appends' data files stay (the current snapshot reads them); the
	// first snapshot's manifest list and the earlier metadata files go.
	if rep.SnapshotsBefore != 2 || rep.SnapshotsAfter != 1 || rep.FilesAfter >= rep.FilesBefore {
		t.Fatalf("expiry of all but the current snapshot: %+v", rep)
	}
	snaps, err := cat.Snapshots(t.Context(), catalog.Ident{Namespace: "bronze", Name: "events"})
	if err != nil || len(snaps) != 1 || snaps[0].SnapshotID != s2 {
		t.Fatalf("snapshots left %+v (%v), want only %d (not %d)", snaps, err, s2, s1)
	}

	// Two appends made two manifests; the expiry above left both in use.
	rep = catalog.MaintenanceReport{}
	callJSON(t, h, http.MethodPost, base+"/rewrite-manifests", "", http.StatusOK, &rep)
	if rep.Action != "rewrite_manifests" || rep.ManifestsRewritten != 2 || rep.ManifestsAdded != 1 || rep.SnapshotsAfter != 2 {
		t.Fatalf("rewrite-manifests: %+v", rep)
	}

	tbl, err := cat.LoadTable(t.Context(), catalog.Ident{Namespace: "bronze", Name: "events"})
	if err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(catalog.LocalPath(tbl.Location()), "data", "stray.parquet")
	if err := os.WriteFile(stray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-200 * time.Hour)
	if err := os.Chtimes(stray, old, old); err != nil {
		t.Fatal(err)
	}
	callJSON(t, h, http.MethodPost, base+"/remove-orphan-files", `{"dry_run": true}`, http.StatusOK, &rep)
	if !rep.DryRun || len(rep.Orphans) != 1 || !strings.HasSuffix(rep.Orphans[0], "stray.parquet") || rep.FilesAfter != rep.FilesBefore {
		t.Fatalf("dry run: %+v", rep)
	}
	rep = catalog.MaintenanceReport{}
	callJSON(t, h, http.MethodPost, base+"/remove-orphan-files", `{"older_than": "100h"}`, http.StatusOK, &rep)
	if rep.DryRun || len(rep.Orphans) != 1 || rep.FilesAfter != rep.FilesBefore-1 {
		t.Fatalf("removal: %+v", rep)
	}

	for _, c := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/expire-snapshots", `{"older_than": "soon"}`, http.StatusBadRequest, `older_than "soon"`},
		{"/expire-snapshots", `{"retain_last": 0}`, http.StatusBadRequest, "retain_last is 0"},
		{"/remove-orphan-files", `{"older_than": "10m"}`, http.StatusBadRequest, "is under 1h0m0s"},
		{"/remove-orphan-files", `{"dry": true}`, http.StatusBadRequest, `unknown field "dry"`},
	} {
		if code, body := call(t, h, http.MethodPost, base+c.path, c.body); code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.path, c.body, code, body, c.code, c.msg)
		}
	}
	if code, body := call(t, h, http.MethodPost, "/v1/tables/bronze/nope/expire-snapshots", ""); code != http.StatusNotFound {
		t.Errorf("unknown table: %d %s", code, body)
	}
}

// With ?async=true a maintenance call answers 202 and a job, which later
// reads as succeeded with its report, or failed with the error.
func TestMaintenanceJobs(t *testing.T) {
	h, _, _, _ := snapshotServer(t)
	const base = "/v1/tables/bronze/events"
	var job Job
	callJSON(t, h, http.MethodPost, base+"/expire-snapshots?async=true", `{"older_than": "0d"}`, http.StatusAccepted, &job)
	if job.ID == "" || job.Status != "running" || job.Table != "bronze.events" || job.Action != "expire_snapshots" {
		t.Fatalf("job %+v", job)
	}
	wait := func(id string) Job {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var j Job
			callJSON(t, h, http.MethodGet, "/v1/maintenance/"+id, "", http.StatusOK, &j)
			if j.Status != "running" || time.Now().After(deadline) {
				return j
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	done := wait(job.ID)
	if done.Status != "succeeded" || done.Report == nil || done.Report.SnapshotsAfter != 1 || done.Finished == "" {
		t.Fatalf("finished job %+v", done)
	}
	callJSON(t, h, http.MethodPost, "/v1/tables/bronze/nope/remove-orphan-files?async=true", "", http.StatusAccepted, &job)
	if failed := wait(job.ID); failed.Status != "failed" || !strings.Contains(failed.Error, "bronze.nope") {
		t.Fatalf("job on a missing table %+v", failed)
	}
	var list struct{ Jobs []Job }
	callJSON(t, h, http.MethodGet, "/v1/maintenance", "", http.StatusOK, &list)
	if len(list.Jobs) != 2 || list.Jobs[0].ID != job.ID {
		t.Fatalf("jobs %+v", list.Jobs)
	}
	if code, _ := call(t, h, http.MethodGet, "/v1/maintenance/nope", ""); code != http.StatusNotFound {
		t.Fatalf("unknown job: %d", code)
	}
	if code, body := call(t, h, http.MethodPost, base+"/expire-snapshots?async=maybe", ""); code != http.StatusBadRequest || !strings.Contains(body, `async is "maybe"`) {
		t.Fatalf("async=maybe: %d %s", code, body)
	}
}
