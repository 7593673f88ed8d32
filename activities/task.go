// Package activities holds the task types not yet moved into packages of
// their own under activities/<type>/; they speak the contract of package
// task through the aliases below.
package activities

import (
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
)

// Aliases of the contract, for the task types still in this package.
type (
	TaskInput  = task.Input
	TaskOutput = task.Output
	Progress   = task.Progress
	Params     = task.Params
)

// Error types of the contract.
const (
	ErrCheckFailed   = task.ErrCheckFailed
	ErrInvalidParams = task.ErrInvalidParams
	ErrTaskFailed    = task.ErrTaskFailed
)

// CheckFailed returns the error of a task whose check did not hold, with
// the output it measured.
func CheckFailed(out TaskOutput, format string, args ...any) error {
	return task.CheckFailed(out, format, args...)
}

// InvalidParams returns a non-retryable error for parameters that cannot work.
func InvalidParams(format string, args ...any) error {
	return task.InvalidParams(format, args...)
}

// OutputOf extracts the TaskOutput a task error carries, if any.
func OutputOf(err error) (TaskOutput, bool) { return taskrun.OutputOf(err) }

// progress is the reporter of one task run's progress.
func (a *Activities) progress(in TaskInput) *taskrun.Progress {
	return taskrun.NewProgress(a.Events, a.logger(), in)
}
