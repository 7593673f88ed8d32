package sbomscan_test

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/sbomscan"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/internal/govulndb"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
	"github.com/shipshape-dev/shipshape/plan"
)

const (
	sbomFixtures  = "testdata"
	fixtureVulnDB = "testdata/vulndb"
)

// realGoVulnDB is the Go vulnerability database beside the repository
// (../shared/data/osv-go/entries from its root); tests that need it skip
// where it is absent.
func realGoVulnDB(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "osv-go", "entries"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: the shared Go vulnerability database is not at %s (it lives outside the repository)", dir)
	}
	return dir
}

// runScan runs sbom-scan with an artifact directory, as a worker would.
func runScan(t *testing.T, scanner *sbomscan.Scanner, with map[string]any) (task.Output, string, error) {
	t.Helper()
	artifacts := t.TempDir()
	run := &tasktest.Runner{Types: []task.Type{scanner.Type()}, ArtifactDir: artifacts, Task: t.Name()}
	out, err := run.Run(t, sbomscan.Name, with)
	return out, artifacts, err
}

// runTask runs sbom-scan once, without an artifact directory.
func runTask(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, sbomscan.New(sbomscan.Config{}).Type(), with)
}

func findingIDs(t *testing.T, out task.Output) []string {
	t.Helper()
	if len(out.Tables) == 0 {
		return nil
	}
	var ids []string
	for _, row := range out.Tables[0].Rows {
		ids = append(ids, row[0])
	}
	return ids
}

