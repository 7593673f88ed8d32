package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/workflows"
)

// historyFile names a recorded history after its workflow ID; phase
// workflow IDs derive from the run's, so replay needs the original ID.
func historyFile(workflowID string) string {
	return strings.ReplaceAll(workflowID, "/", "__") + ".json"
}

// workflowNames collects the names workflows.Register registers.
type workflowNames []string

func (n *workflowNames) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	*n = append(*n, o.Name)
}

// TestReplay replays the recorded histories (make replay-record; see
// TestRecordHistories for the runs) against the current workflow code: a
// change that breaks determinism fails here, before it breaks runs in
// flight. Every registered workflow type must have a history. Histories
// of earlier code, kept under testdata/histories/archive/<date>/ when the
// corpus is re-recorded, are replayed too: runs started before a
// versioned change must still replay on the old path.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	archived, err := filepath.Glob(filepath.Join("testdata", "histories", "archive", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, archived...)
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories: run make replay-record")
	}
	recorded := map[string]bool{}
	for _, f := range files {
		name, _ := filepath.Rel(filepath.Join("testdata", "histories"), f)
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			workflows.Register(r, all.Catalog())
			taskrun.RegisterWorkflows(r, all.Types(all.Config{}))
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			h, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(h.GetEvents()) == 0 {
				t.Fatal("empty history")
			}
			recorded[h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()] = true
			id := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(f), ".json"), "__", "/")
			err = r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: id},
			})
			if err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
	var registered workflowNames
	workflows.Register(&registered, all.Catalog())
	taskrun.RegisterWorkflows(&registered, all.Types(all.Config{}))
	for _, name := range registered {
		if !recorded[name] {
			t.Errorf("no recorded history of workflow type %s: add a run to TestRecordHistories and re-record", name)
		}
	}
}
