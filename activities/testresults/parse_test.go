package testresults_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/testresults"
)

// counts are a summary's counts, for comparison.
type counts struct{ total, passed, failed, errored, skipped, flaky int }

func countsOf(s *testresults.Summary) counts {
	return counts{s.Total, s.Passed, s.Failed, s.Errored, s.Skipped, s.Flaky}
}

func mustParseFile(t *testing.T, file string, format testresults.Format) *testresults.Summary {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := testresults.Parse(context.Background(), f, file, testresults.Options{Format: format, MaxMessage: 500})
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return s
}

func parseString(text string, format testresults.Format) (*testresults.Summary, error) {
	return testresults.Parse(context.Background(), strings.NewReader(text), "report", testresults.Options{Format: format, MaxMessage: 80})
}

// failure finds the listed failure of a test.
func failure(s *testresults.Summary, name string) (testresults.Case, bool) {
	for _, c := range s.Failures {
		if c.Name == name {
			return c, true
		}
	}
	return testresults.Case{}, false
}

func TestReports(t *testing.T) {
	tests := []struct {
		file     string
		want     counts
		duration float64
		// failing maps failing tests to their suite, kind and a fragment
		// of their message.
		failing map[string][3]string
	}{
		{file: "junit/surefire.xml", want: counts{5, 2, 1, 1, 1, 1}, duration: 1234.5, failing: map[string][3]string{
			"computesTax": {"com.example.CartTest", "failed", "org.opentest4j.AssertionFailedError: expected: <7.70> but was: <7.7>"},
			"checksOut":   {"com.example.CartTest", "errored", "java.net.ConnectException: Connection refused"},
		}},
		{file: "junit/pytest.xml", want: counts{6, 2, 1, 1, 2, 0}, duration: 0.842, failing: map[string][3]string{
			"test_login":  {"tests.test_api", "failed", "AssertionError: assert 401 == 200 + where 401 = <Response [401]>.status_code"},
			"test_upload": {"tests.test_api", "errored", `failed on setup with "FileNotFoundError: fixtures/big.bin"`},
		}},
		{file: "junit/jest-junit.xml", want: counts{4, 2, 1, 0, 1, 0}, duration: 2.118, failing: map[string][3]string{
			"Cart totals the items": {"Cart", "failed", "Error: expect(received).toBe(expected) // Object.is equality Expected: 30 Received: 20"},
		}},
		{file: "junit/go-junit-report.xml", want: counts{4, 1, 1, 1, 1, 0}, duration: 0.025, failing: map[string][3]string{
			"TestSubtract":   {"example.com/calc", "failed", "Failed"},
			"[build failed]": {"example.com/calc/broken", "errored", "Build error"},
		}},
		{file: "junit/playwright.xml", want: counts{3, 2, 1, 0, 0, 0}, duration: 7.412, failing: map[string][3]string{
			"checkout › shows the receipt": {"checkout.spec.ts", "failed", "FAILURE: checkout.spec.ts:20:7 shows the receipt"},
		}},
		{file: "junit/cypress.xml", want: counts{3, 2, 1, 0, 0, 0}, duration: 4.1, failing: map[string][3]string{
			"Login rejects a bad password": {"Login", "failed", "AssertionError: Timed out retrying after 4000ms"},
		}},
		{file: "junit/xcpretty.xml", want: counts{3, 2, 1, 0, 0, 0}, duration: 0.155, failing: map[string][3]string{
			"testInvalidLogin": {"AppTests.LoginTests", "failed", `XCTAssertEqual failed: ("401") is not equal to ("200")`},
		}},
		{file: "junit/gradle.xml", want: counts{3, 2, 0, 0, 1, 0}, duration: 0.215},
		// Node's reporters (node --test, see testdata/README.md): a todo
		// test that fails is skipped, a test with subtests is a suite.
		{file: "failing/node-junit.xml", want: counts{6, 2, 2, 0, 2, 0}, failing: map[string][3]string{
			"multiplies": {"math", "failed", "testCodeFailure: Expected values to be strictly equal:6 !== 7"},
			"throws":     {"strings", "failed", "testCodeFailure: boom <&>"}, // Node escapes its quotes twice
		}},
		{file: "failing/node.tap", want: counts{6, 2, 2, 0, 2, 0}, failing: map[string][3]string{
			"multiplies": {"math", "failed", "Expected values to be strictly equal: 6 !== 7"},
			"throws":     {"strings", "failed", `boom <&> "quoted"`},
		}},
		{file: "passing/node-junit.xml", want: counts{5, 4, 0, 0, 1, 0}},
		{file: "passing/node.tap", want: counts{5, 4, 0, 0, 1, 0}},
		// go test -json of testdata/gotest/calc: TestTable passes two
		// subtests and fails one; the package broken does not build.
		{file: "failing/gotest.json", want: counts{7, 3, 2, 1, 1, 0}, failing: map[string][3]string{
			"TestSubtract":    {"example.com/calc", "failed", "calc_test.go:17: Add(5, -3) = 2, want 3"},
			"TestTable/wrong": {"example.com/calc", "failed", "Add(2, 2) = 4, want 5"},
			"(package)":       {"example.com/calc/broken", "errored", "undefined: undefined"},
		}},
		{file: "passing/gotest.json", want: counts{4, 3, 0, 0, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := mustParseFile(t, filepath.Join("testdata", tt.file), testresults.FormatAuto)
			if got := countsOf(s); got != tt.want {
				t.Errorf("counts %+v, want %+v", got, tt.want)
			}
			if tt.duration > 0 && (s.Duration < tt.duration-1e-9 || s.Duration > tt.duration+1e-9) {
				t.Errorf("duration %v, want %v", s.Duration, tt.duration)
			}
			if s.Duration <= 0 {
				t.Errorf("duration %v, want > 0", s.Duration)
			}
			if len(s.Failures) != s.Failed+s.Errored {
				t.Errorf("%d failures listed, want %d", len(s.Failures), s.Failed+s.Errored)
			}
			for name, w := range tt.failing {
				c, ok := failure(s, name)
				if !ok {
					t.Errorf("failure %q not listed (failures: %+v)", name, s.Failures)
					continue
				}
				if c.Suite != w[0] || string(c.Status) != w[1] || !strings.Contains(c.Message, w[2]) {
					t.Errorf("failure %q: suite %q, %s, message %q; want %q, %s, containing %q", name, c.Suite, c.Status, c.Message, w[0], w[1], w[2])
				}
			}
		})
	}
}

