package metricwatch_test

import (
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/prometheus"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/promtest"
	"github.com/shipshape-dev/shipshape/internal/secretref"
	"github.com/shipshape-dev/shipshape/plan"
)

// run runs a metric-watch task's Workflow in Temporal's test environment
// with the real activities, its clock starting at start (zero: now), and
// returns its output and error.
func run(t *testing.T, start time.Time, with map[string]any, gates ...plan.Gate) (task.Output, error) {
	t.Helper()
	return runWith(t, metricwatch.Config{}, start, with, gates...)
}

// runWith is run with the activities' configuration.
func runWith(t *testing.T, cfg metricwatch.Config, start time.Time, with map[string]any, gates ...plan.Gate) (task.Output, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	if !start.IsZero() {
		env.SetStartTime(start)
	}
	env.SetTestTimeout(2 * time.Minute)
	types := []task.Type{metricwatch.New(cfg).Type()}
	taskrun.Register(env, types, taskrun.Options{})
	in := task.Input{RunID: "test-run", Plan: "test", Phase: "phase", Task: "watch", Uses: metricwatch.Name,
		Params: tasktest.WithDefaults(t, task.Catalog(types), metricwatch.Name, with), Gates: gates,
		Retry: plan.Retry{MaxAttempts: 2, InitialInterval: plan.Duration(time.Second)}}
	for _, g := range gates {
		if g.AbortOnFail {
			in.AbortOn = append(in.AbortOn, g)
		}
	}
	env.ExecuteWorkflow(metricwatch.Name, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		out, _ := taskrun.OutputOf(err)
		return out, err
	}
	var out task.Output
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

func gate(t *testing.T, metric, threshold string, abort bool) plan.Gate {
	t.Helper()
	th, err := plan.ParseThreshold(threshold, plan.UnitAny)
	if err != nil {
		t.Fatal(err)
	}
	return plan.Gate{Metric: metric, Pass: th, AbortOnFail: abort}
}

// TestWatchAgainstPrometheus: a real Prometheus scrapes an exporter whose
// error ratio is fine for four seconds and then goes bad; a watch over
// those seconds (its clock set back to their start, so it samples what
// Prometheus recorded at each second) fails on the samples after the
// change, and stops at once by default.
func TestWatchAgainstPrometheus(t *testing.T) {
	exp := promtest.NewExporter(t)
	exp.Set("app_error_ratio", 0.001)
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "app_error_ratio")
	time.Sleep(1500 * time.Millisecond)
	t0 := time.Now().Truncate(time.Second)
	time.Sleep(4 * time.Second)
	exp.Set("app_error_ratio", 0.5)
	time.Sleep(6 * time.Second) // t0+~10s: the bad value scraped for 4s or more

	// Which second Prometheus first saw the bad value at (a loaded
	// machine scrapes late): the samples from it on fail.
	client, err := prometheus.New(prometheus.Config{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	flip := -1
	for k := 0; k <= 8 && flip < 0; k++ {
		series, err := client.Query(context.Background(), "app_error_ratio", t0.Add(time.Duration(k)*time.Second))
		if err != nil || len(series) != 1 {
			t.Fatalf("query at t0+%ds: %v %v", k, series, err)
		}
		if series[0].Points[0].Value == 0.5 {
			flip = k
		}
	}
	if flip < 2 || flip > 7 {
		t.Fatalf("Prometheus saw the change at t0+%ds: want 2 to 7 (the machine is too slow for this test)", flip)
	}
	bad := float64(9 - flip) // samples at t0+flip … t0+8

	base := map[string]any{"url": prom.URL, "query": "app_error_ratio", "mode": "watch",
		"interval": "1s", "duration": "8s", "threshold": "< 10%", "unit": "ratio"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	t.Run("stops at the first failed sample", func(t *testing.T) {
		out, err := run(t, t0, with(nil))
		tasktest.MustKind(t, err, tasktest.CheckFailed, "app_error_ratio", "failureLimit")
		m := out.Metrics
		if m[metricwatch.MetricFailed] != 1 || m[metricwatch.MetricSamples] != float64(flip+1) {
			t.Errorf("samples %v, failed %v: want the watch stopped at its first failed sample, the %dth", m[metricwatch.MetricSamples], m[metricwatch.MetricFailed], flip+1)
		}
		tasktest.MustMetrics(t, m, map[string]float64{metricwatch.MetricMin: 0.001, metricwatch.MetricMax: 0.5, metricwatch.MetricLast: 0.5}, 1e-9)
		if len(out.Series) != 1 || len(out.Series[0].Marks) != 1 || out.Series[0].Marks[0].Value != 0.1 || len(out.Tables) != 1 {
			t.Errorf("series %+v, tables %d: want the samples with the threshold marked, and a table", out.Series, len(out.Tables))
		}
	})

	t.Run("consecutive failures", func(t *testing.T) {
		out, err := run(t, t0, with(map[string]any{"failureLimit": 10, "consecutiveFailureLimit": 3}))
		tasktest.MustKind(t, err, tasktest.CheckFailed, "3 samples in a row failed")
		tasktest.MustMetrics(t, out.Metrics, map[string]float64{metricwatch.MetricFailed: 3, metricwatch.MetricStreak: 3, metricwatch.MetricSamples: float64(flip + 3)}, 0)
	})

	t.Run("whole watch, failures tolerated", func(t *testing.T) {
		out, err := run(t, t0, with(map[string]any{"failureLimit": 10}))
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		m := out.Metrics
		if m[metricwatch.MetricSamples] != 9 || m[metricwatch.MetricFailed] != bad || m[metricwatch.MetricStreak] != bad {
			t.Errorf("metrics %v: want 9 samples, the last %v failed in one streak", m, bad)
		}
		if p95 := m[metricwatch.MetricP95]; p95 != 0.5 {
			t.Errorf("p95 = %v, want 0.5", p95)
		}
	})

	t.Run("abortOnFail gate", func(t *testing.T) {
		// The gate stops the watch and fails on its own, with its value:
		// not an error of the task.
		out, err := run(t, t0, with(map[string]any{"failureLimit": 10, "threshold": ""}),
			gate(t, metricwatch.MetricMax, "< 0.2", true), gate(t, metricwatch.MetricMean, "< 0.2", true))
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if m := out.Metrics; m[metricwatch.MetricMax] != 0.5 || m[metricwatch.MetricSamples] != float64(flip+1) || !strings.Contains(out.Output, "gate watch.max < 0.2 failed with 0.5") {
			t.Errorf("metrics %v, output %q: want the watch stopped at the first 0.5", m, out.Output)
		}
	})

	t.Run("window", func(t *testing.T) {
		out, err := run(t, time.Time{}, map[string]any{"url": prom.URL, "query": "app_error_ratio", "mode": "window",
			"window": "6s", "step": "1s", "threshold": "< 0.1", "failureLimit": 100})
		if err != nil {
			t.Fatalf("window: %v", err)
		}
		if m := out.Metrics; m[metricwatch.MetricSamples] != 7 || m[metricwatch.MetricLast] != 0.5 || m[metricwatch.MetricFailed] == 0 {
			t.Errorf("metrics %v: want 7 samples, the last ones 0.5 and failed", m)
		}
	})
}

// TestEmptyResultFollowsOnEmpty: a series Prometheus never saw is an
// empty result, which fails the task by default and is never a value.
func TestEmptyResultFollowsOnEmpty(t *testing.T) {
	exp := promtest.NewExporter(t)
	exp.Set("app_up", 1)
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "app_up")
	for _, tc := range []struct {
		onEmpty string
		fails   bool
	}{{"fail", true}, {"skip", false}, {"pass", false}} {
		t.Run(tc.onEmpty, func(t *testing.T) {
			out, err := run(t, time.Time{}, map[string]any{"url": prom.URL, "query": `app_up{job="nope"}`, "onEmpty": tc.onEmpty, "threshold": "> 0"})
			if tc.fails {
				tasktest.MustKind(t, err, tasktest.CheckFailed, "no data", "onEmpty fail")
			} else if err != nil {
				t.Fatalf("onEmpty %s: %v", tc.onEmpty, err)
			}
			if _, ok := out.Metrics[metricwatch.MetricLast]; ok || out.Metrics[metricwatch.MetricEmpty] != 1 {
				t.Errorf("metrics %v: want one empty result and no value", out.Metrics)
			}
		})
	}
	t.Run("watch, series gone stale", func(t *testing.T) {
		exp.Set("app_gone", 1)
		prom.WaitFor(t, "app_gone")
		exp.Delete("app_gone")
		time.Sleep(2500 * time.Millisecond) // scraped without it: stale
		out, err := run(t, time.Time{}, map[string]any{"url": prom.URL, "query": "app_gone", "mode": "watch", "interval": "1s", "duration": "2s", "onEmpty": "skip"})
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if m := out.Metrics; m[metricwatch.MetricEmpty] != 3 || m[metricwatch.MetricFailed] != 0 {
			t.Errorf("metrics %v: want 3 empty results, skipped", m)
		}
	})
}

// TestBadInput: an invalid expression, several series and a source that
// is down are task errors naming the query or the endpoint.
func TestBadInput(t *testing.T) {
	exp := promtest.NewExporter(t)
	exp.Set(`app_requests{code="200"}`, 1)
	exp.Set(`app_requests{code="500"}`, 1)
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "app_requests")

	_, err := run(t, time.Time{}, map[string]any{"url": prom.URL, "query": "sum(app_requests"})
	tasktest.MustKind(t, err, tasktest.Invalid, `query "sum(app_requests"`, "invalid query")

	_, err = run(t, time.Time{}, map[string]any{"url": prom.URL, "query": "app_requests"})
	tasktest.MustKind(t, err, tasktest.Invalid, "gives 2 series", `code="500"`, "aggregate")

	down := "http://127.0.0.1:1"
	_, err = run(t, time.Time{}, map[string]any{"url": down, "query": "up"})
	if err == nil || !strings.Contains(err.Error(), down) || !strings.Contains(err.Error(), "query failed") {
		t.Errorf("source down: %v, want an error naming %s", err, down)
	}

	// A watch counts query errors apart, and fails past queryErrorLimit.
	out, err := run(t, time.Time{}, map[string]any{"url": down, "query": "up", "mode": "watch", "interval": "10s", "duration": "1m", "queryErrorLimit": 2})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTaskFailed || !strings.Contains(err.Error(), "queryErrorLimit (2)") {
		t.Errorf("watch of a source down: %v, want TaskFailed naming queryErrorLimit", err)
	}
	if out.Metrics[metricwatch.MetricQueryErrors] != 3 || out.Metrics[metricwatch.MetricFailed] != 0 {
		t.Errorf("metrics %v: want 3 query errors, no failed sample", out.Metrics)
	}
}

// TestSLOAgainstPrometheus: 1 % of requests fail against a 99.9 %
// objective: availability 99 %, the budget overspent ninefold, every
// burn rate about 10.
func TestSLOAgainstPrometheus(t *testing.T) {
	exp := promtest.NewExporter(t)
	exp.Traffic(t, map[string]float64{`http_requests_total{code="200"}`: 99, `http_requests_total{code="500"}`: 1})
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "http_requests_total")
	time.Sleep(4 * time.Second)

	slo := map[string]any{
		"good":      `sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))`,
		"total":     `sum(rate(http_requests_total[{{.window}}]))`,
		"objective": "99.9%", "window": "30d",
	}
	out, err := run(t, time.Time{}, map[string]any{"url": prom.URL, "slo": slo})
	if err != nil {
		t.Fatalf("slo: %v", err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		metricwatch.MetricAvailability: 0.99, metricwatch.MetricBudget: -9,
	}, 0.05)
	for _, w := range []string{"5m", "30m", "1h", "6h", "1h_5m", "6h_30m"} {
		if b := out.Metrics[metricwatch.MetricBurnPrefix+w]; math.Abs(b-10) > 0.5 {
			t.Errorf("burn rate over %s = %v, want about 10", w, b)
		}
	}
	if !strings.Contains(out.Output, `code!~"5.."}[30d]`) {
		t.Errorf("output %q does not show the resolved queries", out.Output)
	}

	// No traffic at all: an empty SLO fails by default.
	slo["good"] = `sum(rate(nothing_total{code="200"}[{{.window}}]))`
	slo["total"] = `sum(rate(nothing_total[{{.window}}]))`
	_, err = run(t, time.Time{}, map[string]any{"url": prom.URL, "slo": slo})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "no events over 30d")
}