func TestSBOMScanFixtures(t *testing.T) {
	out, artifacts, err := runScan(t, sbomscan.New(sbomscan.Config{}), map[string]any{
		"goModules":    []any{"testdata/vulnmod"},
		"npmLockfiles": []any{"testdata/package-lock.json"},
		"db":           fixtureVulnDB,
	})
	if err != nil {
		t.Fatal(err)
	}
	// x/text (GO- and GHSA- advisories merged: LOW), stdlib go1.21 (HIGH),
	// the go command go1.21 (UNKNOWN, counted as high), lodash (CRITICAL from
	// its vector, not its LOW word), left-pad 1.0.0/1.1.0/1.3.0 (one finding,
	// MEDIUM, no fix); the withdrawn x/net advisory is not reported.
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"vulns.critical": 1, "vulns.high": 2, "vulns.medium": 1, "vulns.low": 1, "vulns.unknown": 1,
		"vulns.total": 5, "vulns.fixable": 4, "vulns.accepted": 0, "sbom.components": 12,
	}, 0)
	want := []string{"GHSA-2099-lodash-0001", "GO-2099-0102", "GHSA-2099-leftpad-0001", "GO-2099-0101", "GO-2099-0104"}
	if got := findingIDs(t, out); !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v (by severity)", got, want)
	}
	row := out.Tables[0].Rows[3]
	if row[1] != "CVE-2099-0101, GHSA-2099-xtext-0001" || row[3] != "v0.3.7 → v0.3.8" || row[4] != "LOW" {
		t.Errorf("x/text row %q", row)
	}
	if row := out.Tables[0].Rows[2]; row[2] != "left-pad; left-pad; left-pad" || !strings.Contains(row[3], "1.3.0 → no fix") {
		t.Errorf("left-pad row %q", row)
	}
	if row := out.Tables[0].Rows[1]; row[3] != "go1.21.0 → go1.21.5" {
		t.Errorf("stdlib row %q, want go1.21.0 → go1.21.5", row)
	}
	if !strings.Contains(out.Output, "unknown counted as high") || !strings.Contains(out.Output, "1 withdrawn skipped") {
		t.Errorf("output:\n%s", out.Output)
	}

	// The SBOM, SARIF and findings are kept with the run and linked.
	if len(out.Artifacts) != 3 {
		t.Fatalf("artifacts %+v, want 3", out.Artifacts)
	}
	for _, a := range out.Artifacts {
		data, err := os.ReadFile(filepath.Join(artifacts, a.Path))
		if err != nil {
			t.Fatalf("artifact %s: %v", a.Path, err)
		}
		if !strings.HasPrefix(a.Path, "phase/"+t.Name()+"/") || !json.Valid(data) {
			t.Errorf("artifact %s: path or JSON wrong", a.Path)
		}
	}
	var bom struct {
		SpecVersion string `json:"specVersion"`
		Components  []struct {
			PURL string `json:"purl"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID string `json:"id"`
		} `json:"vulnerabilities"`
	}
	data, _ := os.ReadFile(filepath.Join(artifacts, out.Artifacts[0].Path))
	if err := json.Unmarshal(data, &bom); err != nil || bom.SpecVersion != "1.6" || len(bom.Components) != 12 || len(bom.Vulnerabilities) != 5 {
		t.Errorf("SBOM: spec %s, %d components, %d vulnerabilities, %v", bom.SpecVersion, len(bom.Components), len(bom.Vulnerabilities), err)
	}
	for _, c := range bom.Components {
		if c.PURL == "" {
			t.Errorf("component without purl in %s", out.Artifacts[0].Path)
		}
	}
}

func TestSBOMScanAllowList(t *testing.T) {
	outDir := filepath.Join(t.TempDir(), "ci")
	out, _, err := runScan(t, sbomscan.New(sbomscan.Config{}), map[string]any{
		"npmLockfiles": []any{"testdata/package-lock.json"},
		"goModules":    []any{"testdata/vulnmod"},
		"db":           fixtureVulnDB,
		"unknownAs":    "none",
		"outputDir":    outDir,
		"allow": []any{
			map[string]any{"id": "CVE-2099-0201", "reason": "template is never called with user input", "expires": "2999-12-31"},
			map[string]any{"id": "GO-2099-0102", "reason": "waiting for the next Go release", "expires": "2001-01-01"},
			map[string]any{"id": "GHSA-0000-gone-0000", "reason": "fixed long ago", "expires": "2999-12-31"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// lodash is accepted by its CVE alias; the stdlib entry expired and
	// counts again; the unknown one counts in no severity.
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"vulns.critical": 0, "vulns.high": 1, "vulns.medium": 1, "vulns.low": 1, "vulns.unknown": 1,
		"vulns.total": 4, "vulns.fixable": 3, "vulns.accepted": 1,
	}, 0)
	for _, want := range []string{
		"allow-list entry GO-2099-0102 expired on 2001-01-01 and counts again: GO-2099-0102 (was: waiting for the next Go release)",
		"allow-list entry GHSA-0000-gone-0000 matches no finding: remove it",
		"1 accepted by the allow-list", "unknown counted in no severity",
	} {
		if !strings.Contains(out.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, out.Output)
		}
	}
	var accepted, expired bool
	for _, row := range out.Tables[0].Rows {
		accepted = accepted || row[0] == "GHSA-2099-lodash-0001" && strings.HasPrefix(row[5], "[accepted until 2999-12-31: template is never called")
		expired = expired || row[0] == "GO-2099-0102" && strings.HasPrefix(row[5], "[allow-list entry expired 2001-01-01: counts again]")
	}
	if !accepted || !expired {
		t.Errorf("table does not mark the accepted and expired findings:\n%v", out.Tables[0].Rows)
	}
	// outputDir gets the files too, for CI to upload.
	sarif, err := os.ReadFile(filepath.Join(outDir, "vulnerabilities.sarif"))
	if err != nil || !strings.Contains(string(sarif), `"status": "accepted"`) {
		t.Errorf("outputDir SARIF lacks the accepted suppression: %v", err)
	}
	for _, f := range []string{"sbom.cdx.json", "findings.json"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestSBOMScanSources(t *testing.T) {
	tests := []struct {
		name string
		with map[string]any
		ids  []string
	}{
		{"existing CycloneDX and SPDX SBOMs", map[string]any{"sboms": []any{"testdata/cyclonedx.json"}}, []string{"GHSA-2099-leftpad-0001"}},
		{"a zip of advisories", map[string]any{"npmLockfiles": []any{"testdata/package-lock.json"}, "db": "ZIP"},
			[]string{"GHSA-2099-lodash-0001", "GHSA-2099-leftpad-0001"}},
		{"goVersion overrides go.mod", map[string]any{"goModules": []any{"testdata/vulnmod/go.mod"}, "goVersion": "go1.21.5"},
			[]string{"GO-2099-0101"}},
	}
	zipDir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]any{"db": fixtureVulnDB}
			for k, v := range tt.with {
				with[k] = v
			}
			if with["db"] == "ZIP" {
				with["db"] = zipFixtureDB(t, zipDir)
			}
			out, _, err := runScan(t, sbomscan.New(sbomscan.Config{}), with)
			if err != nil {
				t.Fatal(err)
			}
			if got := findingIDs(t, out); !slices.Equal(got, tt.ids) {
				t.Errorf("findings %v, want %v", got, tt.ids)
			}
		})
	}
}

func zipFixtureDB(t *testing.T, dir string) string {
	t.Helper()
	zipPath := filepath.Join(dir, "all.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	files, _ := filepath.Glob(filepath.Join(fixtureVulnDB, "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(filepath.Base(file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return zipPath
}

func TestSBOMScanInvalidParams(t *testing.T) {
	tests := []struct {
		name     string
		with     map[string]any
		fragment string
	}{
		{"nothing to scan", map[string]any{}, "nothing to scan"},
		{"missing go.mod", map[string]any{"goModules": []any{"testdata/nope"}}, "testdata/nope/go.mod"},
		{"not a lockfile", map[string]any{"npmLockfiles": []any{"testdata/cyclonedx.json"}}, "not a package-lock.json"},
		{"not an SBOM", map[string]any{"sboms": []any{"testdata/package-lock.json"}}, "neither a CycloneDX"},
		{"bad expiry", map[string]any{"goModules": []any{"testdata/vulnmod"},
			"allow": []any{map[string]any{"id": "X", "reason": "y", "expires": "next year"}}}, "allow[0].expires"},
		{"bad goVersion", map[string]any{"goModules": []any{"testdata/vulnmod"}, "goVersion": "latest"}, "goVersion"},
		{"no database", map[string]any{"goModules": []any{"testdata/vulnmod"}, "db": "testdata/no-such-db"}, "starter vulndb sync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]any{"db": fixtureVulnDB}
			for k, v := range tt.with {
				with[k] = v
			}
			_, err := runTask(t, with)
			tasktest.MustKind(t, err, tasktest.Invalid, tt.fragment)
		})
	}
}

func TestSBOMScanImagesWithoutSyft(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := runTask(t, map[string]any{"images": []any{"alpine:3.20"}, "db": fixtureVulnDB})
	tasktest.MustKind(t, err, tasktest.Invalid, "syft is not installed")
}

// TestSBOMScanWithFakeSyftAndGrype puts shell scripts named syft and grype
// on PATH (neither is installed here): syft prints a CycloneDX SBOM,
// grype a fixture report whose stated score (9.9) differs from its vector
// (7.5): the vector wins.
func TestSBOMScanWithFakeSyftAndGrype(t *testing.T) {
	bin := t.TempDir()
	cdx, _ := filepath.Abs(filepath.Join(sbomFixtures, "cyclonedx.json"))
	report, _ := filepath.Abs(filepath.Join(sbomFixtures, "grype.json"))
	for name, body := range map[string]string{"syft": "cat " + cdx, "grype": "cat " + report} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, _, err := runScan(t, sbomscan.New(sbomscan.Config{}), map[string]any{"images": []any{"registry.example/app:1"}, "db": "grype"})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"vulns.high": 1, "vulns.medium": 1, "vulns.total": 2, "vulns.fixable": 1, "sbom.components": 5}, 0)
	if row := out.Tables[0].Rows[0]; row[0] != "GHSA-4374-p667-p6c8" || row[1] != "CVE-2023-39325" || row[4] != "HIGH 7.5" {
		t.Errorf("grype finding row %q, want GHSA-4374-p667-p6c8 aliased CVE-2023-39325, HIGH 7.5 from the vector", row)
	}
	if !strings.Contains(out.Output, "grype 0.74.0") {
		t.Errorf("output does not name grype:\n%s", out.Output)
	}
}

// TestSBOMScanCachesTheIndex scans twice with one Scanner: the
// second scan reuses the index the first built.
func TestSBOMScanCachesTheIndex(t *testing.T) {
	scanner := sbomscan.New(sbomscan.Config{})
	with := map[string]any{"goModules": []any{"testdata/vulnmod"}, "db": fixtureVulnDB}
	first, _, err := runScan(t, scanner, with)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := runScan(t, scanner, with)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.Output, "indexed in") || !strings.Contains(second.Output, "cached index") {
		t.Errorf("first scan:\n%s\nsecond scan:\n%s\nwant the second to use the cached index", first.Output, second.Output)
	}
}

// TestVulnmodAgainstRealDatabase scans the fixture module pinned to old
// golang.org/x/net, x/crypto and x/text versions against the real Go
// vulnerability database. With goVersion set to the Go release govulncheck
// ran with, it must report exactly the advisories govulncheck -scan module
// reported (testdata/vulnmod/govulncheck-module.txt).
func TestVulnmodAgainstRealDatabase(t *testing.T) {
	db := realGoVulnDB(t)
	want := readIDList(t, filepath.Join(sbomFixtures, "vulnmod", "govulncheck-module.txt"))
	out, _, err := runScan(t, sbomscan.New(sbomscan.Config{}), map[string]any{
		"goModules": []any{"testdata/vulnmod"}, "db": db, "goVersion": "go1.26.8",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := findingIDs(t, out)
	// govulncheck leaves out advisories whose vulnerable code only builds
	// for other operating systems than the one it runs on; a module scan
	// reports them (a release may be built for Windows).
	got = slices.DeleteFunc(got, func(id string) bool { return !slices.Contains(want, id) && otherGOOSOnly(t, db, id) })
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("findings differ from govulncheck's:\n got %v\nwant %v", got, want)
	}

	// With the go.mod's own go 1.21, the standard library and the go
	// command of Go 1.21.0 add their advisories; GO-2023-2102 (HTTP/2
	// rapid reset) affects both x/net and the standard library, and
	// counts once.
	out, _, err = runScan(t, sbomscan.New(sbomscan.Config{}), map[string]any{"goModules": []any{"testdata/vulnmod"}, "db": db})
	if err != nil {
		t.Fatal(err)
	}
	var rapidReset []string
	for _, row := range out.Tables[0].Rows {
		if row[0] == "GO-2023-2102" {
			rapidReset = row
		}
	}
	if rapidReset == nil || rapidReset[2] != "golang.org/x/net; stdlib" || !strings.Contains(rapidReset[3], "go1.21.0 → go1.21.3") {
		t.Errorf("GO-2023-2102 row %q, want one finding for x/net and stdlib", rapidReset)
	}
	if n := out.Metrics["vulns.total"]; n <= float64(len(want)) {
		t.Errorf("vulns.total %v with go1.21: want more than the %d module findings", n, len(want))
	}
}

// TestVulnmodMatchesGovulncheck runs govulncheck -scan module live, when it
// is installed (go install golang.org/x/vuln/cmd/govulncheck@latest), on the
// fixture module against the same database laid out as govulncheck reads
// it, offline, and compares its advisory IDs with sbom-scan's.
func TestVulnmodMatchesGovulncheck(t *testing.T) {
	db := realGoVulnDB(t)
	bin, err := exec.LookPath("govulncheck")
	if err != nil {
		t.Skip("skipping: govulncheck is not on PATH")
	}
	layout := t.TempDir()
	if err := govulndb.Write(layout, db); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "file://"+layout, "-scan", "module", "-format", "json")
	cmd.Dir = filepath.Join(sbomFixtures, "vulnmod")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	raw, err := cmd.Output()
	if err != nil {
		t.Skipf("skipping: govulncheck cannot run offline here (modules not in the module cache?): %v", err)
	}
	goVersion, ids := govulncheckIDs(t, raw)
	out, _, err := runScan(t, sbomscan.New(sbomscan.Config{}), map[string]any{
		"goModules": []any{"testdata/vulnmod"}, "db": db, "goVersion": goVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := findingIDs(t, out)
	// sbom-scan also checks the go command (toolchain) and code for other
	// operating systems; govulncheck does neither.
	got = slices.DeleteFunc(got, func(id string) bool {
		return !slices.Contains(ids, id) && (isToolchainOnly(t, db, id) || otherGOOSOnly(t, db, id))
	})
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Errorf("sbom-scan %v\ngovulncheck %v", got, ids)
	}
}

func isToolchainOnly(t *testing.T, db, id string) bool {
	data, err := os.ReadFile(filepath.Join(db, id+".json"))
	if err != nil {
		return false
	}
	e, _, err := vulndb.ParseEntry(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range e.Affected {
		if a.Package.Name != vulndb.ModuleToolchain {
			return false
		}
	}
	return true
}

// otherGOOSOnly reports whether every vulnerable import of an advisory is
// limited to operating systems other than this one.
func otherGOOSOnly(t *testing.T, db, id string) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(db, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Affected []struct {
			EcosystemSpecific struct {
				Imports []struct {
					GOOS []string `json:"goos"`
				} `json:"imports"`
			} `json:"ecosystem_specific"`
		} `json:"affected"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	restricted := false
	for _, a := range e.Affected {
		for _, imp := range a.EcosystemSpecific.Imports {
			if len(imp.GOOS) == 0 || slices.Contains(imp.GOOS, runtime.GOOS) {
				return false
			}
			restricted = true
		}
	}
	return restricted
}

func govulncheckIDs(t *testing.T, raw []byte) (goVersion string, ids []string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	seen := map[string]bool{}
	for dec.More() {
		var msg struct {
			Config *struct {
				GoVersion string `json:"go_version"`
			} `json:"config"`
			Finding *struct {
				OSV string `json:"osv"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); err != nil {
			t.Fatal(err)
		}
		if msg.Config != nil {
			goVersion = msg.Config.GoVersion
		}
		if msg.Finding != nil && !seen[msg.Finding.OSV] {
			seen[msg.Finding.OSV] = true
			ids = append(ids, msg.Finding.OSV)
		}
	}
	slices.Sort(ids)
	return goVersion, ids
}

func readIDList(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			ids = append(ids, line)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestSBOMScanSecondScanFaster checks the cache on the real database: a
// second scan with the same worker does not index it again. The figure
// itself (≥ 10× faster) is measured in bench/sbom, not asserted here.
func TestSBOMScanSecondScanFaster(t *testing.T) {
	db := realGoVulnDB(t)
	scanner := sbomscan.New(sbomscan.Config{})
	with := map[string]any{"goModules": []any{"."}, "dir": filepath.Join("..", ".."), "db": db}
	start := time.Now()
	if _, _, err := runScan(t, scanner, with); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	out, _, err := runScan(t, scanner, with)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first scan %s, second %s", first, time.Since(start))
	if !strings.Contains(out.Output, "cached index") {
		t.Errorf("second scan did not use the cached index:\n%s", out.Output)
	}
}

func TestSBOMScanDeclarationAndExample(t *testing.T) {
	decl, ok := all.Catalog()[sbomscan.Name]
	if !ok {
		t.Fatal("sbom-scan is not in the registry")
	}
	for _, p := range decl.Params {
		if p.Doc == "" || p.Required && p.Default != nil {
			t.Errorf("parameter %s: doc %q, required %v with default %v", p.Name, p.Doc, p.Required, p.Default)
		}
		if p.Default != nil {
			if err := defaultFits(p); err != nil {
				t.Errorf("parameter %s: %v", p.Name, err)
			}
		}
	}
	for _, m := range []string{"vulns.critical", "vulns.high", "vulns.medium", "vulns.low", "vulns.unknown", "vulns.total", "vulns.fixable", "sbom.components"} {
		if _, ok := decl.Metric(m); !ok {
			t.Errorf("metric %s not declared", m)
		}
	}
	p, err := plan.Load(filepath.Join("..", "..", "examples", "plans", "sbom.yaml"), all.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if first := p.Spec.Phases[0].Tasks[0]; first.Uses != sbomscan.Name {
		t.Errorf("examples/plans/sbom.yaml runs %s, want sbom-scan", first.Uses)
	}
}

// TestSBOMScanOSVAPI scans against a fake of the osv.dev API (an httptest
// server: osv.dev is not reachable from here). The advisories it names are
// matched locally, so a stale answer from the API cannot add findings.
func TestSBOMScanOSVAPI(t *testing.T) {
	var stdlibVersion atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/querybatch":
			var req struct {
				Queries []struct {
					Package struct{ Name string } `json:"package"`
					Version string                `json:"version"`
				} `json:"queries"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			var results []map[string]any
			for _, q := range req.Queries {
				var vulns []map[string]string
				switch q.Package.Name {
				case "lodash":
					vulns = append(vulns, map[string]string{"id": "GHSA-2099-lodash-0001"})
				case "left-pad":
					// A withdrawn advisory of another package: matched
					// locally, it is not a finding.
					vulns = append(vulns, map[string]string{"id": "GO-2099-0103"})
				case "stdlib":
					stdlibVersion.Store(q.Version)
				}
				results = append(results, map[string]any{"vulns": vulns})
			}
			json.NewEncoder(w).Encode(map[string]any{"results": results})
		case strings.HasPrefix(r.URL.Path, "/v1/vulns/"):
			http.ServeFile(w, r, filepath.Join(fixtureVulnDB, strings.TrimPrefix(r.URL.Path, "/v1/vulns/")+".json"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out, _, err := runScan(t, sbomscan.New(sbomscan.Config{HTTPClient: srv.Client()}), map[string]any{
		"npmLockfiles": []any{"testdata/package-lock.json"}, "goModules": []any{"testdata/vulnmod"}, "db": srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Only what the API named is looked at (not x/text's GO-2099-0101).
	if got := findingIDs(t, out); !slices.Equal(got, []string{"GHSA-2099-lodash-0001"}) {
		t.Errorf("findings %v, want only the lodash advisory", got)
	}
	if v, _ := stdlibVersion.Load().(string); v != "1.21.0" {
		t.Errorf("stdlib asked as %q, want the API's form 1.21.0", v)
	}
	if !strings.Contains(out.Output, "OSV API "+srv.URL) {
		t.Errorf("output does not name the API:\n%s", out.Output)
	}
}

// defaultFits checks a string default against its parameter's enum.
func defaultFits(p plan.Param) error {
	s, ok := p.Default.(string)
	switch {
	case p.Type != plan.TypeString || !ok:
		return fmt.Errorf("default %v of a %s parameter: want a string", p.Default, p.Type)
	case p.Enum != nil && !slices.Contains(p.Enum, s):
		return fmt.Errorf("default %q is not one of %v", s, p.Enum)
	}
	return nil
}
