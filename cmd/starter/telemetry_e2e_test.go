//go:build integration

package main_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/shipshape-dev/shipshape/internal/telemetry"
)

// TestWorkerMetrics runs plans on a worker serving --metrics-addr and
// scrapes it as Prometheus would: Shipshape's metrics carry the runs,
// tasks, gates and events of those runs, the Temporal SDK's are there, and
// every metric the Grafana dashboard queries is exported.
func TestWorkerMetrics(t *testing.T) {
	c := startCluster(t)
	base := c.serveWorker(t)
	if got := httpStatus(base + "/healthz"); got != http.StatusOK {
		t.Errorf("/healthz: %d", got)
	}
	// The container health check (images without a shell).
	if out, err := exec.Command(workerBin, "healthcheck", base+"/readyz").CombinedOutput(); err != nil {
		t.Errorf("worker healthcheck: %v\n%s", err, out)
	}
	if out, err := exec.Command(workerBin, "healthcheck", "http://"+freeAddr(t)+"/readyz").CombinedOutput(); err == nil {
		t.Errorf("worker healthcheck of nothing succeeded: %s", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo := c.demo.URL()
	for _, run := range []struct {
		plan, url, pass string
		want            int
	}{
		{"metrics-pass", demo + "/health", "< 5s", 0},
		{"metrics-fail", demo + "/slow?ms=20", "< 1ms", 1},
	} {
		r := starter(t, ctx, append([]string{"run", "--report-dir", t.TempDir()},
			c.args("--set", "vars.url="+run.url, writePlan(t, fmt.Sprintf(gatePlan, run.plan, run.pass, run.pass)))...)...)
		if r.code != run.want {
			t.Fatalf("%s: exit %d, want %d\n%s", run.plan, r.code, run.want, r.stderr)
		}
	}

	var families map[string]*dto.MetricFamily
	waitFor(t, 15*time.Second, func() bool {
		families = scrape(t, base+"/metrics")
		return value(families, telemetry.MetricRuns, map[string]string{"plan": "metrics-fail", "result": "fail"}) == 1
	})
	checks := []struct {
		metric string
		labels map[string]string
		want   func(float64) bool
		says   string
	}{
		{telemetry.MetricRuns, map[string]string{"plan": "metrics-pass", "result": "pass"}, eq(1), "1"},
		{telemetry.MetricRuns, map[string]string{"plan": "metrics-fail", "result": "fail"}, eq(1), "1"},
		{telemetry.MetricTaskDuration, map[string]string{"task_type": "http-check", "result": "pass"}, eq(2), "2 attempts (both probes answer)"},
		{telemetry.MetricTasksRunning, map[string]string{"task_type": "http-check"}, eq(0), "0"},
		{telemetry.MetricGates, map[string]string{"status": "pass"}, eq(1), "1"},
		{telemetry.MetricGates, map[string]string{"status": "fail"}, eq(1), "1"},
		{telemetry.MetricEventsPublished, map[string]string{"type": "run.finished"}, eq(2), "2"},
		{telemetry.MetricEventsPublished, map[string]string{"type": "gate.evaluated"}, eq(2), "2"},
		{"temporal_workflow_completed_total", map[string]string{"workflow_type": "Readiness"}, func(v float64) bool { return v >= 2 }, ">= 2"},
		{"temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "http-check"}, func(v float64) bool { return v >= 2 }, ">= 2 observations"},
	}
	for _, ck := range checks {
		if got := value(families, ck.metric, ck.labels); !ck.want(got) {
			t.Errorf("%s%v = %v, want %s", ck.metric, ck.labels, got, ck.says)
		}
	}

	exported := sampleNames(families)
	dashboard, err := telemetry.DashboardMetrics(filepath.Join(repoRoot, "deploy", "grafana", "shipshape.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range dashboard {
		if !exported[name] {
			t.Errorf("the dashboard queries %s, which the worker does not export", name)
		}
	}

	keys, err := os.ReadFile(c.keys)
	if err != nil {
		t.Fatal(err)
	}
	raw := scrapeText(t, base+"/metrics")
	for line := range strings.Lines(string(keys)) {
		if _, key, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.Contains(raw, key) {
			t.Error("the codec key appears in /metrics")
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", raw)
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not so after %v", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func scrapeText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bufio.NewReader(strings.NewReader(scrapeText(t, url))))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value sums the samples of metric whose labels include labels: counter
// and gauge values, histogram counts.
func value(families map[string]*dto.MetricFamily, metric string, labels map[string]string) float64 {
	mf := families[metric]
	if mf == nil {
		return -1
	}
	var sum float64
next:
	for _, m := range mf.GetMetric() {
		for k, v := range labels {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// sampleNames are the series names a query can use: each family's name,
// and _bucket, _sum, _count of histograms.
func sampleNames(families map[string]*dto.MetricFamily) map[string]bool {
	names := map[string]bool{}
	for name, mf := range families {
		names[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	return names
}

// fakeCollector is an OTLP/HTTP trace receiver (POST /v1/traces,
// protobuf), standing in for an OpenTelemetry collector: it keeps the spans
// it is sent.
type fakeCollector struct {
	mu    sync.Mutex
	spans []collectedSpan
}

type collectedSpan struct {
	service, name, traceID string
}

func (f *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		var service string
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				f.spans = append(f.spans, collectedSpan{service, s.GetName(), hex.EncodeToString(s.GetTraceId())})
			}
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

func (f *fakeCollector) find(service, name string) (collectedSpan, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.spans {
		if s.service == service && s.name == name {
			return s, true
		}
	}
	return collectedSpan{}, false
}

// TestTracesExportedOverOTLP runs the worker and the starter with only the
// standard OTEL_* variables pointing at an OTLP/HTTP receiver: both export
// spans, the run is one trace from the starter's StartWorkflow to the
// worker's task, and its events carry that trace.
func TestTracesExportedOverOTLP(t *testing.T) {
	collector := &fakeCollector{}
	srv := httptest.NewServer(collector)
	t.Cleanup(srv.Close)
	otel := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + srv.URL, "OTEL_BSP_SCHEDULE_DELAY=100"}

	c := startCluster(t)
	c.stopWorker() // replaced by one that traces
	worker := exec.Command(workerBin, c.args("--stop-timeout", "5s", "--metrics-addr", "")...)
	worker.Env = append(os.Environ(), otel...)
	worker.Stdout, worker.Stderr = c.logs, c.logs
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	c.worker = worker

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runID := "traced-otlp-1"
	cmd := exec.CommandContext(ctx, starterBin, append([]string{"run", "--quiet", "--run-id", runID},
		c.args("--set", "vars.url="+c.demo.URL()+"/health", writePlan(t, fmt.Sprintf(gatePlan, "traced", "< 5s", "< 5s")))...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), otel...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starter run: %v\n%s", err, out)
	}

	var start, task collectedSpan
	waitFor(t, 20*time.Second, func() bool {
		var ok1, ok2 bool
		start, ok1 = collector.find("shipshape-starter", "StartWorkflow:Readiness")
		task, ok2 = collector.find("shipshape-worker", "RunActivity:http-check")
		return ok1 && ok2
	})
	if start.traceID != task.traceID {
		t.Errorf("starter's span in trace %s, the worker's task in %s: want one trace", start.traceID, task.traceID)
	}
	evs := consume(t, c.natsURL(), runID)
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for _, e := range evs {
		if !strings.Contains(e.TraceParent, "-"+start.traceID+"-") {
			t.Errorf("event %s traceparent %q, want trace %s", e.Type, e.TraceParent, start.traceID)
		}
	}
}
