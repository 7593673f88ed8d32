package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

// bigPlan is a valid plan of phases × tasks http-check tasks with a gate each.
func bigPlan(phases, tasks int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: shipshape.dev/v1\nkind: ReadinessPlan\nmetadata: {name: big}\nspec:\n  vars: {base: \"http://127.0.0.1:8080\"}\n  phases:\n")
	for p := range phases {
		fmt.Fprintf(&b, "    - name: p%d\n", p)
		if p > 0 {
			fmt.Fprintf(&b, "      needs: [p%d]\n", p-1)
		}
		b.WriteString("      tasks:\n")
		for t := range tasks {
			fmt.Fprintf(&b, "        - name: t%d\n          uses: http-check\n          with: {url: \"${vars.base}/health/%d\"}\n          gates: [{metric: http.latency, pass: \"< 200ms\", warning: \"< 1s\"}]\n", t, t)
		}
	}
	return []byte(b.String())
}

func benchCatalog() plan.Catalog {
	return plan.NewCatalog(plan.TaskType{
		Name:    "http-check",
		Params:  []plan.Param{{Name: "url", Type: plan.TypeString, Required: true}, {Name: "expectStatus", Type: plan.TypeInt, Default: 200.0}},
		Metrics: []plan.Metric{{Name: "http.latency", Unit: plan.UnitSeconds}},
	})
}

// BenchmarkParse1000Tasks parses and validates a plan of 10 phases × 100
// tasks, the size the workflow is measured at (see docs/benchmarks.md).
func BenchmarkParse1000Tasks(b *testing.B) {
	data := bigPlan(10, 100)
	cat := benchCatalog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := plan.Parse("big.yaml", data, cat, nil)
		if err != nil || p.TaskCount() != 1000 {
			b.Fatalf("parse: %v", err)
		}
	}
}

// BenchmarkScore1000Gates scores a finished run of 1,000 gated tasks.
func BenchmarkScore1000Gates(b *testing.B) {
	v := 0.1
	r := &plan.RunResult{Scoring: plan.Scoring{Pass: 90, Warning: 75}}
	for p := range 10 {
		ph := plan.PhaseResult{Name: fmt.Sprint(p), Status: plan.StatusPass}
		for t := range 100 {
			ph.Tasks = append(ph.Tasks, plan.TaskResult{Name: fmt.Sprint(t), Status: plan.StatusPass,
				Gates: []plan.GateResult{{Metric: "http.latency", Value: &v, Status: plan.StatusPass, Weight: 1}}})
		}
		r.Phases = append(r.Phases, ph)
	}
	b.ReportAllocs()
	for b.Loop() {
		if s, _, _ := plan.Score(r); s != 100 {
			b.Fatal(s)
		}
	}
}
