package testresults_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/activities/testresults"
	"github.com/shipshape-dev/shipshape/plan"
)

func run(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, testresults.New(nil).Type(), with)
}

func TestDeclaration(t *testing.T) {
	d := testresults.Decl
	if d.Name != testresults.Name || d.Summary == "" || d.Timeout <= 0 {
		t.Errorf("declaration incomplete: %+v", d)
	}
	for _, p := range d.Params {
		if p.Doc == "" {
			t.Errorf("parameter %s has no doc", p.Name)
		}
	}
	var names []string
	for _, m := range d.Metrics {
		names = append(names, m.Name)
		if m.Doc == "" {
			t.Errorf("metric %s has no doc", m.Name)
		}
	}
	out, err := run(t, map[string]any{"files": []any{"testdata/failing/*", "testdata/passing/*"}})
	if err != nil {
		t.Fatal(err)
	}
	for name := range out.Metrics {
		if !slices.Contains(names, name) {
			t.Errorf("metric %s reported but not declared", name)
		}
	}
	if problems := d.Check(map[string]any{"maxMessage": -1}); len(problems) != 1 {
		t.Errorf("maxMessage -1: %v", problems)
	}
}

func TestPassingReports(t *testing.T) {
	out, err := run(t, map[string]any{"files": []any{"testdata/passing/*.xml", "testdata/passing/*.tap", "testdata/passing/gotest.json"}})
	if err != nil {
		t.Fatal(err)
	}
	// node-junit 5 (1 skipped), node.tap 5 (1 skipped), gotest 4 (1 skipped), gradle 3 (1 skipped).
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"tests.total": 17, "tests.passed": 13, "tests.failed": 0, "tests.errored": 0, "tests.skipped": 4,
		"tests.pass_ratio": 1, "tests.flaky": 0, "tests.files": 4, "tests.slowest": 0.2,
	}, 1e-9)
	if out.Metrics["tests.duration"] <= 0 {
		t.Errorf("tests.duration %v", out.Metrics["tests.duration"])
	}
	if len(out.Tables) != 1 || out.Tables[0].Title != "Slowest tests" || len(out.Tables[0].Rows) != 10 {
		t.Errorf("tables %+v, want only the 10 slowest tests", out.Tables)
	}
	if !strings.HasPrefix(out.Output, "17 tests: 13 passed, 0 failed, 0 errored, 4 skipped in 4 reports, ") {
		t.Errorf("output %q", out.Output)
	}
}

func TestFailingReports(t *testing.T) {
	out, err := run(t, map[string]any{"files": []any{"testdata/failing/*", "testdata/junit/surefire.xml"}, "maxMessage": 20})
	if err != nil {
		t.Fatal(err)
	}
	// gotest 7 (3/2/1/1), node-junit 6 (2/2/0/2), node.tap 6 (2/2/0/2),
	// playwright 3 (2/1), surefire 5 (2/1/1/1, 1 flaky).
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"tests.total": 27, "tests.passed": 11, "tests.failed": 8, "tests.errored": 2, "tests.skipped": 6,
		"tests.pass_ratio": 11.0 / 21, "tests.flaky": 1, "tests.files": 5, "tests.slowest": 3.201,
	}, 1e-9)
	if len(out.Tables) != 2 {
		t.Fatalf("tables %+v", out.Tables)
	}
	failing := out.Tables[0]
	if failing.Title != "Failing tests" || len(failing.Rows) != 10 || !slices.Equal(failing.Columns, []string{"Suite", "Test", "Kind", "Message"}) {
		t.Fatalf("failing tests table %+v", failing)
	}
	// Grouped by suite, in the order suites first fail.
	var suites []string
	for _, row := range failing.Rows {
		if len(suites) == 0 || suites[len(suites)-1] != row[0] {
			if slices.Contains(suites, row[0]) {
				t.Errorf("suite %s listed twice: %v", row[0], failing.Rows)
			}
			suites = append(suites, row[0])
		}
		if n := len([]rune(row[3])); n > 21 {
			t.Errorf("message %q longer than maxMessage", row[3])
		}
	}
	want := []string{"example.com/calc/broken", "example.com/calc", "math", "strings", "checkout.spec.ts", "com.example.CartTest"}
	if !slices.Equal(suites, want) {
		t.Errorf("suites %v, want %v", suites, want)
	}
	if !hasRow(failing, "example.com/calc", "TestTable/wrong", "failure", "calc_test.go:32: Add…") {
		t.Errorf("TestTable/wrong not listed as expected: %q", failing.Rows)
	}
	if !hasRow(failing, "com.example.CartTest", "checksOut", "error", "java.net.ConnectExce…") {
		t.Errorf("checksOut not listed as an error: %v", failing.Rows)
	}
}

