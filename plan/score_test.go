package plan_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

func gate(status plan.Status, weight float64, key bool) plan.GateResult {
	return plan.GateResult{Metric: "m", Status: status, Weight: weight, Key: key}
}

func runOf(scoring plan.Scoring, phases ...plan.PhaseResult) *plan.RunResult {
	return &plan.RunResult{Scoring: scoring, Phases: phases}
}

func phaseOf(status plan.Status, tasks ...plan.TaskResult) plan.PhaseResult {
	return plan.PhaseResult{Name: "p", Status: status, Tasks: tasks}
}

func taskOf(status plan.Status, gates ...plan.GateResult) plan.TaskResult {
	return plan.TaskResult{Name: "t", Status: status, Gates: gates, Error: map[bool]string{true: "boom"}[status == plan.StatusError]}
}

// TestScore checks Keptn's quality-gate arithmetic and the rules that fail
// a run whatever its score.
func TestScore(t *testing.T) {
	std := plan.Scoring{Pass: 90, Warning: 75}
	cases := []struct {
		name   string
		run    *plan.RunResult
		score  float64
		result plan.Status
		reason bool
	}{
		{"no gates passes with 100", runOf(std, phaseOf(plan.StatusPass, taskOf(plan.StatusPass))), 100, plan.StatusPass, false},
		{"all pass", runOf(std, phaseOf(plan.StatusPass, taskOf(plan.StatusPass, gate(plan.StatusPass, 1, false), gate(plan.StatusPass, 2, false)))), 100, plan.StatusPass, false},
		{"a warning earns half its weight", runOf(std, phaseOf(plan.StatusWarning, taskOf(plan.StatusWarning,
			gate(plan.StatusPass, 3, false), gate(plan.StatusWarning, 1, false)))), 87.5, plan.StatusWarning, false},
		{"a failure earns nothing", runOf(std, phaseOf(plan.StatusFail, taskOf(plan.StatusFail,
			gate(plan.StatusPass, 1, false), gate(plan.StatusFail, 1, false)))), 50, plan.StatusFail, false},
		{"weights count", runOf(std, phaseOf(plan.StatusFail, taskOf(plan.StatusFail,
			gate(plan.StatusPass, 9, false), gate(plan.StatusFail, 1, false)))), 90, plan.StatusPass, false},
		{"failed key gate fails whatever the score", runOf(std, phaseOf(plan.StatusFail, taskOf(plan.StatusFail,
			gate(plan.StatusPass, 99, false), gate(plan.StatusFail, 1, true)))), 99, plan.StatusFail, true},
		// Keptn would pass this run; a key gate met only at its warning
		// threshold caps it at warning, saying which (issue 22).
		{"key gate at warning caps the run at warning", runOf(std, phaseOf(plan.StatusWarning, taskOf(plan.StatusWarning,
			gate(plan.StatusPass, 9, false), gate(plan.StatusWarning, 1, true)))), 95, plan.StatusWarning, true},
		{"key gate at warning in a warning run stays a warning", runOf(std, phaseOf(plan.StatusWarning, taskOf(plan.StatusWarning,
			gate(plan.StatusPass, 3, false), gate(plan.StatusWarning, 1, true)))), 87.5, plan.StatusWarning, false},
		{"skipped gates earn nothing", runOf(std, phaseOf(plan.StatusPass, taskOf(plan.StatusPass, gate(plan.StatusPass, 3, false))),
			phaseOf(plan.StatusSkipped, taskOf(plan.StatusSkipped, gate(plan.StatusSkipped, 1, false)))), 75, plan.StatusWarning, false},
		{"errored task without gates fails the run", runOf(std, phaseOf(plan.StatusError, taskOf(plan.StatusError))), 100, plan.StatusFail, true},
		{"rejected approval fails the run", runOf(std, phaseOf(plan.StatusPass, taskOf(plan.StatusPass, gate(plan.StatusPass, 1, false))),
			plan.PhaseResult{Name: "go-live", Status: plan.StatusRejected}), 100, plan.StatusFail, true},
		{"custom scoring", runOf(plan.Scoring{Pass: 50, Warning: 25}, phaseOf(plan.StatusFail, taskOf(plan.StatusFail,
			gate(plan.StatusPass, 1, false), gate(plan.StatusFail, 1, false)))), 50, plan.StatusPass, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			score, result, reason := plan.Score(tc.run)
			if score != tc.score || result != tc.result || (reason != "") != tc.reason {
				t.Errorf("Score = %v, %s, %q; want %v, %s, reason %v", score, result, reason, tc.score, tc.result, tc.reason)
			}
		})
	}
}

