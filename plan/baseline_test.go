package plan_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

func TestParseGateThreshold(t *testing.T) {
	for _, tc := range []struct {
		name, text     string
		unit           plan.Unit
		factor, offset float64
		err            string
	}{
		{name: "factor", text: "<= baseline * 1.1", unit: plan.UnitSeconds, factor: 1.1},
		{name: "plain", text: "<= baseline", unit: plan.UnitSeconds, factor: 1},
		{name: "amount in the metric's unit", text: "< baseline + 50ms", unit: plan.UnitSeconds, factor: 1, offset: 0.05},
		{name: "amount taken away", text: ">= baseline - 5%", unit: plan.UnitRatio, factor: 1, offset: -0.05},
		{name: "a factor below 1", text: ">= baseline * 0.95", unit: plan.UnitCount, factor: 0.95},
		{name: "no factor", text: "<= baseline *", unit: plan.UnitSeconds, err: "not a plain number"},
		{name: "zero factor", text: "<= baseline * 0", unit: plan.UnitSeconds, err: "more than 0"},
		{name: "duration without unit", text: "< baseline + 50", unit: plan.UnitSeconds, err: "needs a unit"},
		{name: "division", text: "< baseline / 2", unit: plan.UnitSeconds, err: `after "baseline"`},
		{name: "no operator", text: "baseline * 2", unit: plan.UnitSeconds, err: "must start with"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, err := plan.ParseGateThreshold(tc.text, tc.unit)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseGateThreshold(%q) = %+v, %v; want an error with %q", tc.text, th, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if th.Baseline == nil || th.Baseline.Factor != tc.factor || th.Baseline.Offset != tc.offset {
				t.Fatalf("ParseGateThreshold(%q) = %+v, want factor %v offset %v", tc.text, th.Baseline, tc.factor, tc.offset)
			}
			if th.Holds(0) {
				t.Error("an unresolved relative threshold holds")
			}
			r := th.Resolve(2, "run-1")
			if want := 2*tc.factor + tc.offset; r.Value != want || r.Baseline.Run != "run-1" || th.Baseline.Value != nil {
				t.Errorf("Resolve(2) = value %v run %q (original changed: %v), want %v", r.Value, r.Baseline.Run, th.Baseline.Value != nil, want)
			}
		})
	}
	if _, err := plan.ParseThreshold("<= baseline * 2", plan.UnitSeconds); err == nil {
		t.Error("ParseThreshold (task parameters) accepted a relative threshold")
	}
}

// fakeHistory is a run history in memory.
type fakeHistory struct {
	runs []*plan.RunResult // newest first
	err  error
}

func (h fakeHistory) LastPassing(name string) (*plan.RunResult, error) {
	for _, r := range h.runs {
		if r.Plan == name && r.Result == plan.StatusPass {
			return r, h.err
		}
	}
	return nil, h.err
}

func (h fakeHistory) Get(name, id string) (*plan.RunResult, error) {
	for _, r := range h.runs {
		if r.Plan == name && r.RunID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("not in the history")
}

func pastRun(id string, result plan.Status, latency float64) *plan.RunResult {
	return &plan.RunResult{Plan: "api", RunID: id, Result: result, StartedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Phases: []plan.PhaseResult{{Name: "perf", Tasks: []plan.TaskResult{{Name: "health", Metrics: map[string]float64{"http.latency": latency}}}}}}
}

const relativePlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: api}
spec:
%s  phases:
    - name: perf
      tasks:
        - name: health
          uses: http-check
          with: {url: "http://127.0.0.1:8080/health"}
          gates:
            - metric: http.latency
              pass: "<= baseline * 1.5"
              warning: "<= baseline * 2"
%s            - metric: http.latency
              pass: "< 1s"