func TestBadParams(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		with map[string]any
		want []string
	}{
		{"glob matching nothing", map[string]any{"files": []any{"testdata/nope/*.xml"}}, []string{`files: no test report matches "testdata/nope/*.xml"`}},
		{"one of two globs matching nothing", map[string]any{"files": []any{"testdata/passing/*.xml", "build/test-results/**/*.xml"}}, []string{`no test report matches "build/test-results/**/*.xml"`}},
		{"not a report", map[string]any{"files": []any{write("notes.txt", "remember the milk\n")}}, []string{"notes.txt: not a JUnit XML, go test -json or TAP report: it starts with"}},
		{"truncated XML", map[string]any{"files": []any{write("cut.xml", "<testsuites>\n  <testsuite name=\"a\">\n    <testcase name=\"b\" time=\"0.1\">\n      <failure message=\"x")}}, []string{"cut.xml:4: malformed XML: unexpected EOF"}},
		{"no test cases", map[string]any{"files": []any{write("empty.xml", "<testsuites/>")}}, []string{"empty.xml: no test cases in this JUnit XML report"}},
		{"binary", map[string]any{"files": []any{write("core.bin", "\x7fELF\x02\x01\x01\x00\x00\x00")}}, []string{"core.bin: not a JUnit XML, go test -json or TAP report: binary content"}},
		{"forced format", map[string]any{"files": []any{"testdata/passing/node.tap"}, "format": "junit"}, []string{"testdata/passing/node.tap: not a JUnit XML report: no root element"}},
		{"bad glob", map[string]any{"files": []any{"testdata/[.xml"}}, []string{`files: pattern "testdata/[.xml"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, tt.with)
			tasktest.MustKind(t, err, tasktest.Invalid, tt.want...)
		})
	}
}

// TestGoTestLive runs `go test -json` on the fixture module and reads what
// it wrote, so the reader keeps up with the go command installed.
func TestGoTestLive(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "test", "-json", "./...")
	cmd.Dir = filepath.Join("testdata", "gotest", "calc")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err == nil {
		t.Fatal("go test passed; the fixture has a failing test and a package that does not build")
	}
	file := filepath.Join(t.TempDir(), "go-test.json")
	if err := os.WriteFile(file, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, map[string]any{"files": []any{file}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"tests.total": 7, "tests.passed": 3, "tests.failed": 2, "tests.errored": 1, "tests.skipped": 1, "tests.pass_ratio": 0.5,
	}, 1e-9)
	if out.Metrics["tests.slowest"] < 0.02 {
		t.Errorf("tests.slowest %v, want TestSubtract's 20 ms at least", out.Metrics["tests.slowest"])
	}
}

func hasRow(t plan.Table, cells ...string) bool {
	return slices.ContainsFunc(t.Rows, func(row []string) bool { return slices.Equal(row, cells) })
}

func TestExamplePlan(t *testing.T) {
	catalog := task.Catalog([]task.Type{testresults.New(nil).Type()})
	file := filepath.Join("..", "..", "examples", "plans", "test-results.yaml")
	p, err := plan.Load(file, catalog, nil)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	tk := p.Spec.Phases[0].Tasks[0]
	if tk.Uses != testresults.Name {
		t.Fatalf("%s runs %s", file, tk.Uses)
	}
	// The default reports are the passing fixtures, relative to the
	// repository root where the worker of `starter run --dev` runs.
	files, _ := filepath.Glob(filepath.Join("..", "..", p.Spec.Vars["reports"]))
	if len(files) == 0 {
		t.Errorf("vars.reports %q matches no file", p.Spec.Vars["reports"])
	}
}
