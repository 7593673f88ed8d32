package workflows_test

import (
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

// A phase whose when is false is skipped, not run, and says why; one
// whose when is true runs.
func TestPhaseWhen(t *testing.T) {
	h := newHarness(t)
	h.on("build/compile", pass)
	h.on("staging/smoke", pass)
	p := newPlan(
		phase("build", nil, planTask("compile", "http-check", gateBelow("latency", 0.2, 0, 1))),
		phase("staging", []string{"build"}, planTask("smoke", "http-check", gateBelow("latency", 0.2, 0, 1))),
		phase("prod", []string{"build"}, planTask("rollout", "http-check", gateBelow("latency", 0.2, 0, 1))),
	)
	p.Spec.Vars = map[string]string{"env": "staging"}
	p.Spec.Phases[1].When = `vars.env == "staging" && phases.build.status == "pass"`
	p.Spec.Phases[2].When = `vars.env == "prod"`

	res := h.mustRun(workflows.ReadinessInput{Plan: p})

	if n := h.callCount("prod/rollout"); n != 0 {
		t.Errorf("prod/rollout ran %d times, want 0", n)
	}
	prod := mustPhase(t, res, "prod")
	if prod.Status != plan.StatusSkipped || !strings.Contains(prod.Reason, "is false") {
		t.Errorf("prod %s %q, want skipped because its when is false", prod.Status, prod.Reason)
	}
	if g := prod.Tasks[0].Gates[0]; g.Status != plan.StatusSkipped {
		t.Errorf("prod's gate %s, want skipped (not run)", g.Status)
	}
	if st := mustPhase(t, res, "staging").Status; st != plan.StatusPass {
		t.Errorf("staging %s, want pass", st)
	}
}

// A task's when reads the metrics of a task it needs.
func TestTaskWhen(t *testing.T) {
	h := newHarness(t)
	h.on("p/coverage", reports(map[string]float64{"latency": 0.1, "coverage.total": 0.6}))
	h.on("p/bundle", pass)
	h.on("p/lint", pass)
	bundle := needing(planTask("bundle", "http-check", gateBelow("latency", 0.2, 0, 1)), "coverage")
	bundle.When = `tasks.coverage.metrics["coverage.total"] >= 0.8`
	lint := needing(planTask("lint", "http-check", gateBelow("latency", 0.2, 0, 1)), "coverage")
	lint.When = `tasks.coverage.metrics["coverage.total"] >= 0.5`
	broken := needing(planTask("broken", "http-check", gateBelow("latency", 0.2, 0, 1)), "coverage")
	broken.When = `tasks.coverage.metrics["coverage.missing"] >= 0.5`
	p := newPlan(phase("p", nil, planTask("coverage", "http-check", gateBelow("latency", 0.2, 0, 1)), bundle, lint, broken))

	res := h.mustRun(workflows.ReadinessInput{Plan: p})

	if n := h.callCount("p/bundle"); n != 0 {
		t.Errorf("bundle ran %d times, want 0 (coverage 60%% < 80%%)", n)
	}
	if tr := mustTask(t, res, "p", "bundle"); tr.Status != plan.StatusSkipped {
		t.Errorf("bundle %s, want skipped", tr.Status)
	}
	if tr := mustTask(t, res, "p", "lint"); tr.Status != plan.StatusPass || h.callCount("p/lint") != 1 {
		t.Errorf("lint %s after %d calls, want pass after 1", tr.Status, h.callCount("p/lint"))
	}
	if tr := mustTask(t, res, "p", "broken"); tr.Status != plan.StatusError || !strings.Contains(tr.Error, "coverage.missing") {
		t.Errorf("broken %s %q, want error naming the missing metric", tr.Status, tr.Error)
	}
}
