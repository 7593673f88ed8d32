package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// MustRender renders r with render and fails the test if it cannot.
func MustRender(tb testing.TB, render func(io.Writer, *plan.RunResult) error, r *plan.RunResult) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := render(&buf, r); err != nil {
		tb.Fatalf("render: %v", err)
	}
	return buf.Bytes()
}

// MustMatchGolden compares got with testdata/name, or rewrites it with -update.
func MustMatchGolden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (go test ./report -update rewrites it)\n--- got ---\n%s", path, got)
	}
}

func TestRenderersMatchGoldenFiles(t *testing.T) {
	tests := []struct {
		golden string
		render func(io.Writer, *plan.RunResult) error
	}{
		{"report.json", report.JSON},
		{"report.md", report.Markdown},
		{"junit.xml", report.JUnit},
		{"report.txt", report.Text},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			MustMatchGolden(t, tt.golden, MustRender(t, tt.render, MustFixture(t)))
		})
	}
}

func TestRenderersRefuseNilResult(t *testing.T) {
	for name, render := range map[string]func(io.Writer, *plan.RunResult) error{
		"JSON": report.JSON, "Markdown": report.Markdown, "JUnit": report.JUnit, "Text": report.Text, "HTML": report.HTML,
	} {
		if err := render(io.Discard, nil); err == nil {
			t.Errorf("%s(nil) returned no error", name)
		}
	}
	if err := report.WriteDir(t.TempDir(), nil); err == nil {
		t.Error("WriteDir(nil) returned no error")
	}
}

func TestJSONRoundTripsIntoRunResult(t *testing.T) {
	want := MustFixture(t)
	data := MustRender(t, report.JSON, want)

	var got plan.RunResult
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode report.json: %v", err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("report.json decodes to\n%#v\nwant\n%#v", got, *want)
	}
	if again := MustRender(t, report.JSON, &got); !bytes.Equal(again, data) {
		t.Errorf("report.json of the decoded result differs:\n%s", again)
	}
}

func TestJSONWritesEmptyCollectionsNotNull(t *testing.T) {
	r := &plan.RunResult{
		Plan: "p", RunID: "p-1", Result: plan.StatusRunning, StartedAt: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC),
		Phases: []plan.PhaseResult{{Name: "a", Status: plan.StatusRunning, Tasks: []plan.TaskResult{{Name: "t", Status: plan.StatusRunning}}}, {Name: "b", Status: plan.StatusPending}},
	}
	out := string(MustRender(t, report.JSON, r))
	if strings.Contains(out, "null") {
		t.Errorf("report.json has a null collection:\n%s", out)
	}
	for _, want := range []string{`"tasks": []`, `"metrics": {}`, `"gates": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("report.json lacks %s:\n%s", want, out)
		}
	}
	if r.Phases[0].Tasks[0].Metrics != nil || r.Phases[1].Tasks != nil {
		t.Error("JSON changed the RunResult it was given")
	}
	empty := string(MustRender(t, report.JSON, &plan.RunResult{}))
	if !strings.Contains(empty, `"phases": []`) {
		t.Errorf("report.json of a run without phases lacks \"phases\": []:\n%s", empty)
	}
}

// The JUnit schema as a CI system reads it, declared independently of the
// package's own types.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     float64      `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Time     float64     `xml:"time,attr"`
		Cases    []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Classname string   `xml:"classname,attr"`
		Name      string   `xml:"name,attr"`
		Time      float64  `xml:"time,attr"`
		Failure   *problem `xml:"failure"`
		Error     *problem `xml:"error"`
		Skipped   *problem `xml:"skipped"`
		SystemOut string   `xml:"system-out"`
	}
	problem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

