//go:build integration

package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// TestTestResultsExampleDev runs examples/plans/test-results.yaml with
// `starter run --dev` twice: on the passing fixtures (JUnit from Node and
// Gradle: exit 0) and on the failing ones (Node's and Playwright's JUnit:
// the run fails, exit 1, and the report lists the failing tests).
func TestTestResultsExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	t.Run("passing", func(t *testing.T) {
		out := t.TempDir()
		res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
			"--report-dir", out, "examples/plans/test-results.yaml")
		t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
		if res.code != 0 {
			t.Fatalf("exit code %d, want 0 (pass)", res.code)
		}
		r := readReport(t, out)
		tr := r.Task("testing", "unit-tests")
		if r.Result != plan.StatusPass || tr == nil || tr.Status != plan.StatusPass {
			t.Fatalf("run %s, task %+v; want pass", r.Result, tr)
		}
		// passing/node-junit.xml (5, 1 skipped) and passing/gradle.xml (3, 1 skipped).
		want := map[string]float64{"tests.total": 8, "tests.passed": 6, "tests.failed": 0, "tests.skipped": 2, "tests.pass_ratio": 1, "tests.files": 2}
		for m, v := range want {
			if tr.Metrics[m] != v {
				t.Errorf("metric %s = %v, want %v", m, tr.Metrics[m], v)
			}
		}
	})

	t.Run("failing", func(t *testing.T) {
		out := t.TempDir()
		res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
			"--set", "vars.reports=activities/testresults/testdata/failing/*.xml",
			"--report-dir", out, "examples/plans/test-results.yaml")
		t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
		if res.code != 1 {
			t.Fatalf("exit code %d, want 1 (fail)", res.code)
		}
		r := readReport(t, out)
		tr := r.Task("testing", "unit-tests")
		if r.Result != plan.StatusFail || tr == nil || tr.Status != plan.StatusFail {
			t.Fatalf("run %s, task %+v; want fail", r.Result, tr)
		}
		// failing/node-junit.xml (6: 2 passed, 2 failed, 2 skipped) and
		// failing/playwright.xml (3: 2 passed, 1 failed).
		want := map[string]float64{"tests.total": 9, "tests.passed": 4, "tests.failed": 3, "tests.skipped": 2, "tests.files": 2}
		for m, v := range want {
			if tr.Metrics[m] != v {
				t.Errorf("metric %s = %v, want %v", m, tr.Metrics[m], v)
			}
		}
		md, err := os.ReadFile(filepath.Join(out, "report.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"Failing tests", "multiplies", "throws", "checkout › shows the receipt", "Slowest tests"} {
			if !strings.Contains(string(md), s) {
				t.Errorf("report.md lacks %q", s)
			}
		}
	})
}
