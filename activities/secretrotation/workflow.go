package secretrotation

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
)

// rollbackOptions: a rollback must happen, so it retries for as long as
// the task's grace allows, and runs even when the rotation is cancelled.
var rollbackOptions = workflow.ActivityOptions{
	ActivityID:             "rollback",
	StartToCloseTimeout:    2 * time.Minute,
	ScheduleToCloseTimeout: taskrun.UndoGrace - time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// SecretRotation runs a secret-rotation task: create, set, test, finish.
// Each step is an idempotent activity keyed by the rotation (a worker
// killed at any step resumes and completes or rolls back); any failure
// before finish — a step that keeps failing, the test, cancellation, the
// task's timeout — rolls back on a disconnected context, so the resource
// and the store never disagree. Only references travel through here.
func SecretRotation(ctx workflow.Context, in task.Input) (task.Output, error) {
	started := workflow.Now(ctx)
	step := RotationStep{Task: in, ID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	out := task.Output{Metrics: map[string]float64{"rotation.steps": 0, "rotation.rolled_back": 0}, Attempt: 1}
	var lines []string

	work, cancelWork := workflow.WithCancel(ctx)
	timedOut := false
	if in.Timeout > 0 {
		workflow.Go(work, func(c workflow.Context) {
			if workflow.NewTimer(c, in.Timeout).Get(c, nil) == nil {
				timedOut = true
				cancelWork()
			}
		})
	}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = taskrun.DefaultTimeout
	}
	actx := workflow.WithActivityOptions(work, workflow.ActivityOptions{
		StartToCloseTimeout: min(timeout, 5*time.Minute),
		RetryPolicy:         taskrun.RetryPolicy(in.Retry),
		WaitForCancellation: true,
	})

	failed := ""
	var err error
	for _, s := range []struct{ name, activity string }{
		{"create", RotateCreate},
		{"set", RotateSet},
		{"test", RotateTest},
		{"finish", RotateFinish},
	} {
		var res RotationResult
		if err = workflow.ExecuteActivity(actx, s.activity, step).Get(work, &res); err != nil {
			failed = s.name
			break
		}
		out.Metrics["rotation.steps"]++
		if age, ok := res.Metrics["secret.age"]; ok {
			out.Metrics["secret.age"] = age
		}
		lines = append(lines, s.name+": "+res.Message)
	}
	if err != nil && timedOut && ctx.Err() == nil {
		err = fmt.Errorf("the rotation did not finish within its timeout (%s)", in.Timeout)
	}
	// A create that failed may still have stored its version (the worker
	// died after the write): roll back whenever the rotation did not finish.
	if err != nil {
		undo, _ := workflow.NewDisconnectedContext(ctx)
		undo = workflow.WithActivityOptions(undo, rollbackOptions)
		var res RotationResult
		if rerr := workflow.ExecuteActivity(undo, RotateRollback, step).Get(undo, &res); rerr != nil {
			lines = append(lines, "rollback failed: "+taskrun.CauseMessage(rerr))
		} else {
			out.Metrics["rotation.rolled_back"] = 1
			lines = append(lines, "rollback: "+res.Message)
		}
	}
	out.Metrics["rotation.duration"] = workflow.Now(ctx).Sub(started).Seconds()
	if err == nil {
		if in.Params.Object("resource").String("kind") == ResourceJWTKey {
			lines = append(lines, retire(ctx, step, rotationOverlap(in.Params), out.Metrics)...)
		}
	}
	out.Output = strings.Join(lines, "\n")
	switch {
	case ctx.Err() != nil && err != nil:
		return out, temporal.NewCanceledError(out)
	case err != nil:
		msg := failed + ": " + taskrun.CauseMessage(err)
		if failed == "test" {
			return out, taskrun.AppError(task.CheckFailed(out, "%s", msg))
		}
		return out, temporal.NewNonRetryableApplicationError(msg, task.ErrTaskFailed, nil, out)
	}
	return out, nil
}

// rotationOverlap is how long a rotated JWT signing key's predecessor
// stays published after the new key is current; 0 for other resources.
func rotationOverlap(p task.Params) time.Duration {
	r := p.Object("resource")
	if r.String("kind") != ResourceJWTKey {
		return 0
	}
	return r.Duration("overlap")
}

// retire waits out the overlap on a durable timer (a worker restart or
// a Temporal restart does not shorten or restart it), then leaves only
// the current key in the JWKS. Cancelled during the overlap, it retires
// nothing: the old key stays published, which is safe, until the next
// rotation retires it.
func retire(ctx workflow.Context, step RotationStep, overlap time.Duration, metrics map[string]float64) []string {
	start := workflow.Now(ctx)
	metrics["rotation.overlap"] = 0
	if overlap > 0 {
		if err := workflow.NewTimer(ctx, overlap).Get(ctx, nil); err != nil {
			return []string{"retire: cancelled during the overlap; the old key stays in the JWKS until the next rotation"}
		}
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var res RotationResult
	if err := workflow.ExecuteActivity(actx, RotateRetire, step).Get(ctx, &res); err != nil {
		return []string{"retire failed: " + taskrun.CauseMessage(err)}
	}
	metrics["rotation.overlap"] = workflow.Now(ctx).Sub(start).Seconds()
	return []string{fmt.Sprintf("retire (after %s): %s", overlap, res.Message)}
}
