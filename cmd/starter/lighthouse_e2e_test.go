//go:build integration

package main_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/lighthouse"
	"github.com/shipshape-dev/shipshape/internal/testenv"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestLighthouseExampleDev runs the lighthouse example with `starter run
// --dev` against a small page the test serves, audited by Lighthouse in
// headless Chromium: the scores and vitals pass their gates, and the HTML
// report is linked from report.md.
func TestLighthouseExampleDev(t *testing.T) {
	if _, err := exec.LookPath("lighthouse"); err != nil {
		testenv.Missing(t, "lighthouse", lighthouse.Install)
	}
	if _, err := exec.LookPath("chromium"); err != nil && os.Getenv("CHROME_PATH") == "" {
		testenv.Missing(t, "chromium", "apt-get install chromium")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>` +
			`<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="description" content="A small shop">` +
			`</head><body><main><h1>Shop</h1><p>Everything must go.</p></main></body></html>`))
	}))
	defer page.Close()

	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(),
		"--set", "vars.page="+page.URL+"/", "--report-dir", out, "examples/plans/lighthouse.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	tr := r.Task("web", "home-mobile")
	if r.Result != plan.StatusPass || tr == nil || tr.Status != plan.StatusPass {
		t.Fatalf("result %s, task %+v: want pass", r.Result, tr)
	}
	for _, m := range []string{"lighthouse.performance", "lighthouse.accessibility", "lighthouse.best_practices", "lighthouse.seo"} {
		if v, ok := tr.Metrics[m]; !ok || v < 0 || v > 1 {
			t.Errorf("%s = %v (reported: %v), want a ratio", m, v, ok)
		}
	}
	if v := tr.Metrics["lighthouse.lcp"]; v <= 0 || v > 2.5 {
		t.Errorf("lighthouse.lcp = %vs", v)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)]+lighthouse\.report\.html)\)`).FindStringSubmatch(string(md))
	if link == nil {
		t.Fatalf("report.md does not link the Lighthouse report:\n%s", md)
	}
	if html, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(link[1]))); err != nil || !strings.Contains(string(html), "Lighthouse") {
		t.Errorf("Lighthouse report %s: %v", link[1], err)
	}
}

// TestLighthouseRefusesHostsNotAllowed: a page the plan does not allow is
// an invalid plan, before anything starts.
func TestLighthouseRefusesHostsNotAllowed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(),
		"--set", "vars.page=https://www.example.com/", "examples/plans/lighthouse.yaml")
	if res.code != 3 || !strings.Contains(res.stderr, `host "www.example.com" is not allowed`) {
		t.Errorf("exit code %d, want 3 (invalid plan) naming the host:\n%s", res.code, res.stderr)
	}
}
