package staticanalysis_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/staticanalysis"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/plan"
)

func run(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	if _, set := with["dir"]; !set {
		with["dir"] = "testdata"
	}
	return tasktest.Run(t, staticanalysis.New(nil).Type(), with)
}

func TestDeclaration(t *testing.T) {
	decl, ok := all.Catalog()[staticanalysis.Name]
	if !ok {
		t.Fatalf("%s is not in the registry", staticanalysis.Name)
	}
	if decl.Name != staticanalysis.Decl.Name || decl.Summary == "" || decl.Timeout <= 0 || decl.Manual || decl.Workflow {
		t.Errorf("declaration incomplete: %+v", decl)
	}
	for _, p := range decl.Params {
		if p.Doc == "" {
			t.Errorf("parameter %s has no doc", p.Name)
		}
		if p.Required && p.Default != nil {
			t.Errorf("parameter %s is required and has a default", p.Name)
		}
		if s, ok := p.Default.(string); ok && p.Enum != nil && !slices.Contains(p.Enum, s) {
			t.Errorf("parameter %s: default %q not in %v", p.Name, s, p.Enum)
		}
		if p.Type == plan.TypeBytes {
			if _, err := plan.ParseBytes(p.Default.(string)); err != nil {
				t.Errorf("parameter %s: default: %v", p.Name, err)
			}
		}
	}
	for _, m := range decl.Metrics {
		if m.Unit != plan.UnitCount || m.Doc == "" {
			t.Errorf("metric %s: unit %q, doc %q", m.Name, m.Unit, m.Doc)
		}
	}
	out, err := run(t, map[string]any{"files": []any{"eslint/eslint.sarif", "tsc/broken.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	for name := range out.Metrics {
		if _, ok := decl.Metric(name); !ok {
			t.Errorf("metric %s emitted but not declared", name)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		with   map[string]any
		want   map[string]float64
		absent []string
	}{
		{
			name: "tsc output (TypeScript 5.9)",
			with: map[string]any{"files": []any{"tsc/broken.txt"}},
			want: map[string]float64{"findings.total": 4, "findings.error": 4, "findings.warning": 0, "findings.new": 4, "findings.tool.tsc": 4, "findings.files": 1},
		},
		{
			name: "tsc output of two files, with elaborations",
			with: map[string]any{"files": []any{"tsc/two-files.txt"}, "format": "tsc"},
			want: map[string]float64{"findings.total": 6, "findings.error": 6, "findings.tool.tsc": 6},
		},
		{
			name: "tsc output with its Found N errors summary",
			with: map[string]any{"files": []any{"tsc/summary.txt"}},
			want: map[string]float64{"findings.error": 4},
		},
		{
			name:   "tsc without errors writes nothing",
			with:   map[string]any{"files": []any{"tsc/clean.txt"}, "format": "tsc"},
			want:   map[string]float64{"findings.total": 0, "findings.error": 0, "findings.new": 0, "findings.files": 1},
			absent: []string{"findings.tool.tsc"},
		},
		{
			name: "ESLint 8 checkstyle",
			with: map[string]any{"files": []any{"eslint/checkstyle.xml"}},
			want: map[string]float64{"findings.total": 5, "findings.error": 2, "findings.warning": 3, "findings.tool.eslint": 5},
		},
		{
			name: "ESLint 8 SARIF (@microsoft/eslint-formatter-sarif)",
			with: map[string]any{"files": []any{"eslint/eslint.sarif"}, "format": "sarif"},
			want: map[string]float64{"findings.total": 5, "findings.error": 2, "findings.warning": 3, "findings.tool.eslint": 5, "findings.new": 5},
		},
		{
			name: "golangci-lint SARIF",
			with: map[string]any{"files": []any{"sarif/golangci-lint.sarif"}},
			want: map[string]float64{"findings.error": 3, "findings.warning": 1, "findings.tool.golangci-lint": 4},
		},
		{
			// Semgrep's results come before its tool; levels from the rules'
			// defaultConfiguration, a ruleIndex without a ruleId, an
			// artifact index without a URI, a pass result skipped.
			name: "several tools in one log",
			with: map[string]any{"files": []any{"sarif/scanners.sarif"}},
			want: map[string]float64{
				"findings.total": 5, "findings.error": 2, "findings.warning": 1, "findings.note": 2,
				"findings.tool.semgrep-oss": 3, "findings.tool.trivy": 2, "findings.new": 5,
			},
			absent: []string{"findings.tool.hadolint"},
		},
		{
			// unchanged and updated are not new, absent is gone, a
			// suppressed result is not a finding.
			name: "baselineState and suppressions",
			with: map[string]any{"files": []any{"sarif/codeql-baselined.sarif"}},
			want: map[string]float64{"findings.total": 2, "findings.error": 0, "findings.warning": 1, "findings.note": 1, "findings.new": 0, "findings.suppressed": 1, "findings.tool.codeql": 2},
		},
		{
			name: "the SARIF sbom-scan writes",
			with: map[string]any{"files": []any{"sarif/shipshape-sbom.sarif"}},
			want: map[string]float64{"findings.total": 2, "findings.error": 1, "findings.note": 1, "findings.suppressed": 1, "findings.tool.shipshape": 2},
		},
		{
			name: "globs merged, a file matched twice read once",
			with: map[string]any{"files": []any{"sarif/**/*.sarif", "eslint/*.sarif", "sarif/golangci-lint.sarif", "tsc/broken.txt"}},
			want: map[string]float64{
				"findings.files": 7, "findings.tool.tsc": 4, "findings.tool.golangci-lint": 4, "findings.tool.eslint": 8,
				"findings.total": 4 + 4 + 5 + 3 + 5 + 2 + 2,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, tc.with)
			if err != nil {
				t.Fatal(err)
			}
			tasktest.MustMetrics(t, out.Metrics, tc.want, 0, tc.absent...)
		})
	}
}

func TestBaseline(t *testing.T) {
	// ESLint writes no fingerprints: rule, file and message identify a
	// finding. The baseline lacks the no-undef and no-debugger findings.
	out, err := run(t, map[string]any{"files": []any{"eslint/eslint.sarif"}, "baseline": "eslint/baseline.sarif"})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"findings.total": 5, "findings.new": 2}, 0)
	if !strings.Contains(out.Output, "2 new against eslint/baseline.sarif") {
		t.Errorf("summary %q", out.Output)
	}

	// A baseline overrides the results' own baselineState: against itself
	// nothing is new, against an unrelated log everything is.
	out, err = run(t, map[string]any{"files": []any{"sarif/codeql-baselined.sarif"}, "baseline": "sarif/codeql-baselined.sarif"})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"findings.new": 0}, 0)
	out, err = run(t, map[string]any{"files": []any{"sarif/codeql-baselined.sarif"}, "baseline": "sarif/golangci-lint.sarif"})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"findings.new": 2}, 0)

	// A tsc baseline works the same way.
	out, err = run(t, map[string]any{"files": []any{"tsc/two-files.txt"}, "baseline": "tsc/broken.txt"})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"findings.error": 6, "findings.new": 2}, 0)
}

