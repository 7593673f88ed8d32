//go:build integration

package main_test

import (
	"context"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// TestServiceExampleDev runs examples/plans/service.yaml, a five-line plan
// that includes the company baseline and release policy, with `starter
// run --dev` against the demo service: the included phases run, the
// matrix copies run, bundle-size waits for compile, the production
// rollout is skipped by its when (env staging), and the onFailure phase
// runs only on a failing run.
func TestServiceExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := t.TempDir()
	demo := freeAddr(t)
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", demo, "--report-dir", out,
		"--set", "vars.baseURL=http://"+demo, "examples/plans/service.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	r := readReport(t, out)
	if res.code != 0 || r.Result != plan.StatusPass {
		t.Errorf("exit %d, result %s (%s), want 0 and pass", res.code, r.Result, r.Error)
	}
	for _, name := range []string{"endpoints[health]", "endpoints[slow]"} {
		if tr := r.Task("smoke", name); tr == nil || tr.Status == plan.StatusSkipped || tr.Status == plan.StatusPending {
			t.Errorf("smoke/%s %+v, want it run", name, tr)
		}
	}
	compile, bundle := r.Task("build", "compile"), r.Task("build", "bundle-size")
	if compile == nil || bundle == nil || bundle.Status != plan.StatusPass || bundle.StartedAt.Before(compile.FinishedAt) {
		t.Errorf("compile %+v, bundle-size %+v: want bundle-size to pass, started after compile finished", compile, bundle)
	}
	// The bundle's size was written as a named metric with its unit.
	if bundle != nil && (bundle.Metrics["bundle"] != 162000 || bundle.Units["bundle"] != plan.UnitBytes) {
		t.Errorf("bundle-size metrics %v units %v: want bundle = 162000 bytes", bundle.Metrics, bundle.Units)
	}
	if ph := r.Phase("production-rollout"); ph == nil || ph.Status != plan.StatusSkipped {
		t.Errorf("production-rollout %+v, want skipped by its when", ph)
	}
	if r.Phase("notify") != nil {
		t.Errorf("the onFailure phase ran on a %s run", r.Result)
	}
	if r.Phase("release-notes") == nil || r.Phase("release-notes").Status != plan.StatusPass {
		t.Errorf("release-notes (a phase template) %+v, want pass", r.Phase("release-notes"))
	}

	// Nothing listens on the service's address: the smoke phase fails the
	// run, and the onFailure phase runs last.
	out = t.TempDir()
	res = starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t), "--report-dir", out,
		"--set", "vars.baseURL=http://"+freeAddr(t), "examples/plans/service.yaml")
	r = readReport(t, out)
	last := r.Phases[len(r.Phases)-1]
	if res.code != 1 || r.Result != plan.StatusFail || last.Name != "notify" || last.Status != plan.StatusPass {
		t.Errorf("exit %d, result %s, last phase %s %s: want 1, fail and notify pass\nstdout:\n%s", res.code, r.Result, last.Name, last.Status, res.stdout)
	}
}