// TestScoreIsFinite checks that no weights, however large or broken, make
// a score that JSON cannot carry: a run whose score is +Inf can never
// report that it finished.
func TestScoreIsFinite(t *testing.T) {
	std := plan.Scoring{Pass: 90, Warning: 75}
	cases := []struct {
		name  string
		gates []plan.GateResult
		score float64
	}{
		{"huge weights", []plan.GateResult{gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false), gate(plan.StatusFail, 1e307, false),
			gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false),
			gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false),
			gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false),
			gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false),
			gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false), gate(plan.StatusWarning, 1e307, false),
			gate(plan.StatusPass, 1e307, false), gate(plan.StatusPass, 1e307, false)}, 92.5},
		{"the largest weights", []plan.GateResult{gate(plan.StatusPass, math.MaxFloat64, false), gate(plan.StatusFail, math.MaxFloat64, false)}, 50},
		{"an infinite weight", []plan.GateResult{gate(plan.StatusPass, math.Inf(1), false), gate(plan.StatusFail, 1, false)}, 100},
		{"weights that are not positive numbers count as 0", []plan.GateResult{gate(plan.StatusPass, 1, false),
			gate(plan.StatusFail, math.NaN(), false), gate(plan.StatusFail, -1, false), gate(plan.StatusFail, math.Inf(-1), false)}, 100},
		{"only broken weights", []plan.GateResult{gate(plan.StatusFail, math.NaN(), false)}, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := runOf(std, phaseOf(plan.StatusPass, taskOf(plan.StatusPass, tc.gates...)))
			score, _, _ := plan.Score(run)
			if score != tc.score {
				t.Errorf("Score = %v, want %v", score, tc.score)
			}
			run.Score = score
			for i := range run.Phases[0].Tasks[0].Gates {
				run.Phases[0].Tasks[0].Gates[i].Weight = 1 // JSON cannot carry the broken ones
			}
			if _, err := json.Marshal(run); err != nil {
				t.Errorf("the result cannot be encoded: %v", err)
			}
		})
	}
}

// TestEvaluateGates checks pass, warning and fail against thresholds, a
// missing metric, and a task error failing every gate.
func TestEvaluateGates(t *testing.T) {
	lat := func(pass, warn string) plan.Gate {
		p, _ := plan.ParseThreshold(pass, plan.UnitSeconds)
		g := plan.Gate{Metric: "http.latency", Pass: p, Weight: 1}
		if warn != "" {
			w, _ := plan.ParseThreshold(warn, plan.UnitSeconds)
			g.Warning = &w
		}
		return g
	}
	gates := []plan.Gate{lat("< 200ms", ""), lat("< 100ms", "< 1s"), lat("< 10ms", "< 20ms")}
	got := plan.EvaluateGates(gates, map[string]float64{"http.latency": 0.15}, "")
	want := []plan.Status{plan.StatusPass, plan.StatusWarning, plan.StatusFail}
	for i, g := range got {
		if g.Status != want[i] || g.Value == nil || *g.Value != 0.15 {
			t.Errorf("gate %d (%s): %s, want %s", i, g.Pass, g.Status, want[i])
		}
	}
	for _, g := range plan.EvaluateGates(gates, map[string]float64{}, "") {
		if g.Status != plan.StatusFail || g.Reason != "metric not reported" || g.Value != nil {
			t.Errorf("missing metric: %+v", g)
		}
	}
	for _, g := range plan.EvaluateGates(gates, map[string]float64{"http.latency": 0.001}, "connection refused") {
		if g.Status != plan.StatusFail || g.Reason != "task failed: connection refused" {
			t.Errorf("task error: %+v", g)
		}
	}
	if s := plan.TaskStatus(got, ""); s != plan.StatusFail {
		t.Errorf("TaskStatus = %s, want fail (worst gate)", s)
	}
}

// TestNotRun: the share of the weight whose gates never ran.
func TestNotRun(t *testing.T) {
	r := runOf(plan.Scoring{Pass: 90, Warning: 75},
		phaseOf(plan.StatusFail, taskOf(plan.StatusFail, gate(plan.StatusPass, 2, false), gate(plan.StatusFail, 1, false))),
		phaseOf(plan.StatusSkipped, taskOf(plan.StatusSkipped, gate(plan.StatusSkipped, 1, false))))
	if got := plan.NotRun(r); got != 25 {
		t.Errorf("NotRun = %v, want 25", got)
	}
	if got := plan.NotRun(runOf(plan.Scoring{})); got != 0 {
		t.Errorf("NotRun of a run without gates = %v, want 0", got)
	}
	skipped := plan.SkipGates([]plan.Gate{{Metric: "m", Weight: 1}}, "skipped: phase a was rejected")
	if len(skipped) != 1 || skipped[0].Status != plan.StatusSkipped || skipped[0].Reason != "skipped: phase a was rejected" {
		t.Errorf("SkipGates = %+v", skipped)
	}
}