func TestJUnitParsesWithCountsThatMatchItsTestcases(t *testing.T) {
	var doc junitSuites
	if err := xml.Unmarshal(MustRender(t, report.JUnit, MustFixture(t)), &doc); err != nil {
		t.Fatalf("parse junit.xml: %v", err)
	}
	var total [4]int
	for _, s := range doc.Suites {
		var got [4]int
		for _, c := range s.Cases {
			got[0]++
			switch {
			case c.Failure != nil:
				got[1]++
			case c.Error != nil:
				got[2]++
			case c.Skipped != nil:
				got[3]++
			}
		}
		if want := [4]int{s.Tests, s.Failures, s.Errors, s.Skipped}; got != want {
			t.Errorf("suite %s says tests, failures, errors, skipped = %v; its testcases make %v", s.Name, want, got)
		}
		for i := range total {
			total[i] += got[i]
		}
	}
	if want := [4]int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped}; total != want {
		t.Errorf("testsuites says %v; its testcases make %v", want, total)
	}
	// The fixture: 9 gates of tasks that ran (3 failed), a task without
	// gates that errored, a skipped task with a gate and one without, and
	// two approvals (one rejected).
	if want := [4]int{14, 4, 1, 2}; total != want {
		t.Errorf("tests, failures, errors, skipped = %v, want %v", total, want)
	}
	if doc.Time != 1680 {
		t.Errorf("testsuites time = %v s, want 1680 (28m)", doc.Time)
	}

	cases := map[string]junitCase{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			cases[c.Classname+" "+c.Name] = c
		}
	}
	tests := []struct {
		testcase string
		check    func(c junitCase) bool
		want     string
	}{
		{"smoke.load http.latency.p95 < 200ms", func(c junitCase) bool {
			return c.Failure != nil && strings.Contains(c.Failure.Message, "612ms") && strings.Contains(c.Failure.Text, "< 500ms")
		}, "a failure with the value and the warning threshold"},
		{"smoke.health http.latency < 150ms", func(c junitCase) bool {
			return c.Failure == nil && strings.HasPrefix(c.SystemOut, "warning:")
		}, "a pass noting the warning"},
		{"smoke.restore-drill restore.rto < 15m", func(c junitCase) bool {
			return c.Failure != nil && c.Failure.Type == "key gate" && strings.Contains(c.Failure.Message, "restore timed out")
		}, "a key-gate failure with the reason"},
		{"smoke.migrate run", func(c junitCase) bool {
			return c.Error != nil && strings.Contains(c.Error.Message, "already exists") && strings.Contains(c.SystemOut, "```sql")
		}, "an error with the task's error and output"},
		{"perf.soak http.latency.p95 < 300ms", func(c junitCase) bool {
			return c.Skipped != nil && c.Failure == nil && c.Skipped.Message == "skipped: task smoke/migrate ended error"
		}, "skipped, not failed, saying why"},
		{"canary.rollout run", func(c junitCase) bool {
			return c.Skipped != nil && c.Skipped.Message == "skipped: phase prod-approval was rejected"
		}, "skipped, saying why"},
		{"staging-approval approval", func(c junitCase) bool {
			return c.Failure == nil && c.Skipped == nil && strings.Contains(c.SystemOut, "approved by alice")
		}, "a pass saying who approved"},
		{"prod-approval approval", func(c junitCase) bool {
			return c.Failure != nil && strings.Contains(c.Failure.Message, "timed out")
		}, "a failure saying it timed out"},
		{"build.unit-tests tests.failed == 0", func(c junitCase) bool {
			return c.Failure == nil && c.Error == nil && c.Skipped == nil && c.Time == 58
		}, "a pass taking its task's 58 s"},
	}
	for _, tt := range tests {
		c, ok := cases[tt.testcase]
		if !ok {
			t.Errorf("no testcase %q", tt.testcase)
			continue
		}
		if !tt.check(c) {
			t.Errorf("testcase %q is %+v, want %s", tt.testcase, c, tt.want)
		}
	}
}

func TestJUnitShowsAPhaseWithNoTasks(t *testing.T) {
	r := &plan.RunResult{Plan: "p", RunID: "p-1", Result: plan.StatusFail, Phases: []plan.PhaseResult{
		{Name: "deploy", Status: plan.StatusCancelled, Reason: "run cancelled"},
	}}
	var doc junitSuites
	if err := xml.Unmarshal(MustRender(t, report.JUnit, r), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 1 || doc.Errors != 1 || doc.Suites[0].Cases[0].Error.Message != "cancelled: run cancelled" {
		t.Errorf("a cancelled phase without tasks gives %+v, want one testcase with an error", doc)
	}
}

func TestMarkdownHeadline(t *testing.T) {
	tests := []struct {
		name   string
		result plan.Status
		score  float64
		want   string
	}{
		{"pass", plan.StatusPass, 93.33, "**PASS** · score 93.3 / 100 (pass ≥ 90, warning ≥ 75)"},
		{"warning just under pass is not rounded up to it", plan.StatusWarning, 89.96, "**WARNING** · score 89.9 / 100 (pass ≥ 90, warning ≥ 75)"},
		{"fail", plan.StatusFail, 12.5, "**FAIL** · score 12.5 / 100 (pass ≥ 90, warning ≥ 75)"},
		{"running", plan.StatusRunning, 100, "**RUNNING** · score 100 / 100 (pass ≥ 90, warning ≥ 75)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &plan.RunResult{Plan: "p", RunID: "p-1", Result: tt.result, Score: tt.score, Scoring: plan.Scoring{Pass: 90, Warning: 75}}
			if md := string(MustRender(t, report.Markdown, r)); !strings.Contains(md, "\n"+tt.want+"\n") {
				t.Errorf("Markdown lacks the line %q:\n%s", tt.want, md)
			}
		})
	}
}

func TestMarkdownKeepsBackticksInsideCodeBlocks(t *testing.T) {
	md := string(MustRender(t, report.Markdown, MustFixture(t)))
	// The migrate output holds a ``` line: its block needs a longer fence.
	if !strings.Contains(md, "````text\nApplying `0042_orders.sql`\n```sql\n") {
		t.Errorf("the output tail's fence does not outlast its backticks:\n%s", md)
	}
	if !strings.Contains(md, `checkout/pay\|ment`) {
		t.Error("a pipe in a table cell is not escaped")
	}
}

