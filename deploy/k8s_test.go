package deploy

import (
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/lakeflight/lakeflight/internal/config"
)

const k8sDir = "deploy/k8s"

// The Deployments and Services of deploy/k8s, by name: the scaled servers
// and the one server that runs Airflow's jobs (jobs.yaml).
const (
	serverName = "lakeflight"
	jobsName   = "lakeflight-jobs"
)

// lakeflightDeployment is the server Deployment of deploy/k8s and its
// server container.
func lakeflightDeployment(t *testing.T, m *manifests) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	return deploymentNamed(t, m, serverName)
}

// deploymentNamed is the Deployment of m called name and its container
// named lakeflight.
func deploymentNamed(t *testing.T, m *manifests, name string) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	i := slices.IndexFunc(m.deployments, func(d *appsv1.Deployment) bool { return d.Name == name })
	if i < 0 {
		t.Fatalf("%s: no Deployment %s", k8sDir, name)
	}
	d := m.deployments[i]
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "lakeflight" {
			return d, &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatalf("Deployment %s: no container named lakeflight", d.Name)
	return nil, nil
}

// serviceNamed is the Service of m called name.
func serviceNamed(t *testing.T, m *manifests, name string) *corev1.Service {
	t.Helper()
	i := slices.IndexFunc(m.services, func(s *corev1.Service) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("%s: no Service %s", k8sDir, name)
	}
	return m.services[i]
}

// k8sServerConfig is the configuration the server container runs with:
// the image's ENV, then envFrom in order, then env, and the config file
// from the volume mounted where LAKEFLIGHT_CONFIG points.
func k8sServerConfig(t *testing.T, m *manifests) config.Config {
	t.Helper()
	d, c := lakeflightDeployment(t, m)
	env := imageEnv(t)
	own := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := m.configMaps[from.ConfigMapRef.Name]
			if !ok {
				t.Fatalf("envFrom: no ConfigMap %s", from.ConfigMapRef.Name)
			}
			maps.Copy(own, cm.Data)
		case from.SecretRef != nil:
			s, ok := m.secrets[from.SecretRef.Name]
			if !ok {
				t.Fatalf("envFrom: no Secret %s", from.SecretRef.Name)
			}
			maps.Copy(own, secretKeys(s))
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			own[e.Name] = e.Value
		case e.ValueFrom.ResourceFieldRef != nil:
			// What the kubelet passes: the limit in divisor units, rounded up.
			ref := e.ValueFrom.ResourceFieldRef
			q := c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))]
			div := ref.Divisor
			if div.IsZero() {
				div = resource.MustParse("1")
			}
			own[e.Name] = strconv.FormatInt((q.MilliValue()+div.MilliValue()-1)/div.MilliValue(), 10)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			own[e.Name] = m.configMaps[e.ValueFrom.ConfigMapKeyRef.Name].Data[e.ValueFrom.ConfigMapKeyRef.Key]
		case e.ValueFrom.SecretKeyRef != nil:
			own[e.Name] = secretKeys(m.secrets[e.ValueFrom.SecretKeyRef.Name])[e.ValueFrom.SecretKeyRef.Key]
		}
	}
	checkServerEnv(t, "Deployment "+d.Name, own)
	maps.Copy(env, own)

	var file string
	if path := env["LAKEFLIGHT_CONFIG"]; path != "" {
		file = mountedFile(t, m, d, c, path)
	}
	return serverConfig(t, "Deployment "+d.Name, env, file)
}

// mountedFile is the content of the ConfigMap or Secret key mounted at path.
func mountedFile(t *testing.T, m *manifests, d *appsv1.Deployment, c *corev1.Container, path string) string {
	t.Helper()
	for _, vm := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				return projectedKey(t, v.ConfigMap.Items, rel, m.configMaps[v.ConfigMap.Name].Data)
			case v.Secret != nil:
				return projectedKey(t, v.Secret.Items, rel, secretKeys(m.secrets[v.Secret.SecretName]))
			}
		}
	}
	t.Fatalf("Deployment %s: nothing mounts LAKEFLIGHT_CONFIG %s from a ConfigMap or Secret", d.Name, path)
	return ""
}

