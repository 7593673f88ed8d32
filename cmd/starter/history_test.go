package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/history"
	"github.com/shipshape-dev/shipshape/plan"
)

const relativePlanYAML = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: api}
spec:
  phases:
    - name: perf
      tasks:
        - name: bench
          uses: command
          with: {argv: ["true"]}
          gates:
            - metric: command.duration
              pass: "<= baseline * 1.1"
              baseline: api-1
`

// TestValidateChecksNamedBaselines: a baseline run the plan names must be
// in the history; validate says where, with the exit code of bad input.
func TestValidateChecksNamedBaselines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(file, []byte(relativePlanYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	hist := filepath.Join(dir, "history")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"validate", "--history-dir", hist, file}, &stdout, &stderr)
	want := file + ":14:25: phases[0].tasks[0].gates[0].baseline: baseline run api-1 of plan api"
	if code != exitInvalid || !strings.Contains(stderr.String(), want) {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr.String(), exitInvalid, want)
	}
	run := &plan.RunResult{Plan: "api", RunID: "api-1", Result: plan.StatusFail, StartedAt: time.Now(),
		Phases: []plan.PhaseResult{{Name: "perf", Tasks: []plan.TaskResult{{Name: "bench", Metrics: map[string]float64{"command.duration": 2}}}}}}
	if err := history.New(hist).Put(run); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main(context.Background(), []string{"validate", "--history-dir", hist, file}, &stdout, &stderr); code != exitPass {
		t.Fatalf("with api-1 kept: exit %d\n%s", code, stderr.String())
	}
}

// TestValidateNoticesGatesWithoutBaseline: a relative gate of a plan with
// no passing run yet is valid (the first runs have none), and validate
// says, at the gate's line, that it will be skipped until one exists.
func TestValidateNoticesGatesWithoutBaseline(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.yaml")
	body := strings.Replace(relativePlanYAML, "              baseline: api-1\n", "", 1)
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"validate", "--history-dir", filepath.Join(dir, "history"), file}, &stdout, &stderr)
	want := file + ":12: notice: perf/bench gate command.duration <= baseline * 1.1: no baseline"
	if code != exitPass || !strings.Contains(stdout.String(), want) || !strings.Contains(stdout.String(), "it will be skipped and left out of the score") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and %q", code, stdout.String(), stderr.String(), exitPass, want)
	}
}

// TestHistoryListsRuns lists a plan's kept runs newest first, with the
// score change and the gated metrics, failed ones first.
func TestHistoryListsRuns(t *testing.T) {
	hist := t.TempDir()
	store := history.New(hist)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for i, p95 := range []float64{0.1, 0.3} {
		status := plan.StatusPass
		if p95 > 0.2 {
			status = plan.StatusFail
		}
		v := p95
		r := &plan.RunResult{Plan: "api", RunID: []string{"api-1", "api-2"}[i], Result: status, Score: 100 - float64(i)*50, StartedAt: t0.Add(time.Duration(i) * time.Hour),
			Phases: []plan.PhaseResult{{Name: "perf", Tasks: []plan.TaskResult{{Name: "load", Metrics: map[string]float64{"load.latency.p95": v, "load.requests": 100},
				Units: map[string]plan.Unit{"load.latency.p95": plan.UnitSeconds},
				Gates: []plan.GateResult{
					{Metric: "load.requests", Value: &[]float64{100}[0], Pass: ">= 10", Status: plan.StatusPass, Weight: 1},
					{Metric: "load.latency.p95", Value: &v, Unit: plan.UnitSeconds, Pass: "< 200ms", Status: status, Weight: 1},
				}}}}}}
		if err := store.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"history", "--history-dir", hist, "api"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "api-2") || !strings.Contains(lines[1], "FAIL") || !strings.Contains(lines[1], "-50") ||
		!strings.Contains(lines[1], "load.latency.p95=300ms (fail), load.requests=100") || !strings.HasPrefix(lines[2], "api-1") {
		t.Errorf("history:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := Main(context.Background(), []string{"history", "--history-dir", hist, "--json", "--limit", "1", "api"}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), `"runId": "api-2"`) || strings.Contains(stdout.String(), `"api-1"`) {
		t.Errorf("history --json --limit 1: exit %d\n%s", code, stdout.String())
	}
	stdout.Reset()
	if code := Main(context.Background(), []string{"diff", "--history-dir", hist, "api-1", "api-2"}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "load.latency.p95 of perf/load: pass → fail") {
		t.Errorf("diff of two runs the history keeps, without Temporal: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if code := Main(context.Background(), []string{"history", "--history-dir", hist, "web"}, &stdout, &stderr); code == 0 {
		t.Error("history of a plan with no runs: exit 0")
	}
}

// TestScheduleRefusesRelativeGates: a schedule starts runs with no
// baselines, so `schedule create` refuses a plan with relative thresholds,
// at the gate (checked here without Temporal, which create dials first).
func TestScheduleRefusesRelativeGates(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(file, []byte(relativePlanYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := loadPlan(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = relativeGatesRefused(p)
	var stderr bytes.Buffer
	code := exitCode(err, &stderr)
	if want := file + ":14:25: phases[0].tasks[0].gates[0]: a relative threshold cannot run on a schedule"; code != exitInvalid || !strings.Contains(stderr.String(), want) {
		t.Fatalf("exit %d\n%s\nwant exit %d and %q", code, stderr.String(), exitInvalid, want)
	}
	p.Spec.Phases[0].Tasks[0].Gates[0].Pass = plan.Threshold{Op: "<", Value: 1, Text: "< 1s"}
	if err := relativeGatesRefused(p); err != nil {
		t.Errorf("absolute gates refused: %v", err)
	}
}
