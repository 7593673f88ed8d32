package testresults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxPlan is the largest plan (1..N) a TAP report may state.
const maxPlan = 1 << 30

// tapLevel is one level of TAP subtests: the test points and plan of the
// block at one indentation.
type tapLevel struct {
	count   int
	planned int // -1: no plan line
	failed  bool
	subtest string // the name "# Subtest:" announced
}

// tapPoint is a test point whose YAML block may still follow.
type tapPoint struct {
	depth         int
	ok            bool
	skip, todo    bool
	desc          string
	children      bool // it closed a block of subtests
	childFailed   bool
	time          float64
	msg, errorMsg string
}

// parseTAP reads a TAP report (version 13 or 14): test points ("ok",
// "not ok", "# SKIP", "# TODO"), plans ("1..N"; tests missing from the
// plan are failures), subtests indented by four spaces, YAML diagnostics
// (message or error, duration_ms) and "Bail out!". A test point that
// closes a block of subtests is a case only when it failed while none of
// its subtests did. TODO tests are skipped cases: TAP does not count
// their failures.
func parseTAP(ctx context.Context, r *bufio.Reader, name string, opt Options) (*Summary, error) {
	p := tapParser{name: name, opt: opt, s: &Summary{}, yamlIndent: -1, totalTime: -1}
	lines := lineReader{r: r}
	sawTAP := false
	for {
		if lines.line%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		raw, _, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		ok, err := p.line(raw, lines.line)
		if err != nil {
			return nil, err
		}
		sawTAP = sawTAP || ok
		if p.bailed {
			break
		}
	}
	if !sawTAP {
		return nil, &ParseError{File: name, Msg: "no TAP plan or test line", notReport: true}
	}
	p.flush()
	p.closeLevel(0, p.name)
	switch {
	case p.totalTime >= 0:
		p.s.Duration = p.totalTime
	default:
		p.s.Duration = p.topTime
	}
	return p.s, nil
}

type tapParser struct {
	name    string
	opt     Options
	s       *Summary
	levels  []tapLevel
	pending *tapPoint
	bailed  bool

	yamlIndent int // indentation of the YAML block being read, or -1
	yamlKey    string
	yamlBlock  *textBuffer // the block scalar being read, if any
	blockKey   string

	topTime   float64 // sum of the top-level points' duration_ms
	totalTime float64 // "# duration_ms" at the top level, or -1
}

func (p *tapParser) level(d int) *tapLevel {
	for len(p.levels) <= d {
		p.levels = append(p.levels, tapLevel{planned: -1})
	}
	return &p.levels[d]
}

// line reads one line; it says whether the line was TAP (a version, plan,
// test point, subtest or bail out).
func (p *tapParser) line(raw []byte, n int) (bool, error) {
	indent := len(raw) - len(bytes.TrimLeft(raw, " "))
	text := strings.TrimSpace(string(raw))
	if p.yamlIndent >= 0 {
		if p.yaml(text, indent) {
			return false, nil
		}
	}
	depth := indent / 4
	switch {
	case text == "":
		return false, nil
	case strings.HasPrefix(text, "TAP version"):
		return true, nil
	case text == "---" && p.pending != nil && indent > p.pending.depth*4:
		p.yamlIndent, p.yamlBlock = indent, nil
		return false, nil
	case strings.HasPrefix(text, "Bail out!"):
		p.flush()
		reason := strings.TrimSpace(strings.TrimPrefix(text, "Bail out!"))
		p.s.add(Case{Suite: p.suite(depth), Name: "Bail out!", Status: StatusErrored, Message: message(reason, p.opt.MaxMessage)})
		p.level(depth).failed = true
		p.bailed = true
		return true, nil
	case strings.HasPrefix(text, "# Subtest:") || strings.HasPrefix(text, "# Subtest "):
		p.flush()
		p.level(depth).subtest = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(text, "# Subtest"), ":"))
		return true, nil
	case strings.HasPrefix(text, "#"):
		if depth == 0 {
			if v, ok := strings.CutPrefix(text, "# duration_ms "); ok {
				if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					p.totalTime = finite(ms) / 1000
				}
			}
		}
		return false, nil
	case strings.HasPrefix(text, "1.."):
		p.flush()
		planned, err := parsePlan(text)
		if err != nil {
			return false, &ParseError{File: p.name, Line: n, Msg: err.Error()}
		}
		if planned >= 0 {
			p.level(depth).planned = planned
			return true, nil
		}
		return false, nil
	}
	point, ok := parsePoint(text)
	if !ok {
		return false, nil // TAP ignores what it does not know
	}
	p.flush()
	point.depth = depth
	lv := p.level(depth)
	lv.count++
	if len(p.levels) > depth+1 {
		child := p.levels[depth+1]
		if child.count > 0 || child.planned >= 0 {
			point.children = true
			point.childFailed = p.closeLevel(depth+1, point.desc)
		}
		p.levels = p.levels[:depth+1]
	}
	p.pending = &point
	return true, nil
}

