package taskrun

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Defaults for plans that leave task policies out; the plan parser fills
// them from the task type, these only guard against zero values.
const (
	DefaultTimeout  = 10 * time.Minute
	DefaultAttempts = 3
	// UndoGrace is how long a task workflow may take, past its task's
	// timeout, to undo what it made before the server stops it.
	UndoGrace = 30 * time.Minute
)

// RetryPolicy is a task's retry policy, defaults in place of zero values.
func RetryPolicy(r plan.Retry) *temporal.RetryPolicy {
	retry := &temporal.RetryPolicy{
		InitialInterval:    r.InitialInterval.Std(),
		BackoffCoefficient: r.Backoff,
		MaximumInterval:    r.MaxInterval.Std(),
		MaximumAttempts:    int32(r.MaxAttempts),
	}
	if retry.MaximumAttempts <= 0 {
		retry.MaximumAttempts = DefaultAttempts
	}
	if retry.InitialInterval <= 0 {
		retry.InitialInterval = time.Second
	}
	if retry.BackoffCoefficient < 1 {
		retry.BackoffCoefficient = 2
	}
	if retry.MaximumInterval < retry.InitialInterval {
		retry.MaximumInterval = max(time.Minute, retry.InitialInterval)
	}
	return retry
}

// CauseMessage says why a task failed in the words of whoever failed it:
// the activity's own message, without the ActivityError around it nor the
// "(type: CheckFailed, retryable: true)" that ApplicationError.Error adds,
// or which of its timeouts expired.
func CauseMessage(err error) string {
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		msg := fmt.Sprintf("%s timeout", timeout.TimeoutType())
		if cause := timeout.Unwrap(); cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
			msg += ": " + CauseMessage(cause)
		}
		return msg
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if cause := appErr.Unwrap(); cause != nil {
			return appErr.Message() + ": " + CauseMessage(cause)
		}
		return appErr.Message()
	}
	if te, ok := task.AsError(err); ok {
		return te.Message
	}
	for next := errors.Unwrap(err); next != nil; next = errors.Unwrap(err) {
		err = next
	}
	return err.Error()
}

// OutputOf extracts the task.Output a task error carries, if any: the
// metrics of a CheckFailed error, the attempt of every task error.
func OutputOf(err error) (task.Output, bool) {
	if te, ok := task.AsError(err); ok {
		if te.Output == nil {
			return task.Output{}, false
		}
		return *te.Output, true
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.HasDetails() {
		return task.Output{}, false
	}
	var out task.Output
	if appErr.Details(&out) != nil {
		return task.Output{}, false
	}
	return out, true
}

// AppError turns a task error into the Temporal application error that
// crosses to the engine: its type and retryability kept, the output it
// measured in its details. Other errors pass unchanged. Task workflows
// return their failures through it.
func AppError(err error) error {
	te, ok := task.AsError(err)
	if !ok {
		return err
	}
	var details []any
	if te.Output != nil {
		details = append(details, *te.Output)
	}
	return temporal.NewApplicationErrorWithOptions(te.Message, te.Type, temporal.ApplicationErrorOptions{
		NonRetryable: te.NonRetryable,
		Details:      details,
	})
}
