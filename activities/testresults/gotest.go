package testresults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// goEvent is one line of `go test -json` (cmd/test2json), with the build
// events of Go 1.24 and later (ImportPath, build-output, build-fail).
type goEvent struct {
	Action      string
	Package     string
	Test        string
	Output      string
	Elapsed     float64
	ImportPath  string
	FailedBuild string
}

// goTest is a test that has started and not yet ended.
type goTest struct {
	pkg, name   string
	out         textBuffer
	parent      *goTest
	subtests    bool // it ran subtests
	subtestFail bool // one of them failed
}

type goPackage struct {
	elapsed   float64
	ended     bool
	failed    bool
	testFail  bool // a test of it failed or did not end
	output    textBuffer
	buildFail textBuffer
}

// parseGoTest reads `go test -json` output. Every test and subtest that
// ran no subtests of its own is a case; a test with subtests is a case
// only when it failed while none of its subtests did. A package that
// failed with no failing test (a build failure, a panic in TestMain, a
// timeout) is one errored case, as is a test that never ended. A test
// that fails and then runs again in the same file (go test -count,
// gotestsum --rerun-fails) is one case: failed if it never passed
// afterwards, passed and flaky if it did.
func parseGoTest(ctx context.Context, r *bufio.Reader, name string, opt Options) (*Summary, error) {
	p := goParser{
		name: name, opt: opt, s: &Summary{},
		running:  map[string]*goTest{},
		packages: map[string]*goPackage{},
		failed:   map[string]int{},
	}
	lines := lineReader{r: r}
	events := 0
	for {
		if lines.line%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		line, cut, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			// go test -json 2>&1 mixes in the go command's own text.
			continue
		}
		if cut {
			return nil, &ParseError{File: name, Line: lines.line, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		var e goEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, &ParseError{File: name, Line: lines.line, Msg: "invalid JSON: " + jsonError(err)}
		}
		if e.Action == "" {
			return nil, &ParseError{File: name, Line: lines.line, notReport: events == 0,
				Msg: "a JSON object that is not a go test -json event (no Action)"}
		}
		events++
		p.event(e)
	}
	if events == 0 {
		return nil, &ParseError{File: name, Msg: "no go test -json events", notReport: true}
	}
	p.finish()
	return p.s, nil
}

func jsonError(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%v (at byte %d of the line)", err, syntax.Offset)
	}
	return err.Error()
}

type goParser struct {
	name     string
	opt      Options
	s        *Summary
	running  map[string]*goTest
	packages map[string]*goPackage
	order    []string // packages in the order they appear
	// failed holds the cases that failed, by test, until the end: a rerun
	// that passes turns a failure into a flaky pass.
	failed   map[string]int
	failures []Case
	topTime  float64 // sum of the top-level tests' elapsed times
}

func (p *goParser) pkg(name string) *goPackage {
	pk, ok := p.packages[name]
	if !ok {
		pk = &goPackage{output: newTextBuffer(p.opt.MaxMessage), buildFail: newTextBuffer(p.opt.MaxMessage)}
		p.packages[name] = pk
		p.order = append(p.order, name)
	}
	return pk
}

func testKey(pkg, test string) string { return pkg + "\x00" + test }

func (p *goParser) event(e goEvent) {
	switch e.Action {
	case "build-output":
		pkg := strings.TrimSpace(strings.SplitN(e.ImportPath, " [", 2)[0])
		p.pkg(pkg).buildFail.writeString(e.Output)
		return
	case "build-fail":
		return
	}
	if e.Package == "" {
		return
	}
	pk := p.pkg(e.Package)
	if e.Test == "" {
		switch e.Action {
		case "output":
			if !isGoSummaryLine(e.Output) {
				pk.output.writeString(e.Output)
			}
		case "pass", "fail", "skip":
			pk.ended = true
			pk.failed = e.Action == "fail"
			pk.elapsed += finite(e.Elapsed)
			p.endPackage(e.Package, pk)
		}
		return
	}
	key := testKey(e.Package, e.Test)
	switch e.Action {
	case "run":
		p.running[key] = p.newTest(e.Package, e.Test)
	case "output":
		if t, ok := p.running[key]; ok && !isGoFrameLine(e.Output) {
			t.out.writeString(e.Output)
		}
	case "pass", "fail", "skip":
		t, ok := p.running[key]
		if !ok {
			t = p.newTest(e.Package, e.Test)
		}
		delete(p.running, key)
		p.endTest(t, e.Action, finite(e.Elapsed))
	}
}

func (p *goParser) newTest(pkg, name string) *goTest {
	t := &goTest{pkg: pkg, name: name, out: newTextBuffer(p.opt.MaxMessage)}
	for parent := name; ; {
		i := strings.LastIndexByte(parent, '/')
		if i < 0 {
			break
		}
		parent = parent[:i]
		if pt, ok := p.running[testKey(pkg, parent)]; ok {
			t.parent, pt.subtests = pt, true
			break
		}
	}
	return t
}

