package testresults

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Status is the outcome of one test case.
type Status string

// Outcomes of a test case. A test that failed and then passed on a rerun
// is StatusPassed with Case.Flaky set.
const (
	StatusPassed  Status = "passed"
	StatusFailed  Status = "failed"
	StatusErrored Status = "errored"
	StatusSkipped Status = "skipped"
)

// Case is one test case as a report states it.
type Case struct {
	Suite string
	Name  string
	// Status is the outcome; Flaky: it failed first and passed on a rerun.
	Status Status
	Flaky  bool
	// Time is how long the case ran, in seconds (0 when not stated).
	Time float64
	// Message is the failure or error message, whitespace collapsed and
	// truncated to Options.MaxMessage.
	Message string
}

// Limits of what a Summary keeps: the counts cover every case, the lists
// only so many (they travel in the activity result, which Temporal limits
// to a few MB).
const (
	// MaxFailures is how many failing cases a Summary lists.
	MaxFailures = 200
	// SlowestCount is how many of the slowest cases a Summary lists.
	SlowestCount = 10
)

// Summary is what one or more test reports say: counts, times, and the
// failing and slowest cases.
type Summary struct {
	Total, Passed, Failed, Errored, Skipped, Flaky int
	// Duration is the time the reports say their tests took, in seconds:
	// a report's own total where it states one (a JUnit root or top-level
	// suite's time, a go test package's elapsed time, Node's TAP
	// duration_ms), else the sum of its cases' times.
	Duration float64
	// Files is the number of reports read.
	Files int
	// Failures are the first MaxFailures failed or errored cases, in the
	// order the reports list them.
	Failures []Case
	// Slowest are the SlowestCount slowest cases, slowest first.
	Slowest []Case
}

// PassRatio is passed / (total - skipped); false when no test ran.
func (s *Summary) PassRatio() (float64, bool) {
	ran := s.Total - s.Skipped
	if ran <= 0 {
		return 0, false
	}
	return float64(s.Passed) / float64(ran), true
}

// SlowestTime is the time of the slowest case, in seconds.
func (s *Summary) SlowestTime() float64 {
	if len(s.Slowest) == 0 {
		return 0
	}
	return s.Slowest[0].Time
}

// Failing is the number of failed and errored cases.
func (s *Summary) Failing() int { return s.Failed + s.Errored }

// maxName bounds the suite and test names a Summary lists.
const maxName = 300

func (s *Summary) add(c Case) {
	c.Suite, c.Name = clip(c.Suite), clip(c.Name)
	s.Total++
	switch c.Status {
	case StatusPassed:
		s.Passed++
		if c.Flaky {
			s.Flaky++
		}
	case StatusFailed:
		s.Failed++
	case StatusErrored:
		s.Errored++
	case StatusSkipped:
		s.Skipped++
	}
	if (c.Status == StatusFailed || c.Status == StatusErrored) && len(s.Failures) < MaxFailures {
		s.Failures = append(s.Failures, c)
	}
	s.addSlow(c)
}

// addSlow keeps the SlowestCount slowest cases; among equal times, the
// first listed.
func (s *Summary) addSlow(c Case) {
	if c.Time <= 0 || c.Status == StatusSkipped {
		return
	}
	if len(s.Slowest) == SlowestCount && c.Time <= s.Slowest[len(s.Slowest)-1].Time {
		return
	}
	i, _ := slices.BinarySearchFunc(s.Slowest, c.Time, func(e Case, t float64) int {
		if e.Time >= t {
			return -1
		}
		return 1
	})
	s.Slowest = slices.Insert(s.Slowest, i, c)
	if len(s.Slowest) > SlowestCount {
		s.Slowest = s.Slowest[:SlowestCount]
	}
}

// Merge adds the counts and cases of o to s.
func (s *Summary) Merge(o *Summary) {
	s.Total += o.Total
	s.Passed += o.Passed
	s.Failed += o.Failed
	s.Errored += o.Errored
	s.Skipped += o.Skipped
	s.Flaky += o.Flaky
	s.Duration += o.Duration
	s.Files += o.Files
	for _, c := range o.Failures {
		if len(s.Failures) == MaxFailures {
			break
		}
		s.Failures = append(s.Failures, c)
	}
	for _, c := range o.Slowest {
		s.addSlow(c)
	}
}

// Line is a one-line account of s: "12 tests: 10 passed, 1 failed, …".
func (s *Summary) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %d passed, %d failed, %d errored, %d skipped",
		s.Total, plural(s.Total, "test", "tests"), s.Passed, s.Failed, s.Errored, s.Skipped)
	if s.Flaky > 0 {
		fmt.Fprintf(&b, " (%d flaky)", s.Flaky)
	}
	fmt.Fprintf(&b, " in %d %s, %s", s.Files, plural(s.Files, "report", "reports"), seconds(s.Duration))
	return b.String()
}

// sortedFailures returns the listed failures grouped by suite, suites in
// the order they first fail.
func (s *Summary) sortedFailures() []Case {
	first := map[string]int{}
	for i, c := range s.Failures {
		if _, ok := first[c.Suite]; !ok {
			first[c.Suite] = i
		}
	}
	out := slices.Clone(s.Failures)
	slices.SortStableFunc(out, func(a, b Case) int { return cmp.Compare(first[a.Suite], first[b.Suite]) })
	return out
}

func seconds(s float64) string {
	switch {
	case s < 10:
		return fmt.Sprintf("%.3f s", s)
	default:
		return fmt.Sprintf("%.1f s", s)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// message collapses runs of white space in s to one space and truncates it
// to max runes, marking a cut with "…"; max 0 drops messages.
func message(s string, max int) string {
	if max <= 0 {
		return ""
	}
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// textBuffer collects text up to a bound and drops the rest.
type textBuffer struct {
	b     []byte
	limit int
}

func newTextBuffer(maxMessage int) textBuffer {
	// Room for the runes kept plus white space that collapses.
	return textBuffer{limit: 8*maxMessage + 64}
}

func (t *textBuffer) write(p []byte) {
	if room := t.limit - len(t.b); room > 0 {
		t.b = append(t.b, p[:min(room, len(p))]...)
	}
}

func (t *textBuffer) writeString(s string) {
	if room := t.limit - len(t.b); room > 0 {
		t.b = append(t.b, s[:min(room, len(s))]...)
	}
}

func (t *textBuffer) String() string { return string(t.b) }

// addBulk adds n cases like c at once (tests a TAP plan names that never
// ran), listing c once.
func (s *Summary) addBulk(c Case, n int) {
	if n <= 0 {
		return
	}
	s.add(c)
	n--
	s.Total += n
	switch c.Status {
	case StatusFailed:
		s.Failed += n
	case StatusErrored:
		s.Errored += n
	}
}

// clip cuts a name to maxName runes.
func clip(name string) string {
	if len(name) <= maxName {
		return name
	}
	return message(name, maxName)
}
