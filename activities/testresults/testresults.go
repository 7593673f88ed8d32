// Package testresults is the test-results task type: it reads the reports
// test tools already write (JUnit XML in its common dialects, go test
// -json, TAP), merges them, and reports counts, times and the failing and
// slowest tests, so a plan can gate on "all tests pass".
//
// Reports are streamed (encoding/xml token by token, lines of bounded
// length), so a huge report costs bounded memory.
package testresults

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "test-results"

// DefaultMaxMessage is how many characters of a failure message the
// report keeps unless the plan says otherwise.
const DefaultMaxMessage = 500

// Decl declares the test-results task type.
var Decl = plan.TaskType{
	Name:    Name,
	Summary: "Reads test reports (JUnit XML, go test -json, TAP), merges them and reports how many tests passed, failed, errored and were skipped, with the failing and the slowest tests.",
	Params: []plan.Param{
		{Name: "files", Type: plan.TypeStringList, Required: true, Safety: plan.SafetyFile, Doc: "Test reports to read, relative to the worker's working directory. Each entry may be a glob (`*`, `?`, `[…]`, and `**` for any number of directories) and must match at least one file; the reports are merged into one result."},
		{Name: "format", Type: plan.TypeString, Default: string(FormatAuto), Enum: []string{string(FormatAuto), string(FormatJUnit), string(FormatGoTest), string(FormatTAP)}, Doc: "Format of the reports: `junit` (JUnit XML as Maven Surefire, Gradle, pytest, jest-junit, go-junit-report, Playwright, Cypress, xcpretty and Node write it), `gotest-json` (`go test -json`), `tap` (TAP 13 or 14); `auto` detects it per file from its content."},
		{Name: "maxMessage", Type: plan.TypeInt, Default: DefaultMaxMessage, Doc: "Failure messages in the report are cut to this many characters; 0 leaves them out."},
	},
	Metrics: []plan.Metric{
		{Name: "tests.total", Unit: plan.UnitCount, Doc: "Test cases in the reports: JUnit `<testcase>`s; go tests and subtests that ran no subtests of their own; TAP test points that close no block of subtests. A test with subtests counts only when it failed on its own."},
		{Name: "tests.passed", Unit: plan.UnitCount, Doc: "Test cases that passed, flaky ones included."},
		{Name: "tests.failed", Unit: plan.UnitCount, Doc: "Test cases that failed (JUnit `<failure>`, a go test `fail`, TAP `not ok`), and tests a TAP plan names that never ran."},
		{Name: "tests.errored", Unit: plan.UnitCount, Doc: "Test cases that could not run to a verdict: JUnit `<error>`, a go package that failed with no failing test (a build failure, a panic outside tests), a go test that never ended, a TAP `Bail out!` or a stream with no plan."},
		{Name: "tests.skipped", Unit: plan.UnitCount, Doc: "Test cases skipped (JUnit `<skipped>`, pytest xfail, go `t.Skip`, TAP `# SKIP` and `# TODO`)."},
		{Name: "tests.pass_ratio", Unit: plan.UnitRatio, Doc: "Passed / (total − skipped); not reported when every test was skipped."},
		{Name: "tests.duration", Unit: plan.UnitSeconds, Doc: "Time the tests took, summed over the reports: each report's own total where it states one (a JUnit root or top-level suite `time`, a go package's elapsed time, Node's TAP `duration_ms`), else the sum of its test cases' times."},
		{Name: "tests.flaky", Unit: plan.UnitCount, Doc: "Test cases that failed and then passed on a rerun (Surefire `<flakyFailure>`/`<flakyError>`; a go test that fails and passes later in the same output). They count as passed."},
		{Name: "tests.slowest", Unit: plan.UnitSeconds, Doc: "Time of the slowest test case."},
		{Name: "tests.files", Unit: plan.UnitCount, Doc: "Number of reports read."},
	},
	Timeout: 5 * time.Minute,
	Check: func(with map[string]any) []plan.ParamProblem {
		if n := task.Params(with).Number("maxMessage"); n < 0 {
			return []plan.ParamProblem{{Param: "maxMessage", Msg: "must be 0 or more"}}
		}
		return nil
	},
}

// TestResults runs test-results tasks.
type TestResults struct {
	logger *slog.Logger
}

// New returns the task type's activities; a nil logger logs nowhere.
func New(logger *slog.Logger) *TestResults {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &TestResults{logger: logger}
}

// Type returns the task type as the worker registers it.
func (tr *TestResults) Type() task.Type {
	return task.Type{Decl: Decl, Run: tr.Run}
}

