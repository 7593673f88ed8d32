//go:build integration

package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

// TestPhaseRunsALoadTest runs the real loadtest activity in a phase
// against a loopback server that fails every other request. The first
// attempt is lost (as with a worker that died); the retry runs the whole
// test again and says so; the gate with abortOnFail reaches the activity
// and stops it early; its heartbeats carry live progress.
func TestPhaseRunsALoadTest(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	p, err := plan.Parse("load.yaml", []byte(`apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: load}
spec:
  vars: {target: "http://127.0.0.1/"}
  allowedHosts: [127.0.0.1]
  phases:
    - name: load
      tasks:
        - name: api
          uses: loadtest
          with: {targets: [{url: "${vars.target}"}], rate: 50/s, duration: 60s}
          retry: {initialInterval: 1s}
          gates:
            - {metric: http.errors.rate, pass: "< 1%", abortOnFail: true}
            - {metric: http.latency.p95, pass: "< 1s"}
`), all.Catalog(), map[string]string{"target": srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	h := newHarness(t)
	var loadTest func(context.Context, task.Input) (task.Output, error)
	for _, tt := range all.Types(all.Config{Logger: slog.New(slog.DiscardHandler)}) {
		if tt.Name() == "loadtest" {
			loadTest = tt.Run
		}
	}
	var mu sync.Mutex
	var beats []task.Progress
	h.env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p task.Progress
		if err := details.Get(&p); err == nil {
			mu.Lock()
			beats = append(beats, p)
			mu.Unlock()
		}
	})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, in task.Input) (task.Output, error) {
		attempt := int(activity.GetInfo(ctx).Attempt)
		if attempt == 1 {
			return task.Output{}, errors.New("worker lost")
		}
		out, err := loadTest(ctx, in)
		out.Attempt = attempt
		return out, err
	}, activity.RegisterOptions{Name: "loadtest"})

	res := h.mustRun(workflows.ReadinessInput{Plan: *p})

	tr := mustTask(t, res, "load", "api")
	if tr.Attempts != 2 || !strings.Contains(tr.Output, "restarted: attempt 2 ran the whole test again") {
		t.Errorf("attempts %d, output:\n%s\nwant a second attempt that says it restarted", tr.Attempts, tr.Output)
	}
	if !strings.Contains(tr.Output, "stopped early: gate http.errors.rate < 1% failed") {
		t.Errorf("output does not say the gate stopped the test:\n%s", tr.Output)
	}
	if tr.Status != plan.StatusFail || tr.Gates[0].Status != plan.StatusFail || tr.Gates[1].Status != plan.StatusPass {
		t.Errorf("task %s, gates %+v: want the error-rate gate failed, the latency gate passed", tr.Status, tr.Gates)
	}
	if n := tr.Metrics["http.requests"]; n < 20 || n > 1000 {
		t.Errorf("http.requests = %v: want the few seconds before the abort", n)
	}
	if len(tr.Tables) < 2 || tr.Tables[1].Title != "Per second" {
		t.Errorf("tables %+v, want the summary and the per-second series", tr.Tables)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(beats) == 0 || beats[0].Metrics["http.requests"] == 0 || !strings.Contains(beats[0].Message, "requests") {
		t.Errorf("heartbeats %+v, want live progress", beats)
	}
}
