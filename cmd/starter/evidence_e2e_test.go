//go:build integration

package main_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEvidenceBundle runs a plan, then `starter evidence` writes one
// archive holding its reports, the plan as it ran (vars resolved), its
// event log, the artifacts its tasks kept (the SBOM and vulnerability
// SARIF a scan wrote, the SARIF a lint gate read) and MANIFEST.sha256,
// whose sums match every file.
func TestEvidenceBundle(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	abs := func(rel string) string {
		p, err := filepath.Abs(filepath.Join("..", "..", rel))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := writePlan(t, `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: evidence}
spec:
  vars: {greeting: hello, sarif: "", sbom: "", db: ""}
  phases:
    - name: build
      tasks:
        - name: echo
          uses: command
          with: {argv: [echo, "${vars.greeting}"]}
          gates: [{metric: command.exit_code, pass: "== 0"}]
    - name: checks
      tasks:
        - name: lint
          uses: static-analysis
          with: {files: ["${vars.sarif}"]}
        - name: sbom
          uses: sbom-scan
          with: {sboms: ["${vars.sbom}"], db: "${vars.db}"}
`)
	reports := t.TempDir()
	if r := starter(t, ctx, append([]string{"run", "--run-id", "evidence-1", "--artifact-dir", reports, "--set", "vars.greeting=audited",
		"--set", "vars.sarif=" + abs("activities/staticanalysis/testdata/sarif/golangci-lint.sarif"),
		"--set", "vars.sbom=" + abs("activities/sbomscan/testdata/cyclonedx.json"), "--set", "vars.db=" + abs("activities/sbomscan/testdata/vulndb")},
		c.args(file)...)...); r.code > 1 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "evidence.tar.gz")
	if r := starter(t, ctx, append([]string{"evidence", "evidence-1", "--out", out, "--artifact-dir", reports}, c.args()...)...); r.code != 0 {
		t.Fatalf("evidence: exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = data
	}
	for _, name := range []string{"report.json", "report.md", "report.html", "junit.xml", "plan.json", "events.jsonl", "MANIFEST.sha256"} {
		if len(files[name]) == 0 {
			t.Errorf("the archive has no %s (files: %d)", name, len(files))
		}
	}
	for _, name := range []string{"artifacts/checks/sbom/sbom.cdx.json", "artifacts/checks/sbom/vulnerabilities.sarif", "artifacts/checks/lint/findings-1-golangci-lint.sarif"} {
		if len(files[name]) == 0 {
			var names []string
			for n := range files {
				names = append(names, n)
			}
			t.Errorf("the archive has no %s (files: %v)", name, names)
		}
	}
	if orig, _ := os.ReadFile(abs("activities/staticanalysis/testdata/sarif/golangci-lint.sarif")); string(orig) != string(files["artifacts/checks/lint/findings-1-golangci-lint.sarif"]) {
		t.Errorf("the bundled SARIF is not the one the lint gate read")
	}
	if !strings.Contains(string(files["plan.json"]), `"audited"`) {
		t.Errorf("plan.json is not the plan as it ran (vars resolved):\n%s", files["plan.json"])
	}
	if !strings.Contains(string(files["events.jsonl"]), "dev.shipshape.run.finished") {
		t.Errorf("events.jsonl lacks run.finished:\n%s", files["events.jsonl"])
	}
	lines := strings.Split(strings.TrimSpace(string(files["MANIFEST.sha256"])), "\n")
	if len(lines) != len(files)-1 {
		t.Errorf("manifest lists %d files, the archive holds %d besides it", len(lines), len(files)-1)
	}
	for _, line := range lines {
		sum, name, _ := strings.Cut(line, "  ")
		got := sha256.Sum256(files[name])
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("manifest sum of %s does not match", name)
		}
	}
}
