//go:build integration

package main_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/testpki"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestHTTPPoliciesExampleDev runs the http-policies example with `starter
// run --dev` against a site the test starts behind a private CA (trusted
// through caFile): its front page lacks security headers and sets
// insecure cookies, so the front-page task fails its key gates, while the
// CORS and JSON checks of its API and its http:// → https:// redirect
// pass.
func TestHTTPPoliciesExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ca := testpki.MustCA(t, "e2e-ca")
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("X-Frame-Options", "DENY")
			w.Header().Set("Strict-Transport-Security", "max-age=0")
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3cr3t-session-value", Path: "/"})
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!doctype html><title>shop</title>"))
		case "/api/health":
			if o := r.Header.Get("Origin"); o == "https://app.example.com" {
				w.Header().Set("Access-Control-Allow-Origin", o)
				w.Header().Set("Vary", "Origin")
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok","version":"1.7.0"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	site.TLS = ca.ServerTLS(ca.MustServer("site"), false)
	site.StartTLS()
	defer site.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, site.URL+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer plain.Close()

	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(),
		"--set", "vars.site="+site.URL, "--set", "vars.plainSite="+plain.URL, "--set", "vars.caFile="+ca.CertFile,
		"--report-dir", out, "examples/plans/http-policies.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1 (fail)", res.code)
	}
	r := readReport(t, out)
	if r.Result != plan.StatusFail {
		t.Fatalf("result %s, want fail", r.Result)
	}
	front := r.Task("policies", "front-page")
	if front == nil {
		t.Fatal("no front-page task")
	}
	m := front.Metrics
	if m["http.policy.failures"] != 5 || m["http.hsts.ok"] != 0 || m["http.hsts.max_age"] != 0 || m["http.csp.ok"] != 0 ||
		m["http.nosniff.ok"] != 0 || m["http.referrer_policy.ok"] != 0 || m["http.content_encoding.ok"] != 0 ||
		m["http.cookies.insecure"] != 1 || m["http.cookies.total"] != 1 {
		t.Errorf("front-page metrics %v", m)
	}
	gates := map[string]plan.Status{}
	for _, g := range front.Gates {
		gates[g.Metric] = g.Status
	}
	if gates["http.policy.failures"] != plan.StatusFail || gates["http.cookies.insecure"] != plan.StatusFail {
		t.Errorf("front-page gates %v", gates)
	}
	for _, w := range []string{"max-age=0 tells browsers to forget HSTS", "Content-Security-Policy is missing", "cookie session lacks Secure, HttpOnly, SameSite"} {
		if !strings.Contains(front.Output, w) {
			t.Errorf("front-page output lacks %q:\n%s", w, front.Output)
		}
	}
	if strings.Contains(res.stdout+res.stderr+front.Output, "s3cr3t-session-value") {
		t.Error("a cookie value reached the output")
	}
	for _, name := range []string{"api-cors", "https-redirect"} {
		if tr := r.Task("policies", name); tr == nil || tr.Status != plan.StatusPass {
			t.Errorf("task %s: %+v, want pass", name, tr)
		}
	}
	if tr := r.Task("policies", "https-redirect"); tr != nil && (tr.Metrics["http.redirects"] != 1 || !strings.Contains(tr.Output, "final URL: "+site.URL+"/")) {
		t.Errorf("https-redirect: metrics %v, output:\n%s", tr.Metrics, tr.Output)
	}
}
