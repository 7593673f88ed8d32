package testresults

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// parseJUnit reads a JUnit XML report token by token: a <testsuites> or
// a bare <testsuite> root, suites nested at any depth, <testcase>
// elements with <failure>, <error> or <skipped>, and Maven Surefire's
// reruns: <flakyFailure>/<flakyError> on a case that passed in the end
// (flaky), <rerunFailure>/<rerunError> next to a <failure>/<error> that
// stayed. A case with <skipped> is skipped even if it also has a failure
// (Node's todo tests, pytest's xfail). <system-out>, <system-err> and
// <properties> are skipped.
func parseJUnit(ctx context.Context, r *bufio.Reader, name string, opt Options) (*Summary, error) {
	src := newBoundedXML(r)
	dec := xml.NewDecoder(src)
	dec.CharsetReader = charsetReader
	p := junitParser{name: name, opt: opt, s: &Summary{}}
	for n := 0; ; n++ {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, p.readError(src, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.start(t, src.line); err != nil {
				return nil, err
			}
		case xml.EndElement:
			p.end(t)
		case xml.CharData:
			if p.text != nil {
				p.text.write(t)
			}
		}
	}
	if p.depth == 0 && !p.sawRoot {
		return nil, &ParseError{File: name, Msg: "no root element", notReport: true}
	}
	switch {
	case p.rootTime >= 0:
		p.s.Duration = p.rootTime
	case p.sawSuiteTime:
		p.s.Duration = p.suiteTime
	default:
		p.s.Duration = p.caseTime
	}
	return p.s, nil
}

func (p *junitParser) readError(src *boundedXML, err error) error {
	var syntax *xml.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return &ParseError{File: p.name, Line: src.line, Msg: "malformed XML: " + syntax.Msg}
	case errors.Is(err, errTagTooLong):
		return &ParseError{File: p.name, Line: src.line, Msg: "malformed XML: " + err.Error()}
	case strings.HasPrefix(err.Error(), "xml: "):
		return &ParseError{File: p.name, Line: src.line, Msg: "malformed XML: " + strings.TrimPrefix(err.Error(), "xml: ")}
	}
	return fmt.Errorf("read %s: %w", p.name, err)
}

type junitParser struct {
	name string
	opt  Options
	s    *Summary

	depth   int
	sawRoot bool
	suites  []string // names of the enclosing suites
	// rootTime is the root <testsuites>'s time, or -1; suiteTime sums the
	// times of the outermost suites, caseTime those of the cases.
	rootTime     float64
	suiteTime    float64
	sawSuiteTime bool
	caseTime     float64

	tc        *junitCase
	caseDepth int
	text      *textBuffer // collects the message of a <failure> or <error>
}

type junitCase struct {
	c              Case
	failure, flaky bool
	skipped        bool
	kind           Status // StatusFailed or StatusErrored, from the first of them
	msg            string
}

func (p *junitParser) start(t xml.StartElement, line int) error {
	p.depth++
	if p.depth > maxDepth {
		return &ParseError{File: p.name, Line: line, Msg: fmt.Sprintf("elements nested deeper than %d", maxDepth)}
	}
	local := t.Name.Local
	if p.depth == 1 {
		p.sawRoot = true
		p.rootTime = -1
		switch local {
		case "testsuites":
			if v, ok := attr(t, "time"); ok {
				p.rootTime = parseTime(v)
			}
		case "testsuite":
		default:
			return &ParseError{File: p.name, Line: line, notReport: true,
				Msg: fmt.Sprintf("the root element is <%s>, want <testsuites> or <testsuite>", local)}
		}
	}
	switch {
	case local == "testsuite":
		name, _ := attr(t, "name")
		p.suites = append(p.suites, name)
		if v, ok := attr(t, "time"); ok && len(p.suites) == 1 {
			p.suiteTime += parseTime(v)
			p.sawSuiteTime = true
		}
	case local == "testcase" && p.tc == nil:
		name, _ := attr(t, "name")
		class, _ := attr(t, "classname")
		tc := &junitCase{c: Case{Name: name, Suite: p.suiteOf(name, class), Status: StatusPassed}}
		if v, ok := attr(t, "time"); ok {
			tc.c.Time = parseTime(v)
		}
		p.tc, p.caseDepth = tc, p.depth
	case p.tc != nil && p.depth == p.caseDepth+1:
		switch local {
		case "failure", "error":
			kind := StatusFailed
			if local == "error" {
				kind = StatusErrored
			}
			if !p.tc.failure {
				p.tc.failure, p.tc.kind = true, kind
				p.startMessage(t)
			}
		case "skipped":
			p.tc.skipped = true
		case "flakyFailure", "flakyError":
			p.tc.flaky = true
		}
	}
	return nil
}

