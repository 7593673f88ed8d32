package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/workflows"
)

// TestReplay replays recorded histories of the example plans (make
// replay-record) against the current workflow code: a change that breaks
// determinism fails here, before it breaks runs in flight.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories: run make replay-record")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Readiness, workflow.RegisterOptions{Name: workflows.ReadinessName})
			r.RegisterWorkflowWithOptions(workflows.Phase, workflow.RegisterOptions{Name: workflows.PhaseName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