// TestSampleProgress: a sample reports its value and the query it ran.
func TestSampleProgress(t *testing.T) {
	exp := promtest.NewExporter(t)
	exp.Set("app_latency_seconds", 0.25)
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "app_latency_seconds")
	types := []task.Type{metricwatch.New(metricwatch.Config{}).Type()}
	r := &tasktest.Runner{Types: types}
	in := metricwatch.SampleInput{Task: task.Input{Uses: metricwatch.Name,
		Params: tasktest.WithDefaults(t, task.Catalog(types), metricwatch.Name, map[string]any{"url": prom.URL, "query": "max(app_latency_seconds)"})},
		At: time.Now(), Seq: 3, Total: 10, Tolerate: true}
	var s metricwatch.Sample
	if err := r.Step(t, metricwatch.SampleActivity, in, &s); err != nil {
		t.Fatal(err)
	}
	if s.Value != 0.25 || s.Empty || s.Error != "" {
		t.Errorf("sample %+v, want 0.25", s)
	}
	hb := r.Heartbeats()
	if len(hb) != 1 || !strings.Contains(hb[0].Message, "sample 3/10: 0.25 · max(app_latency_seconds)") || hb[0].Metrics["watch.sample"] != 0.25 || hb[0].Done != 0.3 {
		t.Errorf("progress %+v: want the sample's value and query", hb)
	}
}

