package task

import (
	"errors"
	"fmt"
)

// Error types: the worker turns an *Error into a Temporal application
// error of this type, with the Output in its details, so the engine can
// score what a failed task measured and tell a failed check from a broken
// task.
const (
	// ErrCheckFailed: the check ran but did not hold (an unexpected
	// status, a missing header, a non-zero exit). Retried within the
	// task's policy.
	ErrCheckFailed = "CheckFailed"
	// ErrInvalidParams: the parameters cannot work (a file that does not
	// exist, a bad URL). Never retried.
	ErrInvalidParams = "InvalidParams"
	// ErrTaskFailed: anything else (a connection refused, a file
	// unreadable). Retried.
	ErrTaskFailed = "TaskFailed"
)

// Error is a task's failure: its type, whether a retry could help, and
// what the task measured before it failed.
type Error struct {
	Type         string
	Message      string
	NonRetryable bool
	// Output is what the task measured; nil when nothing.
	Output *Output
	// Cause is the underlying error, if any.
	Cause error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// CheckFailed returns the error of a task whose check did not hold, with
// the output it measured.
func CheckFailed(out Output, format string, args ...any) error {
	return &Error{Type: ErrCheckFailed, Message: fmt.Sprintf(format, args...), Output: &out}
}

// InvalidParams returns a non-retryable error for parameters that cannot
// work.
func InvalidParams(format string, args ...any) error {
	return &Error{Type: ErrInvalidParams, Message: fmt.Sprintf(format, args...), NonRetryable: true}
}

// Failed returns a task error of type ErrTaskFailed with the output
// measured so far; final says no retry can help.
func Failed(out Output, final bool, format string, args ...any) error {
	return &Error{Type: ErrTaskFailed, Message: fmt.Sprintf(format, args...), NonRetryable: final, Output: &out}
}

// AsError returns err's *Error, if it wraps one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
