package deploy

import (
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/lakeflight/lakeflight/internal/config"
)

// repoRoot is the repository root: the tests run in deploy/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root %s: %v", root, err)
	}
	return root
}

// readFile reads a file of the repository, named by its slash path.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serverEnv lists the environment variables `lakeflight serve` reads: the
// names config.Load asks its getenv for. Asking the loader itself, rather
// than keeping a list here, keeps the deployment files honest when a
// setting is added or renamed.
func serverEnv(t *testing.T) map[string]bool {
	t.Helper()
	asked := map[string]bool{}
	getenv := func(name string) string { asked[name] = true; return "" }
	if _, err := config.Load(nil, getenv, io.Discard); err != nil {
		t.Fatalf("config.Load with an empty environment: %v", err)
	}
	if !asked["LAKEFLIGHT_DATA_DIR"] || !asked["LAKEFLIGHT_CONFIG"] {
		t.Fatalf("config.Load asked for %v: the way it reads the environment changed; update serverEnv", slices.Sorted(maps.Keys(asked)))
	}
	return asked
}

// checkServerEnv fails for each LAKEFLIGHT_* name in env that the server
// does not read (a typo, or a setting that was renamed or removed).
func checkServerEnv(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := serverEnv(t)
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if strings.HasPrefix(name, "LAKEFLIGHT_") && !known[name] {
			t.Errorf("%s: %s is not a variable lakeflight serve reads (lakeflight serve -h lists them)", where, name)
		}
	}
}

// serverConfig loads and validates the configuration a server would run
// with: the environment env (defaults from the image first, then the
// deployment's own), and configFile as the file LAKEFLIGHT_CONFIG names.
func serverConfig(t *testing.T, where string, env map[string]string, configFile string) config.Config {
	t.Helper()
	env = maps.Clone(env)
	if configFile != "" {
		if env["LAKEFLIGHT_CONFIG"] == "" {
			t.Fatalf("%s: a config file is given but LAKEFLIGHT_CONFIG is not set", where)
		}
		path := filepath.Join(t.TempDir(), "lakeflight.yaml")
		if err := os.WriteFile(path, []byte(configFile), 0o600); err != nil {
			t.Fatal(err)
		}
		env["LAKEFLIGHT_CONFIG"] = path
	}
	cfg, err := config.Load(nil, func(name string) string { return env[name] }, io.Discard)
	if err != nil {
		t.Fatalf("%s: lakeflight serve would not start: %v", where, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s: lakeflight serve would refuse the configuration:\n%v", where, err)
	}
	return cfg
}

// unmarshalYAML decodes a YAML file of the repository into v (json tags;
// unknown fields are ignored).
func unmarshalYAML(t *testing.T, rel string, v any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(readFile(t, rel)), v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// port is the port of a host:port listen address.
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return p
}

// imageTagPinned reports whether an image reference names a tag other than
// latest (or a digest).
func imageTagPinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	return ok && tag != "" && tag != "latest" && !strings.Contains(tag, "$")
}

func TestImageTagPinned(t *testing.T) {
	for ref, want := range map[string]bool{
		"postgres:17.6-bookworm":          true,
		"quay.io/minio/mc:RELEASE.2025-1": true,
		"localhost:5000/lakeflight:1.0":   true,
		"img@sha256:0123":                 true,
		"postgres":                        false,
		"postgres:latest":                 false,
		"localhost:5000/lakeflight":       false,
		"golang:${GO_VERSION}":            false,
	} {
		if got := imageTagPinned(ref); got != want {
			t.Errorf("imageTagPinned(%q) = %v, want %v", ref, got, want)
		}
	}
}