func projectedKey(t *testing.T, items []corev1.KeyToPath, rel string, data map[string]string) string {
	t.Helper()
	key := rel
	if len(items) > 0 {
		key = ""
		for _, it := range items {
			if it.Path == rel {
				key = it.Key
			}
		}
	}
	v, ok := data[key]
	if !ok {
		t.Fatalf("the volume has no key for %s", rel)
	}
	return v
}

// TestK8sKustomization: kustomization.yaml lists every manifest, puts them
// in the Namespace the manifests define, and pins the server's image.
func TestK8sKustomization(t *testing.T) {
	m := loadManifests(t, k8sDir, "kustomization.yaml")
	var k struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Namespace  string `json:"namespace"`
		Labels     []struct {
			Pairs            map[string]string `json:"pairs"`
			IncludeSelectors bool              `json:"includeSelectors"`
			IncludeTemplates bool              `json:"includeTemplates"`
		} `json:"labels"`
		Resources []string `json:"resources"`
		Images    []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
			Digest  string `json:"digest"`
		} `json:"images"`
	}
	if err := yaml.UnmarshalStrict([]byte(readFile(t, k8sDir+"/kustomization.yaml")), &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: %s %s", k.APIVersion, k.Kind)
	}
	if !equalSets(k.Resources, slices.Collect(maps.Keys(m.byFile))) {
		t.Errorf("kustomization.yaml lists %v; the directory holds %v", k.Resources, slices.Sorted(maps.Keys(m.byFile)))
	}
	// The jobs server above all: without it Airflow's transforms and
	// maintenance jobs would have nowhere to go.
	for file, objs := range m.byFile {
		if slices.ContainsFunc(objs, func(o metav1.Object) bool { _, ok := o.(*appsv1.Deployment); return ok && o.GetName() == jobsName }) &&
			!slices.Contains(k.Resources, file) {
			t.Errorf("kustomization.yaml does not list %s, which holds Deployment %s", file, jobsName)
		}
	}
	if len(m.namespaces) != 1 || k.Namespace != m.namespaces[0].Name {
		t.Errorf("kustomization.yaml: namespace %q is not the one Namespace of the manifests", k.Namespace)
	}
	_, c := lakeflightDeployment(t, m)
	name, _, _ := strings.Cut(c.Image, ":")
	if !slices.ContainsFunc(k.Images, func(i struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
		Digest  string `json:"digest"`
	}) bool {
		return i.Name == name && (i.Digest != "" || (i.NewTag != "" && i.NewTag != "latest"))
	}) {
		t.Errorf("kustomization.yaml: no images entry pinning %s", name)
	}
}

