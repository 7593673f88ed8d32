package sbom_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/shipshape-dev/shipshape/internal/sbom"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

const fixtures = "../../activities/sbomscan/testdata" // the sbom-scan task type's fixtures

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// summary lists components as "ref line" for compact comparisons.
func summary(inv sbom.Inventory) string {
	var lines []string
	for _, c := range inv.Components {
		s := c.Ref
		if len(c.Sources) > 0 && c.Sources[0].Line > 0 {
			s += " :" + strconv.Itoa(c.Sources[0].Line)
		}
		if c.Dev {
			s += " dev"
		}
		if c.Note != "" {
			s += " (" + c.Note + ")"
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

func TestGoModule(t *testing.T) {
	dir := filepath.Join(fixtures, "vulnmod")
	inv, err := sbom.GoModule(filepath.Join(dir, "go.mod"), mustRead(t, filepath.Join(dir, "go.mod")), mustRead(t, filepath.Join(dir, "go.sum")), "")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Main == nil || inv.Main.Name != "example.com/vulnfixture" {
		t.Errorf("main %+v, want example.com/vulnfixture", inv.Main)
	}
	var refs []string
	for _, c := range inv.Components {
		refs = append(refs, c.Ref)
	}
	want := []string{
		"pkg:golang/golang.org/x/crypto@v0.0.0-20220722155217-630584e8d5aa",
		"pkg:golang/golang.org/x/net@v0.0.0-20220722155237-a158d28d115b",
		"pkg:golang/golang.org/x/text@v0.3.7",
		"pkg:golang/golang.org/x/sys@v0.0.0-20220520151302-bc2c85ada10a",
		"pkg:golang/stdlib@go1.21",
		"pkg:golang/toolchain@go1.21",
	}
	if strings.Join(refs, "\n") != strings.Join(want, "\n") {
		t.Errorf("components:\n%s\nwant:\n%s", strings.Join(refs, "\n"), strings.Join(want, "\n"))
	}
	text := inv.Components[2]
	if text.Sources[0].Line != 8 || !strings.HasPrefix(text.Hash, "h1:") {
		t.Errorf("x/text at line %d with hash %q, want line 8 and its go.sum h1 checksum", text.Sources[0].Line, text.Hash)
	}
	if q, ok := inv.Components[4].Query(); !ok || vulndb.Canonical(q.Version) != "v1.21.0" {
		t.Errorf("stdlib query %+v, want version go1.21 = v1.21.0", q)
	}
}

func TestGoModuleReplacementsAndToolchain(t *testing.T) {
	gomod := []byte(`module example.com/app

go 1.22

toolchain go1.22.5

require (
	example.com/forked v1.0.0
	example.com/local v0.1.0
	example.com/pinned v1.2.0
)

replace example.com/forked => example.com/fork v1.0.1
replace example.com/local => ../local
replace example.com/pinned v1.1.0 => example.com/other v9.0.0
`)
	inv, err := sbom.GoModule("go.mod", gomod, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `pkg:golang/example.com/fork@v1.0.1 :8
pkg:golang/example.com/local@v0.1.0 :9 (replaced by the local directory ../local)
pkg:golang/example.com/pinned@v1.2.0 :10
pkg:golang/stdlib@go1.22.5 :5
pkg:golang/toolchain@go1.22.5 :5`
	if got := summary(inv); got != want {
		t.Errorf("components:\n%s\nwant:\n%s", got, want)
	}
	if len(inv.Warnings) != 1 || !strings.Contains(inv.Warnings[0], "no go.sum") {
		t.Errorf("warnings %q, want one about the missing go.sum", inv.Warnings)
	}
	if _, ok := inv.Components[1].Query(); ok {
		t.Error("a locally replaced module is looked up; its code is not the published version")
	}

	over, err := sbom.GoModule("go.mod", gomod, nil, "go1.23.1")
	if err != nil || !strings.Contains(summary(over), "pkg:golang/stdlib@go1.23.1") {
		t.Errorf("goVersion go1.23.1: %v\n%s", err, summary(over))
	}
	if _, err := sbom.GoModule("go.mod", gomod, nil, "1.x"); err == nil {
		t.Error("a Go version that is not a release is accepted")
	}
	var pe *sbom.ParseError
	if _, err := sbom.GoModule("go.mod", []byte("modul x\n"), nil, ""); !errors.As(err, &pe) {
		t.Errorf("broken go.mod: %v, want a ParseError", err)
	}
}

// TestGoBinary reads the build information of this test binary, which Go
// built from this repository's go.mod.
func TestGoBinary(t *testing.T) {
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := sbom.GoBinary(os.Args[0], f)
	if err != nil {
		t.Fatal(err)
	}
	self, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info in the test binary")
	}
	for _, dep := range self.Deps {
		if dep.Replace != nil {
			continue
		}
		ref := "pkg:golang/" + dep.Path + "@" + dep.Version
		if c, ok := inv.Component(strings.ReplaceAll(ref, "+", "%2B")); !ok || c.Hash != dep.Sum {
			t.Errorf("dependency %s@%s: %+v, %v", dep.Path, dep.Version, c, ok)
		}
	}
	if c, ok := inv.Component("pkg:golang/stdlib@" + strings.Fields(runtime.Version())[0]); !ok {
		t.Errorf("no stdlib component for %s in\n%s", runtime.Version(), summary(inv))
	} else if _, ok := c.Query(); !ok {
		t.Error("stdlib component cannot be looked up")
	}
	if _, err := sbom.GoBinary("x", bytes.NewReader([]byte("not a binary"))); err == nil {
		t.Error("a file that is not a Go binary is accepted")
	}
}

func TestNpmLock(t *testing.T) {
	inv, err := sbom.NpmLock("package-lock.json", mustRead(t, filepath.Join(fixtures, "package-lock.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := `pkg:npm/%40scope/util@2.0.0-rc.1 :30
pkg:npm/jest-lite@1.0.0 :35 dev
pkg:npm/left-pad@1.1.0 :39 dev
pkg:npm/left-pad@1.3.0 :20
pkg:npm/lodash@4.17.20 :25
pkg:npm/left-pad@1.0.0 :43`
	if got := summary(inv); got != want {
		t.Errorf("components:\n%s\nwant:\n%s", got, want)
	}
	if inv.Main == nil || inv.Main.Name != "webshop" || inv.Main.Version != "1.4.0" {
		t.Errorf("main %+v, want webshop 1.4.0", inv.Main)
	}
	if q, _ := inv.Components[0].Query(); q.Name != "@scope/util" || q.Ecosystem != "npm" {
		t.Errorf("scoped package query %+v", q)
	}

	v1, err := sbom.NpmLock("package-lock.json", mustRead(t, filepath.Join(fixtures, "package-lock-v1.json")))
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(v1); got != "pkg:npm/express@4.17.1\npkg:npm/qs@6.7.0\npkg:npm/left-pad@1.3.0" {
		t.Errorf("v1 components:\n%s", got)
	}
	if _, err := sbom.NpmLock("package.json", []byte(`{"name": "x", "dependencies": {"a": "^1"}}`)); err == nil {
		t.Error("a package.json is read as a lockfile")
	}
}

func TestExistingSBOMs(t *testing.T) {
	tests := []struct {
		file, main, want string
	}{
		{"cyclonedx.json", "example.com/payments", `pkg:golang/example.com/lib@v1.1.0
pkg:npm/left-pad@1.3.0
pkg:npm/%40scope/util@2.0.0
pkg:pypi/requests@2.19.0
no-purl@1.0 (no package URL)`},
		{"spdx.json", "payments", "pkg:golang/example.com/lib@v1.1.0\npkg:golang/stdlib@1.21.1"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			inv, err := sbom.Document(tt.file, mustRead(t, filepath.Join(fixtures, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(inv); got != tt.want {
				t.Errorf("components:\n%s\nwant:\n%s", got, tt.want)
			}
			if inv.Main == nil || inv.Main.Name != tt.main {
				t.Errorf("main %+v, want %s", inv.Main, tt.main)
			}
		})
	}
	if _, err := sbom.Document("x.json", []byte(`{"hello": 1}`)); err == nil || !strings.Contains(err.Error(), "neither a CycloneDX") {
		t.Errorf("unknown JSON: %v", err)
	}
}

func TestPURL(t *testing.T) {
	tests := []struct {
		purl, ecosystem, name, version string
	}{
		{"pkg:golang/github.com/docker/docker@v20.10.7%2Bincompatible", "Go", "github.com/docker/docker", "v20.10.7+incompatible"},
		{"pkg:npm/%40angular/core@16.0.0", "npm", "@angular/core", "16.0.0"},
		{"pkg:npm/lodash@4.17.21", "npm", "lodash", "4.17.21"},
		{"pkg:pypi/requests@2.31.0", "PyPI", "requests", "2.31.0"},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"},
		{"pkg:cargo/smallvec@1.6.0", "crates.io", "smallvec", "1.6.0"},
	}
	for _, tt := range tests {
		p, err := sbom.ParsePURL(tt.purl)
		if err != nil {
			t.Errorf("ParsePURL(%s): %v", tt.purl, err)
			continue
		}
		eco, name, version := p.Coordinates()
		if eco != tt.ecosystem || name != tt.name || version != tt.version {
			t.Errorf("%s: %s %s %s, want %s %s %s", tt.purl, eco, name, version, tt.ecosystem, tt.name, tt.version)
		}
		if back := sbom.PURLFor(eco, name, version); back != tt.purl {
			t.Errorf("PURLFor(%s, %s, %s) = %s, want %s", eco, name, version, back, tt.purl)
		}
	}
	for _, bad := range []string{"npm/lodash", "pkg:", "pkg:npm/"} {
		if _, err := sbom.ParsePURL(bad); err == nil {
			t.Errorf("ParsePURL(%q) accepted", bad)
		}
	}
}

// TestCycloneDXValidatesAgainstSchema writes an SBOM with components of
// every kind, vulnerabilities and an accepted finding, and validates it
// against the CycloneDX 1.6 JSON schema (vendored under testdata/schema).
func TestCycloneDXValidatesAgainstSchema(t *testing.T) {
	var inv sbom.Inventory
	dir := filepath.Join(fixtures, "vulnmod")
	gomod, err := sbom.GoModule(filepath.Join(dir, "go.mod"), mustRead(t, filepath.Join(dir, "go.mod")), mustRead(t, filepath.Join(dir, "go.sum")), "")
	if err != nil {
		t.Fatal(err)
	}
	inv.Add(gomod)
	lock, err := sbom.NpmLock("package-lock.json", mustRead(t, filepath.Join(fixtures, "package-lock.json")))
	if err != nil {
		t.Fatal(err)
	}
	inv.Add(lock)
	doc, err := sbom.Document("cyclonedx.json", mustRead(t, filepath.Join(fixtures, "cyclonedx.json")))
	if err != nil {
		t.Fatal(err)
	}
	inv.Add(doc)
	findings := []vulndb.Finding{{
		ID: "GO-2099-0001", Aliases: []string{"CVE-2099-1000", "GHSA-xxxx-yyyy-zzzz"}, Summary: "fixture <b>", URL: "https://pkg.go.dev/vuln/GO-2099-0001",
		Published: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		Rating:    vulndb.Rating{Severity: vulndb.Critical, Score: 9.8, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Source: "CVSS_V3"},
		Packages:  []vulndb.AffectedPackage{{Ref: inv.Components[0].Ref, Ecosystem: "Go", Name: inv.Components[0].Name, Version: inv.Components[0].Version, Fixed: "0.1.0"}},
	}, {
		ID: "GHSA-npm1-0000-0001", Rating: vulndb.Rating{Severity: vulndb.Unknown},
		Packages: []vulndb.AffectedPackage{{Ref: "pkg:npm/left-pad@1.3.0", Ecosystem: "npm", Name: "left-pad", Version: "1.3.0"}},
	}}
	var buf bytes.Buffer
	err = sbom.WriteCycloneDX(&buf, inv, sbom.WriteOptions{
		SerialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", Timestamp: time.Now(),
		ToolName: "shipshape", ToolVersion: "test", Findings: findings,
		Accepted: map[string]string{"GHSA-npm1-0000-0001": "not reachable from our code"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, "testdata/schema/bom-1.6.schema.json", buf.Bytes())

	var bom struct {
		SpecVersion string `json:"specVersion"`
		Components  []struct {
			PURL string `json:"purl"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID       string `json:"id"`
			Analysis *struct {
				State string `json:"state"`
			} `json:"analysis"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(buf.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != "1.6" || len(bom.Components) != len(inv.Components) || len(bom.Vulnerabilities) != 2 {
		t.Errorf("spec %s, %d components (want %d), %d vulnerabilities (want 2)", bom.SpecVersion, len(bom.Components), len(inv.Components), len(bom.Vulnerabilities))
	}
	if a := bom.Vulnerabilities[1].Analysis; a == nil || a.State != "exploitable" {
		t.Errorf("accepted finding analysis %+v, want state exploitable with a will_not_fix response", a)
	}
	// The SBOM reads back as the same components.
	again, err := sbom.Document("sbom.json", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Components) != len(inv.Components) {
		t.Errorf("read back %d components, wrote %d", len(again.Components), len(inv.Components))
	}
}

// mustValidate validates a JSON document against a schema file; the
// schemas it refers to must sit beside it.
func mustValidate(t testing.TB, schemaFile string, doc []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	dir := filepath.Dir(schemaFile)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var id string
		if m, ok := s.(map[string]any); ok {
			id, _ = m["$id"].(string)
		}
		if id == "" {
			id = "file:///" + e.Name()
		}
		if err := c.AddResource(id, s); err != nil {
			t.Fatal(err)
		}
		if e.Name() == filepath.Base(schemaFile) {
			schemaFile = id
		}
	}
	sch, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("document does not validate against %s:\n%v", schemaFile, err)
	}
}
