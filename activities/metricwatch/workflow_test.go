package metricwatch_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/plan"
)

// parent starts a metric-watch task workflow as the phase does, as a
// child with the task's Input alone, and returns its result.
func parent(ctx workflow.Context, in task.Input) (task.Output, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "task-watch"})
	var out task.Output
	err := workflow.ExecuteChildWorkflow(ctx, metricwatch.Name, in).Get(ctx, &out)
	return out, err
}

// longWatch is what a long watch through the test environment counted.
type longWatch struct {
	out        task.Output
	err        error
	samples    int
	timers     int
	runs       int
	stateBytes int
}

// runLong runs a watch of duration at interval as the phase's child in
// the time-skipping test environment, each sample's value from value
// (given the time since the start).
func runLong(tb testing.TB, with map[string]any, value func(since time.Duration) metricwatch.Sample) longWatch {
	tb.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(10 * time.Minute)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(parent, workflow.RegisterOptions{Name: "parent"})
	taskrun.RegisterWorkflows(env, []task.Type{{Decl: metricwatch.Decl, Workflow: metricwatch.Workflow}})
	var lw longWatch
	env.RegisterActivityWithOptions(func(ctx context.Context, in metricwatch.SampleInput) (metricwatch.Sample, error) {
		lw.samples++
		s := value(in.At.Sub(start))
		s.At = in.At
		return s, nil
	}, activity.RegisterOptions{Name: metricwatch.SampleActivity})
	env.SetOnTimerScheduledListener(func(string, time.Duration) { lw.timers++ })
	types := task.Catalog([]task.Type{{Decl: metricwatch.Decl}})
	in := task.Input{RunID: "run", Plan: "p", Phase: "ph", Task: "watch", Uses: metricwatch.Name,
		Params: tasktest.WithDefaults(tb, types, metricwatch.Name, with), Timeout: 8 * 24 * time.Hour}
	env.ExecuteWorkflow("parent", in)
	if !env.IsWorkflowCompleted() {
		tb.Fatal("watch did not complete")
	}
	if lw.err = env.GetWorkflowError(); lw.err != nil {
		lw.out, _ = taskrun.OutputOf(lw.err)
	} else if err := env.GetWorkflowResult(&lw.out); err != nil {
		tb.Fatal(err)
	}
	return lw
}

// TestLongWatchContinuesAsNew: a 12-hour watch at one-minute intervals
// (721 samples) continues as new every SamplesPerRun samples, still
// returns its result to the phase, and its metrics cover every sample:
// ten bad minutes in the sixth hour are ten failed samples.
func TestLongWatchContinuesAsNew(t *testing.T) {
	lw := runLong(t, map[string]any{"url": "http://prometheus:9090", "query": "error_ratio", "mode": "watch",
		"interval": "1m", "duration": "12h", "threshold": "< 0.05", "failureLimit": 20},
		func(since time.Duration) metricwatch.Sample {
			if since >= 6*time.Hour && since < 6*time.Hour+10*time.Minute {
				return metricwatch.Sample{Value: 0.2}
			}
			return metricwatch.Sample{Value: 0.01}
		})
	if lw.err != nil {
		t.Fatalf("watch: %v", lw.err)
	}
	tasktest.MustMetrics(t, lw.out.Metrics, map[string]float64{
		metricwatch.MetricSamples: 721, metricwatch.MetricFailed: 10, metricwatch.MetricStreak: 10,
		metricwatch.MetricMin: 0.01, metricwatch.MetricMax: 0.2, metricwatch.MetricLast: 0.01, metricwatch.MetricP95: 0.01,
		metricwatch.MetricMean: (711*0.01 + 10*0.2) / 721,
	}, 1e-9)
	if lw.samples != 721 || lw.timers != 720 {
		t.Errorf("%d samples, %d timers: want 721 activities and a timer between each", lw.samples, lw.timers)
	}
	if !strings.Contains(lw.out.Output, "continued as new 3 times") {
		t.Errorf("output %q: want 3 continue-as-new (721 samples, %d a run)", lw.out.Output, metricwatch.SamplesPerRun)
	}
	// 721 samples are more than the series keeps: two to a point.
	if s := lw.out.Series; len(s) != 1 || len(s[0].X) != 361 || len(s[0].Lines) != 3 || len(lw.out.Tables[0].Rows) != 361 ||
		lw.out.Tables[0].Title != "Samples, 2 to a row" {
		t.Errorf("want a series (min, mean, max) and a table of the 721 samples two to a row")
	}
}

