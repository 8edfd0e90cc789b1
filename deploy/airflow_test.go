package deploy

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	corev1 "k8s.io/api/core/v1"
)

const airflowDir = "deploy/airflow"

// helmValues is the part of deploy/airflow/values.yaml these tests check,
// in the official chart's names.
type helmValues struct {
	AirflowVersion    string `json:"airflowVersion"`
	DefaultAirflowTag string `json:"defaultAirflowTag"`
	Images            struct {
		Airflow struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"airflow"`
	} `json:"images"`
	Executor string `json:"executor"`
	Data     struct {
		MetadataSecretName string `json:"metadataSecretName"`
	} `json:"data"`
	FernetKeySecretName    string `json:"fernetKeySecretName"`
	APISecretKeySecretName string `json:"apiSecretKeySecretName"`
	JWTSecretName          string `json:"jwtSecretName"`
	Dags                   struct {
		GitSync struct {
			Enabled bool   `json:"enabled"`
			Repo    string `json:"repo"`
			SubPath string `json:"subPath"`
		} `json:"gitSync"`
		Persistence struct {
			Enabled       bool   `json:"enabled"`
			ExistingClaim string `json:"existingClaim"`
		} `json:"persistence"`
	} `json:"dags"`
	Env    []corev1.EnvVar `json:"env"`
	Secret []struct {
		EnvName    string `json:"envName"`
		SecretName string `json:"secretName"`
		SecretKey  string `json:"secretKey"`
	} `json:"secret"`
	Volumes      []corev1.Volume      `json:"volumes"`
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts"`
}

// airflowVersion is the Airflow release of deploy/airflow/Dockerfile's
// base image (apache/airflow:<version>-python<x.y>).
func airflowVersion(t *testing.T) string {
	t.Helper()
	stages := dockerfile(t, airflowDir+"/Dockerfile")
	checkBaseImages(t, airflowDir+"/Dockerfile", stages)
	m := regexp.MustCompile(`^apache/airflow:(\d+\.\d+\.\d+)-python\d+\.\d+$`).FindStringSubmatch(stages[0].BaseName)
	if m == nil {
		t.Fatalf("%s/Dockerfile: FROM %s is not apache/airflow:<version>-python<x.y>", airflowDir, stages[0].BaseName)
	}
	return m[1]
}

// TestAirflowImage: the image installs the DAGs' pinned requirements with
// the committed constraints, and every place that names an Airflow
// version names the same one.
func TestAirflowImage(t *testing.T) {
	version := airflowVersion(t)
	var install string
	image := dockerfile(t, airflowDir+"/Dockerfile")[0]
	for _, r := range commands[*instructions.RunCommand](image) {
		if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "pip install") {
			install = line
		}
	}
	if !strings.Contains(install, "-r ") || !strings.Contains(install, "requirements.txt") || !strings.Contains(install, "-c ") || !strings.Contains(install, "constraints.txt") {
		t.Errorf("%s/Dockerfile: pip install %q does not install dags/requirements.txt with dags/constraints.txt", airflowDir, install)
	}
	srcs := contextSources(t, airflowDir+"/Dockerfile")
	for _, want := range []string{"dags/requirements.txt", "dags/constraints.txt"} {
		if !slices.Contains(srcs, want) {
			t.Errorf("%s/Dockerfile: does not copy %s", airflowDir, want)
		}
	}
	for _, f := range []string{"dags/requirements.txt", "dags/constraints.txt"} {
		pin := regexp.MustCompile(`(?m)^apache-airflow==(\S+)`).FindStringSubmatch(readFile(t, f))
		if pin == nil || pin[1] != version {
			t.Errorf("%s pins apache-airflow %v; the image is Airflow %s", f, pin, version)
		}
	}
	p := composeProject(t)
	if img := p.Services["airflow-scheduler"].Image; !strings.HasSuffix(img, ":"+version) {
		t.Errorf("compose.yaml: Airflow image %s is not tagged %s", img, version)
	}
	var v helmValues
	unmarshalYAML(t, airflowDir+"/values.yaml", &v)
	if v.AirflowVersion != version || v.DefaultAirflowTag != version || v.Images.Airflow.Tag != version {
		t.Errorf("values.yaml: airflowVersion %s, defaultAirflowTag %s, images.airflow.tag %s; the image is Airflow %s",
			v.AirflowVersion, v.DefaultAirflowTag, v.Images.Airflow.Tag, version)
	}
}

