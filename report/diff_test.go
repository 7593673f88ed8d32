package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
)

func twoRuns() (*plan.RunResult, *plan.RunResult) {
	lat, lat2 := 0.120, 0.310
	before := &plan.RunResult{Plan: "api", RunID: "api-1", Result: plan.StatusPass, Score: 100, Phases: []plan.PhaseResult{{
		Name: "perf", Tasks: []plan.TaskResult{
			{Name: "load", Metrics: map[string]float64{"http.latency.p95": lat, "http.requests": 1000, "http.errors": 0},
				Gates: []plan.GateResult{{Metric: "http.latency.p95", Pass: "< 200ms", Status: plan.StatusPass, Key: true, Value: &lat}}},
			{Name: "old", Metrics: map[string]float64{"x": 1}},
		}}}}
	after := &plan.RunResult{Plan: "api", RunID: "api-2", Result: plan.StatusFail, Score: 50, Phases: []plan.PhaseResult{{
		Name: "perf", Tasks: []plan.TaskResult{
			{Name: "load", Metrics: map[string]float64{"http.latency.p95": lat2, "http.requests": 1004, "http.errors": 3},
				Gates: []plan.GateResult{{Metric: "http.latency.p95", Pass: "< 200ms", Status: plan.StatusFail, Key: true, Value: &lat2}}},
			{Name: "new", Metrics: map[string]float64{"y": 1}},
		}}}}
	return before, after
}

// TestCompare: a gate that changed state, the metrics that moved (the
// biggest relative move first, a move from zero last), the ones that
// hardly moved counted, tasks only one run has listed.
func TestCompare(t *testing.T) {
	c := report.Compare(twoRuns())
	if c.ScoreDelta != -50 || len(c.Gates) != 1 || c.Gates[0].Before != plan.StatusPass || c.Gates[0].After != plan.StatusFail || !c.Gates[0].Key {
		t.Fatalf("score delta %v, gates %+v", c.ScoreDelta, c.Gates)
	}
	if len(c.Metrics) != 2 || c.Metrics[0].Metric != "http.latency.p95" || c.Metrics[1].Metric != "http.errors" || c.Metrics[1].Change != nil {
		t.Fatalf("metrics %+v: want latency (+158%%) then errors (from 0)", c.Metrics)
	}
	if c.Unchanged != 1 || len(c.OnlyBefore) != 1 || c.OnlyBefore[0] != "perf/old" || len(c.OnlyAfter) != 1 || c.OnlyAfter[0] != "perf/new" {
		t.Fatalf("unchanged %d, only before %v, only after %v", c.Unchanged, c.OnlyBefore, c.OnlyAfter)
	}
	var b bytes.Buffer
	if err := report.DiffText(&b, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"api-1 PASS (score 100) → api-2 FAIL (score 50), -50 points", "http.latency.p95 of perf/load (key): pass → fail",
		"http.latency.p95 of perf/load: 120ms → 310ms (+158.3%)", "http.errors of perf/load: 0 → 3 (from 0)", "Only in api-2: perf/new"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("diff does not say %q:\n%s", want, b.String())
		}
	}
}
