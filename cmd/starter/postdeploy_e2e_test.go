//go:build integration

package main_test

import (
	"context"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/alertmanager"
	"github.com/shipshape-dev/shipshape/integrations/alertmanager/amtest"
	"github.com/shipshape-dev/shipshape/internal/promtest"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestPostDeployWatchExampleDev runs examples/plans/post-deploy-watch.yaml
// with `starter run --dev` against a real Prometheus, scraping a local
// exporter of a healthy service (0.01 % errors, most requests under
// 50 ms), and a real Alertmanager whose webhook receiver acknowledges the
// drill's alert with a silence, as an on-call would: every watch passes,
// the SLO holds, and the alert is acknowledged within the 5-minute gate.
func TestPostDeployWatchExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	exp := promtest.NewExporter(t)
	buckets := []struct {
		le    string
		share float64
	}{{"0.05", 0.9}, {"0.1", 0.97}, {"0.25", 1}, {"+Inf", 1}}
	traffic := map[string]float64{`http_requests_total{code="200"}`: 9999, `http_requests_total{code="500"}`: 1}
	for _, b := range buckets {
		traffic[`http_request_duration_seconds_bucket{le="`+b.le+`"}`] = 10000 * b.share
	}
	exp.Traffic(t, traffic)
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "http_request_duration_seconds_bucket")
	time.Sleep(3 * time.Second) // two scrapes or more: rates exist

	am := amtest.MustStart(t)
	client := alertmanager.New(alertmanager.Config{URL: am.URL})
	ackBySilence(t, ctx, am, client)

	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.prometheus="+prom.URL, "--set", "vars.alertmanager="+am.URL, "--set", "vars.webhook="+am.WebhookURL,
		"--set", "vars.watchFor=10s", "--report-dir", out, "examples/plans/post-deploy-watch.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	if r.Result != plan.StatusPass {
		t.Fatalf("result %s, want pass", r.Result)
	}
	errs, lat, slo, drill := r.Task("watch", "error-ratio"), r.Task("watch", "latency-p95"), r.Task("watch", "availability"), r.Task("alerting", "page-oncall")
	if errs == nil || lat == nil || slo == nil || drill == nil {
		t.Fatal("tasks missing from the report")
	}
	if m := errs.Metrics; m["watch.samples"] < 5 || m["watch.samples_failed"] != 0 || m["watch.max"] > 0.001 {
		t.Errorf("error-ratio: metrics %v, want 6 samples near 0.0001", m)
	}
	if m := lat.Metrics; m["watch.samples"] < 5 || m["watch.p95"] <= 0.05 || m["watch.p95"] >= 0.1 {
		t.Errorf("latency-p95: metrics %v, want a p95 between the 50 ms and 100 ms buckets", m)
	}
	if a := slo.Metrics["slo.availability"]; a < 0.999 {
		t.Errorf("availability %v, want at least 99.9 %%", a)
	}
	if m := drill.Metrics; m["alert.delivered"] != 1 || m["alert.acknowledged"] != 1 || m["alert.tta"] <= 0 || m["alert.tta"] > 60 {
		t.Errorf("alert drill: metrics %v", m)
	}
}
