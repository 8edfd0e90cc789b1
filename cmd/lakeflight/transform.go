package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/catalog"
	"github.com/lakeflight/lakeflight/internal/config"
	"github.com/lakeflight/lakeflight/internal/transform"
	"github.com/lakeflight/lakeflight/web"
)

// dbtProfileName is the profile the dbt project names and lakeflight
// writes when it is not given a profiles directory.
const dbtProfileName = "lakeflight"

// openTransform builds the runner behind /transform, or nil when there is
// no dbt project to build (the routes then say how to configure one).
// flightAddr is where this server's Flight SQL listens: the profile
// lakeflight writes points dbt there.
func openTransform(cfg config.Config, dataDir, flightAddr string, tlsSrv *serverTLS, cat *catalog.Catalog, authn *auth.Authenticator, reg prometheus.Registerer, log *slog.Logger) (*transform.Runner, error) {
	project := cfg.DBT.ProjectDir
	if project == "" {
		if _, err := os.Stat(filepath.Join("dbt", "dbt_project.yml")); err != nil {
			return nil, nil
		}
		project = "dbt"
	}
	project, err := filepath.Abs(project)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(project, "dbt_project.yml")); err != nil {
		return nil, fmt.Errorf("dbt project %s: no dbt_project.yml there (lakeflight serve --dbt-project-dir)", project)
	}
	command := cfg.DBT.Command
	if command == "" {
		command = "dbt"
		if venv := filepath.Join(filepath.Dir(project), "e2e", ".venv", "bin", "dbt"); isExecutable(venv) {
			command = venv
		} else if p, err := exec.LookPath("dbt"); err == nil {
			command = p
		}
	}
	state := filepath.Join(dataDir, "transform")
	profiles := cfg.DBT.ProfilesDir
	if profiles == "" {
		profiles = state
		if err := writeProfile(filepath.Join(state, "profiles.yml"), flightAddr, cfg.Catalog.Name, authn != nil, tlsSrv); err != nil {
			return nil, err
		}
	}
	log.Info("transforms enabled", "project", project, "dbt", command, "profiles", profiles)
	var runEnv func() ([]string, func())
	if authn != nil {
		// Each run's dbt connects back with a token of its own, for a
		// writer identity of the server's (a run may last long).
		runEnv = func() ([]string, func()) {
			tok := authn.IssueFor(auth.Identity{User: auth.InternalPrefix + "transform", Role: auth.Writer}, transformTokenTTL)
			// The token dies with the run: whatever kept a copy (dbt's
			// logs, a model's env_var) cannot use it afterwards.
			return []string{"LAKEFLIGHT_TOKEN=" + tok}, func() { authn.Revoke(tok) }
		}
	}
	return transform.Open(transform.Config{
		Command: []string{command}, ProjectDir: project, ProfilesDir: profiles, StateDir: state,
		Snapshots: taggedSnapshots{cat}, Registerer: reg, RunEnv: runEnv,
	}, log)
}

// taggedSnapshots finds the snapshots a dbt model committed: its table's
// snapshots whose query tag is the model's node id.
type taggedSnapshots struct{ cat *catalog.Catalog }

var _ transform.SnapshotFinder = taggedSnapshots{}

func (f taggedSnapshots) TaggedSnapshots(ctx context.Context, table, tag string, since time.Time) ([]int64, error) {
	ns, name, ok := strings.Cut(table, ".")
	if !ok {
		return nil, fmt.Errorf("table %q: want namespace.name", table)
	}
	id := catalog.Ident{Namespace: ns, Name: name}
	if ok, err := f.cat.ViewExists(ctx, id); err != nil || ok {
		return nil, err // a view has versions, not snapshots
	}
	snaps, err := f.cat.Snapshots(ctx, id)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, s := range snaps {
		// Snapshot times are milliseconds; the run's start is not.
		if s.Summary["lakeflight.query-tag"] == tag && !s.Timestamp.Before(since.Truncate(time.Millisecond)) {
			ids = append(ids, s.SnapshotID)
		}
	}
	return ids, nil
}

// transformTokenTTL bounds a transform run's token.
const transformTokenTTL = 12 * time.Hour

// writeProfile writes the dbt profile of this server: the lakeflight
// adapter over Flight SQL at addr, the server's catalog catalogName,
// silver by default; withToken has it
// send the token each run gets in LAKEFLIGHT_TOKEN; with TLS on, dbt
// speaks TLS to it (and shows a client certificate when one is asked for).
func writeProfile(path, addr, catalogName string, withToken bool, tlsSrv *serverTLS) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // listening on all interfaces: reach it on loopback
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	body := fmt.Sprintf(`# Written by lakeflight serve at each start: the profile POST /transform runs dbt with.
# Give lakeflight serve --dbt-profiles-dir to use your own instead.
%s:
  target: default
  outputs:
    default:
      type: lakeflight
      host: %q
      port: %s
      database: %q
      schema: silver
      threads: 4
`, dbtProfileName, host, port, catalogName)
	if withToken {
		body += "      token: \"{{ env_var('LAKEFLIGHT_TOKEN') }}\"\n"
	}
	pt, err := tlsSrv.forProfile(host, filepath.Join(filepath.Dir(path), "tls"))
	if err != nil {
		return err
	}
	if pt != nil {
		body += fmt.Sprintf("      tls: true\n      tls_root_certs: %q\n", pt.rootCerts)
		if pt.serverName != "" {
			body += fmt.Sprintf("      tls_server_name: %q\n", pt.serverName)
		}
		if pt.clientCert != "" {
			body += fmt.Sprintf("      tls_client_cert: %q\n      tls_client_key: %q\n", pt.clientCert, pt.clientKey)
		}
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// lateTransform is the sidecar's Transformer: 503 while starting, 501
// (with how to enable it) when no dbt project is configured.
type lateTransform struct {
	r   *atomic.Pointer[transform.Runner]
	off *atomic.Bool
}

var _ web.Transformer = lateTransform{}

var errNoDBTProject = fmt.Errorf("%w: no dbt project: start lakeflight serve from the repository root (./dbt) or give --dbt-project-dir",
	web.ErrTransformOff)

func (l lateTransform) get() (*transform.Runner, error) {
	if r := l.r.Load(); r != nil {
		return r, nil
	}
	if l.off.Load() {
		return nil, errNoDBTProject
	}
	return nil, web.ErrStarting
}

func (l lateTransform) Submit(q transform.Request) (transform.Run, error) {
	r, err := l.get()
	if err != nil {
		return transform.Run{}, err
	}
	return r.Submit(q)
}

func (l lateTransform) Get(id string) (transform.Run, error) {
	r, err := l.get()
	if err != nil {
		return transform.Run{}, err
	}
	return r.Get(id)
}

func (l lateTransform) List() []transform.Run {
	if r, err := l.get(); err == nil {
		return r.List()
	}
	return nil
}

func (l lateTransform) State() string {
	r, err := l.get()
	switch {
	case err == nil:
		return r.State()
	case l.off.Load():
		return "disabled: no dbt project (start from the repository root, or give --dbt-project-dir)"
	default:
		return "starting"
	}
}

func (l lateTransform) Cancel(id string) (transform.Run, error) {
	r, err := l.get()
	if err != nil {
		return transform.Run{}, err
	}
	return r.Cancel(id)
}
