package loadtest_test

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/loadtest"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/internal/testpki"
	"github.com/shipshape-dev/shipshape/plan"
)

// loadRun runs the loadtest activity the way the worker registers it,
// with the parts of its input that other task types do not use.
type loadRun struct {
	ctx         context.Context // the worker's: cancelling it cancels the activity
	abortOn     []plan.Gate
	gates       []plan.Gate // all the task's gates (abortOn among them, or not)
	artifactDir string
	events      taskrun.EventPublisher
	heartbeats  []task.Progress
}

func (r *loadRun) run(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	// Every heartbeat reaches the listener, as it reaches the server with
	// the task type's 10s heartbeat timeout (throttled to 8s at most).
	env.SetWorkerOptions(worker.Options{
		BackgroundActivityContext:        r.ctx,
		MaxHeartbeatThrottleInterval:     10 * time.Millisecond,
		DefaultHeartbeatThrottleInterval: 10 * time.Millisecond,
	})
	var mu sync.Mutex
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p task.Progress
		if err := details.Get(&p); err != nil {
			t.Errorf("heartbeat details: %v", err)
			return
		}
		mu.Lock()
		r.heartbeats = append(r.heartbeats, p)
		mu.Unlock()
	})
	logger := slog.New(slog.DiscardHandler)
	types := []task.Type{loadtest.New(logger, r.events).Type()}
	taskrun.RegisterActivities(env, types, taskrun.Options{Logger: logger, Events: r.events})
	val, err := env.ExecuteActivity(loadtest.Name, task.Input{
		RunID: "test-run", Plan: "test", Phase: "phase", Task: "load", Uses: loadtest.Name,
		Params: tasktest.WithDefaults(t, task.Catalog(types), loadtest.Name, with), ArtifactDir: r.artifactDir,
		AbortOn: r.abortOn, Gates: r.gates,
	})
	if err != nil {
		return task.Output{}, err
	}
	var out task.Output
	if err := val.Get(&out); err != nil {
		t.Fatalf("decode task output: %v", err)
	}
	return out, nil
}

// loadTarget is a real HTTP server on loopback for load tests: it counts
// the requests it receives and the most it handled at once, and answers
// each with behave (given the request's number, from 1), or 200 "ok".
type loadTarget struct {
	*httptest.Server
	requests atomic.Int64
	inflight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	arrivals []time.Time
}

func startLoadTarget(t *testing.T, behave func(n int64, w http.ResponseWriter, r *http.Request)) *loadTarget {
	t.Helper()
	lt := &loadTarget{}
	lt.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := lt.requests.Add(1)
		now := lt.inflight.Add(1)
		defer lt.inflight.Add(-1)
		for peak := lt.peak.Load(); now > peak && !lt.peak.CompareAndSwap(peak, now); peak = lt.peak.Load() {
		}
		lt.mu.Lock()
		lt.arrivals = append(lt.arrivals, time.Now())
		lt.mu.Unlock()
		if behave != nil {
			behave(n, w, r)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(lt.Close)
	return lt
}

// arrivedAfter counts the requests that arrived after t.
func (lt *loadTarget) arrivedAfter(t time.Time) int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	n := 0
	for _, a := range lt.arrivals {
		if a.After(t) {
			n++
		}
	}
	return n
}

// runTask runs a load test once, as the worker would.
func runTask(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, loadtest.New(slog.New(slog.DiscardHandler), nil).Type(), with)
}

func targets(urls ...string) []any {
	out := make([]any, len(urls))
	for i, u := range urls {
		out[i] = map[string]any{"url": u}
	}
	return out
}

func within(t *testing.T, name string, got, want, tolerance float64) {
	t.Helper()
	if got < want-tolerance || got > want+tolerance {
		t.Errorf("%s = %v, want %v ± %v", name, got, want, tolerance)
	}
}