func TestK8sDeployment(t *testing.T) {
	m := loadManifests(t, k8sDir, "kustomization.yaml")
	d, c := lakeflightDeployment(t, m)
	cfg := k8sServerConfig(t, m)
	pod := d.Spec.Template.Spec

	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("Deployment: replicas %v; want several on the shared catalog", d.Spec.Replicas)
	}
	if !cfg.AuthOn() || cfg.Insecure {
		t.Error("Deployment: the server listens on all interfaces without authentication")
	}
	if cfg.Catalog.Driver != "postgres" || !cfg.S3Warehouse() {
		t.Errorf("Deployment: catalog %s, warehouse %s; replicas need a shared postgres catalog and s3 warehouse",
			cfg.Catalog.Driver, cfg.Catalog.Warehouse)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Deployment: selector does not match its pod labels (%v)", err)
	}

	for _, ctr := range slices.Concat(pod.InitContainers, pod.Containers) {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, lim := ctr.Resources.Requests[r], ctr.Resources.Limits[r]
			if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
				t.Errorf("container %s: %s request %s and limit %s; want both, request ≤ limit", ctr.Name, r, req.String(), lim.String())
			}
		}
		if !imageTagPinned(ctr.Image) {
			t.Errorf("container %s: image %s: pin a tag", ctr.Name, ctr.Image)
		}
		if ctr.SecurityContext == nil || ctr.SecurityContext.AllowPrivilegeEscalation == nil || *ctr.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation is not false", ctr.Name)
		}
	}

	// Non-root, as the image's own USER.
	nonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		nonRoot = *c.SecurityContext.RunAsNonRoot
	}
	if !nonRoot {
		t.Error("Deployment: runAsNonRoot is not true")
	}
	if uid, _, _ := strings.Cut(imageUser(t), ":"); pod.SecurityContext == nil || pod.SecurityContext.RunAsUser == nil ||
		strconv.FormatInt(*pod.SecurityContext.RunAsUser, 10) != uid {
		t.Errorf("Deployment: runAsUser is not the image's USER %s", uid)
	}

	// Probes: liveness /health, readiness and startup /ready, on the port the
	// server's HTTP sidecar listens on.
	httpPort := port(t, cfg.HTTPAddr)
	for name, want := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"liveness": {c.LivenessProbe, "/health"}, "readiness": {c.ReadinessProbe, "/ready"}, "startup": {c.StartupProbe, "/ready"}} {
		if want.p == nil || want.p.HTTPGet == nil {
			t.Errorf("container lakeflight: no HTTP %s probe", name)
			continue
		}
		if got := want.p.HTTPGet; got.Path != want.path || containerPort(c, got.Port) != httpPort {
			t.Errorf("%s probe: %s on port %s; want %s on %s", name, got.Path, containerPort(c, got.Port), want.path, httpPort)
		}
	}
	for _, addr := range []string{cfg.FlightAddr, cfg.HTTPAddr} {
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return strconv.Itoa(int(p.ContainerPort)) == port(t, addr) }) {
			t.Errorf("container lakeflight: no containerPort for %s", addr)
		}
	}

	// The stop: preStop, then the server's bound (2 × shutdown_timeout +
	// 10s, cmd/lakeflight/serve.go shutdownBound) within the grace period.
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	need := preStop + 2*cfg.ShutdownTimeout + 10*time.Second
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < need {
		t.Errorf("Deployment: terminationGracePeriodSeconds is shorter than preStop %s + 2 × shutdown_timeout %s + 10s", preStop, cfg.ShutdownTimeout)
	}

	checkSizes(t, cfg, d, c)
	checkRefs(t, m, d)
}

// checkSizes: DuckDB's memory fits the memory limit; the cache fits its
// volume; with a read-only root every directory the server writes is a
// mounted volume.
func checkSizes(t *testing.T, cfg config.Config, d *appsv1.Deployment, c *corev1.Container) {
	t.Helper()
	memLimit := c.Resources.Limits[corev1.ResourceMemory]
	if cfg.DuckDB.MemoryLimit == "" {
		t.Error("Deployment: no DuckDB memory limit (LAKEFLIGHT_MEMORY_LIMIT); DuckDB would size itself by the node's memory")
	} else if duck, err := config.ParseByteSize(cfg.DuckDB.MemoryLimit); err != nil || int64(duck) >= memLimit.Value() {
		t.Errorf("Deployment: DuckDB memory limit %s does not fit the container's %s (%v)", cfg.DuckDB.MemoryLimit, memLimit.String(), err)
	}
	mountOf := func(dir string) *corev1.VolumeMount {
		var best *corev1.VolumeMount
		for i, vm := range c.VolumeMounts {
			if (dir == vm.MountPath || strings.HasPrefix(dir, strings.TrimSuffix(vm.MountPath, "/")+"/")) &&
				(best == nil || len(vm.MountPath) > len(best.MountPath)) {
				best = &c.VolumeMounts[i]
			}
		}
		return best
	}
	readOnlyRoot := c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem
	for _, dir := range []string{cfg.DataDir, cfg.CacheDir(), cfg.TempDir(), filepath.Join(cfg.DataDir, "transform"), "/tmp"} {
		vm := mountOf(dir)
		if readOnlyRoot && (vm == nil || vm.ReadOnly) {
			t.Errorf("Deployment: the root filesystem is read-only and %s, which the server writes, is on no writable volume", dir)
		}
	}
	if vm := mountOf(cfg.CacheDir()); vm != nil {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == vm.Name && v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil && int64(cfg.Cache.MaxBytes) >= v.EmptyDir.SizeLimit.Value() {
				t.Errorf("Deployment: cache max %d bytes does not fit volume %s's sizeLimit %s", cfg.Cache.MaxBytes, v.Name, v.EmptyDir.SizeLimit.String())
			}
		}
	}
}

