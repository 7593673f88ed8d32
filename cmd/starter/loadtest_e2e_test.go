//go:build integration

package main_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// TestLoadTestExampleDev runs the load test example with `starter run
// --dev` against the demo service, 200/s for 3s, and checks the verdict,
// the metrics, the per-second series, the charts report.md shows, the
// summary table in the terminal and the live progress.
func TestLoadTestExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	state, out := t.TempDir(), t.TempDir()
	demo := freeAddr(t)
	res := starter(t, ctx, "run", "--dev", "--state-dir", state, "--demo-addr", demo,
		"--set", "vars.target=http://"+demo+"/health", "--set", "vars.duration=3s",
		"--report-dir", out, "examples/plans/loadtest.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	tr := r.Task("perf", "api-load")
	if r.Result != plan.StatusPass || tr == nil || tr.Status != plan.StatusPass {
		t.Fatalf("result %s, task %+v: want pass", r.Result, tr)
	}
	m := tr.Metrics
	if n := m["http.requests"]; n < 570 || n > 600 {
		t.Errorf("http.requests = %v, want 600 (200/s for 3s; warmup not counted)", n)
	}
	if rps := m["http.rps"]; rps < 190 || rps > 201 {
		t.Errorf("http.rps = %v, want 200", rps)
	}
	if m["http.status.200"] != m["http.requests"] || m["http.errors.rate"] != 0 || m["http.latency.p95"] <= 0 {
		t.Errorf("metrics %v", m)
	}
	if len(tr.Tables) < 2 || tr.Tables[1].Title != "Per second" || len(tr.Tables[1].Rows) != 3 {
		t.Errorf("tables %+v, want a summary and 3 seconds", tr.Tables)
	}

	// The charts are in the dev run's artifact directory, and report.md
	// shows them by a path relative to itself.
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	images := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+\.svg)\)`).FindAllStringSubmatch(string(md), -1)
	if len(images) != 2 {
		t.Fatalf("report.md shows %d charts, want 2:\n%s", len(images), md)
	}
	for _, img := range images {
		svg, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(img[1])))
		if err != nil || !strings.HasPrefix(string(svg), "<svg") {
			t.Errorf("chart %s: %v", img[1], err)
		}
	}

	// The terminal shows live progress, then the summary table.
	if !regexp.MustCompile(`perf/api-load \[#*-*\] +\d+% \d+s of 4s · \d+ requests · \d+/s · p95 `).MatchString(res.stdout) {
		t.Errorf("no live progress line in the output")
	}
	if !strings.Contains(res.stdout, "Load test") || !strings.Contains(res.stdout, "200/s for 3s, after 1s of warmup") {
		t.Errorf("no summary table in the output")
	}
}

// TestLoadTestRefusesHostsNotAllowed: pointing the example at a host the
// plan does not allow is an invalid plan, reported with its position,
// before anything starts.
func TestLoadTestRefusesHostsNotAllowed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	state := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", state,
		"--set", "vars.target=https://api.example.com/checkout", "examples/plans/loadtest.yaml")
	if res.code != 3 {
		t.Errorf("exit code %d, want 3 (invalid plan)\n%s", res.code, res.stderr)
	}
	want := `examples/plans/loadtest.yaml:25:29: phases[0].tasks[0].with.targets[0].url: host "api.example.com" is not allowed`
	if !strings.Contains(res.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
	}
	if strings.Contains(res.stderr, "dev mode: starting") {
		t.Errorf("the dev environment started for an invalid plan:\n%s", res.stderr)
	}
}
