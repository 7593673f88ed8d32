package when_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/plan/when"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		refs    []plan.ConditionRef
		problem string
	}{
		{"names by field and index", `vars.env == "prod" && phases.build.status == "pass" && tasks["api[eu]"].metrics["x"] > 1.0`,
			[]plan.ConditionRef{{Kind: "vars", Name: "env"}, {Kind: "phases", Name: "build"}, {Kind: "tasks", Name: "api[eu]"}}, ""},
		{"in a comprehension", `[1, 2].all(x, tasks.lint.status == "pass")`, []plan.ConditionRef{{Kind: "tasks", Name: "lint"}}, ""},
		{"not a condition", `1 + 2`, nil, "must be true or false"},
		{"syntax", `tasks.a.status ==`, nil, "does not compile"},
		{"unknown identifier", `foo == "x"`, nil, "undeclared reference"},
		{"dynamic index", `tasks[vars.env].status == "pass"`, []plan.ConditionRef{{Kind: "dynamic", Name: "tasks"}, {Kind: "vars", Name: "env"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refs, problems := when.Conditions{}.Check(tt.expr)
			if tt.problem != "" {
				if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), tt.problem) {
					t.Fatalf("problems %q, want one with %q", problems, tt.problem)
				}
				return
			}
			if len(problems) > 0 {
				t.Fatalf("problems %q", problems)
			}
			if !reflect.DeepEqual(refs, tt.refs) {
				t.Errorf("refs %v, want %v", refs, tt.refs)
			}
		})
	}
}

func TestEval(t *testing.T) {
	scope := plan.WhenScope{
		Vars: map[string]string{"env": "prod", "replicas": "3"},
		Phases: []plan.PhaseResult{{Name: "build", Status: plan.StatusPass, Tasks: []plan.TaskResult{
			{Name: "coverage", Status: plan.StatusWarning, Metrics: map[string]float64{"coverage.total": 0.82}},
		}}},
		Tasks: []plan.TaskResult{{Name: "coverage", Status: plan.StatusWarning, Metrics: map[string]float64{"coverage.total": 0.82}}},
	}
	tests := []struct {
		expr string
		want bool
		err  string
	}{
		{`vars.env == "prod"`, true, ""},
		{`int(vars.replicas) >= 3`, true, ""},
		{`phases.build.status == "pass"`, true, ""},
		{`tasks.coverage.metrics["coverage.total"] >= 0.8`, true, ""},
		{`phases.build.tasks.coverage.status == "pass"`, false, ""},
		{`tasks.coverage.metrics["coverage.missing"] >= 0.8`, false, "coverage.missing"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := when.Eval(tt.expr, scope)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Eval = %v, %v; want an error naming %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Eval = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
