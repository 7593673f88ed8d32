package workflows_test

import (
	"slices"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

func needing(t plan.Task, needs ...string) plan.Task {
	t.Needs = needs
	return t
}

// A task starts when the tasks it needs have finished, not before, while
// tasks without needs start at once.
func TestPhaseStartsTasksByTheirNeeds(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"build", "bundle", "lint", "publish"} {
		h.on("p/"+name, pass)
	}
	p := newPlan(phase("p", nil,
		needing(planTask("publish", "http-check", gateBelow("latency", 0.2, 0, 1)), "bundle", "lint"),
		needing(planTask("bundle", "http-check", gateBelow("latency", 0.2, 0, 1)), "build"),
		planTask("build", "http-check", gateBelow("latency", 0.2, 0, 1)),
		planTask("lint", "http-check", gateBelow("latency", 0.2, 0, 1)),
	))

	res := h.mustRun(workflows.ReadinessInput{Plan: p})

	steps := h.steps()
	at := func(kind, task string) int { return slices.Index(steps, step{kind, "p/" + task}) }
	for _, order := range [][2]string{{"build", "bundle"}, {"bundle", "publish"}, {"lint", "publish"}} {
		if end, start := at("end", order[0]), at("start", order[1]); end < 0 || start < 0 || end > start {
			t.Errorf("%s started before %s ended: journal %v", order[1], order[0], steps)
		}
	}
	if res.Result != plan.StatusPass {
		t.Errorf("result %s (%s), want pass: %v", res.Result, res.Error, statuses(res))
	}
}

// A task whose need blocks it (a key gate failed) is skipped, shown as not
// run, and the phase that ran is failed, not skipped.
func TestPhaseSkipsTasksABlockedNeedStops(t *testing.T) {
	h := newHarness(t)
	h.on("p/build", reports(map[string]float64{"latency": 5}))
	h.on("p/lint", pass)
	key := gateBelow("latency", 0.2, 0, 1)
	key.Key = true
	p := newPlan(phase("p", nil,
		planTask("build", "http-check", key),
		needing(planTask("bundle", "http-check", gateBelow("latency", 0.2, 0, 1)), "build"),
		planTask("lint", "http-check", gateBelow("latency", 0.2, 0, 1)),
	))

	res := h.mustRun(workflows.ReadinessInput{Plan: p})

	if n := h.callCount("p/bundle"); n != 0 {
		t.Errorf("bundle ran %d times, want 0", n)
	}
	bundle := mustTask(t, res, "p", "bundle")
	if bundle.Status != plan.StatusSkipped || !bundle.SkippedInPhase || bundle.Reason == "" {
		t.Errorf("bundle %s (in phase %v, %q), want skipped with a reason", bundle.Status, bundle.SkippedInPhase, bundle.Reason)
	}
	if g := bundle.Gates[0]; g.Status != plan.StatusSkipped {
		t.Errorf("bundle's gate %s, want skipped", g.Status)
	}
	if ph := mustPhase(t, res, "p"); ph.Status != plan.StatusFail {
		t.Errorf("phase %s, want fail (a key gate failed; the phase ran)", ph.Status)
	}
	if res.NotRun == 0 {
		t.Errorf("notRun 0, want the skipped gate's share")
	}
}