// TestAuthAndTLS: a Prometheus behind a TLS proxy with a private CA that
// wants a bearer token: the token comes from the worker's environment,
// the CA from caFile, and the token never shows in errors or output.
func TestAuthAndTLS(t *testing.T) {
	const token = "s3cr3t-token-value"
	srv := guardedPrometheus(t, true, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MW_TOKEN", token)
	t.Setenv("MW_WRONG", "wrong-"+token)
	out, err := run(t, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "bearerTokenEnv": "MW_TOKEN", "caFile": caFile})
	if err != nil || out.Metrics[metricwatch.MetricLast] != 1 {
		t.Fatalf("with token and CA: %v, %v", err, out.Metrics)
	}
	out, err = run(t, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "bearerTokenEnv": "MW_WRONG", "caFile": caFile})
	if err == nil || !strings.Contains(err.Error(), "check the bearer token") || strings.Contains(err.Error(), token) || strings.Contains(out.Output, token) {
		t.Errorf("wrong token: %v: want an error saying so, without the token", err)
	}
	_, err = run(t, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "bearerTokenEnv": "MW_TOKEN"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without caFile: %v, want a certificate error", err)
	}
	_, err = run(t, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "bearerTokenEnv": "MW_UNSET_VARIABLE"})
	tasktest.MustKind(t, err, tasktest.Invalid, "bearerTokenEnv", "MW_UNSET_VARIABLE")
}

