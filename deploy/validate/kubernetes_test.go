package validate_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const kubeDir = "../kubernetes"

// manifests holds every object of deploy/kubernetes, decoded strictly.
type manifests struct {
	deployment     *appsv1.Deployment
	pdb            *policyv1.PodDisruptionBudget
	serviceAccount *corev1.ServiceAccount
	configMap      *corev1.ConfigMap
	service        *corev1.Service
	secrets        map[string]*corev1.Secret
	files          map[string][]string // file -> kinds
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	m := manifests{secrets: map[string]*corev1.Secret{}, files: map[string][]string{}}
	paths, err := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if filepath.Base(path) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			var head struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			var obj any
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				m.deployment = &appsv1.Deployment{}
				obj = m.deployment
			case "policy/v1 PodDisruptionBudget":
				m.pdb = &policyv1.PodDisruptionBudget{}
				obj = m.pdb
			case "v1 ServiceAccount":
				m.serviceAccount = &corev1.ServiceAccount{}
				obj = m.serviceAccount
			case "v1 ConfigMap":
				m.configMap = &corev1.ConfigMap{}
				obj = m.configMap
			case "v1 Service":
				m.service = &corev1.Service{}
				obj = m.service
			case "v1 Namespace":
				obj = &corev1.Namespace{}
			case "v1 Secret":
				s := &corev1.Secret{}
				obj = s
				defer func() { m.secrets[s.Name] = s }()
			default:
				t.Fatalf("%s: unexpected %s %s", path, head.APIVersion, head.Kind)
			}
			// Strict: an unknown or misspelt field is an error, as
			// `kubectl apply --validate=strict` would report.
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s: %s: %v", path, head.Kind, err)
			}
			m.files[filepath.Base(path)] = append(m.files[filepath.Base(path)], head.Kind)
		}
	}
	for name, want := range map[string]bool{"Deployment": m.deployment != nil, "PodDisruptionBudget": m.pdb != nil,
		"ServiceAccount": m.serviceAccount != nil, "ConfigMap": m.configMap != nil, "Service": m.service != nil} {
		if !want {
			t.Fatalf("no %s in %s", name, kubeDir)
		}
	}
	return m
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range strings.Lines(string(doc)) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, line...)
	}
	return out
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	pod := d.Spec.Template.Spec
	podLabels := labels.Set(d.Spec.Template.Labels)

	sel, err := metaSelector(d.Spec.Selector.MatchLabels)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("deployment selector %v does not match its pods %v", d.Spec.Selector.MatchLabels, podLabels)
	}
	if pdbSel, _ := metaSelector(m.pdb.Spec.Selector.MatchLabels); !pdbSel.Matches(podLabels) {
		t.Errorf("PDB selector %v does not select the worker's pods", m.pdb.Spec.Selector.MatchLabels)
	}
	if m.pdb.Spec.MinAvailable == nil || m.pdb.Spec.MinAvailable.IntValue() < 1 || int(*d.Spec.Replicas) <= m.pdb.Spec.MinAvailable.IntValue() {
		t.Errorf("PDB minAvailable %v with %d replicas: a drain could never evict, or evict all", m.pdb.Spec.MinAvailable, *d.Spec.Replicas)
	}
	if svcSel := labels.SelectorFromSet(m.service.Spec.Selector); !svcSel.Matches(podLabels) {
		t.Errorf("service selector %v does not select the worker's pods", m.service.Spec.Selector)
	}

	if pod.ServiceAccountName != m.serviceAccount.Name {
		t.Errorf("pods run as %q, the manifest's service account is %q", pod.ServiceAccountName, m.serviceAccount.Name)
	}
	for _, key := range []string{"eks.amazonaws.com/role-arn", "azure.workload.identity/client-id"} {
		if m.serviceAccount.Annotations[key] == "" {
			t.Errorf("service account lacks annotation %s", key)
		}
	}
	if podLabels["azure.workload.identity/use"] != "true" {
		t.Error("pods lack the label azure.workload.identity/use=true that Azure workload identity needs")
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Error("pods must run as a non-root user")
	}

	var worker *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "worker" {
			worker = &pod.Containers[i]
		}
	}
	if worker == nil {
		t.Fatal("no container named worker")
	}
	metricsPort := portOf(t, m.configMap.Data["SHIPSHAPE_METRICS_ADDR"])
	var named string
	for _, p := range worker.Ports {
		if p.ContainerPort == int32(metricsPort) {
			named = p.Name
		}
	}
	if named == "" {
		t.Errorf("worker exposes no container port %d (SHIPSHAPE_METRICS_ADDR)", metricsPort)
	}
	for name, probe := range map[string]*corev1.Probe{"readiness": worker.ReadinessProbe, "liveness": worker.LivenessProbe, "startup": worker.StartupProbe} {
		want := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/readyz"}[name]
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != named {
			t.Errorf("%s probe %+v: want GET %s on port %q", name, probe, want, named)
		}
	}
	if worker.Resources.Requests.Cpu().IsZero() || worker.Resources.Requests.Memory().IsZero() || worker.Resources.Limits.Memory().IsZero() {
		t.Errorf("worker resources %v: want CPU and memory requests and a memory limit", worker.Resources)
	}
	if sc := worker.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("worker container: want allowPrivilegeEscalation false and a read-only root filesystem")
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		if !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
			t.Errorf("container %s: image %q not pinned by tag", c.Name, c.Image)
		}
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= 30 {
		t.Error("terminationGracePeriodSeconds must exceed the worker's 30s --stop-timeout")
	}
	if !slices.Contains(worker.Args, "--stream-replicas") {
		t.Error("worker args lack --stream-replicas (3 on a JetStream cluster)")
	}

	// Every file the configuration names is mounted, from a volume that
	// exists; every Secret the pods use is in secrets.example.yaml.
	mounts := map[string]string{}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		for _, vm := range c.VolumeMounts {
			if c.Name == "worker" {
				mounts[vm.MountPath] = vm.Name
			}
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil && m.secrets[v.Secret.SecretName] == nil {
			t.Errorf("volume %s uses secret %s, which secrets.example.yaml does not show", v.Name, v.Secret.SecretName)
		}
	}
	for key, path := range m.configMap.Data {
		if !strings.HasPrefix(path, "/") {
			continue
		}
		dir := filepath.Dir(path)
		vol, ok := mounts[dir]
		if !ok {
			t.Errorf("config %s=%s: nothing mounted at %s in the worker", key, path, dir)
			continue
		}
		if v, ok := volumes[vol]; ok && v.Secret != nil {
			s := m.secrets[v.Secret.SecretName]
			if s != nil && s.StringData[filepath.Base(path)] == "" {
				t.Errorf("config %s=%s: secret %s has no key %s", key, path, s.Name, filepath.Base(path))
			}
		}
	}
	if m.files["kustomization.yaml"] != nil {
		t.Error("kustomization.yaml must not be decoded as an object")
	}
}

func TestKustomizationListsManifests(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(kubeDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	for _, p := range paths {
		base := filepath.Base(p)
		if base == "kustomization.yaml" || strings.Contains(base, ".example.") {
			if slices.Contains(k.Resources, base) {
				t.Errorf("kustomization applies %s", base)
			}
			continue
		}
		if !slices.Contains(k.Resources, base) {
			t.Errorf("kustomization does not list %s", base)
		}
	}
}

// TestStrictDecodingCatchesTypos shows the decoding above is strict: a
// misspelt field of the real Deployment is an error.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(kubeDir, "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	typo := strings.Replace(string(data), "readinessProbe:", "readinesProbe:", 1)
	if typo == string(data) {
		t.Fatal("no readinessProbe to misspell")
	}
	if err := yaml.UnmarshalStrict([]byte(typo), &appsv1.Deployment{}); err == nil || !strings.Contains(err.Error(), "readinesProbe") {
		t.Errorf("misspelt field: %v, want an unknown field error", err)
	}
}
