package command_test

import (
	"context"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/command"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
)

// The helpers the tests of this package share, on top of tasktest.
type errKind = tasktest.Kind

const (
	errNone        = tasktest.None
	errCheckFailed = tasktest.CheckFailed
	errInvalid     = tasktest.Invalid
	errRetryable   = tasktest.Retryable
)

var (
	mustKind    = tasktest.MustKind
	outputOf    = tasktest.OutputOf
	mustMetrics = tasktest.MustMetrics
	_           = context.Background
)

// runTask runs one command task with with as its parameters.
func runTask(t testing.TB, _ string, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, command.New(nil, nil).Type(), with)
}
