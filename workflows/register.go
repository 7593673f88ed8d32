package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities"
)

// Registry is where workflows are registered: a worker, a replayer or a
// test environment.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// taskWorkflows lists the task types a child workflow runs rather than a
// single activity, by task type name: their steps need orchestration of
// their own (a saga that always tears down, a durable timer). Each one's
// declaration in activities says Workflow: true, its workflow takes an
// activities.TaskInput and returns an activities.TaskOutput, and fails,
// like a task activity, with an error whose details hold that output.
// Adding one is one line here.
func taskWorkflows() map[string]any {
	return map[string]any{
		activities.RestoreDrillType:   RestoreDrill,
		activities.SecretRotationType: SecretRotation,
	}
}

// Register registers every Shipshape workflow under its name: Readiness,
// ReadinessPhase, EventRelay and the task workflows.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(Readiness, workflow.RegisterOptions{Name: ReadinessName})
	r.RegisterWorkflowWithOptions(Phase, workflow.RegisterOptions{Name: PhaseName})
	r.RegisterWorkflowWithOptions(EventRelay, workflow.RegisterOptions{Name: EventRelayName})
	for name, fn := range taskWorkflows() {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
}

// TaskWorkflowID is the workflow ID of the child workflow that runs a task
// of a task-workflow type.
func TaskWorkflowID(runID, phase, task string) string {
	return runID + "/task/" + phase + "/" + task
}
