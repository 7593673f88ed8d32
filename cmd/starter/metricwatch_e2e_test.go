//go:build integration

package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/promtest"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestMetricWatchExampleDev runs the metric-watch example with `starter
// run --dev` against a real Prometheus scraping a local exporter: a
// healthy service (1 % errors, 99.9 % of requests good) passes every
// gate; one whose error ratio is 30 % fails, its watch stopped by the
// abortOnFail gate.
func TestMetricWatchExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	exp := promtest.NewExporter(t)
	exp.Set("app_error_ratio", 0.01)
	exp.Traffic(t, map[string]float64{`http_requests_total{code="200"}`: 999, `http_requests_total{code="500"}`: 1})
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "http_requests_total")
	// Two scrapes or more (rates exist), and a whole 5 s step since the
	// first: the window mode's range ends at a step boundary, so a run
	// started sooner finds no point yet in its last minute.
	time.Sleep(6 * time.Second)

	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.prometheus="+prom.URL, "--report-dir", out, "examples/plans/metric-watch.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	if r.Result != plan.StatusPass {
		t.Fatalf("result %s, want pass", r.Result)
	}
	now := r.Task("production", "error-ratio-now")
	watch := r.Task("production", "error-ratio-watch")
	slo := r.Task("production", "availability-slo")
	if now == nil || watch == nil || slo == nil {
		t.Fatalf("tasks missing from the report")
	}
	if now.Metrics["watch.last"] != 0.01 {
		t.Errorf("now: metrics %v", now.Metrics)
	}
	if m := watch.Metrics; m["watch.samples"] != 11 || m["watch.samples_failed"] != 0 || m["watch.max"] != 0.01 {
		t.Errorf("watch: metrics %v, want 11 samples of 0.01", m)
	}
	if len(watch.Series) != 1 || len(watch.Series[0].X) != 11 || len(watch.Series[0].Marks) == 0 {
		t.Errorf("watch: series %+v, want 11 points with the thresholds marked", watch.Series)
	}
	if a := slo.Metrics["slo.availability"]; a < 0.998 || a > 0.9995 {
		t.Errorf("slo: availability %v, want about 0.999", a)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "threshold &lt; 5%") && !strings.Contains(string(html), "threshold < 5%") {
		t.Errorf("report.html does not draw the watch's threshold")
	}

	// The error ratio goes bad: the watch stops on its abortOnFail gate.
	exp.Set("app_error_ratio", 0.3)
	time.Sleep(2 * time.Second)
	out = t.TempDir()
	res = starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.prometheus="+prom.URL, "--report-dir", out, "examples/plans/metric-watch.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1 (fail)", res.code)
	}
	r = readReport(t, out)
	watch = r.Task("production", "error-ratio-watch")
	if watch == nil || watch.Status != plan.StatusFail || watch.Metrics["watch.samples"] >= 11 || watch.Metrics["watch.max"] != 0.3 {
		t.Errorf("watch %+v: want it failed and stopped early at 0.3", watch)
	}
	// In mode now the gate judges the value, showing it.
	if now := r.Task("production", "error-ratio-now"); now == nil || now.Status != plan.StatusFail || now.Error != "" || now.Metrics["watch.last"] != 0.3 {
		t.Errorf("now %+v: want its gate failed on 0.3", now)
	}
}
