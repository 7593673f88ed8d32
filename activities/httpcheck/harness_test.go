package httpcheck_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/activities/httpcheck"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
)

// runTask runs one httpcheck task with with as its parameters.
func runTask(t testing.TB, _ string, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, httpcheck.New(nil, nil).Type(), with)
}
