//go:build integration

package main_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/testenv"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestSBOMExampleDev runs examples/plans/sbom.yaml with `starter run --dev`
// on the fixture module pinned to vulnerable golang.org/x versions, against
// the fixture advisories, and checks that the report dir gets the SBOM, the
// SARIF log and the findings, and that the high findings make the run a
// warning, exit 2 with --fail-on-warning.
func TestSBOMExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.module=activities/sbomscan/testdata/vulnmod", "--set", "vars.db=activities/sbomscan/testdata/vulndb",
		"--set", "vars.out="+out, "--report-dir", out, "--fail-on-warning", "examples/plans/sbom.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 2 {
		t.Fatalf("exit code %d, want 2 (warning: 2 high vulnerabilities, gate warning <= 3)", res.code)
	}
	r := readReport(t, out)
	tr := r.Task("supply-chain", "go-module")
	if tr == nil || tr.Status != plan.StatusWarning || r.Result != plan.StatusWarning {
		t.Fatalf("go-module: %+v, run %s; want warning", tr, r.Result)
	}
	// x/text (LOW), stdlib go1.21.0 (HIGH), the go command (UNKNOWN, as high).
	want := map[string]float64{"vulns.critical": 0, "vulns.high": 2, "vulns.low": 1, "vulns.unknown": 1, "vulns.total": 3, "sbom.components": 6}
	for m, v := range want {
		if tr.Metrics[m] != v {
			t.Errorf("metric %s = %v, want %v", m, tr.Metrics[m], v)
		}
	}
	if len(tr.Tables) != 1 || len(tr.Tables[0].Rows) != 3 {
		t.Errorf("findings table %+v, want 3 rows", tr.Tables)
	}
	if len(tr.Artifacts) != 3 {
		t.Errorf("artifacts %+v, want the SBOM, SARIF and findings", tr.Artifacts)
	}
	for _, f := range []string{"sbom.cdx.json", "vulnerabilities.sarif", "findings.json"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !json.Valid(data) {
			t.Errorf("%s in the report dir: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, s := range []string{"Vulnerabilities", "GO-2099-0102", "go1.21.0 → go1.21.5", "sbom.cdx.json"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
}

// TestVulndbSync runs `starter vulndb sync` against a fake of osv.dev's data
// bucket (an httptest server: no network here) and then scans with what it
// fetched.
func TestVulndbSync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	archives := map[string][]byte{}
	for eco, files := range map[string][]string{
		"Go":  {"GO-2099-0101.json", "GO-2099-0102.json", "GO-2099-0104.json", "GHSA-2099-xtext-0001.json"},
		"npm": {"GHSA-2099-lodash-0001.json", "GHSA-2099-leftpad-0001.json"},
	} {
		archives[eco] = zipOf(t, filepath.Join(repoRoot, "activities/sbomscan/testdata/vulndb"), files)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eco := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/all.zip")
		data, ok := archives[eco]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"`+eco+`-1"`)
		if r.Header.Get("If-None-Match") == `"`+eco+`-1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	dir := t.TempDir()

	res := starter(t, ctx, "vulndb", "sync", "--dir", dir, "--data-url", srv.URL)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 || !strings.Contains(res.stdout, "Go: downloaded") || !strings.Contains(res.stdout, "npm: downloaded") ||
		!strings.Contains(res.stdout, "4 advisories") {
		t.Fatalf("first sync: exit %d", res.code)
	}
	res = starter(t, ctx, "vulndb", "sync", "--dir", dir, "--data-url", srv.URL, "--ecosystem", "Go")
	if res.code != 0 || !strings.Contains(res.stdout, "Go: up to date") {
		t.Errorf("second sync: exit %d\n%s", res.code, res.stdout)
	}
	res = starter(t, ctx, "vulndb", "sync", "--dir", dir, "--data-url", srv.URL, "--ecosystem", "Nope")
	if res.code != 3 {
		t.Errorf("unknown ecosystem: exit %d, want 3\n%s", res.code, res.stderr)
	}

	out := t.TempDir()
	res = starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.module=activities/sbomscan/testdata/vulnmod", "--set", "vars.db="+dir,
		"--set", "vars.out="+out, "--report-dir", out, "examples/plans/sbom.yaml")
	synced := readReport(t, out)
	if tr := synced.Task("supply-chain", "go-module"); tr == nil || tr.Metrics["vulns.total"] != 3 {
		t.Errorf("scan against the synced database: %+v\n%s", tr, res.stderr)
	}
}

func zipOf(t *testing.T, dir string, files []string) []byte {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.zip")
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSBOMPythonExampleDev runs examples/plans/sbom-python.yaml with
// `starter run --dev` on a requirements.txt and a poetry.lock pinned to
// vulnerable versions (Django 3.2.0, requests 2.19.1, PyYAML 5.3.0, Jinja2
// 2.10, urllib3 1.24.1, Werkzeug 0.15.3), against the real PyPA database
// beside the repository: high findings (most PyPA advisories carry no
// CVSS vector: UNKNOWN, counted as high) fail the run, and the report dir
// gets the SBOM, the SARIF log and the findings.
func TestSBOMPythonExampleDev(t *testing.T) {
	db := filepath.Join(repoRoot, "..", "shared", "data", "osv-pypi", "entries")
	if _, err := os.Stat(db); err != nil {
		testenv.Missing(t, "the shared PyPA advisory database at "+db, "it lives outside the repository, in shared/data/osv-pypi")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.requirements=activities/sbomscan/testdata/python/requirements.txt",
		"--set", "vars.poetryLock=activities/sbomscan/testdata/python/poetry.lock",
		"--set", "vars.db="+db, "--set", "vars.out="+out, "--report-dir", out, "examples/plans/sbom-python.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	r := readReport(t, out)
	tr := r.Task("supply-chain", "python-deps")
	if tr == nil {
		t.Fatalf("no python-deps task in the report (exit %d)", res.code)
	}
	if tr.Status != plan.StatusFail || r.Result != plan.StatusFail || res.code == 0 {
		t.Errorf("python-deps %s, run %s, exit %d; want failed", tr.Status, r.Result, res.code)
	}
	// 42 advisories (see activities/sbomscan's lockfile test), some merged.
	if tr.Metrics["vulns.high"] <= 3 || tr.Metrics["vulns.medium"] == 0 || tr.Metrics["sbom.components"] != 9 || tr.Metrics["vulns.total"] < 30 {
		t.Errorf("metrics %v; want over 3 high findings, medium ones, 9 components", tr.Metrics)
	}
	for _, f := range []string{"sbom.cdx.json", "vulnerabilities.sarif", "findings.json"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !json.Valid(data) {
			t.Errorf("%s in the report dir: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, s := range []string{"Vulnerabilities", "PYSEC-2018-28", "2.19.1 → 2.20.0", "certifi is not pinned"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
}
