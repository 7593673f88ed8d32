package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/plan"
)

// Registry is where workflows are registered: a worker, a replayer or a
// test environment.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// engine is the engine's workflows, bound to the task types a worker
// knows: the phase workflow runs a task as the declaration of its type
// says (an activity, a child workflow of the type's name, or items
// confirmed by signal), and names no task type itself.
type engine struct {
	types plan.Catalog
}

// Register registers the engine's workflows under their names:
// Readiness, ReadinessPhase and EventRelay. Task types register their own
// workflows and activities (taskrun.Register).
func Register(r Registry, types plan.Catalog) {
	e := engine{types: types}
	r.RegisterWorkflowWithOptions(Readiness, workflow.RegisterOptions{Name: ReadinessName})
	r.RegisterWorkflowWithOptions(e.Phase, workflow.RegisterOptions{Name: PhaseName})
	r.RegisterWorkflowWithOptions(taskrun.EventRelay, workflow.RegisterOptions{Name: EventRelayName})
}

// TaskWorkflowID is the workflow ID of the child workflow that runs a task
// of a task-workflow type.
func TaskWorkflowID(runID, phase, task string) string {
	return runID + "/task/" + phase + "/" + task
}