// startMessage takes a failure's message from its message attribute (and
// type), or else collects its text.
func (p *junitParser) startMessage(t xml.StartElement) {
	msg, _ := attr(t, "message")
	typ, _ := attr(t, "type")
	if strings.TrimSpace(msg) != "" {
		if typ != "" && !strings.Contains(msg, typ) && !strings.Contains(typ, " ") {
			msg = typ + ": " + msg
		}
		p.tc.msg = msg
		return
	}
	buf := newTextBuffer(p.opt.MaxMessage)
	if typ != "" {
		buf.writeString(typ + ": ")
	}
	p.text = &buf
}

func (p *junitParser) end(t xml.EndElement) {
	defer func() { p.depth-- }()
	if p.tc == nil {
		if t.Name.Local == "testsuite" && len(p.suites) > 0 {
			p.suites = p.suites[:len(p.suites)-1]
		}
		return
	}
	if p.depth == p.caseDepth+1 && p.text != nil {
		p.tc.msg = p.text.String()
		p.text = nil
		return
	}
	if p.depth != p.caseDepth {
		return
	}
	tc := p.tc
	p.tc = nil
	switch {
	case tc.skipped:
		tc.c.Status = StatusSkipped
	case tc.failure:
		tc.c.Status = tc.kind
		tc.c.Message = message(tc.msg, p.opt.MaxMessage)
	case tc.flaky:
		tc.c.Flaky = true
	}
	p.caseTime += tc.c.Time
	p.s.add(tc.c)
}

// suiteOf names the suite of a case: its classname when that is a
// qualified name (a Java class, a Python module, a Go package, a spec
// file) the case's name does not repeat, else the innermost suite's name
// (jest-junit and mocha repeat the name in the classname, Node writes
// "test").
func (p *junitParser) suiteOf(name, class string) string {
	if strings.ContainsAny(class, "./\\:") && !strings.Contains(name, class) {
		return class
	}
	for i := len(p.suites) - 1; i >= 0; i-- {
		if p.suites[i] != "" {
			return p.suites[i]
		}
	}
	if class != "" {
		return class
	}
	return p.name
}

func attr(t xml.StartElement, name string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// parseTime reads a time attribute in seconds ("1.5", Surefire's
// "1,234.5"); anything unreadable is 0.
func parseTime(v string) float64 {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(v), ",", ""), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// charsetReader reads the single-byte encodings some older JUnit writers
// declare; UTF-8 and US-ASCII need none.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1", "windows-1252", "cp1252":
		br, ok := input.(io.ByteReader)
		if !ok {
			br = bufio.NewReader(input)
		}
		return &latin1Reader{r: br}, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (write the report in UTF-8)", label)
}

// latin1Reader turns ISO-8859-1 into UTF-8, one byte at a time, so the
// decoder still reads without reading ahead.
type latin1Reader struct {
	r       io.ByteReader
	pending byte
}

func (l *latin1Reader) ReadByte() (byte, error) {
	if l.pending != 0 {
		c := l.pending
		l.pending = 0
		return c, nil
	}
	c, err := l.r.ReadByte()
	if err != nil || c < 0x80 {
		return c, err
	}
	l.pending = 0x80 | c&0x3F
	return 0xC0 | c>>6, nil
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := l.ReadByte()
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		p[n] = c
		n++
	}
	return n, nil
}
