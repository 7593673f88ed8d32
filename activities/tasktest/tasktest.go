// Package tasktest runs task types in Temporal's activity test
// environment, registered the way the worker registers them (taskrun), so
// heartbeats, the activity context and error conversion behave as in
// production. Tests only: no binary imports it.
package tasktest

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

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/plan"
)

// Runner runs one task type's activities.
type Runner struct {
	// Types are the task types registered; the one named in Run must be
	// among them.
	Types []task.Type
	// Events receives progress events; nil: none.
	Events taskrun.EventPublisher
	// Ctx, when set, is the worker's background context: cancelling it
	// cancels the activity.
	Ctx context.Context
	// ArtifactDir, when set, is the run's artifact directory.
	ArtifactDir string
	// AbortOn are gates written with abortOnFail.
	AbortOn []plan.Gate
	// Gates are all the task's gates.
	Gates []plan.Gate
	// Task names the task (default "task").
	Task string
	// AllowedHosts is the task's allow-list, as the plan resolves it.
	AllowedHosts []string

	mu         sync.Mutex
	heartbeats []task.Progress
}

// Heartbeats returns the progress recorded so far.
func (r *Runner) Heartbeats() []task.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]task.Progress(nil), r.heartbeats...)
}

func (r *Runner) env(t testing.TB) *testsuite.TestActivityEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	if r.Ctx != nil {
		env.SetWorkerOptions(worker.Options{BackgroundActivityContext: r.Ctx})
	}
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p task.Progress
		if err := details.Get(&p); err != nil {
			t.Errorf("heartbeat details: %v", err)
			return
		}
		r.mu.Lock()
		r.heartbeats = append(r.heartbeats, p)
		r.mu.Unlock()
	})
	taskrun.RegisterActivities(env, r.Types, taskrun.Options{Events: r.Events, Logger: slog.New(slog.DiscardHandler)})
	return env
}

// Run executes task type uses with params as the plan would pass them:
// the declared defaults filled in for what with leaves out.
func (r *Runner) Run(t testing.TB, uses string, with map[string]any) (task.Output, error) {
	t.Helper()
	env := r.env(t)
	name := r.Task
	if name == "" {
		name = "task"
	}
	val, err := env.ExecuteActivity(uses, task.Input{
		RunID: "test-run", Plan: "test", Phase: "phase", Task: name, Uses: uses,
		Params: WithDefaults(t, task.Catalog(r.Types), uses, with), ArtifactDir: r.ArtifactDir, AbortOn: r.AbortOn,
		Gates: r.Gates, AllowedHosts: r.AllowedHosts,
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

// Step executes the activity registered as name (a task workflow's step)
// with input in, and decodes its result into out unless out is nil.
func (r *Runner) Step(t testing.TB, name string, in, out any) error {
	t.Helper()
	val, err := r.env(t).ExecuteActivity(name, in)
	if err != nil {
		return err
	}
	if out != nil {
		return val.Get(out)
	}
	return nil
}

// Run runs task type typ once.
func Run(t testing.TB, typ task.Type, with map[string]any) (task.Output, error) {
	t.Helper()
	return (&Runner{Types: []task.Type{typ}}).Run(t, typ.Name(), with)
}

// WithDefaults copies with and fills in the declared defaults, as the
// plan does before a task runs.
func WithDefaults(t testing.TB, types plan.Catalog, uses string, with map[string]any) task.Params {
	t.Helper()
	decl, ok := types[uses]
	if !ok {
		t.Fatalf("task type %q is not registered", uses)
	}
	params := task.Params{}
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

// Kind says how the workflow will treat a task error.
type Kind string

// Kinds of task errors.
const (
	None        Kind = "none"
	CheckFailed Kind = "check failed"
	Invalid     Kind = "invalid params"
	Retryable   Kind = "retryable"
)

// KindOf returns err's kind.
func KindOf(err error) Kind {
	if err == nil {
		return None
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return Kind("other: " + err.Error())
	}
	switch {
	case appErr.Type() == task.ErrCheckFailed:
		return CheckFailed
	case appErr.Type() == task.ErrInvalidParams && appErr.NonRetryable():
		return Invalid
	case !appErr.NonRetryable():
		return Retryable
	}
	return Kind("non-retryable " + appErr.Type())
}

// MustKind fails the test unless err is of the wanted kind and its
// message holds every fragment.
func MustKind(t testing.TB, err error, want Kind, fragments ...string) {
	t.Helper()
	if got := KindOf(err); got != want {
		t.Fatalf("error kind = %s, want %s (error: %v)", got, want, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

// OutputOf returns the output of a successful run or of a CheckFailed
// error.
func OutputOf(t testing.TB, out task.Output, err error) task.Output {
	t.Helper()
	if err == nil {
		return out
	}
	o, ok := taskrun.OutputOf(err)
	if !ok {
		t.Fatalf("error carries no task output: %v", err)
	}
	return o
}

// MustMetrics checks metrics against want within tolerance, and that the
// metrics named in absent are not reported.
func MustMetrics(t testing.TB, got map[string]float64, want map[string]float64, tolerance float64, absent ...string) {
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