func TestReport(t *testing.T) {
	out, err := run(t, map[string]any{"files": []any{"eslint/checkstyle.xml", "tsc/broken.txt"}, "show": 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tables) != 2 {
		t.Fatalf("tables %+v, want rules and findings", out.Tables)
	}
	rules, list := out.Tables[0], out.Tables[1]
	if rules.Title != "Rules with the most findings (top 3 of 8)" {
		t.Errorf("rules title %q", rules.Title)
	}
	wantRules := [][]string{{"TS2322", "tsc", "error", "2"}, {"no-undef", "eslint", "error", "1"}, {"no-unused-vars", "eslint", "error", "1"}}
	if !slices.EqualFunc(rules.Rows, wantRules, slices.Equal) {
		t.Errorf("rules rows %q, want %q", rules.Rows, wantRules)
	}
	if list.Title != "Findings (first 3 of 9, most severe first)" || len(list.Rows) != 3 {
		t.Fatalf("findings table %q: %q", list.Title, list.Rows)
	}
	// Errors first, in the order read: the checkstyle file sorts first.
	if got := list.Rows[0]; got[0] != "error" || got[1] != "no-unused-vars" || got[2] != "/tmp/h-tools/lint/app.js:1" {
		t.Errorf("first finding %q", got)
	}
	if got := list.Rows[2]; got[1] != "TS2322" || got[2] != "broken.ts:6" || got[3] != "Type 'string' is not assignable to type 'number'." {
		t.Errorf("third finding %q", got)
	}
	for _, s := range []string{"9 findings (6 errors, 3 warnings, 0 notes) in 2 files", "by tool: eslint 5 tsc 4", "eslint/checkstyle.xml"} {
		if !strings.Contains(out.Output, s) {
			t.Errorf("summary %q lacks %q", out.Output, s)
		}
	}

	// Paths below dir are shown relative to it; a clean run has no tables.
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/tsc/two-files.txt")
	if err != nil {
		t.Fatal(err)
	}
	abs := strings.ReplaceAll(string(data), "chain.ts(", filepath.Join(dir, "src", "chain.ts")+"(")
	if err := os.WriteFile(filepath.Join(dir, "tsc.txt"), []byte(abs), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, map[string]any{"files": []any{"tsc.txt"}, "dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	var locs []string
	for _, row := range out.Tables[1].Rows {
		locs = append(locs, row[2])
	}
	if !slices.Contains(locs, "src/chain.ts:4") {
		t.Errorf("locations %q lack src/chain.ts:4", locs)
	}
	// A byte order mark is skipped.
	for _, f := range []string{"eslint/eslint.sarif", "eslint/checkstyle.xml", "tsc/broken.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bom-"+filepath.Base(f)), append([]byte("\ufeff"), data...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err = run(t, map[string]any{"files": []any{"bom-*"}, "dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"findings.files": 3, "findings.total": 14}, 0)

	out, err = run(t, map[string]any{"files": []any{"tsc/clean.txt"}, "format": "tsc"})
	if err != nil || len(out.Tables) != 0 {
		t.Errorf("clean: tables %+v, err %v", out.Tables, err)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name      string
		with      map[string]any
		fragments []string
	}{
		{"a glob matching nothing", map[string]any{"files": []any{"tsc/broken.txt", "reports/*.sarif"}}, []string{`no findings file matches "reports/*.sarif"`}},
		{"truncated SARIF", map[string]any{"files": []any{"bad/truncated.sarif"}}, []string{"bad/truncated.sarif:36", "truncated JSON"}},
		{"SARIF 2.0.0", map[string]any{"files": []any{"bad/version-2.0.0.sarif"}}, []string{"bad/version-2.0.0.sarif:2", `SARIF version "2.0.0", only 2.1.0 is supported`}},
		{"JSON that is not SARIF", map[string]any{"files": []any{"bad/no-version.json"}}, []string{"bad/no-version.json", "not a SARIF log: no version property"}},
		{"a JSON array", map[string]any{"files": []any{"bad/array.json"}}, []string{"bad/array.json:1", "not a SARIF log: it starts with '['"}},
		{"a bad result level", map[string]any{"files": []any{"bad/level.sarif"}}, []string{"bad/level.sarif:", `level "fatal"`}},
		{"XML read as SARIF", map[string]any{"files": []any{"eslint/checkstyle.xml"}, "format": "sarif"}, []string{"eslint/checkstyle.xml:1 (read as sarif)", "invalid JSON"}},
		{"truncated XML", map[string]any{"files": []any{"bad/truncated.xml"}}, []string{"bad/truncated.xml:1", "truncated XML"}},
		{"JUnit, not Checkstyle", map[string]any{"files": []any{"bad/junit.xml"}}, []string{"bad/junit.xml:2", "root element <testsuites>, want <checkstyle>"}},
		{"a bad line attribute", map[string]any{"files": []any{"bad/bad-line.xml"}}, []string{"bad/bad-line.xml:4", `line "x" is not a line or column number`}},
		{"binary garbage", map[string]any{"files": []any{"bad/garbage.bin"}}, []string{"bad/garbage.bin", "binary data"}},
		{"text that is not tsc output", map[string]any{"files": []any{"bad/not-tsc.txt"}}, []string{"bad/not-tsc.txt:1", "not SARIF, Checkstyle XML or tsc output"}},
		{"pretty tsc output", map[string]any{"files": []any{"bad/not-tsc.txt"}, "format": "tsc"}, []string{"bad/not-tsc.txt:1 (read as tsc)", "is not a tsc diagnostic", "--pretty false"}},
		{"a summary that disagrees", map[string]any{"files": []any{"bad/tsc-summary-mismatch.txt"}}, []string{"bad/tsc-summary-mismatch.txt:5", "the summary says 5 errors but the output lists 4"}},
		{"an empty file with format auto", map[string]any{"files": []any{"bad/empty.txt"}}, []string{"bad/empty.txt", "empty file", "format: tsc"}},
		{"an empty file read as SARIF", map[string]any{"files": []any{"bad/empty.txt"}, "format": "sarif"}, []string{"bad/empty.txt (read as sarif)", "empty file"}},
		{"a file above maxFileSize", map[string]any{"files": []any{"eslint/eslint.sarif"}, "maxFileSize": "1KB"}, []string{"eslint/eslint.sarif is 5157 bytes, more than maxFileSize (1000 bytes)"}},
		{"a bad baseline", map[string]any{"files": []any{"tsc/broken.txt"}, "baseline": "bad/truncated.xml"}, []string{"baseline bad/truncated.xml:1", "truncated XML"}},
		{"a missing baseline", map[string]any{"files": []any{"tsc/broken.txt"}, "baseline": "nope.sarif"}, []string{"baseline nope.sarif", "no such file"}},
		{"a dir that is not one", map[string]any{"files": []any{"x"}, "dir": "testdata/tsc/broken.txt"}, []string{"is not a directory"}},
		{"a bad format", map[string]any{"files": []any{"x"}, "format": "pmd"}, []string{`format "pmd"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.with)
			t.Log(err)
			tasktest.MustKind(t, err, tasktest.Invalid, tc.fragments...)
		})
	}
}

// TestExamplePlan loads examples/plans/static-analysis.yaml against the
// registry and checks that it uses this task type.
func TestExamplePlan(t *testing.T) {
	file := filepath.Join("..", "..", "examples", "plans", "static-analysis.yaml")
	p, err := plan.Load(file, all.Catalog(), nil)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	uses := 0
	for _, ph := range p.Spec.Phases {
		for _, tk := range ph.Tasks {
			if tk.Uses == staticanalysis.Name {
				uses++
			}
		}
	}
	if uses == 0 {
		t.Errorf("%s has no task that uses %s", file, staticanalysis.Name)
	}
}

// TestKeepsTheFindingsFilesItRead: with an artifact directory, the files
// the gate read are kept with the run, linked as artifacts (SARIF by its
// media type), so reports link them and `starter evidence` bundles them.
func TestKeepsTheFindingsFilesItRead(t *testing.T) {
	dir := t.TempDir()
	r := tasktest.Runner{Types: []task.Type{staticanalysis.New(nil).Type()}, ArtifactDir: dir, Task: "lint"}
	out, err := r.Run(t, staticanalysis.Name, map[string]any{"dir": "testdata", "files": []any{"sarif/*.sarif"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Artifacts) == 0 {
		t.Fatal("no artifacts")
	}
	for _, a := range out.Artifacts {
		if a.MediaType != "application/sarif+json" || !strings.HasPrefix(a.Path, "phase/lint/findings-") || !strings.HasPrefix(a.Name, "findings: sarif/") {
			t.Errorf("artifact %+v", a)
		}
		kept, err := os.ReadFile(filepath.Join(dir, a.Path))
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := os.ReadFile(filepath.Join("testdata", strings.TrimPrefix(a.Name, "findings: ")))
		if !bytes.Equal(kept, orig) {
			t.Errorf("%s is not the file read", a.Path)
		}
	}
	if out, _ := run(t, map[string]any{"files": []any{"sarif/*.sarif"}}); len(out.Artifacts) != 0 {
		t.Errorf("without an artifact directory: artifacts %+v", out.Artifacts)
	}
}
