package workflows_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

// The onFailure phase runs when the run fails, last, and leaves the
// verdict as it was; it does not run when the run passes.
func TestOnFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		latency float64
		runs    bool
	}{
		{"a failed run runs it", 5, true},
		{"a passed run does not", 0.1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("deploy/roll", reports(map[string]float64{"latency": tc.latency}))
			h.on("roll-back/notify", reports(map[string]float64{}))
			key := gateBelow("latency", 0.2, 0, 1)
			key.Key = true
			p := newPlan(phase("deploy", nil, planTask("roll", "http-check", key)))
			onFailure := phase("roll-back", nil, planTask("notify", "command"))
			p.Spec.OnFailure = &onFailure

			res := h.mustRun(workflows.ReadinessInput{Plan: p})

			if got := h.callCount("roll-back/notify"); (got == 1) != tc.runs {
				t.Fatalf("notify ran %d times, want it run: %v", got, tc.runs)
			}
			last := res.Phases[len(res.Phases)-1]
			if !tc.runs {
				if last.Name == "roll-back" || res.Result != plan.StatusPass {
					t.Errorf("phases %v, result %s: want pass without roll-back", statuses(res), res.Result)
				}
				return
			}
			if last.Name != "roll-back" || last.Status != plan.StatusPass {
				t.Errorf("last phase %s %s, want roll-back pass: %v", last.Name, last.Status, statuses(res))
			}
			if res.Result != plan.StatusFail || res.Error == "" {
				t.Errorf("result %s %q, want fail with the key gate's reason", res.Result, res.Error)
			}
		})
	}
}