func tableOf(t *testing.T, out task.Output, title string) plan.Table {
	t.Helper()
	for _, tab := range out.Tables {
		if strings.HasPrefix(tab.Title, title) {
			return tab
		}
	}
	t.Fatalf("no table %q in %+v", title, out.Tables)
	return plan.Table{}
}

// TestLoadTestFixedRate: at a fixed open-model rate, the test sends the
// rate times the duration, the server receives every request, and the
// per-second series has a row per second.
func TestLoadTestFixedRate(t *testing.T) {
	srv := startLoadTarget(t, nil)
	out, err := runTask(t, map[string]any{
		"targets": []any{map[string]any{"url": srv.URL + "/a", "method": "POST", "body": "hello"}},
		"rate":    "100/s", "duration": "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.Metrics
	// The schedule holds exactly 200 requests; a loaded machine may send
	// a few fewer in time.
	within(t, "http.requests", m["http.requests"], 199, 2)
	within(t, "http.rps", m["http.rps"], 100, 2)
	tasktest.MustMetrics(t, m, map[string]float64{
		"http.status.200":   m["http.requests"],
		"http.errors.count": 0,
		"http.errors.rate":  0,
		"http.bytes.in":     2 * m["http.requests"],
		"http.bytes.out":    5 * m["http.requests"],
	}, 0)
	if got := srv.requests.Load(); float64(got) != m["http.requests"] {
		t.Errorf("server received %d requests, the test measured %v", got, m["http.requests"])
	}
	for _, name := range []string{"http.latency.p50", "http.latency.p90", "http.latency.p95", "http.latency.p99", "http.latency.max", "http.latency.mean"} {
		if v, ok := m[name]; !ok || v <= 0 || v > 1 {
			t.Errorf("%s = %v (reported %v), want a loopback latency", name, v, ok)
		}
	}
	if m["http.latency.p50"] > m["http.latency.p99"] || m["http.latency.p99"] > m["http.latency.max"] {
		t.Errorf("percentiles out of order: %v", m)
	}
	series := tableOf(t, out, "Per second")
	if len(series.Rows) != 2 {
		t.Errorf("per-second rows: %v, want 2", series.Rows)
	}
	summary := tableOf(t, out, "Load test")
	if got := summary.Rows[0][0]; got != "100/s for 2s" {
		t.Errorf("summary load %q, want 100/s for 2s", got)
	}
	if !strings.Contains(out.Output, "target POST "+srv.URL+"/a") {
		t.Errorf("output does not name the target:\n%s", out.Output)
	}
}

// TestLoadTestSeries: the latency per second is returned as numbers too
// (a series in seconds the report draws), with the thresholds of the
// task's latency gates as marks; the per-second table says it is that
// series written out.
func TestLoadTestSeries(t *testing.T) {
	srv := startLoadTarget(t, nil)
	p95, err := plan.ParseThreshold("< 2s", plan.UnitSeconds)
	if err != nil {
		t.Fatal(err)
	}
	errRate, err := plan.ParseThreshold("< 1%", plan.UnitRatio)
	if err != nil {
		t.Fatal(err)
	}
	run := &loadRun{gates: []plan.Gate{{Metric: "http.latency.p95", Pass: p95}, {Metric: "http.errors.rate", Pass: errRate}}}
	out, err := run.run(t, map[string]any{"targets": targets(srv.URL), "rate": "50/s", "duration": "2s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Series) != 1 {
		t.Fatalf("series %+v, want the latency per second", out.Series)
	}
	s := out.Series[0]
	if s.Unit != plan.UnitSeconds || len(s.X) != 2 || len(s.Lines) != 3 || s.Lines[1].Name != "p95" {
		t.Fatalf("series %+v, want p50, p95 and p99 in seconds for 2 seconds", s)
	}
	for _, l := range s.Lines {
		for _, v := range l.Values {
			if len(l.Values) != len(s.X) || v <= 0 || v > 1 {
				t.Errorf("line %s: %v, want a loopback latency per second", l.Name, l.Values)
			}
		}
	}
	if len(s.Marks) != 1 || s.Marks[0].Value != 2 || s.Marks[0].Name != "http.latency.p95 < 2s" {
		t.Errorf("marks %+v, want the p95 gate's threshold only", s.Marks)
	}
	if tab := tableOf(t, out, "Per second"); tab.Kind != plan.TableSeries {
		t.Errorf("per-second table kind %q, want %q", tab.Kind, plan.TableSeries)
	}
	if tab := tableOf(t, out, "Load test"); tab.Kind != plan.TableSummary {
		t.Errorf("summary table kind %q, want %q", tab.Kind, plan.TableSummary)
	}
}

// TestLoadTestCharts: with an artifact directory, the test draws its
// latency over time and its latency histogram as SVG files.
func TestLoadTestCharts(t *testing.T) {
	srv := startLoadTarget(t, nil)
	dir := t.TempDir()
	out, err := (&loadRun{artifactDir: dir}).run(t, map[string]any{
		"targets": targets(srv.URL), "rate": "50/s", "duration": "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Artifacts) != 2 {
		t.Fatalf("artifacts %+v, want 2 charts", out.Artifacts)
	}
	for _, a := range out.Artifacts {
		// Named relative to the run's artifact directory, where it is.
		if a.MediaType != "image/svg+xml" || filepath.IsAbs(a.Path) {
			t.Errorf("artifact %+v", a)
		}
		data, err := os.ReadFile(filepath.Join(dir, a.Path))
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(data, new(struct{ XMLName xml.Name })); err != nil || !strings.HasPrefix(string(data), "<svg") {
			t.Errorf("%s is not an SVG document: %v", filepath.Base(a.Path), err)
		}
	}
	if svg, _ := os.ReadFile(filepath.Join(dir, out.Artifacts[0].Path)); strings.Count(string(svg), "<polyline") != 3 {
		t.Errorf("latency chart lacks its p50, p95 and p99 lines")
	}
}

// TestLoadTestNothingAnswers: when every request fails, the task fails
// without a retry, with what it measured.
func TestLoadTestNothingAnswers(t *testing.T) {
	srv := startLoadTarget(t, nil)
	url := srv.URL
	srv.Close()
	_, err := runTask(t, map[string]any{"targets": targets(url), "rate": "20/s", "duration": "1s"})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "every request failed (connection refused)")
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("error %v is retryable", err)
	}
	got, ok := taskrun.OutputOf(err)
	if !ok || got.Metrics["http.errors.rate"] != 1 || got.Metrics["http.requests"] < 10 {
		t.Errorf("output %+v, want the failed requests measured", got)
	}
}

// TestLoadTestInvalidParams: what validation would refuse is refused by
// the activity too, without a retry and without a request.
func TestLoadTestInvalidParams(t *testing.T) {
	srv := startLoadTarget(t, nil)
	tests := []struct {
		name string
		with map[string]any
		want string
	}{
		{"no model", map[string]any{"targets": targets(srv.URL), "duration": "1s"}, "give rate"},
		{"two models", map[string]any{"targets": targets(srv.URL), "duration": "1s", "rate": "1/s", "users": 2}, "only one of"},
		{"no duration", map[string]any{"targets": targets(srv.URL), "rate": "1/s"}, "duration: required"},
		{"zero weights", map[string]any{"targets": []any{map[string]any{"url": srv.URL, "weight": 0.0}}, "rate": "1/s", "duration": "1s"}, "weights add up to 0"},
		{"missing body file", map[string]any{"targets": []any{map[string]any{"url": srv.URL, "bodyFile": "no/such/file"}}, "rate": "1/s", "duration": "1s"}, "bodyFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runTask(t, tt.with)
			tasktest.MustKind(t, err, tasktest.Invalid, tt.want)
		})
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("invalid tests sent %d requests", n)
	}
}

// TestLoadTestExamplePlan: the runnable example validates against the
// registry, and a target outside its allowed hosts is refused before
// anything runs, with its position.
func TestLoadTestExamplePlan(t *testing.T) {
	file := filepath.Join("..", "..", "examples", "plans", "loadtest.yaml")
	p, err := plan.Load(file, all.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, tk, ok := p.Task("perf", "api-load"); !ok || tk.Uses != loadtest.Name || len(tk.Gates) != 3 || !tk.Gates[1].AbortOnFail {
		t.Errorf("example task %+v", tk)
	}
	_, err = plan.Load(file, all.Catalog(), map[string]string{"target": "https://shop.example.com/"})
	if err == nil || !strings.Contains(err.Error(), `loadtest.yaml:25:29: phases[0].tasks[0].with.targets[0].url: host "shop.example.com" is not allowed`) {
		t.Errorf("a target outside allowedHosts: %v", err)
	}
	_, err = plan.Load(file, all.Catalog(), map[string]string{"rate": "5000/s"})
	if err == nil || !strings.Contains(err.Error(), "rate 5000/s is above spec.limits.maxRate (2000/s)") {
		t.Errorf("a rate above maxRate: %v", err)
	}
}

// TestLoadTestRedirectsStayOnAllowedHosts: a redirect to a host the
// task's allow-list does not name is not followed and counts as an error;
// one to an allowed host is followed.
func TestLoadTestRedirectsStayOnAllowedHosts(t *testing.T) {
	other := startLoadTarget(t, nil)
	elsewhere := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := startLoadTarget(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, elsewhere+"/landed", http.StatusFound)
			return
		}
		http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
	})
	runner := tasktest.Runner{Types: []task.Type{loadtest.New(slog.New(slog.DiscardHandler), nil).Type()}, AllowedHosts: []string{"127.0.0.1"}}

	out, err := runner.Run(t, loadtest.Name, map[string]any{"targets": targets(srv.URL + "/near"), "rate": "20/s", "duration": "500ms"})
	tasktest.MustKind(t, err, tasktest.None)
	if out.Metrics["http.errors.count"] != 0 || other.requests.Load() == 0 {
		t.Fatalf("allowed redirect: %v errors, %d requests reached the other server", out.Metrics["http.errors.count"], other.requests.Load())
	}

	reached := other.requests.Load()
	_, err = runner.Run(t, loadtest.Name, map[string]any{"targets": targets(srv.URL + "/away"), "rate": "20/s", "duration": "500ms"})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "every request failed", "refused", "localhost")
	if n := other.requests.Load(); n != reached {
		t.Errorf("%d requests followed the redirect to localhost", n-reached)
	}
}

