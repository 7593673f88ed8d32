//go:build integration

package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/blobstore/s3test"
	"github.com/shipshape-dev/shipshape/internal/promtest"
	"github.com/shipshape-dev/shipshape/internal/testenv"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestPythonS3ProgrammeDev runs examples/programmes/python-s3.yaml, a
// whole readiness programme built on the organisation's baseline
// fragment, with `starter run --dev` against local stand-ins: the dev demo
// service as the API, a real PostgreSQL as the production database, an
// in-process S3 server for the backups, a real Prometheus scraping a
// healthy service for the post-deployment watch and the uptime SLO, the
// real PyPA advisory database, and the fixtures under
// examples/programmes/testdata. Every gate of the readiness metrics table
// passes and the run scores at least 90.
func TestPythonS3ProgrammeDev(t *testing.T) {
	osv := filepath.Join(repoRoot, "..", "shared", "data", "osv-pypi", "entries")
	if _, err := os.Stat(osv); err != nil {
		testenv.Missing(t, "the shared PyPA advisory database at "+osv, "it lives outside the repository, in shared/data/osv-pypi")
	}
	_, db, scratch := drillSource(t)
	backups := s3test.Start(t, "backups").URL("app/")

	exp := promtest.NewExporter(t)
	exp.Set(`http_requests_total{code="200"}`, 0)
	exp.Set(`http_requests_total{code="500"}`, 0)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				exp.Add(`http_requests_total{code="200"}`, 9999)
				exp.Add(`http_requests_total{code="500"}`, 1)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "http_requests_total")
	time.Sleep(3 * time.Second) // two scrapes or more: rates exist

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	demo := freeAddr(t)
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--approve-all", "--state-dir", t.TempDir(), "--demo-addr", demo,
		"--set", "vars.apiURL=http://"+demo, "--set", "vars.databaseURL="+db, "--set", "vars.backups="+backups,
		"--set", "vars.prometheus="+prom.URL, "--set", "vars.osvDB="+osv, "--set", "vars.watchFor=6s",
		"--report-dir", out, "examples/programmes/python-s3.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	r := readReport(t, out)
	if res.code != 0 || r.Result != plan.StatusPass || r.Score < 90 {
		t.Fatalf("exit %d, result %s, score %.1f: want a pass of at least 90", res.code, r.Result, r.Score)
	}
	// The readiness metrics table, gate by gate.
	for _, c := range []struct{ phase, task, metric string }{
		{"quality", "unit-coverage", "coverage.lines"},
		{"quality", "dependencies", "vulns.high"},
		{"edge", "api-health", "headers.missing"},
		{"recovery", "restore-drill", "drill.verify.mismatches"},
		{"pre-deployment", "build", "command.duration"},
		{"pre-deployment", "bundle", "artifact.total_gzip"},
		{"pre-deployment", "type-check", "findings.error"},
		{"deployment", "api-latency", "http.latency.p95"},
		{"post-deployment", "error-watch", "watch.p95"},
		{"post-deployment", "uptime", "slo.availability"},
	} {
		tr := r.Task(c.phase, c.task)
		if tr == nil {
			t.Errorf("%s/%s missing from the report", c.phase, c.task)
			continue
		}
		found := false
		for _, g := range tr.Gates {
			if g.Metric == c.metric {
				found = true
				if g.Status != plan.StatusPass {
					t.Errorf("%s/%s gate %s: %s (value %v)", c.phase, c.task, c.metric, g.Status, g.Value)
				}
			}
		}
		if !found {
			t.Errorf("%s/%s has no gate on %s", c.phase, c.task, c.metric)
		}
	}
	if m := r.Task("quality", "unit-coverage").Metrics; m["coverage.lines"] != 0.86 {
		t.Errorf("coverage %v, want the fixture's 86 %%", m)
	}
	if m := r.Task("post-deployment", "error-watch").Metrics; m["watch.samples"] < 3 {
		t.Errorf("watch took %v samples", m["watch.samples"])
	}
	mustBeClean(t, scratch)
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if strings.Contains(string(md), "password=") {
		t.Error("report.md holds a password")
	}
}
