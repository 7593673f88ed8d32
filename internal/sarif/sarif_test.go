package sarif_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/shipshape-dev/shipshape/internal/sarif"
	"github.com/shipshape-dev/shipshape/internal/sbom"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
)

func fixtureReport(t *testing.T) sarif.Report {
	t.Helper()
	base, err := filepath.Abs("repo")
	if err != nil {
		t.Fatal(err)
	}
	inv := sbom.Inventory{Components: []sbom.Component{
		{Ref: "pkg:golang/golang.org/x/net@v0.1.0", Ecosystem: "Go", Name: "golang.org/x/net", Version: "v0.1.0",
			Sources: []sbom.Location{{File: filepath.Join(base, "go.mod"), Line: 7}}},
		{Ref: "pkg:golang/stdlib@go1.21.0", Ecosystem: "Go", Name: "stdlib", Version: "go1.21.0",
			Sources: []sbom.Location{{File: filepath.Join(base, "go.mod"), Line: 3}}},
		{Ref: "pkg:npm/left-pad@1.3.0", Ecosystem: "npm", Name: "left-pad", Version: "1.3.0",
			Sources: []sbom.Location{{File: "/elsewhere/web app/package-lock.json", Line: 20}}},
	}}
	return sarif.Report{
		ToolName: "shipshape", ToolVersion: "test", ToolURI: "https://github.com/shipshape-dev/shipshape",
		Inventory: inv, BaseDir: base,
		Accepted: map[string]string{"GHSA-npm1-0000-0001": "dev tooling only"},
		Findings: []vulndb.Finding{
			{
				ID: "GO-2023-2102", Aliases: []string{"CVE-2023-39325", "GHSA-4374-p667-p6c8"},
				Summary: "HTTP/2 rapid reset can cause excessive work in net/http", URL: "https://pkg.go.dev/vuln/GO-2023-2102",
				Rating: vulndb.Rating{Severity: vulndb.High, Score: 7.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Source: "CVSS_V3"},
				Packages: []vulndb.AffectedPackage{
					{Ref: inv.Components[0].Ref, Ecosystem: "Go", Name: "golang.org/x/net", Version: "v0.1.0", Fixed: "0.17.0"},
					{Ref: inv.Components[1].Ref, Ecosystem: "Go", Name: "stdlib", Version: "go1.21.0", Fixed: "1.21.3"},
				},
			},
			{
				ID: "GHSA-npm1-0000-0001", Summary: "prototype pollution", Rating: vulndb.Rating{Severity: vulndb.Unknown},
				Packages: []vulndb.AffectedPackage{{Ref: inv.Components[2].Ref, Ecosystem: "npm", Name: "left-pad", Version: "1.3.0"}},
			},
		},
	}
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := sarif.Write(&buf, fixtureReport(t)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("file:///sarif-schema-2.1.0.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("file:///sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema:\n%v\n%s", err, buf.String())
	}
	// A log that breaks the schema is caught: the check is not vacuous.
	bad := strings.Replace(buf.String(), `"level": "error"`, `"level": "fatal"`, 1)
	inst, _ = jsonschema.UnmarshalJSON(strings.NewReader(bad))
	if sch.Validate(inst) == nil {
		t.Error("a result with level fatal validates")
	}
}

func TestSARIFContent(t *testing.T) {
	log := sarif.Build(fixtureReport(t))
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != 2 || len(run.Results) != 3 {
		t.Fatalf("%d rules, %d results; want 2 rules and 3 results (one per vulnerable package)", len(run.Tool.Driver.Rules), len(run.Results))
	}
	if sev := run.Tool.Driver.Rules[0].Properties["security-severity"]; sev != "7.5" {
		t.Errorf("security-severity %v, want the CVSS score 7.5", sev)
	}
	if _, ok := run.Tool.Driver.Rules[1].Properties["security-severity"]; ok {
		t.Error("an unknown severity has a security-severity")
	}
	raw, _ := json.Marshal(run.Results)
	got := string(raw)
	for _, want := range []string{
		`"uri":"go.mod"`, `"startLine":7`, `"startLine":3`,
		`"uri":"file:///elsewhere/web%20app/package-lock.json"`,
		`golang.org/x/net v0.1.0 is affected by GO-2023-2102 (CVE-2023-39325, GHSA-4374-p667-p6c8)`,
		`Fixed in v0.17.0.`, `stdlib go1.21.0 is affected`, `Fixed in go1.21.3.`,
		`"suppressions":[{"kind":"external","status":"accepted","justification":"dev tooling only"}]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("results lack %s:\n%s", want, got)
		}
	}
	if run.Results[0].Level != "error" || run.Results[2].Level != "warning" {
		t.Errorf("levels %s, %s; want error for HIGH, warning for UNKNOWN", run.Results[0].Level, run.Results[2].Level)
	}
}