// TestAirflowHelmValues: every Secret, key and claim values.yaml names is
// defined in deploy/airflow, the DAGs reach the pods, and the lakeflight
// connection points at the Services of deploy/k8s: HTTP at the jobs
// server, Flight SQL at the scaled servers.
func TestAirflowHelmValues(t *testing.T) {
	var v helmValues
	unmarshalYAML(t, airflowDir+"/values.yaml", &v)
	m := loadManifests(t, airflowDir, "values.yaml")

	switch v.Executor {
	case "LocalExecutor", "CeleryExecutor", "KubernetesExecutor", "CeleryExecutor,KubernetesExecutor":
	default:
		t.Errorf("values.yaml: executor %q", v.Executor)
	}
	if v.Images.Airflow.Repository == "" || !imageTagPinned(v.Images.Airflow.Repository+":"+v.Images.Airflow.Tag) {
		t.Errorf("values.yaml: images.airflow %s:%s is not a pinned custom image", v.Images.Airflow.Repository, v.Images.Airflow.Tag)
	}
	gitSync := v.Dags.GitSync.Enabled && v.Dags.GitSync.Repo != "" && strings.TrimSuffix(v.Dags.GitSync.SubPath, "/") == "dags"
	if !gitSync && !v.Dags.Persistence.Enabled {
		t.Error("values.yaml: the DAGs reach no pod (dags.gitSync of the repository's dags/, or dags.persistence)")
	}

	// The chart's own secrets (with the keys it reads), then the ones
	// values.yaml turns into variables.
	type ref struct{ name, key string }
	refs := []ref{
		{v.Data.MetadataSecretName, "connection"}, {v.FernetKeySecretName, "fernet-key"},
		{v.APISecretKeySecretName, "api-secret-key"}, {v.JWTSecretName, "jwt-secret"},
	}
	for _, s := range v.Secret {
		refs = append(refs, ref{s.SecretName, s.SecretKey})
	}
	for _, r := range refs {
		s, ok := m.secrets[r.name]
		switch {
		case r.name == "":
			t.Errorf("values.yaml: no Secret named for key %s (the chart would make a new one on every upgrade)", r.key)
		case !ok:
			t.Errorf("values.yaml names Secret %s; %s/secrets.yaml does not define it", r.name, airflowDir)
		default:
			if _, ok := secretKeys(s)[r.key]; !ok {
				t.Errorf("Secret %s has no key %q", r.name, r.key)
			}
		}
	}

	// The connection the DAGs use, from its Secret.
	connJSON := ""
	for _, s := range v.Secret {
		if s.EnvName == "AIRFLOW_CONN_LAKEFLIGHT_DEFAULT" {
			if sec, ok := m.secrets[s.SecretName]; ok {
				connJSON = secretKeys(sec)[s.SecretKey]
			}
		}
	}
	if connJSON == "" {
		t.Fatal("values.yaml: AIRFLOW_CONN_LAKEFLIGHT_DEFAULT comes from no Secret")
	}
	c := airflowConnection(t, connJSON)
	k8s := loadManifests(t, k8sDir, "kustomization.yaml")
	// Ingest, transforms and maintenance over HTTP go to the one jobs
	// server (a run is polled where it started); queries over Flight SQL
	// go to the scaled servers.
	jobsHost, jobsPorts := k8sServiceAddr(t, k8s, jobsName)
	serverHost, serverPorts := k8sServiceAddr(t, k8s, serverName)
	if c.Host != jobsHost || c.Port != jobsPorts["http"] {
		t.Errorf("AIRFLOW_CONN_LAKEFLIGHT_DEFAULT: host %s port %s; want the jobs Service %s port %s (a transform run or maintenance job is polled on the server that accepted it)",
			c.Host, c.Port, jobsHost, jobsPorts["http"])
	}
	if want := "grpc://" + serverHost + ":" + serverPorts["flight"]; c.FlightURI != want {
		t.Errorf("AIRFLOW_CONN_LAKEFLIGHT_DEFAULT: flight_uri %s; want the scaled Service, %s", c.FlightURI, want)
	}

	// Volumes: claims exist, mounts name volumes.
	volumes := map[string]bool{}
	for _, vol := range v.Volumes {
		volumes[vol.Name] = true
		if pvc := vol.PersistentVolumeClaim; pvc != nil && m.pvcs[pvc.ClaimName] == nil {
			t.Errorf("values.yaml: volume %s claims %s, which %s does not define", vol.Name, pvc.ClaimName, airflowDir)
		}
	}
	for _, vm := range v.VolumeMounts {
		if !volumes[vm.Name] {
			t.Errorf("values.yaml: volumeMount %s names no volume", vm.Name)
		}
	}
}