func TestMarkdownKeepsTheLastOutputLines(t *testing.T) {
	var out strings.Builder
	for i := 1; i <= 80; i++ {
		out.WriteString("line " + strings.Repeat("x", i%3) + "\n")
	}
	out.WriteString("the end\n")
	r := &plan.RunResult{Plan: "p", RunID: "p-1", Phases: []plan.PhaseResult{{Name: "a", Tasks: []plan.TaskResult{{Name: "t", Output: out.String()}}}}}
	md := string(MustRender(t, report.Markdown, r))
	if !strings.Contains(md, "last 50 of 81 lines") || !strings.Contains(md, "the end\n```") || strings.Count(md, "line ") != 49 {
		t.Errorf("Markdown does not keep the last 50 output lines:\n%s", md)
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestTextWithColorOnlyAddsColor(t *testing.T) {
	r := MustFixture(t)
	plain := MustRender(t, report.Text, r)
	colored := MustRender(t, func(w io.Writer, r *plan.RunResult) error {
		return report.TextWith(w, r, report.TextOptions{Color: true})
	}, r)
	if !ansi.Match(colored) {
		t.Fatal("TextWith(Color: true) wrote no colour")
	}
	if stripped := ansi.ReplaceAll(colored, nil); !bytes.Equal(stripped, plain) {
		t.Errorf("coloured text without its colours differs from plain text:\n%s\nwant\n%s", stripped, plain)
	}
}

func TestWriteDirWritesTheFourReports(t *testing.T) {
	r := MustFixture(t)
	dir := filepath.Join(t.TempDir(), "runs", r.RunID)
	if err := report.WriteDir(dir, r); err != nil {
		t.Fatal(err)
	}
	// A second run over the same directory replaces the files.
	if err := report.WriteDir(dir, r); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		report.JSONFile:     MustRender(t, report.JSON, r),
		report.MarkdownFile: MustRender(t, report.Markdown, r),
		report.JUnitFile:    MustRender(t, report.JUnit, r),
		report.HTMLFile:     MustRender(t, report.HTML, r),
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("WriteDir left %v, want only %d reports", names, len(want))
	}
	for name, content := range want {
		path := filepath.Join(dir, name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, content) {
			t.Errorf("%s differs from what its renderer writes", name)
		}
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("%s has mode %v, want it readable by others", name, info.Mode())
		}
	}
}

func TestWriteDirNamesTheFileItCannotWrite(t *testing.T) {
	dir := t.TempDir()
	// A directory where junit.xml should go makes the rename fail.
	if err := os.Mkdir(filepath.Join(dir, report.JUnitFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, report.JUnitFile, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := report.WriteDir(dir, MustFixture(t))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, report.JUnitFile)) {
		t.Errorf("WriteDir = %v, want an error naming %s", err, report.JUnitFile)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("WriteDir left its temporary file %s", e.Name())
		}
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteDir(filepath.Join(file, "sub"), MustFixture(t)); err == nil {
		t.Error("WriteDir under a regular file returned no error")
	}
}

// TestWarningRunSaysWhy: a run whose score passes but whose key gate met
// only its warning threshold is a WARNING (plan.Score caps it), and every
// report opens by saying so, naming the gate, before any detail.
func TestWarningRunSaysWhy(t *testing.T) {
	r := &plan.RunResult{Plan: "p", RunID: "p-1", Scoring: plan.Scoring{Pass: 90, Warning: 75},
		Phases: []plan.PhaseResult{{Name: "quality", Status: plan.StatusWarning, Tasks: []plan.TaskResult{{
			Name: "coverage", Uses: "coverage", Status: plan.StatusWarning, Metrics: map[string]float64{"coverage.lines": 0.78},
			Gates: []plan.GateResult{
				{Metric: "coverage.lines", Value: value(0.78), Pass: ">= 80%", Warning: ">= 70%", Status: plan.StatusWarning, Weight: 1, Key: true},
				{Metric: "tests.failed", Value: value(0), Pass: "== 0", Status: plan.StatusPass, Weight: 10},
			},
		}}}},
	}
	r.Score, r.Result, r.Error = plan.Score(r)
	if r.Result != plan.StatusWarning || r.Score < 90 {
		t.Fatalf("score %v result %s: want a passing score capped at WARNING", r.Score, r.Result)
	}
	want := "key gate only at warning: coverage.lines of quality/coverage"
	for name, render := range map[string]func(io.Writer, *plan.RunResult) error{"text": report.Text, "markdown": report.Markdown, "html": report.HTML} {
		out := string(MustRender(t, render, r))
		i := strings.Index(out, want)
		if i < 0 {
			t.Errorf("%s does not say why the run is a WARNING (%q):\n%s", name, want, out)
			continue
		}
		// Before the details: the reason comes before the phase's table.
		if j := strings.Index(out, "tests.failed"); j >= 0 && j < i {
			t.Errorf("%s gives details before the reason", name)
		}
	}
}