// Run reads the task's reports and reports their tests. Failing tests do
// not fail the task: its gates decide. Reports that cannot be read do.
func (tr *TestResults) Run(ctx context.Context, in task.Input) (task.Output, error) {
	format := Format(in.Params.String("format"))
	if format == "" {
		format = FormatAuto
	}
	if !slices.Contains(Formats, format) {
		return task.Output{}, task.InvalidParams("format %q is not one of auto, junit, gotest-json, tap", format)
	}
	maxMessage := DefaultMaxMessage
	if _, set := in.Params["maxMessage"]; set {
		maxMessage = in.Params.Int("maxMessage")
	}
	if maxMessage < 0 {
		return task.Output{}, task.InvalidParams("maxMessage %d: must be 0 or more", maxMessage)
	}
	patterns := in.Params.Strings("files")
	if len(patterns) == 0 {
		return task.Output{}, task.InvalidParams("files: list at least one test report")
	}
	base, err := os.Getwd()
	if err != nil {
		return task.Output{}, fmt.Errorf("working directory: %w", err)
	}
	files, err := matchFiles(base, patterns)
	if err != nil {
		return task.Output{}, err
	}

	total := &Summary{}
	for i, file := range files {
		if err := ctx.Err(); err != nil {
			return task.Output{}, err
		}
		shown := relative(base, file)
		task.Report(ctx, task.Progress{Done: float64(i) / float64(len(files)), Message: "reading " + shown})
		s, err := readFile(ctx, file, shown, Options{Format: format, MaxMessage: maxMessage})
		if err != nil {
			return task.Output{}, err
		}
		total.Merge(s)
	}

	out := task.Output{Metrics: Metrics(total), Output: total.Line(), Tables: Tables(total)}
	tr.logger.InfoContext(ctx, "test reports read",
		slog.String("task", in.Task), slog.Int("reports", total.Files), slog.Int("tests", total.Total),
		slog.Int("failed", total.Failed), slog.Int("errored", total.Errored))
	return out, nil
}

func readFile(ctx context.Context, file, shown string, opt Options) (*Summary, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, task.InvalidParams("test report %s: %v", shown, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open test report %s: %w", shown, err)
	}
	defer f.Close()
	s, err := Parse(ctx, f, shown, opt)
	var parseErr *ParseError
	if errors.As(err, &parseErr) {
		return nil, task.InvalidParams("%v", parseErr)
	}
	return s, err
}

// relative shows file relative to base when it lies below it.
func relative(base, file string) string {
	if rel, err := filepath.Rel(base, file); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return file
}

// Metrics are the task's metrics of s, in base units.
func Metrics(s *Summary) map[string]float64 {
	m := map[string]float64{
		"tests.total":    float64(s.Total),
		"tests.passed":   float64(s.Passed),
		"tests.failed":   float64(s.Failed),
		"tests.errored":  float64(s.Errored),
		"tests.skipped":  float64(s.Skipped),
		"tests.flaky":    float64(s.Flaky),
		"tests.duration": s.Duration,
		"tests.slowest":  s.SlowestTime(),
		"tests.files":    float64(s.Files),
	}
	if r, ok := s.PassRatio(); ok {
		m["tests.pass_ratio"] = r
	}
	return m
}

// Tables are the failing tests, grouped by suite, and the slowest tests.
func Tables(s *Summary) []plan.Table {
	var tables []plan.Table
	if failing := s.Failing(); failing > 0 {
		t := plan.Table{Title: "Failing tests", Columns: []string{"Suite", "Test", "Kind", "Message"}}
		if failing > len(s.Failures) {
			t.Title += fmt.Sprintf(" (first %d of %d)", len(s.Failures), failing)
		}
		for _, c := range s.sortedFailures() {
			kind := "failure"
			if c.Status == StatusErrored {
				kind = "error"
			}
			t.Rows = append(t.Rows, []string{c.Suite, c.Name, kind, c.Message})
		}
		tables = append(tables, t)
	}
	if len(s.Slowest) > 0 {
		t := plan.Table{Title: "Slowest tests", Columns: []string{"Suite", "Test", "Time", "Result"}}
		for _, c := range s.Slowest {
			result := string(c.Status)
			if c.Flaky {
				result = "passed (flaky)"
			}
			t.Rows = append(t.Rows, []string{c.Suite, c.Name, strconv.FormatFloat(c.Time, 'f', 3, 64) + " s", result})
		}
		tables = append(tables, t)
	}
	return tables
}