// TestLongWatchStopsEarly: a failed sample past failureLimit ends a long
// watch at once, across continue-as-new.
func TestLongWatchStopsEarly(t *testing.T) {
	lw := runLong(t, map[string]any{"url": "http://prometheus:9090", "query": "error_ratio", "mode": "watch",
		"interval": "1m", "duration": "24h", "threshold": "< 0.05"},
		func(since time.Duration) metricwatch.Sample {
			if since == 5*time.Hour {
				return metricwatch.Sample{Empty: true}
			}
			return metricwatch.Sample{Value: 0.01}
		})
	tasktest.MustKind(t, lw.err, tasktest.CheckFailed, "1 of 301 samples failed", "no data")
	if lw.samples != 301 {
		t.Errorf("%d samples, want the watch stopped at the 301st", lw.samples)
	}
}

// TestStateStaysSmall: the state carried across continue-as-new of a
// 7-day watch stays small.
func TestStateStaysSmall(t *testing.T) {
	var st metricwatch.Stats
	start := time.Now()
	for i := range 7 * 24 * 60 {
		st.Add(metricwatch.Sample{At: start.Add(time.Duration(i) * time.Minute), Value: float64(i%100) / 1000}, time.Duration(i)*time.Minute, metricwatch.Rules{})
	}
	b, err := json.Marshal(metricwatch.State{Started: start, Next: 10080, Stats: st})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 128<<10 {
		t.Errorf("state of a 7-day watch is %d bytes, want under 128 KiB", len(b))
	}
	if p95 := st.Quantile(0.95); p95 < 0.094*0.995 || p95 > 0.094*1.005 {
		t.Errorf("p95 = %v, want 0.094 within 0.5 %%", p95)
	}
	if len(st.Points) > 720 {
		t.Errorf("%d points, want at most 720", len(st.Points))
	}
}

// TestValidation: what validation refuses before a run starts, each
// error naming its field.
func TestValidation(t *testing.T) {
	catalog := task.Catalog([]task.Type{metricwatch.New(metricwatch.Config{}).Type()})
	for _, tc := range []struct {
		name, task string
		want       []string
	}{
		{"interval longer than duration", `with: {url: "http://p:9090", query: up, mode: watch, interval: 10m, duration: 5m}`,
			[]string{"with.interval", "longer than duration"}},
		{"watch longer than the timeout", `timeout: 1h
          with: {url: "http://p:9090", query: up, mode: watch, interval: 1m, duration: 24h}`,
			[]string{"timeout", "shorter than the 24h0m0s the task runs for (with.duration)"}},
		{"watch longer than the default timeout", `with: {url: "http://p:9090", query: up, mode: watch, duration: 1h}`,
			[]string{"timeout", "is 10m0s"}},
		{"no query", `with: {url: "http://p:9090"}`, []string{"with.query", "required"}},
		{"no url", `with: {query: up}`, []string{"with.url", "required"}},
		{"bad threshold", `with: {url: "http://p:9090", query: up, threshold: "about 3"}`, []string{"with.threshold"}},
		{"slo in watch mode", `with: {url: "http://p:9090", mode: watch, slo: {good: "a[{{.window}}]", total: "b[{{.window}}]", objective: "99.9%"}}`,
			[]string{"with.mode", "slo"}},
		{"slo without window placeholder", `with: {url: "http://p:9090", slo: {good: "a", total: "b[{{.window}}]", objective: "99.9%"}}`,
			[]string{"with.slo.good", "{{.window}}"}},
		{"slo objective", `with: {url: "http://p:9090", slo: {good: "a[{{.window}}]", total: "b[{{.window}}]", objective: "120%"}}`,
			[]string{"with.slo.objective"}},
		{"credential not a reference", `with: {url: "http://p:9090", query: up, bearerToken: "s3cr3t"}`,
			[]string{"with.bearerToken", "secret reference"}},
		{"window step", `with: {url: "http://p:9090", query: up, mode: window, window: 30d, step: 1s}`, []string{"with.window"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: t}
spec:
  phases:
    - name: p
      tasks:
        - name: w
          uses: metric-watch
          ` + tc.task + "\n"
			_, err := plan.Parse("plan.yaml", []byte(doc), catalog, nil)
			if err == nil {
				t.Fatal("plan accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