// checkRefs: everything the pod refers to exists (ConfigMaps, Secrets,
// their keys, containers of resourceFieldRefs, volumes of mounts).
func checkRefs(t *testing.T, m *manifests, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	hasKey := func(kind, name, key string) bool {
		if kind == "ConfigMap" {
			cm, ok := m.configMaps[name]
			_, has := cm.Data[key]
			return ok && (key == "" || has)
		}
		s, ok := m.secrets[name]
		_, has := secretKeys(s)[key]
		return ok && (key == "" || has)
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
		switch {
		case v.ConfigMap != nil:
			for _, it := range append([]corev1.KeyToPath{{}}, v.ConfigMap.Items...) {
				if !hasKey("ConfigMap", v.ConfigMap.Name, it.Key) {
					t.Errorf("volume %s: ConfigMap %s key %q does not exist", v.Name, v.ConfigMap.Name, it.Key)
				}
			}
		case v.Secret != nil:
			for _, it := range append([]corev1.KeyToPath{{}}, v.Secret.Items...) {
				if !hasKey("Secret", v.Secret.SecretName, it.Key) {
					t.Errorf("volume %s: Secret %s key %q does not exist", v.Name, v.Secret.SecretName, it.Key)
				}
			}
		}
	}
	for _, c := range pod.Containers {
		for _, f := range c.EnvFrom {
			if f.ConfigMapRef != nil && !hasKey("ConfigMap", f.ConfigMapRef.Name, "") {
				t.Errorf("container %s: envFrom ConfigMap %s does not exist", c.Name, f.ConfigMapRef.Name)
			}
			if f.SecretRef != nil && !hasKey("Secret", f.SecretRef.Name, "") {
				t.Errorf("container %s: envFrom Secret %s does not exist", c.Name, f.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			switch vf := e.ValueFrom; {
			case vf == nil:
			case vf.ConfigMapKeyRef != nil && !hasKey("ConfigMap", vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key),
				vf.SecretKeyRef != nil && !hasKey("Secret", vf.SecretKeyRef.Name, vf.SecretKeyRef.Key):
				t.Errorf("container %s: env %s refers to a key that does not exist", c.Name, e.Name)
			case vf.ResourceFieldRef != nil && !slices.ContainsFunc(pod.Containers, func(o corev1.Container) bool {
				_, set := o.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(vf.ResourceFieldRef.Resource, "limits."))]
				return o.Name == vf.ResourceFieldRef.ContainerName && set
			}):
				t.Errorf("container %s: env %s refers to the unset %s of container %q", c.Name, e.Name, vf.ResourceFieldRef.Resource, vf.ResourceFieldRef.ContainerName)
			}
		}
		for _, vm := range c.VolumeMounts {
			if !volumes[vm.Name] {
				t.Errorf("container %s: mounts the undefined volume %s", c.Name, vm.Name)
			}
		}
	}
}

// containerPort resolves a probe's or Service's port (a number or a port
// name) against the container's ports.
func containerPort(c *corev1.Container, p intstr.IntOrString) string {
	if p.Type == intstr.Int {
		return strconv.Itoa(p.IntValue())
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return strconv.Itoa(int(cp.ContainerPort))
		}
	}
	return "(no port " + p.StrVal + ")"
}

// TestK8sService: each Service selects the pods of the Deployment of its
// name and no other's (`lakeflight` the scaled servers, `lakeflight-jobs`
// the jobs server), and exposes Flight SQL and HTTP on the container
// ports.
func TestK8sService(t *testing.T) {
	m := loadManifests(t, k8sDir, "kustomization.yaml")
	cfg := k8sServerConfig(t, m)
	var names []string
	for _, s := range m.services {
		names = append(names, s.Name)
	}
	if !equalSets(names, []string{serverName, jobsName}) {
		t.Errorf("Services %v; want %s and %s", names, serverName, jobsName)
	}
	for _, name := range []string{serverName, jobsName} {
		s := serviceNamed(t, m, name)
		d, c := deploymentNamed(t, m, name)
		for _, other := range m.deployments {
			selects := len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(other.Spec.Template.Labels))
			switch {
			case other == d && !selects:
				t.Errorf("Service %s: selector %v does not select the pods of Deployment %s", s.Name, s.Spec.Selector, d.Name)
			case other != d && selects:
				t.Errorf("Service %s: selector %v also selects the pods of Deployment %s", s.Name, s.Spec.Selector, other.Name)
			}
		}
		var ports []string
		for _, p := range s.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			if cp := containerPort(c, target); cp != strconv.Itoa(int(p.Port)) {
				t.Errorf("Service %s port %s: %d → container port %s; want the same number", s.Name, p.Name, p.Port, cp)
			}
			ports = append(ports, strconv.Itoa(int(p.Port)))
		}
		if want := []string{port(t, cfg.FlightAddr), port(t, cfg.HTTPAddr)}; !equalSets(ports, want) {
			t.Errorf("Service %s: ports %v; want Flight SQL and HTTP %v", s.Name, ports, want)
		}
	}
}