func TestSlowest(t *testing.T) {
	s := mustParseFile(t, "testdata/junit/playwright.xml", testresults.FormatJUnit)
	if len(s.Slowest) != 3 || s.Slowest[0].Name != "checkout › pays with a card" || s.SlowestTime() != 3.201 {
		t.Errorf("slowest %+v", s.Slowest)
	}
	// Merged: only the ten slowest stay.
	total := &testresults.Summary{}
	for _, f := range []string{"junit/surefire.xml", "junit/pytest.xml", "junit/playwright.xml", "junit/cypress.xml", "junit/jest-junit.xml"} {
		total.Merge(mustParseFile(t, filepath.Join("testdata", f), testresults.FormatAuto))
	}
	if len(total.Slowest) != testresults.SlowestCount || total.SlowestTime() != 3.201 || total.Files != 5 {
		t.Errorf("merged: %d slowest, slowest %v, %d files", len(total.Slowest), total.SlowestTime(), total.Files)
	}
	for i := 1; i < len(total.Slowest); i++ {
		if total.Slowest[i].Time > total.Slowest[i-1].Time {
			t.Errorf("slowest out of order: %+v", total.Slowest)
		}
	}
}

func TestGoTestReruns(t *testing.T) {
	// gotestsum --rerun-fails: TestFlaky fails, then passes; TestBad fails twice.
	report := `{"Action":"run","Package":"p","Test":"TestFlaky"}
{"Action":"output","Package":"p","Test":"TestFlaky","Output":"    x_test.go:3: timing\n"}
{"Action":"fail","Package":"p","Test":"TestFlaky","Elapsed":0.5}
{"Action":"run","Package":"p","Test":"TestBad"}
{"Action":"fail","Package":"p","Test":"TestBad","Elapsed":0.1}
{"Action":"fail","Package":"p","Elapsed":0.7}
{"Action":"run","Package":"p","Test":"TestFlaky"}
{"Action":"pass","Package":"p","Test":"TestFlaky","Elapsed":0.4}
{"Action":"run","Package":"p","Test":"TestBad"}
{"Action":"output","Package":"p","Test":"TestBad","Output":"    x_test.go:9: still bad\n"}
{"Action":"fail","Package":"p","Test":"TestBad","Elapsed":0.1}
{"Action":"fail","Package":"p","Elapsed":0.6}
`
	s, err := parseString(report, testresults.FormatGoTest)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(s), (counts{2, 1, 1, 0, 0, 1}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if c, _ := failure(s, "TestBad"); c.Message != "x_test.go:9: still bad" {
		t.Errorf("TestBad message %q, want the last run's", c.Message)
	}
	if s.Duration < 1.3-1e-9 || s.Duration > 1.3+1e-9 {
		t.Errorf("duration %v, want the packages' 1.3", s.Duration)
	}
}

func TestGoTestCutShort(t *testing.T) {
	// A test binary that panicked (its test never ends) and an output cut
	// while a test runs.
	report := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestPanics"}
{"Action":"output","Package":"p","Test":"TestPanics","Output":"panic: runtime error: index out of range [3] with length 3\n"}
{"Action":"fail","Package":"p","Elapsed":0.01}
{"Action":"run","Package":"q","Test":"TestSlow"}
{"Action":"run","Package":"q","Test":"TestSlow/part"}
`
	s, err := parseString(report, testresults.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(s), (counts{2, 0, 0, 2, 0, 0}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if c, ok := failure(s, "TestPanics"); !ok || !strings.Contains(c.Message, "index out of range") {
		t.Errorf("TestPanics: %+v", c)
	}
	if _, ok := failure(s, "TestSlow/part"); !ok {
		t.Errorf("TestSlow/part not listed: %+v", s.Failures)
	}
}

func TestTAP(t *testing.T) {
	tests := []struct {
		name, report string
		want         counts
		failing      string
	}{
		{"plan first", "TAP version 14\n1..3\nok 1 - a\nnot ok 2 - b\n  ---\n  message: 'b broke'\n  ...\nok 3 c # skip no network\n", counts{3, 1, 1, 0, 1, 0}, "b"},
		{"missing tests count as failed", "1..5\nok 1 - a\nok 2 - b\n", counts{5, 2, 3, 0, 0, 0}, "(3 missing)"},
		{"no plan", "ok 1 - a\nok 2 - b\n", counts{3, 2, 0, 1, 0, 0}, "(plan)"},
		{"beyond the plan", "1..1\nok 1 - a\nok 2 - b\n", counts{3, 2, 0, 1, 0, 0}, "(beyond the plan)"},
		{"bail out", "1..4\nok 1 - a\nBail out! database down\n", counts{5, 1, 3, 1, 0, 0}, "Bail out!"},
		{"todo", "1..2\nnot ok 1 - later # TODO not yet\nok 2 - now\n", counts{2, 1, 0, 0, 1, 0}, ""},
		{"parent that fails on its own", "# Subtest: p\n    ok 1 - a\n    1..1\nnot ok 1 - p\n  ---\n  error: 'teardown failed'\n  ...\n1..1\n", counts{2, 1, 1, 0, 0, 0}, "p"},
		{"escaped hash", "1..1\nnot ok 1 - issue \\# 42 # TODO\n", counts{1, 0, 0, 0, 1, 0}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseString(tt.report, testresults.FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			if got := countsOf(s); got != tt.want {
				t.Errorf("counts %+v, want %+v (failures %+v)", got, tt.want, s.Failures)
			}
			if tt.failing != "" {
				if _, ok := failure(s, tt.failing); !ok {
					t.Errorf("%q not listed: %+v", tt.failing, s.Failures)
				}
			}
		})
	}
}

func TestMessagesTruncated(t *testing.T) {
	long := strings.Repeat("é", 300)
	s, err := testresults.Parse(context.Background(), strings.NewReader(
		`<testsuite><testcase name="a"><failure message="`+long+`"/></testcase></testsuite>`),
		"r.xml", testresults.Options{Format: testresults.FormatAuto, MaxMessage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Failures[0].Message; got != strings.Repeat("é", 100)+"…" {
		t.Errorf("message %q (%d bytes)", got, len(got))
	}
}

func TestBadReports(t *testing.T) {
	tests := []struct {
		name, report string
		format       testresults.Format
		want         string
	}{
		{"plain text", "hello world\n", testresults.FormatAuto, `report: not a JUnit XML, go test -json or TAP report: it starts with "hello world"`},
		{"empty", "", testresults.FormatAuto, "report: not a JUnit XML, go test -json or TAP report: the file is empty"},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", testresults.FormatAuto, "report: not a JUnit XML, go test -json or TAP report: binary content"},
		{"binary as junit", "\x00\x01\x02", testresults.FormatJUnit, "report: not a JUnit XML report: binary content"},
		{"other XML", "<html><body/></html>", testresults.FormatAuto, "report:1: not a JUnit XML, go test -json or TAP report: the root element is <html>, want <testsuites> or <testsuite>"},
		{"other XML as junit", "<html/>", testresults.FormatJUnit, "report:1: not a JUnit XML report: the root element is <html>"},
		{"truncated XML", "<testsuites>\n<testsuite name=\"a\">\n<testcase name=\"x\">\n", testresults.FormatAuto, "report:4: malformed XML: unexpected EOF"},
		{"mismatched tags", "<testsuite>\n<testcase name=\"x\">\n</testsuite>\n", testresults.FormatAuto, "report:3: malformed XML: element <testcase> closed by </testsuite>"},
		{"no test cases", "<testsuites><testsuite name=\"a\" tests=\"0\"/></testsuites>", testresults.FormatAuto, "report: no test cases in this JUnit XML report"},
		{"unknown encoding", "<?xml version=\"1.0\" encoding=\"EBCDIC\"?><testsuite/>", testresults.FormatAuto, `report:1: malformed XML: opening charset "EBCDIC": encoding "EBCDIC" is not supported`},
		{"JSON that is not go test", `{"name": "my-app", "version": "1.0.0"}`, testresults.FormatAuto, "report:1: not a JUnit XML, go test -json or TAP report: a JSON object that is not a go test -json event"},
		{"broken JSON", "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"T\"}\n{\"Action\":\"pa", testresults.FormatAuto, "report:2: invalid JSON"},
		{"go test without tests", "{\"Action\":\"output\",\"Package\":\"p\",\"Output\":\"?   \\tp\\t[no test files]\\n\"}\n{\"Action\":\"skip\",\"Package\":\"p\",\"Elapsed\":0}\n", testresults.FormatAuto, "report: no test cases in this go test -json report"},
		{"TAP forced on text", "hello\n", testresults.FormatTAP, "report: not a TAP report: no TAP plan or test line"},
		{"TAP with no tests", "TAP version 14\n1..0 # skip everything\n", testresults.FormatAuto, "report: no test cases in this TAP report"},
		{"huge plan", "1..99999999999999999999\n", testresults.FormatAuto, "report:1: plan \"1..99999999999999999999\" names more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseString(tt.report, tt.format)
			var perr *testresults.ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %v, want a ParseError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestLatin1(t *testing.T) {
	s, err := parseString("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuite name=\"caf\xe9\"><testcase name=\"cr\xe8me\"><failure message=\"br\xfbl\xe9e\"/></testcase></testsuite>", testresults.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Failures[0]; c.Suite != "café" || c.Name != "crème" || c.Message != "brûlée" {
		t.Errorf("case %+v", c)
	}
}

// repeatReader yields prefix, then n bytes of fill, then suffix, without
// holding them.
type repeatReader struct {
	prefix, suffix string
	fill           byte
	n              int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	switch {
	case r.prefix != "":
		n := copy(p, r.prefix)
		r.prefix = r.prefix[n:]
		return n, nil
	case r.n > 0:
		n := int64(len(p))
		if n > r.n {
			n = r.n
		}
		for i := range p[:n] {
			p[i] = r.fill
		}
		r.n -= n
		return int(n), nil
	case r.suffix != "":
		n := copy(p, r.suffix)
		r.suffix = r.suffix[n:]
		return n, nil
	}
	return 0, io.EOF
}

// TestHugeReports reads reports with a 32 MiB text run, attribute, CDATA
// section or line and checks that what they allocate stays far below it.
func TestHugeReports(t *testing.T) {
	const size = 32 << 20
	tests := []struct {
		name           string
		prefix, suffix string
		fill           byte
		want           counts
		err            string
	}{
		{name: "system-out", prefix: `<testsuite><testcase name="a"><system-out>`, suffix: `</system-out></testcase></testsuite>`, fill: 'x', want: counts{1, 1, 0, 0, 0, 0}},
		{name: "failure text", prefix: `<testsuite><testcase name="a"><failure>`, suffix: `</failure></testcase></testsuite>`, fill: '\n', want: counts{1, 0, 1, 0, 0, 0}},
		{name: "CDATA", prefix: `<testsuite><testcase name="a"><system-err><![CDATA[`, suffix: `]]></system-err></testcase><testcase name="b"/></testsuite>`, fill: ']', want: counts{2, 2, 0, 0, 0, 0}},
		{name: "comment", prefix: `<testsuite><!--`, suffix: `--><testcase name="a"/></testsuite>`, fill: 'c', want: counts{1, 1, 0, 0, 0, 0}},
		{name: "attribute", prefix: `<testsuite><testcase name="a"><failure message="`, suffix: `"/></testcase></testsuite>`, fill: 'm', want: counts{1, 0, 1, 0, 0, 0}},
		{name: "tag", prefix: `<testsuite><testcase name="a"`, suffix: `/></testsuite>`, fill: ' ', err: "report:1: malformed XML: tag longer than 1 MiB"},
		{name: "TAP line", prefix: "1..2\nok 1 - ", suffix: "\nnot ok 2 - b\n", fill: 'd', want: counts{2, 1, 1, 0, 0, 0}},
		{name: "go test line", prefix: `{"Action":"output","Package":"p","Output":"`, suffix: "\"}\n", fill: 'o', err: "report:1: line longer than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s, err := testresults.Parse(context.Background(), &repeatReader{prefix: tt.prefix, suffix: tt.suffix, fill: tt.fill, n: size},
				"report", testresults.Options{Format: testresults.FormatAuto, MaxMessage: 100})
			runtime.ReadMemStats(&after)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got := countsOf(s); got != tt.want {
					t.Errorf("counts %+v, want %+v", got, tt.want)
				}
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d MiB reading a 32 MiB report", alloc>>20)
			}
		})
	}
}
