package grype_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/grype"
)

const fixture = "../../activities/sbomscan/testdata/grype.json"

func TestParseFixtureReport(t *testing.T) {
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := grype.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Matches) != 2 || doc.Descriptor.Version != "0.74.0" {
		t.Fatalf("%d matches from grype %s, want 2 from 0.74.0", len(doc.Matches), doc.Descriptor.Version)
	}
	m := doc.Matches[0]
	if m.Vulnerability.ID != "GHSA-4374-p667-p6c8" || m.RelatedVulnerabilities[0].ID != "CVE-2023-39325" ||
		m.Vulnerability.Fix.Versions[0] != "0.17.0" || m.Artifact.PURL == "" || m.Vulnerability.CVSS[0].Vector == "" {
		t.Errorf("first match %+v", m)
	}
	if _, err := grype.Parse([]byte(`{"bomFormat": "CycloneDX"}`)); err == nil {
		t.Error("a CycloneDX document parses as a grype report")
	}
}

// TestScanWithFakeGrype runs a shell script named grype that prints the
// fixture report: grype itself is not installed here.
func TestScanWithFakeGrype(t *testing.T) {
	dir := t.TempDir()
	abs, _ := filepath.Abs(fixture)
	script := "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\ncat " + abs + "\n"
	if err := os.WriteFile(filepath.Join(dir, "grype"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	r, err := grype.New(grype.Config{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := r.Scan(context.Background(), "/tmp/sbom.cdx.json")
	if err != nil || len(doc.Matches) != 2 {
		t.Fatalf("Scan: %d matches, %v", len(doc.Matches), err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got := strings.TrimSpace(string(args)); got != "sbom:/tmp/sbom.cdx.json -o json -q" {
		t.Errorf("grype called with %q", got)
	}
}

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := grype.New(grype.Config{}); !errors.Is(err, grype.ErrNotInstalled) {
		t.Errorf("New without grype: %v, want ErrNotInstalled", err)
	}
}