func (p *goParser) endTest(t *goTest, action string, elapsed float64) {
	if !strings.Contains(t.name, "/") {
		p.topTime += elapsed
	}
	if action == "fail" {
		p.pkg(t.pkg).testFail = true
		if t.parent != nil {
			t.parent.subtestFail = true
		}
	}
	if t.subtests && (action != "fail" || t.subtestFail) {
		return // a group of subtests, counted through them
	}
	c := Case{Suite: t.pkg, Name: t.name, Time: elapsed}
	key := testKey(t.pkg, t.name)
	switch action {
	case "pass":
		c.Status = StatusPassed
		if i, ok := p.failed[key]; ok {
			delete(p.failed, key)
			p.failures[i].Status = "" // passed on a rerun
			c.Flaky = true
		}
	case "skip":
		c.Status = StatusSkipped
	case "fail":
		c.Status = StatusFailed
		c.Message = message(t.out.String(), p.opt.MaxMessage)
		if i, ok := p.failed[key]; ok {
			p.failures[i] = c
			return
		}
		p.failed[key] = len(p.failures)
		p.failures = append(p.failures, c)
		return
	}
	p.s.add(c)
}

// endPackage counts a failed package's tests that never ended as errored,
// or the package itself when none of its tests failed.
func (p *goParser) endPackage(pkg string, pk *goPackage) {
	var left []*goTest
	for key, t := range p.running {
		if t.pkg == pkg {
			delete(p.running, key)
			if !t.subtests {
				left = append(left, t)
			}
		}
	}
	slices.SortFunc(left, func(a, b *goTest) int { return strings.Compare(a.name, b.name) })
	for _, t := range left {
		pk.testFail = true
		msg := strings.TrimSpace(t.out.String())
		if msg == "" {
			msg = strings.TrimSpace(pk.output.String())
		}
		p.s.add(Case{Suite: pkg, Name: t.name, Status: StatusErrored,
			Message: message("the test did not end: "+msg, p.opt.MaxMessage)})
	}
	if pk.failed && !pk.testFail {
		msg := strings.TrimSpace(pk.buildFail.String())
		if msg == "" {
			msg = strings.TrimSpace(pk.output.String())
		}
		if msg == "" {
			msg = "the package failed"
		}
		p.s.add(Case{Suite: pkg, Name: "(package)", Status: StatusErrored, Message: message(msg, p.opt.MaxMessage)})
		pk.testFail = true
	}
}

func (p *goParser) finish() {
	// Tests still running at the end of the output: it was cut short.
	var left []*goTest
	for _, t := range p.running {
		if !t.subtests {
			left = append(left, t)
		}
	}
	slices.SortFunc(left, func(a, b *goTest) int {
		return strings.Compare(testKey(a.pkg, a.name), testKey(b.pkg, b.name))
	})
	for _, t := range left {
		p.pkg(t.pkg).testFail = true
		p.s.add(Case{Suite: t.pkg, Name: t.name, Status: StatusErrored,
			Message: message("the test did not end (the output stops while it runs): "+t.out.String(), p.opt.MaxMessage)})
	}
	for _, c := range p.failures {
		if c.Status != "" {
			p.s.add(c)
		}
	}
	// Packages that failed to build have no end event before Go 1.24.
	for _, name := range p.order {
		pk := p.packages[name]
		if !pk.ended && pk.buildFail.String() != "" {
			pk.failed = true
			p.endPackage(name, pk)
		}
	}
	var elapsed float64
	ended := false
	for _, name := range p.order {
		if pk := p.packages[name]; pk.ended {
			ended = true
			elapsed += pk.elapsed
		}
	}
	if ended {
		p.s.Duration = elapsed
	} else {
		p.s.Duration = p.topTime
	}
}

// isGoFrameLine says whether a test's output line is the frame go test
// writes around it (=== RUN, --- FAIL: …) rather than what it logged.
func isGoFrameLine(s string) bool {
	t := strings.TrimSpace(s)
	for _, prefix := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP"} {
		if strings.HasPrefix(t, prefix) {
			return true
		}
	}
	return false
}

// isGoSummaryLine says whether a package's output line is go test's
// verdict (PASS, FAIL, ok …, FAIL pkg …) rather than what it printed.
func isGoSummaryLine(s string) bool {
	t := strings.TrimSpace(s)
	return t == "PASS" || t == "FAIL" || strings.HasPrefix(t, "ok  ") || strings.HasPrefix(t, "FAIL\t") ||
		strings.HasPrefix(t, "?   ") || strings.HasPrefix(t, "coverage:") || strings.HasPrefix(t, "testing: warning")
}

func finite(f float64) float64 {
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