// closeLevel checks the block at depth d against its plan, counting the
// tests missing from it as failed and tests beyond it as errored; it says
// whether anything in the block failed.
func (p *tapParser) closeLevel(d int, parent string) bool {
	if len(p.levels) <= d {
		return false
	}
	lv := p.levels[d]
	suite := p.suite(d)
	if d == 0 {
		suite = p.name
	} else if parent != "" {
		suite = joinSuite(p.suite(d-1), parent)
	}
	msg := func(format string, args ...any) string {
		return message(fmt.Sprintf(format, args...), p.opt.MaxMessage)
	}
	switch {
	case lv.planned < 0 && d == 0 && lv.count > 0:
		p.s.addBulk(Case{Suite: suite, Name: "(plan)", Status: StatusErrored,
			Message: msg("no plan line: the TAP stream ended after %d %s without its 1..N", lv.count, plural(lv.count, "test", "tests"))}, 1)
		return true
	case lv.planned > lv.count:
		missing := lv.planned - lv.count
		p.s.addBulk(Case{Suite: suite, Name: fmt.Sprintf("(%d missing)", missing), Status: StatusFailed,
			Message: msg("the plan 1..%d names %d tests, %d ran", lv.planned, lv.planned, lv.count)}, missing)
		return true
	case lv.planned >= 0 && lv.planned < lv.count:
		p.s.addBulk(Case{Suite: suite, Name: "(beyond the plan)", Status: StatusErrored,
			Message: msg("the plan 1..%d names %d %s, %d ran", lv.planned, lv.planned, plural(lv.planned, "test", "tests"), lv.count)}, 1)
		return true
	}
	return lv.failed
}

// flush counts the pending test point, its YAML block read.
func (p *tapParser) flush() {
	p.endYAML()
	pt := p.pending
	if pt == nil {
		return
	}
	p.pending = nil
	if pt.depth == 0 {
		p.topTime += pt.time
	}
	lv := p.level(pt.depth)
	c := Case{Suite: p.suite(pt.depth), Name: pt.desc, Time: pt.time}
	switch {
	case pt.skip || pt.todo:
		if pt.children {
			return
		}
		c.Status = StatusSkipped
	case pt.ok:
		if pt.children {
			return
		}
		c.Status = StatusPassed
	default:
		lv.failed = true
		if pt.children && pt.childFailed {
			return
		}
		c.Status = StatusFailed
		msg := pt.msg
		if msg == "" {
			msg = pt.errorMsg
		}
		c.Message = message(msg, p.opt.MaxMessage)
	}
	if c.Name == "" {
		c.Name = "(unnamed)"
	}
	p.s.add(c)
}

// suite names the suite of a test point at depth d: the subtests
// announced above it, or the file.
func (p *tapParser) suite(d int) string {
	var parts []string
	for i := 0; i < d && i < len(p.levels); i++ {
		if s := p.levels[i].subtest; s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return p.name
	}
	return strings.Join(parts, " › ")
}

func joinSuite(a, b string) string {
	if a == "" {
		return b
	}
	return a + " › " + b
}

// yaml reads a line of a YAML diagnostic block; false once the block has
// ended before this line.
func (p *tapParser) yaml(text string, indent int) bool {
	if text == "..." && indent == p.yamlIndent {
		p.endYAML()
		p.yamlIndent = -1
		return true
	}
	if indent > p.yamlIndent || text == "" {
		if p.yamlBlock != nil {
			p.yamlBlock.writeString(text + "\n")
		}
		return true
	}
	if indent < p.yamlIndent {
		// The block ended without "...".
		p.endYAML()
		p.yamlIndent = -1
		return false
	}
	p.endYAML()
	key, value, ok := strings.Cut(text, ":")
	if !ok || p.pending == nil {
		return true
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch key {
	case "duration_ms":
		if ms, err := strconv.ParseFloat(value, 64); err == nil {
			p.pending.time = finite(ms) / 1000
		}
	case "message", "error":
		if strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">") {
			buf := newTextBuffer(p.opt.MaxMessage)
			p.yamlBlock, p.blockKey = &buf, key
			return true
		}
		p.setMessage(key, unquoteYAML(value))
	}
	return true
}

func (p *tapParser) endYAML() {
	if p.yamlBlock != nil && p.pending != nil {
		p.setMessage(p.blockKey, p.yamlBlock.String())
	}
	p.yamlBlock = nil
}

func (p *tapParser) setMessage(key, value string) {
	if key == "message" {
		p.pending.msg = value
	} else {
		p.pending.errorMsg = value
	}
}

func unquoteYAML(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
		return v[1 : len(v)-1]
	}
	return v
}

// parsePlan reads "1..N" (with an optional "# reason"); -1 when the line
// is not a plan.
func parsePlan(text string) (int, error) {
	rest := strings.TrimPrefix(text, "1..")
	digits := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = rest[:i]
		if tail := strings.TrimSpace(rest[i:]); tail != "" && !strings.HasPrefix(tail, "#") {
			return -1, nil
		}
	}
	if digits == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > maxPlan {
		return 0, fmt.Errorf("plan %q names more than %d tests", text, maxPlan)
	}
	return n, nil
}

// parsePoint reads a test point: "ok 1 - description # SKIP reason".
func parsePoint(text string) (tapPoint, bool) {
	var pt tapPoint
	rest, found := strings.CutPrefix(text, "not ok")
	if !found {
		rest, found = strings.CutPrefix(text, "ok")
		pt.ok = true
	}
	if !found || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return pt, false
	}
	rest = strings.TrimSpace(rest)
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i != 0 {
		if i < 0 {
			i = len(rest)
		}
		rest = strings.TrimSpace(rest[i:])
	}
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "-"))
	desc, directive := rest, ""
	for i := 0; i < len(rest); i++ {
		if rest[i] == '\\' {
			i++
			continue
		}
		if rest[i] == '#' {
			desc, directive = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
			break
		}
	}
	upper := strings.ToUpper(directive)
	pt.skip = strings.HasPrefix(upper, "SKIP")
	pt.todo = strings.HasPrefix(upper, "TODO")
	pt.desc = strings.ReplaceAll(strings.ReplaceAll(desc, `\#`, "#"), `\\`, `\`)
	return pt, true
}
