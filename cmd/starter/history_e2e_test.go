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

// gateOf returns the gate of a task with the pass threshold given.
func gateOf(t *testing.T, r plan.RunResult, phase, task, pass string) plan.GateResult {
	t.Helper()
	tr := r.Task(phase, task)
	if tr == nil {
		t.Fatalf("run %s has no task %s/%s", r.RunID, phase, task)
	}
	for _, g := range tr.Gates {
		if g.Pass == pass {
			return g
		}
	}
	t.Fatalf("task %s/%s of %s has no gate %q: %+v", phase, task, r.RunID, pass, tr.Gates)
	return plan.GateResult{}
}

// TestRelativeThresholdsDev runs the baseline example three times with
// `starter run --dev` on one state directory: the first run has no
// baseline (its relative gates are not run, not scored) and passes; the
// second is gated relative to the first and passes within 10%; the third,
// 50% slower, fails its key relative gate against the second (the last
// passing run). Each report compares the run with the previous one and
// carries the trend; `starter history` lists the three runs.
func TestRelativeThresholdsDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	state := t.TempDir()
	const relative = "<= baseline * 1.1"
	run := func(p95 string, wantCode int) plan.RunResult {
		t.Helper()
		out := t.TempDir()
		res := starter(t, ctx, "run", "--dev", "--state-dir", state, "--demo-addr", freeAddr(t), "--set", "vars.p95="+p95,
			"--report-dir", out, "examples/plans/baseline.yaml")
		t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
		if res.code != wantCode {
			t.Fatalf("p95 %s: exit code %d, want %d", p95, res.code, wantCode)
		}
		return readReport(t, out)
	}

	first := run("0.100", 0)
	g := gateOf(t, first, "perf", "bench", relative)
	if g.Status != plan.StatusSkipped || g.Baseline == nil || !strings.Contains(g.Baseline.Missing, "no passing run yet") {
		t.Fatalf("first run's relative gate = %+v, want skipped for want of a baseline", g)
	}
	if first.Result != plan.StatusPass || first.Score != 100 || first.Compared != nil {
		t.Fatalf("first run: %s, score %v, compared %+v; want a pass scored on its absolute gates alone", first.Result, first.Score, first.Compared)
	}

	second := run("0.105", 0)
	g = gateOf(t, second, "perf", "bench", relative)
	if g.Status != plan.StatusPass || g.Baseline == nil || g.Baseline.Run != first.RunID || *g.Baseline.Value != 0.1 {
		t.Fatalf("second run's relative gate = %+v (baseline %+v), want pass against %s's 100ms", g, g.Baseline, first.RunID)
	}
	if second.Compared == nil || second.Compared.Before.RunID != first.RunID || len(second.Compared.Gates) == 0 {
		t.Fatalf("second run compared = %+v, want a comparison with %s in which the relative gates changed state", second.Compared, first.RunID)
	}
	if second.Trend == nil || len(second.Trend.Runs) != 2 {
		t.Fatalf("second run's trend = %+v, want two runs", second.Trend)
	}

	third := run("0.150", 1)
	g = gateOf(t, third, "perf", "bench", relative)
	if g.Status != plan.StatusFail || !g.Key || g.Baseline.Run != second.RunID {
		t.Fatalf("third run's relative gate = %+v (baseline %+v), want a failed key gate against %s", g, g.Baseline, second.RunID)
	}
	if third.Compared == nil || third.Compared.Before.RunID != second.RunID || third.Compared.ScoreDelta >= 0 {
		t.Fatalf("third run compared = %+v", third.Compared)
	}
	md, err := os.ReadFile(filepath.Join(state, "history", "baseline-example", third.RunID+".json"))
	if err != nil || !strings.Contains(string(md), `"result": "fail"`) {
		t.Fatalf("the history does not keep the third run: %v", err)
	}

	res := starter(t, ctx, "history", "baseline-example", "--state-dir", state)
	t.Logf("history:\n%s%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("history: exit code %d", res.code)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], third.RunID) || !strings.Contains(lines[1], "FAIL") ||
		!strings.HasPrefix(lines[3], first.RunID) || !strings.Contains(lines[1], "bench.p95=150ms (fail)") {
		t.Errorf("history lists, want the header and the three runs newest first:\n%s", res.stdout)
	}
	if res := starter(t, ctx, "history", "no-such-plan", "--state-dir", state); res.code == 0 {
		t.Errorf("history of a plan that never ran: exit 0\n%s", res.stdout)
	}
}

// TestHistoryImportsDetachedRuns: runs nobody followed (--detach) reach
// the history from Temporal's visibility, when the next `starter run` of
// the plan looks up its baselines and with `starter history --sync`.
func TestHistoryImportsDetachedRuns(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hist := t.TempDir()
	planFile := writePlan(t, `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: import-check}
spec:
  phases:
    - name: perf
      tasks:
        - name: bench
          uses: command
          with:
            shell: true
            argv: ['printf ''{"bench": {"p95": 0.1}}'' > "$SHIPSHAPE_METRICS"']
          gates:
            - {metric: command.exit_code, pass: "== 0"}
            - {metric: bench.p95, pass: "<= baseline * 1.1"}
`)
	detached := func(id string) {
		t.Helper()
		if r := starter(t, ctx, append([]string{"run", "--detach", "--run-id", id, "--history-dir", hist}, c.args(planFile)...)...); r.code != 0 {
			t.Fatalf("run --detach %s: exit %d\n%s", id, r.code, r.stderr)
		}
		// report waits for the run to finish.
		if r := starter(t, ctx, append([]string{"report", id, "--format", "json", "--history-dir", hist}, c.args()...)...); r.code != 0 {
			t.Fatalf("report %s: exit %d\n%s", id, r.code, r.stderr)
		}
	}
	detached("import-check-1")
	if _, err := os.Stat(filepath.Join(hist, "import-check", "import-check-1.json")); err == nil {
		t.Fatal("a detached run is in the history before any import")
	}

	out := t.TempDir()
	if r := starter(t, ctx, append([]string{"run", "--run-id", "import-check-2", "--history-dir", hist, "--report-dir", out}, c.args(planFile)...)...); r.code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	second := readReport(t, out)
	if g := gateOf(t, second, "perf", "bench", "<= baseline * 1.1"); g.Status != plan.StatusPass || g.Baseline == nil || g.Baseline.Run != "import-check-1" {
		t.Fatalf("second run's relative gate = %+v (baseline %+v), want pass against the detached import-check-1", g, g.Baseline)
	}
	if second.Compared == nil || second.Compared.Before.RunID != "import-check-1" {
		t.Errorf("second run compared with %+v, want import-check-1", second.Compared)
	}

	detached("import-check-3")
	r := starter(t, ctx, append([]string{"history", "import-check", "--sync", "--history-dir", hist}, c.args()...)...)
	if r.code != 0 || !strings.Contains(r.stderr, "history: 1 run added from Temporal") {
		t.Fatalf("history --sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "import-check-3") || !strings.HasPrefix(lines[3], "import-check-1") {
		t.Errorf("history after --sync:\n%s", r.stdout)
	}
}
