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

// TestStaticAnalysisExampleDev runs examples/plans/static-analysis.yaml
// with `starter run --dev` twice: on its default fixtures (a clean tsc
// build, a CodeQL-style log with nothing new) it passes; on real tsc and
// ESLint output with errors it fails, exit 1, and the report lists the
// rules and findings.
func TestStaticAnalysisExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--report-dir", out, "examples/plans/static-analysis.yaml")
	t.Logf("passing run stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	if r.Result != plan.StatusPass {
		t.Fatalf("result %s, want pass", r.Result)
	}
	ts := r.Task("static-analysis", "typescript")
	scan := r.Task("static-analysis", "scanners")
	if ts == nil || scan == nil {
		t.Fatalf("tasks missing from the report: %+v", r)
	}
	if ts.Metrics["findings.error"] != 0 || ts.Metrics["findings.files"] != 1 {
		t.Errorf("typescript metrics %v", ts.Metrics)
	}
	if m := scan.Metrics; m["findings.error"] != 0 || m["findings.new"] != 0 || m["findings.warning"] != 1 || m["findings.suppressed"] != 1 || m["findings.tool.codeql"] != 2 {
		t.Errorf("scanners metrics %v", m)
	}

	out = t.TempDir()
	res = starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.tscOutput=activities/staticanalysis/testdata/tsc/two-files.txt",
		"--set", "vars.sarif=activities/staticanalysis/testdata/eslint/eslint.sarif",
		"--report-dir", out, "examples/plans/static-analysis.yaml")
	t.Logf("failing run stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1 (fail)", res.code)
	}
	r = readReport(t, out)
	ts = r.Task("static-analysis", "typescript")
	scan = r.Task("static-analysis", "scanners")
	if r.Result != plan.StatusFail || ts == nil || ts.Status != plan.StatusFail || scan == nil || scan.Status != plan.StatusFail {
		t.Fatalf("result %s, typescript %+v, scanners %+v: want both failed", r.Result, ts, scan)
	}
	if ts.Metrics["findings.error"] != 6 || ts.Metrics["findings.tool.tsc"] != 6 {
		t.Errorf("typescript metrics %v", ts.Metrics)
	}
	if m := scan.Metrics; m["findings.error"] != 2 || m["findings.warning"] != 3 || m["findings.new"] != 5 || m["findings.tool.eslint"] != 5 {
		t.Errorf("scanners metrics %v", m)
	}
	if len(scan.Tables) != 2 || len(scan.Tables[1].Rows) != 5 {
		t.Errorf("scanners tables %+v, want rules and 5 findings", scan.Tables)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Rules with the most findings", "TS2322", "no-unused-vars", "broken.ts:6"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
}