// TestLoadTestPrivateCAAndClientCert: caFile trusts a private CA and
// clientCert/clientKey answer a server that asks for a certificate.
func TestLoadTestPrivateCAAndClientCert(t *testing.T) {
	ca := testpki.MustCA(t, "private")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	srv.TLS = ca.ServerTLS(ca.MustServer("server"), true)
	srv.StartTLS()
	defer srv.Close()
	client := ca.MustClient("load")

	out, err := runTask(t, map[string]any{"targets": targets(srv.URL), "rate": "20/s", "duration": "500ms",
		"caFile": ca.CertFile, "clientCert": client.CertFile, "clientKey": client.KeyFile})
	tasktest.MustKind(t, err, tasktest.None)
	if out.Metrics["http.errors.count"] != 0 || out.Metrics["http.requests"] == 0 {
		t.Fatalf("metrics %v, want requests without errors", out.Metrics)
	}
	_, err = runTask(t, map[string]any{"targets": targets(srv.URL), "rate": "20/s", "duration": "500ms", "caFile": ca.CertFile})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "every request failed")
	_, err = runTask(t, map[string]any{"targets": targets(srv.URL), "rate": "20/s", "duration": "500ms", "clientCert": client.CertFile})
	tasktest.MustKind(t, err, tasktest.Invalid, "clientCert is set without clientKey")
}
