package activities_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities"
	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
)

// taskRun is one task activity run in Temporal's activity test environment,
// registered the way the worker registers it, so heartbeats, the activity
// context and error conversion behave as in production.
type taskRun struct {
	acts *activities.Activities
	// ctx, when set, is the worker's background context: cancelling it
	// cancels the activity.
	ctx context.Context
	// artifactDir, when set, is the run's artifact directory.
	artifactDir string

	mu         sync.Mutex
	heartbeats []activities.Progress
}

// Heartbeats returns the progress recorded so far.
func (r *taskRun) Heartbeats() []activities.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]activities.Progress(nil), r.heartbeats...)
}

// run executes task type uses with params as the plan would pass them:
// the declared defaults filled in for what with leaves out.
func (r *taskRun) run(t testing.TB, uses string, with map[string]any) (activities.TaskOutput, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	if r.ctx != nil {
		env.SetWorkerOptions(worker.Options{BackgroundActivityContext: r.ctx})
	}
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p activities.Progress
		if err := details.Get(&p); err != nil {
			t.Errorf("heartbeat details: %v", err)
			return
		}
		r.mu.Lock()
		r.heartbeats = append(r.heartbeats, p)
		r.mu.Unlock()
	})
	acts := r.acts
	if acts == nil {
		acts = &activities.Activities{}
	}
	if acts.Logger == nil {
		acts.Logger = slog.New(slog.DiscardHandler)
	}
	taskrun.RegisterActivities(env, acts.Types(), taskrun.Options{Events: acts.Events, Logger: acts.Logger})

	val, err := env.ExecuteActivity(uses, activities.TaskInput{
		RunID: "test-run", Plan: "test", Phase: "phase", Task: t.Name(), Uses: uses,
		Params: withDefaults(t, uses, with), ArtifactDir: r.artifactDir,
	})
	if err != nil {
		return activities.TaskOutput{}, err
	}
	var out activities.TaskOutput
	if err := val.Get(&out); err != nil {
		t.Fatalf("decode task output: %v", err)
	}
	return out, nil
}

// runTask runs a task type once with a default Activities value.
func runTask(t testing.TB, uses string, with map[string]any) (activities.TaskOutput, error) {
	t.Helper()
	return (&taskRun{}).run(t, uses, with)
}

// withDefaults copies with and fills in the declared defaults, as the plan
// does before a task runs.
func withDefaults(t testing.TB, uses string, with map[string]any) activities.Params {
	t.Helper()
	decl, ok := all.Catalog()[uses]
	if !ok {
		t.Fatalf("task type %q is not registered", uses)
	}
	params := activities.Params{}
	for k, v := range with {
		if _, ok := decl.Param(k); !ok {
			t.Fatalf("task type %s has no parameter %q", uses, k)
		}
		params[k] = v
	}
	for _, p := range decl.Params {
		if _, set := params[p.Name]; !set && p.Default != nil {
			params[p.Name] = p.Default
		}
	}
	return params
}

// errKind says how the workflow will treat a task error.
type errKind string

const (
	errNone        errKind = "none"
	errCheckFailed errKind = "check failed"
	errInvalid     errKind = "invalid params"
	errRetryable   errKind = "retryable"
)

func kindOf(err error) errKind {
	if err == nil {
		return errNone
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return errKind("other: " + err.Error())
	}
	switch {
	case appErr.Type() == activities.ErrCheckFailed:
		return errCheckFailed
	case appErr.Type() == activities.ErrInvalidParams && appErr.NonRetryable():
		return errInvalid
	case !appErr.NonRetryable():
		return errRetryable
	}
	return errKind("non-retryable " + appErr.Type())
}

// mustKind fails the test unless err is of the wanted kind and its
// message holds every fragment.
func mustKind(t testing.TB, err error, want errKind, fragments ...string) {
	t.Helper()
	if got := kindOf(err); got != want {
		t.Fatalf("error kind = %s, want %s (error: %v)", got, want, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

// outputOf returns the output of a successful run or of a CheckFailed error.
func outputOf(t testing.TB, out activities.TaskOutput, err error) activities.TaskOutput {
	t.Helper()
	if err == nil {
		return out
	}
	o, ok := activities.OutputOf(err)
	if !ok {
		t.Fatalf("error carries no task output: %v", err)
	}
	return o
}

// mustMetrics checks metrics against want within tolerance, and that the
// metrics named in absent are not reported.
func mustMetrics(t testing.TB, got map[string]float64, want map[string]float64, tolerance float64, absent ...string) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("metric %s not reported (metrics: %v)", name, got)
			continue
		}
		if math.Abs(g-w) > tolerance {
			t.Errorf("metric %s = %v, want %v ± %v", name, g, w, tolerance)
		}
	}
	for _, name := range absent {
		if v, ok := got[name]; ok {
			t.Errorf("metric %s = %v reported, want it absent", name, v)
		}
	}
}
