package taskrun_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/plan"
)

// A worker with file roots refuses a task whose file parameters point
// outside them — /etc/passwd, a ../ escape, a symbolic link out — before
// the task runs (issue 21, finding 9); inside them, the task runs.
func TestFileRoots(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "cover.out"), []byte("mode: set\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	ran := 0
	typ := task.Type{
		Decl: plan.TaskType{Name: "reader", Params: []plan.Param{
			{Name: "files", Type: plan.TypeStringList, Safety: plan.SafetyFile},
			{Name: "dir", Type: plan.TypeString, Safety: plan.SafetyFile},
		}},
		Run: func(context.Context, task.Input) (task.Output, error) { ran++; return task.Output{}, nil },
	}
	for _, tt := range []struct {
		name string
		with task.Params
		ok   bool
	}{
		{"inside", task.Params{"files": []any{filepath.Join(root, "cover.out")}}, true},
		{"a glob inside", task.Params{"files": []any{filepath.Join(root, "**", "*.out")}}, true},
		{"relative to dir", task.Params{"dir": root, "files": []any{"cover.out"}}, true},
		{"/etc/passwd", task.Params{"files": []any{"/etc/passwd"}}, false},
		{"escape with ..", task.Params{"dir": root, "files": []any{"../../etc/passwd"}}, false},
		{"a dir outside", task.Params{"dir": "/etc", "files": []any{"passwd"}}, false},
		{"a link out", task.Params{"files": []any{filepath.Join(root, "link", "secret")}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			taskrun.RegisterActivities(env, []task.Type{typ}, taskrun.Options{Logger: slog.New(slog.DiscardHandler), FileRoots: []string{root}})
			before := ran
			_, err := env.ExecuteActivity("reader", task.Input{Uses: "reader", Params: tt.with})
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), "outside the worker's file roots")):
				t.Fatalf("err = %v, want it refused as outside the file roots", err)
			case !tt.ok && ran != before:
				t.Fatal("the task ran")
			}
		})
	}
}