// TestBasicAuthFromSecretReference: a Prometheus behind a proxy wanting
// basic authentication (as Grafana Cloud and Mimir gateways do): the
// password comes from a secret reference (local://) or the worker's
// environment, a bearer token from a secret reference works too, and no
// credential shows in errors or output.
func TestBasicAuthFromSecretReference(t *testing.T) {
	const user, password, token = "tenant-42", "basic-pa55word-value", "bearer-from-store-value"
	srv := guardedPrometheus(t, false, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == user && p == password || r.Header.Get("Authorization") == "Bearer "+token
	})
	dir := t.TempDir()
	store, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, v := range map[string]string{"prom-password": password, "prom-token": token, "prom-stale": "old-" + password} {
		if _, err := store.Put(ctx, name, "v1", []byte(v+"\n"), secretstore.Current); err != nil {
			t.Fatal(err)
		}
	}
	cfg := metricwatch.Config{Secrets: secretref.Stores{Dir: dir}}
	noLeak := func(what string, out task.Output, err error) {
		t.Helper()
		for _, s := range []string{password, token} {
			if err != nil && strings.Contains(err.Error(), s) || strings.Contains(out.Output, s) {
				t.Errorf("%s: a credential leaks: %v\n%s", what, err, out.Output)
			}
		}
	}

	out, err := runWith(t, cfg, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "username": user, "password": "local://prom-password"})
	noLeak("password reference", out, err)
	if err != nil || out.Metrics[metricwatch.MetricLast] != 1 {
		t.Fatalf("basic auth with a password reference: %v, %v", err, out.Metrics)
	}
	t.Setenv("MW_PROM_PASSWORD", password)
	out, err = runWith(t, cfg, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "username": user, "passwordEnv": "MW_PROM_PASSWORD"})
	noLeak("passwordEnv", out, err)
	if err != nil || out.Metrics[metricwatch.MetricLast] != 1 {
		t.Fatalf("basic auth with passwordEnv: %v, %v", err, out.Metrics)
	}
	out, err = runWith(t, cfg, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "bearerToken": "local://prom-token"})
	noLeak("bearer reference", out, err)
	if err != nil || out.Metrics[metricwatch.MetricLast] != 1 {
		t.Fatalf("bearer token reference: %v, %v", err, out.Metrics)
	}

	out, err = runWith(t, cfg, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "username": user, "password": "local://prom-stale"})
	noLeak("wrong password", out, err)
	if err == nil || !strings.Contains(err.Error(), "basic authentication") {
		t.Errorf("wrong password: %v: want an error saying the credentials were refused", err)
	}
	_, err = runWith(t, cfg, time.Time{}, map[string]any{"url": srv.URL, "query": "app_up", "username": user, "password": "local://no-such-secret"})
	if err == nil || !strings.Contains(err.Error(), "local://no-such-secret") {
		t.Errorf("missing secret: %v: want an error naming the reference", err)
	}
}

// guardedPrometheus is a real Prometheus (its app_up series set to 1)
// behind a proxy, over TLS or not, that answers 401 to requests allow
// refuses, as an authenticating gateway does.
func guardedPrometheus(t *testing.T, tls bool, allow func(*http.Request) bool) *httptest.Server {
	t.Helper()
	exp := promtest.NewExporter(t)
	exp.Set("app_up", 1)
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "app_up")
	target, _ := url.Parse(prom.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allow(r) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}
