package secretrotation_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/secretrotation"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/internal/secretref"
)

// runRotation runs SecretRotation with its steps replaced by recorders
// (the real steps are tested against PostgreSQL in secretrotation_test.go): fail
// makes a step fail, once (then succeed) when transient.
func runRotation(t *testing.T, fail map[string]error, transient bool) (task.Output, error, string) {
	return runRotationOf(t, nil, fail, transient, 0)
}

// runRotationOf runs a rotation with params, cancelled after cancelAfter
// (of workflow time) when that is not zero.
func runRotationOf(t *testing.T, params task.Params, fail map[string]error, transient bool, cancelAfter time.Duration) (task.Output, error, string) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "run-1/task/rotate/db", TaskQueue: "shipshape"})
	taskrun.RegisterWorkflows(env, []task.Type{secretrotation.New(secretref.Stores{}).Type()})
	var mu sync.Mutex
	var calls []string
	failed := map[string]bool{}
	for _, name := range []string{secretrotation.RotateCreate, secretrotation.RotateSet, secretrotation.RotateTest, secretrotation.RotateFinish, secretrotation.RotateRollback, secretrotation.RotateRetire} {
		short := strings.TrimPrefix(name, "secret-rotation.")
		env.RegisterActivityWithOptions(func(ctx context.Context, s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, short)
			if s.ID != "run-1/task/rotate/db" {
				t.Errorf("step ID %q", s.ID)
			}
			if err := fail[short]; err != nil && !(transient && failed[short]) {
				failed[short] = true
				return secretrotation.RotationResult{}, err
			}
			r := secretrotation.RotationResult{Message: short + " done"}
			if short == "create" {
				r.Metrics = map[string]float64{"secret.age": 86400}
			}
			return r, nil
		}, activity.RegisterOptions{Name: name})
	}
	if cancelAfter > 0 {
		env.RegisterDelayedCallback(env.CancelWorkflow, cancelAfter)
	}
	env.ExecuteWorkflow(secretrotation.SecretRotation, task.Input{RunID: "run-1", Phase: "rotate", Task: "db", Uses: secretrotation.Name, Timeout: time.Hour, Params: params})
	var out task.Output
	err := env.GetWorkflowError()
	if err == nil {
		err = env.GetWorkflowResult(&out)
	} else if o, ok := taskrun.OutputOf(err); ok {
		out = o
	}
	return out, err, strings.Join(calls, ",")
}

func TestSecretRotationFinishes(t *testing.T) {
	out, err, calls := runRotation(t, nil, false)
	if err != nil || calls != "create,set,test,finish" {
		t.Fatalf("%v, steps %s", err, calls)
	}
	if out.Metrics["rotation.steps"] != 4 || out.Metrics["secret.age"] != 86400 || out.Metrics["rotation.rolled_back"] != 0 {
		t.Fatalf("metrics %v", out.Metrics)
	}
}

// TestSecretRotationRollsBackAtEachStep: whichever step fails for good,
// the rotation rolls back once and says which step failed.
func TestSecretRotationRollsBackAtEachStep(t *testing.T) {
	for _, step := range []string{"create", "set", "test", "finish"} {
		t.Run(step, func(t *testing.T) {
			out, err, calls := runRotation(t, map[string]error{step: temporal.NewNonRetryableApplicationError("boom", "X", nil)}, false)
			if err == nil || !strings.HasPrefix(causeOf(err), step+": boom") {
				t.Fatalf("err %v", err)
			}
			if !strings.HasSuffix(calls, step+",rollback") || strings.Count(calls, "rollback") != 1 {
				t.Fatalf("steps %s", calls)
			}
			if out.Metrics["rotation.rolled_back"] != 1 {
				t.Fatalf("metrics %v", out.Metrics)
			}
		})
	}
}

// TestSecretRotationResumesAfterTransientFailures: a step that fails once
// (a worker lost mid-step) is retried and the rotation completes without
// rolling back.
func TestSecretRotationResumesAfterTransientFailures(t *testing.T) {
	boom := errors.New("worker lost")
	_, err, calls := runRotation(t, map[string]error{"create": boom, "set": boom, "test": boom, "finish": boom}, true)
	if err != nil || calls != "create,create,set,set,test,test,finish,finish" {
		t.Fatalf("%v, steps %s", err, calls)
	}
}

func causeOf(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

// A JWT signing key's rotation waits out the overlap on a durable timer
// after finish, then retires the old key; the timer is not bounded by
// the task's timeout (an hour here, the overlap a day).
func TestSecretRotationJWTRetiresAfterOverlap(t *testing.T) {
	params := task.Params{"resource": map[string]any{"kind": secretrotation.ResourceJWTKey, "overlap": "24h"}}
	out, err, calls := runRotationOf(t, params, nil, false, 0)
	if err != nil || calls != "create,set,test,finish,retire" {
		t.Fatalf("%v, steps %s", err, calls)
	}
	if out.Metrics["rotation.overlap"] != 86400 || !strings.Contains(out.Output, "retire (after 24h0m0s): retire done") {
		t.Fatalf("metrics %v, output %q", out.Metrics, out.Output)
	}
}

// Cancelled during the overlap, the rotation stands (the new key is
// current) and retires nothing: the old key stays published.
func TestSecretRotationJWTCancelledDuringOverlap(t *testing.T) {
	params := task.Params{"resource": map[string]any{"kind": secretrotation.ResourceJWTKey, "overlap": "24h"}}
	out, err, calls := runRotationOf(t, params, nil, false, 2*time.Hour)
	if calls != "create,set,test,finish" || out.Metrics["rotation.rolled_back"] != 0 || out.Metrics["rotation.overlap"] != 0 {
		t.Fatalf("%v, steps %s, metrics %v", err, calls, out.Metrics)
	}
	if !strings.Contains(out.Output, "old key stays in the JWKS") {
		t.Fatalf("output %q", out.Output)
	}
}
