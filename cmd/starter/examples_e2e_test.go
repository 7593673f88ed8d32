//go:build integration

package main_test

import (
	"context"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// TestBasicExamplesDev runs the examples of the task types that need no
// outside system — command, coverage (Go, LCOV, JaCoCo, xccov),
// artifact-size and http-check against the demo service — with `starter run --dev`, as the
// README says, and checks each ends as its example means to.
func TestBasicExamplesDev(t *testing.T) {
	for _, example := range []string{"command", "coverage", "http-check", "artifact-size"} {
		t.Run(example, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out := t.TempDir()
			demo := freeAddr(t)
			args := []string{"run", "--dev", "--approve-all", "--state-dir", t.TempDir(), "--demo-addr", demo, "--report-dir", out}
			if example == "http-check" {
				args = append(args, "--set", "vars.baseURL=http://"+demo)
			}
			res := starter(t, ctx, append(args, "examples/plans/"+example+".yaml")...)
			if res.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
			}
			// The coverage example shows a warning on purpose (its LCOV
			// fixture's lines are below the pass threshold).
			if r := readReport(t, out); r.Result != plan.StatusPass && r.Result != plan.StatusWarning {
				t.Errorf("result %s, want pass or warning", r.Result)
			} else if tr := r.Task("testing", "android-coverage"); example == "coverage" && (tr == nil || tr.Status != plan.StatusPass) {
				t.Errorf("android-coverage (JaCoCo) %+v, want pass", tr)
			}
		})
	}
}
