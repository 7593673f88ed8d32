package coverage_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/activities/coverage"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
)

// runTask runs one coverage task with with as its parameters.
func runTask(t testing.TB, _ string, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, coverage.New(nil).Type(), with)
}
