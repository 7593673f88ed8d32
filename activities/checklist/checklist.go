// Package checklist declares the checklist task type: manual items, each
// confirmed by a person or a bot. The engine runs it (Manual): it waits for
// confirmations by signal, as it waits for approvals.
package checklist

import (
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the manual checklist task type.
const Name = "checklist"

// Decl is run by the workflow, not an activity: each item is
// confirmed by a signal, like an approval.
var Decl = plan.TaskType{
	Name:    Name,
	Summary: "Manual items (\"store listing reviewed\"), each confirmed by a person or a bot with `starter confirm`.",
	Manual:  true,
	Timeout: 24 * time.Hour,
	Params: []plan.Param{
		{Name: "items", Type: plan.TypeStringList, Required: true, Doc: "The items to confirm."},
		{Name: "timeout", Type: plan.TypeDuration, Default: "24h", Doc: "How long to wait for confirmations; items not confirmed by then count as not done."},
	},
	Metrics: []plan.Metric{
		{Name: "checklist.done_ratio", Unit: plan.UnitRatio, Doc: "Confirmed items / all items."},
		{Name: "checklist.items", Unit: plan.UnitCount, Doc: "Number of items."},
	},
}

// Type is the checklist task type: a declaration only, the engine runs it.
func Type() task.Type { return task.Type{Decl: Decl} }
