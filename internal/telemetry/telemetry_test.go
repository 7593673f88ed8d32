package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/internal/telemetry"
)

// fakeStream is an in-memory event stream that accepts everything.
type fakeStream struct{ n int }

func (f *fakeStream) Publish(context.Context, string, string, []byte) error { f.n++; return nil }

func event(t *testing.T, typ events.Type, data any) events.Event {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{SpecVersion: events.SpecVersion, ID: "run/1/" + string(typ), Type: typ, Plan: "api", RunID: "run", Data: raw}
}

// exercised runs activities through the metrics interceptor in Temporal's
// test activity environment: an event batch (a run that failed, a passing
// and a failing gate), an http-check that passes and one whose check fails.
func exercised(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := telemetry.NewMetrics(reg, all.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer service.Close()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{m.Interceptor()}})
	stream := &fakeStream{}
	taskrun.RegisterActivities(env, all.Types(all.Config{}), taskrun.Options{Logger: slog.New(slog.DiscardHandler), Events: stream})

	batch := taskrun.PublishEventsInput{Events: []events.Event{
		event(t, events.GateEvaluated, events.GateData{Status: "pass"}),
		event(t, events.GateEvaluated, events.GateData{Status: "fail"}),
		event(t, events.RunFinished, events.RunData{Result: "fail"}),
	}}
	if _, err := env.ExecuteActivity(taskrun.PublishEventsName, batch); err != nil {
		t.Fatal(err)
	}
	if stream.n != 3 {
		t.Fatalf("published %d events, want 3", stream.n)
	}
	for status, want := range map[int]bool{200: true, 500: false} {
		in := task.Input{RunID: "run", Plan: "api", Phase: "smoke", Task: "health", Uses: "http-check",
			Params: task.Params{"url": service.URL, "expectStatus": status, "method": "GET", "timeout": "5s"}}
		_, err := env.ExecuteActivity("http-check", in)
		if (err == nil) != want {
			t.Fatalf("http-check expecting %d: %v", status, err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range families {
		byName[mf.GetName()] = mf
	}
	return byName
}

func sample(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	mf := families[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		for k, v := range labels {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
				continue next
			}
		}
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
	}
	return sum
}

func TestMetricsInterceptor(t *testing.T) {
	families := exercised(t)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{telemetry.MetricRuns, map[string]string{"plan": "api", "result": "fail"}, 1},
		{telemetry.MetricGates, map[string]string{"status": "pass"}, 1},
		{telemetry.MetricGates, map[string]string{"status": "fail"}, 1},
		{telemetry.MetricEventsPublished, map[string]string{"type": "gate.evaluated"}, 2},
		{telemetry.MetricEventsPublished, map[string]string{"type": "run.finished"}, 1},
		{telemetry.MetricEventsPublished, map[string]string{"type": "task.started"}, 0},
		{telemetry.MetricEventBatchesRetried, nil, 0},
		{telemetry.MetricEventBatchFailures, nil, 0},
		{telemetry.MetricTaskDuration, map[string]string{"task_type": "http-check", "result": telemetry.TaskPassed}, 1},
		{telemetry.MetricTaskDuration, map[string]string{"task_type": "http-check", "result": telemetry.TaskCheckFailed}, 1},
		{telemetry.MetricTasksRunning, map[string]string{"task_type": "http-check"}, 0},
		{telemetry.MetricTasksRunning, map[string]string{"task_type": "loadtest"}, 0},
	}
	for _, c := range checks {
		if got := sample(families, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestDashboardQueriesShipshapeMetrics checks the Grafana dashboard against
// the registry: every shipshape_ series it reads is exported (the
// Temporal SDK's series appear only once used; TestWorkerMetrics checks
// all of them against a real worker after a run).
func TestDashboardQueriesShipshapeMetrics(t *testing.T) {
	exported := map[string]bool{}
	for name, mf := range exercised(t) {
		exported[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[name+s] = true
			}
		}
	}
	names, err := telemetry.DashboardMetrics(filepath.Join("..", "..", "deploy", "grafana", "shipshape.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "shipshape_") && !exported[n] {
			t.Errorf("dashboard queries %s, which is not exported", n)
		}
	}
	for _, want := range []string{telemetry.MetricRuns, telemetry.MetricGates, telemetry.MetricEventsPublished,
		telemetry.MetricEventBatchFailures, telemetry.MetricTaskDuration + "_bucket", telemetry.MetricTasksRunning} {
		if !slices.Contains(names, want) {
			t.Errorf("dashboard has no panel on %s", want)
		}
	}
}

func TestTracingFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		on      bool
		wantErr bool
	}{
		{"nothing set: off", nil, false, false},
		{"endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, false},
		{"traces endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true, false},
		{"exporter otlp: on", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{"grpc: on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, false},
		{"exporter none: off", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_TRACES_EXPORTER": "none"}, false, false},
		{"sdk disabled: off", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"}, false, false},
		{"zipkin: refused", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
		{"bad protocol: refused", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := telemetry.TracingFromEnv(context.Background(), func(k string) string { return tc.env[k] }, "test")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if (tp != nil) != tc.on {
				t.Fatalf("tracer provider %v, want on=%v", tp, tc.on)
			}
			if tp != nil {
				_ = tp.Shutdown(context.Background())
			}
		})
	}
}

// fakeTemporal stands in for the Temporal client's health check.
type fakeTemporal struct{ err error }

func (f fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, f.err
}

func TestHealthEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := telemetry.NewMetrics(reg, all.Catalog()); err != nil {
		t.Fatal(err)
	}
	var ready telemetry.Readiness
	srv := httptest.NewServer(telemetry.Handler(reg, &ready, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	steps := []struct {
		name  string
		setup func()
		want  int
	}{
		{"before the worker starts", func() {}, http.StatusServiceUnavailable},
		{"started, no connection", func() { ready.SetStarted(true) }, http.StatusServiceUnavailable},
		{"started, Temporal answers", func() { ready.SetTemporal(fakeTemporal{}) }, http.StatusOK},
		{"Temporal down", func() { ready.SetTemporal(fakeTemporal{err: errors.New("unavailable")}) }, http.StatusServiceUnavailable},
		{"stopping", func() { ready.SetTemporal(fakeTemporal{}); ready.SetStarted(false) }, http.StatusServiceUnavailable},
	}
	for _, s := range steps {
		s.setup()
		if got := status("/readyz"); got != s.want {
			t.Errorf("%s: /readyz %d, want %d", s.name, got, s.want)
		}
		if got := status("/healthz"); got != http.StatusOK {
			t.Errorf("%s: /healthz %d, want 200", s.name, got)
		}
	}
	if got := status("/metrics"); got != http.StatusOK {
		t.Errorf("/metrics %d", got)
	}
}