func TestK8sAutoscalingAndDisruption(t *testing.T) {
	m := loadManifests(t, k8sDir, "kustomization.yaml")
	d, _ := lakeflightDeployment(t, m)
	if len(m.hpas) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers, %d PodDisruptionBudgets; want 1 each", len(m.hpas), len(m.pdbs))
	}
	h := m.hpas[0]
	if ref := h.Spec.ScaleTargetRef; ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA %s targets %s %s %s; want the Deployment %s", h.Name, ref.APIVersion, ref.Kind, ref.Name, d.Name)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || *h.Spec.MinReplicas > h.Spec.MaxReplicas ||
		(d.Spec.Replicas != nil && *d.Spec.Replicas < *h.Spec.MinReplicas) {
		t.Errorf("HPA %s: min %v, max %d, Deployment replicas %v", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas, d.Spec.Replicas)
	}
	if !slices.ContainsFunc(h.Spec.Metrics, func(ms autoscalingv2.MetricSpec) bool {
		return ms.Resource != nil && ms.Resource.Name == corev1.ResourceCPU && ms.Resource.Target.AverageUtilization != nil
	}) {
		t.Errorf("HPA %s: no CPU utilization target", h.Name)
	}
	p := m.pdbs[0]
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("PDB %s: selector does not match the Deployment's pods (%v)", p.Name, err)
	}
	if p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil {
		t.Errorf("PDB %s: neither maxUnavailable nor minAvailable", p.Name)
	}

	// Neither reaches the jobs server: the HPA scales (and averages the CPU
	// of) the pods its target's selector picks, and a PDB on the one jobs
	// pod would only block node drains.
	jobs, _ := deploymentNamed(t, m, jobsName)
	if target, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || target.Matches(labels.Set(jobs.Spec.Template.Labels)) {
		t.Errorf("HPA %s: its target %s's selector also picks the pods of %s (%v)", h.Name, d.Name, jobs.Name, err)
	}
	if sel.Matches(labels.Set(jobs.Spec.Template.Labels)) {
		t.Errorf("PDB %s: selector also matches the pods of %s", p.Name, jobs.Name)
	}
}

// TestK8sJobsDeployment: a transform run or maintenance job lives in the
// process that accepted it, and two dbt builds must never run at once, so
// Airflow's jobs go to one server that is never two (jobs.yaml): one
// replica, replaced with Recreate, whose pod is the scaled servers' pod
// in everything but its labels.
func TestK8sJobsDeployment(t *testing.T) {
	m := loadManifests(t, k8sDir, "kustomization.yaml")
	server, _ := deploymentNamed(t, m, serverName)
	jobs, _ := deploymentNamed(t, m, jobsName)

	if r := jobs.Spec.Replicas; r == nil || *r != 1 {
		t.Errorf("Deployment %s: replicas %s; want exactly 1", jobs.Name, replicasString(r))
	}
	if st := jobs.Spec.Strategy; st.Type != appsv1.RecreateDeploymentStrategyType || st.RollingUpdate != nil {
		t.Errorf("Deployment %s: strategy %q; want Recreate (a rolling update runs two pods at once)", jobs.Name, st.Type)
	}
	want := map[string]string{"app.kubernetes.io/name": "lakeflight", "app.kubernetes.io/component": "jobs"}
	if !maps.Equal(jobs.Spec.Template.Labels, want) {
		t.Errorf("Deployment %s: pod labels %v; want %v", jobs.Name, jobs.Spec.Template.Labels, want)
	}

	// Each Deployment's selector picks its own pods and not the other's
	// (overlapping selectors make their ReplicaSets fight over pods).
	for _, pair := range [][2]*appsv1.Deployment{{server, jobs}, {jobs, server}} {
		own, other := pair[0], pair[1]
		sel, err := metav1.LabelSelectorAsSelector(own.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(own.Spec.Template.Labels)) || sel.Matches(labels.Set(other.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: selector %s must match its own pods and not those of %s (%v)",
				own.Name, metav1.FormatLabelSelector(own.Spec.Selector), other.Name, err)
		}
	}
	for _, h := range m.hpas {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == jobs.Name {
			t.Errorf("HPA %s scales %s, which must stay at one pod", h.Name, jobs.Name)
		}
	}

	// The same pod, labels aside: image, config, env, resources, probes,
	// volumes and security stay in step with deployment.yaml.
	a, b := server.Spec.Template.DeepCopy(), jobs.Spec.Template.DeepCopy()
	a.Labels, b.Labels = nil, nil
	if diffs := fieldDiffs("template", reflect.ValueOf(*a), reflect.ValueOf(*b)); len(diffs) > 0 {
		t.Errorf("Deployment %s's pod differs from %s's in:\n  %s", jobs.Name, server.Name, strings.Join(diffs, "\n  "))
	}
}

