package validate_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

const repoRoot = "../.."

// loadCompose loads docker-compose.yml as `docker compose config` would:
// interpolated, normalised and validated against the compose
// specification's JSON schema.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "docker-compose.yml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: data}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName("shipshape", true)
		o.ResolvePaths = true
	})
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

var pinnedTag = regexp.MustCompile(`^[a-z0-9./-]+:v?[0-9][0-9A-Za-z.-]*$`)

func TestComposeFile(t *testing.T) {
	p := loadCompose(t)
	want := []string{"nats", "postgresql", "prometheus", "temporal", "temporal-ui", "worker"}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Errorf("services %v, want %v", sorted(got), want)
	}
	for name, s := range p.Services {
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Disable {
			t.Errorf("service %s has no health check", name)
		}
		// Every image pinned by a version tag, never latest; the worker's
		// is built from this repository.
		if s.Build == nil && !pinnedTag.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned by a version tag", name, s.Image)
		}
	}

	worker := p.Services["worker"]
	if worker.Build == nil || worker.Build.Dockerfile != "Dockerfile" {
		t.Errorf("worker is not built from the Dockerfile: %+v", worker.Build)
	}
	metricsPort := portOf(t, *worker.Environment["SHIPSHAPE_METRICS_ADDR"])
	if !publishes(worker, metricsPort) {
		t.Errorf("worker does not publish its metrics port %d", metricsPort)
	}
	if got := *worker.Environment["TEMPORAL_ADDRESS"]; got != "temporal:7233" {
		t.Errorf("worker TEMPORAL_ADDRESS %q, want temporal:7233", got)
	}
	if got := *worker.Environment["NATS_URL"]; got != "nats://nats:4222" {
		t.Errorf("worker NATS_URL %q, want nats://nats:4222", got)
	}
	for dep, cond := range map[string]string{"temporal": "service_healthy", "nats": "service_healthy"} {
		if d, ok := worker.DependsOn[dep]; !ok || d.Condition != cond {
			t.Errorf("worker depends on %s: %+v, want %s", dep, d, cond)
		}
	}
	if keys := *worker.Environment["SHIPSHAPE_CODEC_KEYS"]; !slices.ContainsFunc(worker.Secrets, func(s types.ServiceSecretConfig) bool {
		return "/run/secrets/"+s.Source == keys
	}) {
		t.Errorf("SHIPSHAPE_CODEC_KEYS=%s is not a secret the worker mounts", keys)
	}
	if worker.StopGracePeriod == nil || time.Duration(*worker.StopGracePeriod) <= 30*time.Second {
		t.Error("worker stop_grace_period must exceed its 30s --stop-timeout")
	}

	// The starter on the host reaches Temporal and NATS on the ports the
	// compose file's header and docs/operations.md give.
	if !publishes(p.Services["temporal"], 7233) || !publishes(p.Services["nats"], 4222) {
		t.Error("temporal must publish 7233 and nats 4222 for `starter run --temporal-address localhost:7233 --nats-url nats://localhost:4222`")
	}
	nats := p.Services["nats"]
	if !slices.Contains(nats.Command, "--jetstream") || !slices.Contains(nats.Command, "/data") || len(nats.Volumes) == 0 || nats.Volumes[0].Target != "/data" {
		t.Errorf("nats must run JetStream with its store on a volume: command %v volumes %v", nats.Command, nats.Volumes)
	}
	temporal := p.Services["temporal"]
	if temporal.Environment["DB"] == nil || !strings.HasPrefix(*temporal.Environment["DB"], "postgres") {
		t.Error("temporal must use PostgreSQL")
	}

	// Prometheus scrapes the worker where it listens.
	prom := p.Services["prometheus"]
	var cfgFile string
	for _, v := range prom.Volumes {
		if v.Target == "/etc/prometheus/prometheus.yml" {
			cfgFile = v.Source
		}
	}
	if cfgFile == "" {
		t.Fatal("prometheus mounts no /etc/prometheus/prometheus.yml")
	}
	targets := scrapeTargets(t, cfgFile)
	if !slices.Contains(targets, "worker:"+itoa(metricsPort)) {
		t.Errorf("prometheus scrapes %v, want worker:%d", targets, metricsPort)
	}
}

func publishes(s types.ServiceConfig, port int) bool {
	return slices.ContainsFunc(s.Ports, func(p types.ServicePortConfig) bool { return int(p.Target) == port && p.Published != "" })
}

func scrapeTargets(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			MetricsPath   string `json:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
		Global map[string]any `json:"global"`
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var targets []string
	for _, sc := range cfg.ScrapeConfigs {
		if sc.MetricsPath != "/metrics" {
			t.Errorf("job %s scrapes %s, want /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	return targets
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// TestComposeSchemaIsChecked shows the loader validates against the
// compose schema: a misspelt key of the real file is an error.
func TestComposeSchemaIsChecked(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	typo := strings.Replace(string(data), "healthcheck:", "healthchek:", 1)
	_, err = loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  t.TempDir(),
		ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml", Content: []byte(typo)}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("shipshape", true) })
	if err == nil || !strings.Contains(err.Error(), "healthchek") {
		t.Errorf("misspelt key: %v, want a schema error", err)
	}
}
