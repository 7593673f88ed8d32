package testresults_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/shipshape-dev/shipshape/activities/testresults"
)

// addSeeds adds the fixtures matching globs and the small cases given.
func addSeeds(f *testing.F, globs []string, small ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(filepath.Join("testdata", g))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range small {
		f.Add([]byte(s))
	}
}

// fuzzParse parses data as format and checks what any reader must hold:
// no panic, a ParseError or a summary whose counts add up.
func fuzzParse(t *testing.T, data []byte, format testresults.Format) {
	const maxMessage = 40
	for _, f := range []testresults.Format{format, testresults.FormatAuto} {
		s, err := testresults.Parse(context.Background(), bytes.NewReader(data), "fuzz", testresults.Options{Format: f, MaxMessage: maxMessage})
		if err != nil {
			var perr *testresults.ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("%s: error %v is not a ParseError", f, err)
			}
			continue
		}
		if s.Total <= 0 || s.Passed < 0 || s.Failed < 0 || s.Errored < 0 || s.Skipped < 0 || s.Flaky < 0 {
			t.Fatalf("%s: counts %+v", f, s)
		}
		if s.Total != s.Passed+s.Failed+s.Errored+s.Skipped || s.Flaky > s.Passed {
			t.Fatalf("%s: counts do not add up: %+v", f, s)
		}
		if len(s.Failures) > min(testresults.MaxFailures, s.Failed+s.Errored) || len(s.Slowest) > testresults.SlowestCount {
			t.Fatalf("%s: %d failures, %d slowest listed", f, len(s.Failures), len(s.Slowest))
		}
		if s.Duration < 0 || math.IsNaN(s.Duration) || math.IsInf(s.Duration, 0) {
			t.Fatalf("%s: duration %v", f, s.Duration)
		}
		for _, c := range s.Failures {
			if utf8.RuneCountInString(c.Message) > maxMessage+1 || !utf8.ValidString(c.Message) {
				t.Fatalf("%s: message %q", f, c.Message)
			}
		}
		if r, ok := s.PassRatio(); ok && (r < 0 || r > 1) {
			t.Fatalf("%s: pass ratio %v", f, r)
		}
	}
}

func FuzzJUnit(f *testing.F) {
	addSeeds(f, []string{"junit/*.xml", "*/*.xml"},
		`<testsuite><testcase name="a"/></testsuite>`,
		`<testsuites time="1"><testsuite name="s"><testsuite name="n"><testcase classname="c.d" name="a" time="x"><failure>boom</failure></testcase></testsuite></testsuite></testsuites>`,
		`<testsuite><testcase name="a"><flakyError message="m"/><skipped/></testcase><testcase name="a"><error type="E"/><rerunError/></testcase></testsuite>`,
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite><testcase name=\"\xe9\"/></testsuite>",
		`<testsuite><!-- c --><![CDATA[x]]><testcase name="a&amp;b"/></testsuite>`,
		`<testsuite><testcase`,
	)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, data, testresults.FormatJUnit) })
}

func FuzzGoTestJSON(f *testing.F) {
	addSeeds(f, []string{"*/gotest.json"},
		`{"Action":"run","Package":"p","Test":"T"}`+"\n"+`{"Action":"fail","Package":"p","Test":"T","Elapsed":1e308}`,
		`{"Action":"run","Package":"p","Test":"T/a/b"}`+"\n"+`{"Action":"pass","Package":"p","Test":"T"}`,
		`{"ImportPath":"p [p.test]","Action":"build-output","Output":"x\n"}`+"\n"+`{"ImportPath":"p [p.test]","Action":"build-fail"}`,
		`{"Action":"fail","Package":"p","Elapsed":-1}`,
	)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, data, testresults.FormatGoTest) })
}

func FuzzTAP(f *testing.F) {
	addSeeds(f, []string{"*/*.tap"},
		"TAP version 14\n1..2\nok 1 - a\nnot ok 2 - b # TODO\n",
		"1..3\n# Subtest: x\n    ok 1\n    1..1\nok 1 - x\nBail out! stop\n",
		"not ok 1 - a\n  ---\n  message: |-\n    line\n  duration_ms: 5\n  ...\n1..1\n",
		"ok\n        ok 1 - deep\nok 2\n1..0\n",
		"1..9999999999\n",
	)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, data, testresults.FormatTAP) })
}
