package plan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

// FuzzParse feeds Parse every test plan, truncated and garbled variants of
// them, and whatever the fuzzer derives. Parse must never panic; an
// accepted plan must be one the workflow can run, and a rejected one must
// say why.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed plans: %v", err)
	}
	// Includes, templates, matrices, task needs, whens, onFailure.
	reuse, _ := filepath.Glob("testdata/reuse/*/*.yaml")
	files = append(files, reuse...)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[:len(data)*9/10])
		f.Add(garble(data, 7, '{'))
		f.Add(garble(data, 13, ':'))
		f.Add(bytes.ReplaceAll(data, []byte("  "), []byte(" ")))
	}
	// Weights that validated once and summed to +Inf, which no run could
	// report.
	heavy := doc("  phases:\n    - name: p\n      tasks:\n        - name: t\n          uses: http-check\n          with: {url: \"http://a/\"}\n          gates:\n")
	for range 20 {
		heavy += "            - {metric: http.status, pass: \"== 200\", weight: 1e307}\n"
	}
	f.Add([]byte(heavy))
	catalog := testCatalog()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := plan.Parse("fuzz.yaml", data, catalog, setsFrom(data))
		if err != nil {
			var errs plan.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse returned %T %v, want a non-empty plan.Errors", err, err)
			}
			for _, e := range errs {
				// An include the fuzzer found (below plan/) reports in
				// its own file, with the chain that led there.
				if e.File != "fuzz.yaml" && e.Via == "" || e.Msg == "" {
					t.Fatalf("error without a file or a message: %#v", e)
				}
			}
			return
		}
		if len(p.Spec.Phases) == 0 {
			t.Fatal("accepted a plan without phases")
		}
		for _, ph := range p.Spec.Phases {
			if len(ph.Tasks) == 0 && ph.Approval == nil {
				t.Fatalf("accepted phase %q with neither tasks nor an approval", ph.Name)
			}
			for _, task := range ph.Tasks {
				tt, ok := catalog[task.Uses]
				if !ok {
					t.Fatalf("accepted task %s/%s of unknown type %q", ph.Name, task.Name, task.Uses)
				}
				for _, g := range task.Gates {
					if _, ok := tt.Metric(g.Metric); !ok {
						t.Fatalf("accepted gate on metric %q, which %s does not declare", g.Metric, tt.Name)
					}
				}
			}
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("accepted a plan the workflow cannot receive: %v", err)
		}
		res := resultOf(p)
		if math.IsNaN(res.Score) || math.IsInf(res.Score, 0) {
			t.Fatalf("accepted a plan whose score is %v", res.Score)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("accepted a plan whose result cannot be reported: %v", err)
		}
	})
}

// resultOf is a result of a run of p, scored: each task reports every
// metric its gates name at the gate's pass value, so that gates pass and
// fail by their operators; every third task errors.
func resultOf(p *plan.Plan) *plan.RunResult {
	res := &plan.RunResult{Plan: p.Metadata.Name, RunID: "fuzz", Labels: p.Metadata.Labels, Scoring: p.Spec.Scoring}
	n := 0
	for _, ph := range p.Spec.Phases {
		pr := plan.PhaseResult{Name: ph.Name, Status: plan.StatusPass, Needs: ph.Needs}
		for _, task := range ph.Tasks {
			metrics := map[string]float64{}
			for _, g := range task.Gates {
				metrics[g.Metric] = g.Pass.Value
			}
			taskErr := ""
			if n++; n%3 == 0 {
				taskErr = "boom"
			}
			gates := plan.EvaluateGates(task.Gates, metrics, taskErr)
			pr.Tasks = append(pr.Tasks, plan.TaskResult{
				Name: task.Name, Uses: task.Uses, Status: plan.TaskStatus(gates, taskErr), Error: taskErr,
				Metrics: metrics, Gates: gates,
			})
		}
		pr.Status = plan.PhaseStatus(pr.Tasks)
		res.Phases = append(res.Phases, pr)
	}
	res.Score, res.Result, res.Error = plan.Score(res)
	return res
}

// garble replaces every n-th byte of data with b.
func garble(data []byte, n int, b byte) []byte {
	out := bytes.Clone(data)
	for i := n - 1; i < len(out); i += n {
		out[i] = b
	}
	return out
}

// setsFrom reads "# --set" lines as setsOf does, ignoring bad ones: the
// fuzzer may write anything there.
func setsFrom(data []byte) map[string]string {
	var sets []string
	for _, line := range bytes.Split(data, []byte("\n")) {
		if set, ok := bytes.CutPrefix(line, []byte("# --set ")); ok {
			sets = append(sets, string(set))
		}
	}
	overrides, err := plan.ParseSets(sets)
	if err != nil {
		return nil
	}
	return overrides
}
