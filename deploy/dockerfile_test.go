package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerfile parses a Dockerfile of the repository with BuildKit's own
// parser and its linter (the checks `docker build --check` runs on
// instructions); a parse error or any lint or parser warning fails.
func dockerfile(t *testing.T, rel string) []instructions.Stage {
	t.Helper()
	res, err := parser.Parse(strings.NewReader(readFile(t, rel)))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: parser warning: %s", rel, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		t.Errorf("%s:%d: lint %s: %s", rel, line, rule, msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return stages
}

// commands are the stage's instructions of type T.
func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// imageEnv is the ENV of the lakeflight image's final stage: the defaults
// compose and Kubernetes start from.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	stages := dockerfile(t, "Dockerfile")
	env := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](stages[len(stages)-1]) {
		for _, kv := range e.Env {
			env[kv.Key] = kv.Value
		}
	}
	return env
}

// imageUser is the USER of the lakeflight image's final stage.
func imageUser(t *testing.T) string {
	t.Helper()
	stages := dockerfile(t, "Dockerfile")
	users := commands[*instructions.UserCommand](stages[len(stages)-1])
	if len(users) == 0 {
		t.Fatal("Dockerfile: the final stage sets no USER: the server would run as root")
	}
	return users[len(users)-1].User
}

// makeVar is the value of `NAME := value` in the Makefile.
func makeVar(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*:?=\s*(.*)$`).FindStringSubmatch(readFile(t, "Makefile"))
	if m == nil {
		t.Fatalf("Makefile: no %s variable", name)
	}
	return strings.TrimSpace(m[1])
}

func TestDockerfileBuildStage(t *testing.T) {
	stages := dockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stage(s); want a multi-stage build (builder and a slim runtime)", len(stages))
	}
	checkBaseImages(t, "Dockerfile", stages)

	// The Go builder is the toolchain go.mod asks for.
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, "go.mod"))
	var build *instructions.Stage
	for i, s := range stages {
		if strings.HasPrefix(s.BaseName, "golang:") {
			build = &stages[i]
		}
	}
	if build == nil {
		t.Fatal("Dockerfile: no stage FROM golang:")
	}
	if goVersion == nil || !strings.HasPrefix(build.BaseName, "golang:"+goVersion[1]+"-") {
		t.Errorf("Dockerfile: builder %s; go.mod wants go %v", build.BaseName, goVersion)
	}

	// It builds cmd/lakeflight the way the Makefile's build target does:
	// the same build tags and the same -X variables.
	var goBuild string
	for _, r := range commands[*instructions.RunCommand](*build) {
		if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "go build") {
			goBuild = line
		}
	}
	if goBuild == "" {
		t.Fatalf("Dockerfile: stage %s runs no go build", build.Name)
	}
	if !strings.Contains(goBuild, "./cmd/lakeflight") {
		t.Errorf("Dockerfile: go build does not build ./cmd/lakeflight: %s", goBuild)
	}
	if tags := makeVar(t, "TAGS"); !strings.Contains(goBuild, "-tags "+tags) {
		t.Errorf("Dockerfile: go build lacks the Makefile's -tags %s: %s", tags, goBuild)
	}
	for _, m := range regexp.MustCompile(`-X (\S+?)=`).FindAllStringSubmatch(makeVar(t, "LDFLAGS"), -1) {
		if !strings.Contains(goBuild, "-X "+m[1]+"=") {
			t.Errorf("Dockerfile: go build does not set %s as the Makefile's LDFLAGS do", m[1])
		}
	}
	if !strings.Contains(goBuild, "CGO_ENABLED=1") && !slices.ContainsFunc(commands[*instructions.EnvCommand](*build),
		func(e *instructions.EnvCommand) bool {
			return slices.ContainsFunc(e.Env, func(kv instructions.KeyValuePair) bool { return kv.Key == "CGO_ENABLED" && kv.Value == "1" })
		}) {
		t.Error("Dockerfile: the builder does not set CGO_ENABLED=1 (DuckDB is linked with cgo)")
	}
}

func TestDockerfileRuntimeStage(t *testing.T) {
	stages := dockerfile(t, "Dockerfile")
	final := stages[len(stages)-1]
	env := imageEnv(t)
	checkServerEnv(t, "Dockerfile ENV", env)
	cfg := serverConfig(t, "Dockerfile ENV", env, "")

	if u, _, _ := strings.Cut(imageUser(t), ":"); u == "" || u == "root" || u == "0" || strings.Trim(u, "0123456789") != "" {
		t.Errorf("Dockerfile: USER %q; want a numeric non-root uid (Kubernetes' runAsNonRoot can verify only numbers)", u)
	}

	var exposed []string
	for _, e := range commands[*instructions.ExposeCommand](final) {
		exposed = append(exposed, e.Ports...)
	}
	for _, addr := range []string{cfg.FlightAddr, cfg.HTTPAddr} {
		if !slices.Contains(exposed, port(t, addr)) {
			t.Errorf("Dockerfile: EXPOSE %v lacks the port of %s", exposed, addr)
		}
	}

	hc := commands[*instructions.HealthCheckCommand](final)
	if len(hc) != 1 {
		t.Fatalf("Dockerfile: %d HEALTHCHECKs in the final stage; want 1", len(hc))
	}
	if test := strings.Join(hc[0].Health.Test, " "); !strings.Contains(test, ":"+port(t, cfg.HTTPAddr)+"/health") {
		t.Errorf("Dockerfile: HEALTHCHECK %q does not ask /health on the HTTP port %s", test, port(t, cfg.HTTPAddr))
	}

	ep := commands[*instructions.EntrypointCommand](final)
	if len(ep) == 0 || ep[len(ep)-1].PrependShell || !slices.Equal(lastN(ep[len(ep)-1].CmdLine, 2), []string{"lakeflight", "serve"}) {
		t.Errorf("Dockerfile: ENTRYPOINT should be the JSON form ending in lakeflight serve")
	}

	var volumes []string
	for _, v := range commands[*instructions.VolumeCommand](final) {
		volumes = append(volumes, v.Volumes...)
	}
	if !slices.Contains(volumes, cfg.DataDir) {
		t.Errorf("Dockerfile: VOLUME %v does not hold the data dir %s", volumes, cfg.DataDir)
	}

	// POST /transform works in the container: the dbt project and the dbt
	// of the virtualenv stage are where the image's settings point.
	copies := commands[*instructions.CopyCommand](final)
	if !slices.ContainsFunc(copies, func(c *instructions.CopyCommand) bool {
		return c.From == "" && slices.Contains(c.SourcePaths, "dbt") && c.DestPath == cfg.DBT.ProjectDir
	}) {
		t.Errorf("Dockerfile: no COPY dbt %s (LAKEFLIGHT_DBT_PROJECT_DIR)", cfg.DBT.ProjectDir)
	}
	if !slices.ContainsFunc(copies, func(c *instructions.CopyCommand) bool {
		return c.From != "" && strings.HasPrefix(cfg.DBT.Command, strings.TrimSuffix(c.DestPath, "/")+"/")
	}) {
		t.Errorf("Dockerfile: LAKEFLIGHT_DBT_COMMAND %s is not under a directory copied from another stage", cfg.DBT.Command)
	}
}

func lastN(s []string, n int) []string { return s[max(0, len(s)-n):] }

// checkBaseImages fails for a FROM that is neither an earlier stage nor an
// image with a pinned tag.
func checkBaseImages(t *testing.T, rel string, stages []instructions.Stage) {
	t.Helper()
	names := map[string]bool{}
	for _, s := range stages {
		if !names[s.BaseName] && !imageTagPinned(s.BaseName) {
			t.Errorf("%s: FROM %s: pin a tag (not latest)", rel, s.BaseName)
		}
		if s.Name != "" {
			names[s.Name] = true
		}
	}
}

// contextSources are the build-context paths a Dockerfile copies.
func contextSources(t *testing.T, rel string) []string {
	t.Helper()
	var out []string
	for _, s := range dockerfile(t, rel) {
		for _, c := range commands[*instructions.CopyCommand](s) {
			if c.From == "" {
				out = append(out, c.SourcePaths...)
			}
		}
	}
	return out
}

func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	patterns, err := ignorefile.ReadAll(strings.NewReader(readFile(t, ".dockerignore")))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// TestDockerContext: .dockerignore keeps the repository's bulk (git
// history, virtualenvs, caches, built binaries, local data) out of the
// build context, and keeps in everything the two Dockerfiles copy and
// every Go package.
func TestDockerContext(t *testing.T) {
	root := repoRoot(t)
	pm := dockerignore(t)
	for _, p := range []string{".git", "bin/lakeflight", "e2e/.venv/bin/python", "e2e/airflow/.venv/bin/python",
		"lakeflight-data/catalog.db", ".cache/tpch-sf1/lineitem.parquet", "dbt/target/manifest.json",
		"dags/__pycache__/x.pyc", ".env"} {
		if ok, _ := pm.MatchesOrParentMatches(p); !ok {
			t.Errorf(".dockerignore: %s is sent to the build", p)
		}
	}
	for _, rel := range []string{"Dockerfile", "deploy/airflow/Dockerfile"} {
		for _, src := range contextSources(t, rel) {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("%s: COPY %s: %v", rel, src, err)
			}
			if ok, _ := pm.MatchesOrParentMatches(src); ok {
				t.Errorf("%s: COPY %s, but .dockerignore leaves it out of the context", rel, src)
			}
		}
	}
	// Every Go package must reach the builder; excluded directories are
	// not walked further (that is where the virtualenvs are).
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == root {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if ok, _ := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); ok {
			if gofiles, _ := filepath.Glob(filepath.Join(path, "*.go")); len(gofiles) > 0 {
				t.Errorf(".dockerignore leaves out %s, a Go package", rel)
			}
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