// replicasString prints a Deployment's replicas (unset: the API's
// default, 1).
func replicasString(r *int32) string {
	if r == nil {
		return "unset (1)"
	}
	return strconv.Itoa(int(*r))
}

// fieldDiffs names the fields in which a and b, two values of one type,
// differ (compared as equality.Semantic does: quantities by value),
// descending into structs, pointers, maps and slices of equal length, so
// a failure says where two pod templates part.
func fieldDiffs(path string, a, b reflect.Value) []string {
	if equality.Semantic.DeepEqual(a.Interface(), b.Interface()) {
		return nil
	}
	var out []string
	switch a.Kind() {
	case reflect.Pointer:
		if !a.IsNil() && !b.IsNil() {
			return fieldDiffs(path, a.Elem(), b.Elem())
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if f := a.Type().Field(i); f.IsExported() {
				out = append(out, fieldDiffs(path+"."+f.Name, a.Field(i), b.Field(i))...)
			}
		}
	case reflect.Slice:
		if a.Len() == b.Len() {
			for i := range a.Len() {
				out = append(out, fieldDiffs(path+"["+strconv.Itoa(i)+"]", a.Index(i), b.Index(i))...)
			}
		}
	case reflect.Map:
		keys := map[string]reflect.Value{}
		for _, k := range slices.Concat(a.MapKeys(), b.MapKeys()) {
			keys[fmt.Sprint(k.Interface())] = k
		}
		for _, name := range slices.Sorted(maps.Keys(keys)) {
			va, vb := a.MapIndex(keys[name]), b.MapIndex(keys[name])
			if !va.IsValid() || !vb.IsValid() {
				out = append(out, path+"["+name+"]")
				continue
			}
			out = append(out, fieldDiffs(path+"["+name+"]", va, vb)...)
		}
	}
	if len(out) == 0 {
		// A leaf, or a value whose parts are not exported (a quantity).
		return []string{path}
	}
	return out
}

func TestFieldDiffs(t *testing.T) {
	m := loadManifests(t, k8sDir, "kustomization.yaml")
	server, _ := lakeflightDeployment(t, m)
	a := server.Spec.Template
	if diffs := fieldDiffs("t", reflect.ValueOf(a), reflect.ValueOf(*a.DeepCopy())); len(diffs) > 0 {
		t.Errorf("a copy differs: %v", diffs)
	}
	b := a.DeepCopy()
	b.Labels["extra"] = "x"
	b.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("12Gi")
	b.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("4096Mi") // 4Gi by value
	b.Spec.Containers[0].ReadinessProbe.PeriodSeconds++
	b.Spec.Volumes = b.Spec.Volumes[1:]
	want := []string{
		"t.ObjectMeta.Labels[extra]",
		"t.Spec.Volumes",
		"t.Spec.Containers[0].Resources.Limits[memory]",
		"t.Spec.Containers[0].ReadinessProbe.PeriodSeconds",
	}
	if got := fieldDiffs("t", reflect.ValueOf(a), reflect.ValueOf(*b)); !equalSets(got, want) {
		t.Errorf("fieldDiffs = %v; want %v", got, want)
	}
}