`

func mustRelativePlan(t *testing.T, spec, gate string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("plan.yaml", []byte(fmt.Sprintf(relativePlan, spec, gate)), testCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveBaselines(t *testing.T) {
	history := fakeHistory{runs: []*plan.RunResult{
		pastRun("api-3", plan.StatusFail, 0.9),
		pastRun("api-2", plan.StatusPass, 0.2),
		pastRun("api-1", plan.StatusPass, 0.1),
	}}
	t.Run("the last passing run", func(t *testing.T) {
		p := mustRelativePlan(t, "", "")
		if err := plan.ResolveBaselines(p, history); err != nil {
			t.Fatal(err)
		}
		g := p.Spec.Phases[0].Tasks[0].Gates[0]
		base := 0.2 // a variable: 0.2*1.5 as a constant is exactly 0.3, as a float64 product it is not
		if g.Pass.Value != base*1.5 || g.Warning.Value != 0.4 || g.Pass.Baseline.Run != "api-2" {
			t.Fatalf("pass %v %+v warning %v, want 0.3 and 0.4 from api-2", g.Pass.Value, g.Pass.Baseline, g.Warning.Value)
		}
		gates := plan.EvaluateGates(p.Spec.Phases[0].Tasks[0].Gates, map[string]float64{"http.latency": 0.35}, "")
		if gates[0].Status != plan.StatusWarning || gates[0].Baseline == nil || gates[0].Baseline.Run != "api-2" || *gates[0].Baseline.Value != 0.2 || *gates[0].Baseline.Pass != base*1.5 {
			t.Fatalf("gate = %+v (baseline %+v), want warning against api-2's 200ms", gates[0], gates[0].Baseline)
		}
	})
	t.Run("a run named by the plan, then by the gate", func(t *testing.T) {
		p := mustRelativePlan(t, "  baseline: api-1\n", "")
		if err := plan.ResolveBaselines(p, history); err != nil {
			t.Fatal(err)
		}
		if g := p.Spec.Phases[0].Tasks[0].Gates[0]; g.Pass.Baseline.Run != "api-1" {
			t.Fatalf("baseline from %s, want api-1", g.Pass.Baseline.Run)
		}
		p = mustRelativePlan(t, "  baseline: api-1\n", "              baseline: api-3\n")
		if err := plan.ResolveBaselines(p, history); err != nil {
			t.Fatal(err)
		}
		if g := p.Spec.Phases[0].Tasks[0].Gates[0]; g.Pass.Baseline.Run != "api-3" || g.Pass.Value != 1.5*pastRun("", "", 0.9).Phases[0].Tasks[0].Metrics["http.latency"] {
			t.Fatalf("baseline from %s, want api-3 (a named run need not have passed)", g.Pass.Baseline.Run)
		}
	})
	t.Run("no passing run: the gate is not run and not scored", func(t *testing.T) {
		p := mustRelativePlan(t, "", "              key: true\n")
		if err := plan.ResolveBaselines(p, fakeHistory{runs: []*plan.RunResult{pastRun("api-3", plan.StatusFail, 0.9)}}); err != nil {
			t.Fatal(err)
		}
		gates := plan.EvaluateGates(p.Spec.Phases[0].Tasks[0].Gates, map[string]float64{"http.latency": 5}, "")
		if gates[0].Status != plan.StatusSkipped || !gates[0].NoBaseline() || !strings.Contains(gates[0].Reason, "no passing run") {
			t.Fatalf("gate = %+v, want skipped for want of a baseline", gates[0])
		}
		if gates[1].Status != plan.StatusFail {
			t.Fatalf("absolute gate = %s, want fail (5s)", gates[1].Status)
		}
		r := &plan.RunResult{Scoring: plan.Scoring{Pass: 90, Warning: 75}, Phases: []plan.PhaseResult{{Name: "perf", Tasks: []plan.TaskResult{{Name: "health", Gates: gates}}}}}
		gates[1].Status = plan.StatusPass
		score, result, reason := plan.Score(r)
		if score != 100 || result != plan.StatusPass || reason != "" || plan.NotRun(r) != 0 {
			t.Fatalf("score %v %s %q not run %v; want 100 pass: the key gate without a baseline counts for nothing", score, result, reason, plan.NotRun(r))
		}
	})
	t.Run("a plan that never resolved its baselines", func(t *testing.T) {
		p := mustRelativePlan(t, "", "")
		gates := plan.EvaluateGates(p.Spec.Phases[0].Tasks[0].Gates, map[string]float64{"http.latency": 0.1}, "")
		if !gates[0].NoBaseline() || !strings.Contains(gates[0].Reason, "without its baselines resolved") {
			t.Fatalf("gate = %+v", gates[0])
		}
	})
	t.Run("the last passing run lacks the metric", func(t *testing.T) {
		old := pastRun("api-0", plan.StatusPass, 0)
		old.Phases[0].Tasks[0].Metrics = map[string]float64{}
		p := mustRelativePlan(t, "", "")
		if err := plan.ResolveBaselines(p, fakeHistory{runs: []*plan.RunResult{old}}); err != nil {
			t.Fatal(err)
		}
		gates := plan.EvaluateGates(p.Spec.Phases[0].Tasks[0].Gates, map[string]float64{"http.latency": 0.1}, "")
		if !gates[0].NoBaseline() || !strings.Contains(gates[0].Reason, "api-0 has no metric http.latency of perf/health") {
			t.Fatalf("gate = %+v", gates[0])
		}
	})
	t.Run("a named run that is not kept is an invalid plan, at its line", func(t *testing.T) {
		p := mustRelativePlan(t, "  baseline: api-9\n", "              baseline: api-8\n")
		err := plan.ResolveBaselines(p, history)
		var errs plan.Errors
		if !errors.As(err, &errs) || len(errs) != 1 {
			t.Fatalf("err = %v, want one plan error", err)
		}
		want := "plan.yaml:16:25: phases[0].tasks[0].gates[0].baseline: baseline run api-8 of plan api: not in the history"
		if errs[0].Error() != want {
			t.Fatalf("error\n%s\nwant\n%s", errs[0], want)
		}
		p = mustRelativePlan(t, "  baseline: api-9\n", "")
		err = plan.ResolveBaselines(p, history)
		if err == nil || !strings.Contains(err.Error(), "plan.yaml:5:13: baseline: baseline run api-9") {
			t.Fatalf("err = %v, want one at spec.baseline", err)
		}
	})
	t.Run("a named run that lacks the metric is an invalid plan", func(t *testing.T) {
		old := pastRun("api-0", plan.StatusPass, 0)
		old.Phases[0].Tasks[0].Metrics = nil
		p := mustRelativePlan(t, "", "              baseline: api-0\n")
		err := plan.ResolveBaselines(p, fakeHistory{runs: []*plan.RunResult{old}})
		if err == nil || !strings.Contains(err.Error(), "baseline run api-0 has no metric http.latency of perf/health") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a history that cannot be read", func(t *testing.T) {
		p := mustRelativePlan(t, "", "")
		if err := plan.ResolveBaselines(p, fakeHistory{err: errors.New("disk on fire")}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("err = %v", err)
		}
	})
}
