package sbomscan_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/sbomscan"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/internal/testenv"
)

// realPyPIVulnDB is the PyPA advisory database beside the repository
// (../shared/data/osv-pypi/entries from its root).
func realPyPIVulnDB(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "osv-pypi", "entries"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "the shared PyPA advisory database at "+dir, "it lives outside the repository, in shared/data/osv-pypi")
	}
	return dir
}

type findingsDoc struct {
	Components int `json:"components"`
	Findings   []struct {
		ID       string   `json:"id"`
		Aliases  []string `json:"aliases"`
		Packages []struct {
			Name, Version, Fixed string
		} `json:"packages"`
	} `json:"findings"`
	Problems []struct {
		Advisory string `json:"advisory"`
	} `json:"advisoryProblems"`
	Warnings []string `json:"warnings"`
}

func readFindings(t *testing.T, dir string) findingsDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc findingsDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestSBOMScanPythonLockfilesAgainstRealDatabase scans a requirements.txt
// and a poetry.lock pinned to known-vulnerable versions against the real
// PyPA database: the advisories found are EXACTLY those whose ranges
// cover the pins, as Python's own PEP 440 implementation (packaging)
// computed them over the same files (see internal/vulndb's pypi_test.go).
func TestSBOMScanPythonLockfilesAgainstRealDatabase(t *testing.T) {
	db := realPyPIVulnDB(t)
	outDir := t.TempDir()
	out, err := runTask(t, map[string]any{
		"pythonLockfiles": []any{"testdata/python/requirements.txt", "testdata/python/poetry.lock"},
		"db":              db,
		"outputDir":       outDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// Django 3.2.0
		"PYSEC-2021-109", "PYSEC-2021-439", "PYSEC-2021-7", "PYSEC-2021-8", "PYSEC-2021-98", "PYSEC-2021-99",
		"PYSEC-2022-1", "PYSEC-2022-19", "PYSEC-2022-190", "PYSEC-2022-191", "PYSEC-2022-2", "PYSEC-2022-20",
		"PYSEC-2022-213", "PYSEC-2022-245", "PYSEC-2022-3", "PYSEC-2022-304", "PYSEC-2023-100", "PYSEC-2023-12",
		"PYSEC-2023-13", "PYSEC-2023-222", "PYSEC-2023-225", "PYSEC-2023-226", "PYSEC-2023-61", "PYSEC-2024-28",
		"PYSEC-2024-47",
		"PYSEC-2018-28", "PYSEC-2023-74", // requests 2.19.1
		"PYSEC-2020-96", "PYSEC-2021-142", // PyYAML 5.3.0 (5.3 in PEP 440)
		"PYSEC-2019-217", "PYSEC-2021-66", // Jinja2 2.10, in both files
		// urllib3 1.24.1
		"PYSEC-2019-132", "PYSEC-2019-133", "PYSEC-2020-148", "PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-207", "PYSEC-2023-212",
		"PYSEC-2022-203", "PYSEC-2023-221", "PYSEC-2023-57", "PYSEC-2023-58", // Werkzeug 0.15.3
		// markupsafe 2.1.3 and pytest 7.4.0 have none.
	}
	doc := readFindings(t, outDir)
	var got []string
	for _, f := range doc.Findings {
		for _, id := range append([]string{f.ID}, f.Aliases...) {
			if strings.HasPrefix(id, "PYSEC-") && !slices.Contains(got, id) {
				got = append(got, id)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("advisories found:\n got %v\nwant %v", got, want)
	}
	// django, requests, pyyaml, jinja2, urllib3, werkzeug, certifi
	// (unpinned) from the requirements; markupsafe and pytest from
	// poetry.lock.
	if doc.Components != 9 || out.Metrics["sbom.components"] != 9 {
		t.Errorf("%d components (metric %v), want 9", doc.Components, out.Metrics["sbom.components"])
	}
	// PyPA rates some advisories with CVSS vectors (urllib3's, Werkzeug's),
	// most with nothing: UNKNOWN.
	if out.Metrics["vulns.unknown"] == 0 || out.Metrics["vulns.medium"] == 0 || out.Metrics["vulns.high"] <= out.Metrics["vulns.unknown"] {
		t.Errorf("metrics %v: want rated and unknown findings", out.Metrics)
	}
	if out.Metrics["vulns.total"] != float64(len(doc.Findings)) || out.Metrics["vulns.total"] == 0 {
		t.Errorf("vulns.total %v, %d findings", out.Metrics["vulns.total"], len(doc.Findings))
	}
	if !strings.Contains(out.Output, "warning: ") || !strings.Contains(out.Output, "certifi is not pinned to one version (the range >=2023.7.22): not scannable") {
		t.Errorf("the unpinned requirement is not reported:\n%s", out.Output)
	}
	if !strings.Contains(out.Output, "(1 not looked up") {
		t.Errorf("output does not count the unpinned requirement as not looked up:\n%s", out.Output)
	}
}

// TestSBOMScanReportsAdvisoryProblems: an advisory whose range cannot be
// evaluated (the real PYSEC-2019-125, fixed "2019-09-12") is reported as
// a problem of that advisory; the scan goes on.
func TestSBOMScanReportsAdvisoryProblems(t *testing.T) {
	db := realPyPIVulnDB(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("steam==0.1\nDjango==3.2.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	out, err := runTask(t, map[string]any{"pythonLockfiles": []any{filepath.Join(dir, "requirements.txt")}, "db": db, "outputDir": outDir})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Output, `advisory problem: advisory PYSEC-2019-125 (PyPI steam): ECOSYSTEM range 1 of PyPI steam: fixed "2019-09-12" is not a PEP 440 version (range not evaluated)`) {
		t.Errorf("output:\n%s", out.Output)
	}
	if doc := readFindings(t, outDir); len(doc.Problems) != 1 || doc.Problems[0].Advisory != "PYSEC-2019-125" {
		t.Errorf("findings.json advisoryProblems %+v", doc.Problems)
	}
}

// TestSBOMScanNpmLockfiles scans a yarn.lock and a pnpm-lock.yaml against
// three real GitHub advisories for lodash (testdata/osv-npm, CC-BY-4.0):
// lodash 4.17.20 has GHSA-35jh (< 4.17.21) and GHSA-29mw (>= 4.0.0,
// < 4.17.21); lodash 3.10.1 has GHSA-35jh and GHSA-p6mc (>= 3.7.0,
// < 4.17.19), which 4.17.20 is past.
func TestSBOMScanNpmLockfiles(t *testing.T) {
	outDir := t.TempDir()
	out, err := runTask(t, map[string]any{
		"npmLockfiles": []any{"testdata/npm/yarn.lock", "testdata/npm/pnpm-lock.yaml"},
		"db":           "testdata/osv-npm",
		"outputDir":    outDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"vulns.critical": 0, "vulns.high": 2, "vulns.medium": 1, "vulns.low": 0, "vulns.unknown": 0,
		"vulns.total": 3, "vulns.fixable": 3, "sbom.components": 6,
	}, 0)
	got := map[string]string{}
	for _, f := range readFindings(t, outDir).Findings {
		var pkgs []string
		for _, p := range f.Packages {
			pkgs = append(pkgs, p.Name+"@"+p.Version+"→"+p.Fixed)
		}
		slices.Sort(pkgs)
		got[f.ID] = strings.Join(pkgs, " ")
	}
	want := map[string]string{
		"GHSA-35jh-r3h4-6jhm": "lodash@3.10.1→4.17.21 lodash@4.17.20→4.17.21",
		"GHSA-29mw-wpgm-hmr9": "lodash@4.17.20→4.17.21",
		"GHSA-p6mc-m468-83gw": "lodash@3.10.1→4.17.19",
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
}

func TestSBOMScanLockfileOfTheWrongKind(t *testing.T) {
	_, err := runTask(t, map[string]any{"npmLockfiles": []any{"testdata/python/poetry.lock"}, "db": "testdata/osv-npm"})
	if k := tasktest.KindOf(err); k != tasktest.Invalid || !strings.Contains(err.Error(), "neither a package-lock.json, a yarn.lock nor a pnpm-lock.yaml") {
		t.Errorf("err = %v (%v), want invalid params", err, k)
	}
	_, err = runTask(t, map[string]any{"pythonLockfiles": []any{"testdata/python/missing.lock"}, "db": "testdata/osv-npm"})
	if tasktest.KindOf(err) != tasktest.Invalid {
		t.Errorf("missing file: err = %v, want invalid params", err)
	}
	_ = sbomscan.Name
}