// TestAirflowSameSettings: compose and the Helm values give the DAGs the
// same connections and variables, with the same folder paths.
func TestAirflowSameSettings(t *testing.T) {
	var v helmValues
	unmarshalYAML(t, airflowDir+"/values.yaml", &v)
	helm := map[string]string{}
	for _, e := range v.Env {
		helm[e.Name] = e.Value
	}
	for _, s := range v.Secret {
		helm[s.EnvName] = "(secret)"
	}
	compose := map[string]string{}
	for k, val := range composeProject(t).Services["airflow-scheduler"].Environment {
		if strings.HasPrefix(k, "AIRFLOW_VAR_") || strings.HasPrefix(k, "AIRFLOW_CONN_") {
			compose[k] = "(secret)"
			if val != nil && strings.HasSuffix(k, "_DIR") {
				compose[k] = *val
			}
		}
	}
	for k := range helm {
		if !strings.HasPrefix(k, "AIRFLOW_VAR_") && !strings.HasPrefix(k, "AIRFLOW_CONN_") {
			delete(helm, k)
		}
	}
	if !maps.Equal(helm, compose) {
		t.Errorf("Airflow variables and connections differ:\n values.yaml:  %v\n compose.yaml: %v", helm, compose)
	}
}

// TestAirflowNamesTheDAGsRead: each AIRFLOW_VAR_* and AIRFLOW_CONN_* that
// compose and the Helm values set is a Variable or Connection id the code
// in dags/ names (Airflow matches them case-insensitively), so a renamed
// Variable cannot leave the deployments setting one nobody reads.
func TestAirflowNamesTheDAGsRead(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "dags", "*.py"))
	more, _ := filepath.Glob(filepath.Join(repoRoot(t), "dags", "*", "*.py"))
	if err != nil || len(files)+len(more) == 0 {
		t.Fatalf("dags/: no Python files (%v)", err)
	}
	named := map[string]bool{}
	for _, f := range slices.Concat(files, more) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`["']([a-z][a-z0-9_]*)["']`).FindAllStringSubmatch(string(b), -1) {
			named[m[1]] = true
		}
	}
	var v helmValues
	unmarshalYAML(t, airflowDir+"/values.yaml", &v)
	set := map[string]string{}
	for k := range composeProject(t).Services["airflow-scheduler"].Environment {
		set[k] = "compose.yaml"
	}
	for _, e := range v.Env {
		set[e.Name] = "values.yaml"
	}
	for _, s := range v.Secret {
		set[s.EnvName] = "values.yaml"
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		id, ok := strings.CutPrefix(k, "AIRFLOW_VAR_")
		if !ok {
			id, ok = strings.CutPrefix(k, "AIRFLOW_CONN_")
		}
		if ok && !named[strings.ToLower(id)] {
			t.Errorf("%s sets %s, but no code in dags/ names %q", set[k], k, strings.ToLower(id))
		}
	}
}

// k8sServiceAddr is the cluster DNS name of the deploy/k8s Service called
// name and its ports by port name.
func k8sServiceAddr(t *testing.T, m *manifests, name string) (host string, ports map[string]string) {
	t.Helper()
	if len(m.namespaces) != 1 {
		t.Fatalf("%s: %d Namespaces; want 1", k8sDir, len(m.namespaces))
	}
	svc := serviceNamed(t, m, name)
	ports = map[string]string{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = strconv.Itoa(int(p.Port))
	}
	return svc.Name + "." + m.namespaces[0].Name + ".svc.cluster.local", ports
}
