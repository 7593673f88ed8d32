package coverage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/coverage"
)

// TestJaCoCoAndXccov: Android (JaCoCo XML) and iOS (xccov JSON) coverage
// read without a converter, detected by their content.
func TestJaCoCoAndXccov(t *testing.T) {
	for _, tt := range []struct {
		file                  string
		format                coverage.Format
		lines, branches       coverage.Counts
		wantBranches, wantPkg string
	}{
		{"jacoco/jacoco.xml", coverage.FormatJaCoCo, coverage.Counts{Covered: 3, Total: 5}, coverage.Counts{Covered: 1, Total: 4}, "yes", "com/example/shop"},
		{"xccov/report.json", coverage.FormatXccov, coverage.Counts{Covered: 30, Total: 40}, coverage.Counts{}, "", "/Users/ci/shop/Shop"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if f, ok := coverage.Detect(data); !ok || f != tt.format {
				t.Fatalf("Detect = %s, %v; want %s", f, ok, tt.format)
			}
			r := coverage.NewReport("")
			if err := r.Add(tt.file, coverage.FormatAuto, strings.NewReader(string(data))); err != nil {
				t.Fatal(err)
			}
			tot := r.Totals()
			if tot.Lines != tt.lines || tot.Statements != tt.lines {
				t.Errorf("lines %+v statements %+v, want %+v", tot.Lines, tot.Statements, tt.lines)
			}
			if (tt.wantBranches != "") != tot.HasBranches || tot.Branches != tt.branches {
				t.Errorf("branches %+v (has %v), want %+v", tot.Branches, tot.HasBranches, tt.branches)
			}
			pkgs := r.Packages()
			if len(pkgs) != 1 || pkgs[0].Name != tt.wantPkg {
				t.Errorf("packages %+v, want one named %s", pkgs, tt.wantPkg)
			}
		})
	}
}

// Bad JaCoCo and xccov input is refused, located where the format allows.
func TestJaCoCoAndXccovRefuseBadInput(t *testing.T) {
	for _, tt := range []struct {
		format      coverage.Format
		input, want string
	}{
		{coverage.FormatJaCoCo, `<coverage></coverage>`, "want <report> in a JaCoCo report"},
		{coverage.FormatJaCoCo, "<report>\n<package name=\"p\"><sourcefile name=\"A.java\">\n<line nr=\"x\"/></sourcefile></package></report>", "bad.xml:3: <line> nr \"x\""},
		{coverage.FormatJaCoCo, "<report><package", "invalid XML"},
		{coverage.FormatXccov, `[1,2]`, "not an xccov JSON report"},
		{coverage.FormatXccov, `{"targets":[{"name":"A","files":[{"path":"a.swift","coveredLines":5,"executableLines":2}]}]}`, "5 covered of 2 executable lines"},
	} {
		err := coverage.NewReport("").Add("bad.xml", tt.format, strings.NewReader(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: err %v, want %q", tt.format, tt.input, err, tt.want)
		}
	}
}
