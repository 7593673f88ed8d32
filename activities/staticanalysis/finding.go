package staticanalysis

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shipshape-dev/shipshape/plan"
)

// Level is a finding's level, SARIF's words: Checkstyle's info is a note,
// its ignore is none.
type Level string

// Levels, most severe first.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNote    Level = "note"
	LevelNone    Level = "none"
)

// levels is every level, most severe first.
var levels = []Level{LevelError, LevelWarning, LevelNote, LevelNone}

func (l Level) rank() int { return slices.Index(levels, l) }

func validLevel(s string) bool { return slices.Contains(levels, Level(s)) }

// Baseline states a SARIF result may carry (baselineState).
const (
	BaselineNew       = "new"
	BaselineUnchanged = "unchanged"
	BaselineUpdated   = "updated"
	BaselineAbsent    = "absent"
)

func validBaselineState(s string) bool {
	switch s {
	case "", BaselineNew, BaselineUnchanged, BaselineUpdated, BaselineAbsent:
		return true
	}
	return false
}

// Finding is one result a tool reported.
type Finding struct {
	Tool  string
	Rule  string
	Level Level
	// File is the path the tool wrote (a file: URI as a path); "" when the
	// finding has no location.
	File         string
	Line, Column int
	Message      string
	// Fingerprint identifies the finding across runs: the first of the
	// result's partialFingerprints (then fingerprints) as name=value, else
	// a hash of its rule, file and message (HashFingerprint).
	Fingerprint string
	// BaselineState is the SARIF result's baselineState, "" when it has
	// none (and always for Checkstyle and tsc output).
	BaselineState string
	// Suppressed: the result carries an accepted suppression.
	Suppressed bool
}

// HashFingerprint is the fingerprint of a finding whose tool gives none:
// a hash of its rule ID, file and full message text, which stays the same
// when code above it moves.
func HashFingerprint(rule, file, message string) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + file + "\x00" + message))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// Tally counts findings as they are read, keeping only what the metrics
// and the report need: counts, and the first findings of each level.
type Tally struct {
	// Baseline holds the fingerprints of a baseline's findings; nil: no
	// baseline, and a finding is new unless its baselineState says it is
	// not.
	Baseline map[string]bool
	// Keep is how many findings of each level to keep for the report.
	Keep int

	Total, New, Suppressed, Absent int
	ByLevel                        map[Level]int
	ByTool                         map[string]int
	rules                          map[ruleKey]int
	first                          map[Level][]Finding
}

type ruleKey struct {
	rule, tool string
	level      Level
}

// NewTally returns an empty tally keeping keep findings of each level.
func NewTally(baseline map[string]bool, keep int) *Tally {
	return &Tally{
		Baseline: baseline, Keep: keep,
		ByLevel: map[Level]int{}, ByTool: map[string]int{},
		rules: map[ruleKey]int{}, first: map[Level][]Finding{},
	}
}

// Add counts one finding. Results a baseline says are gone (absent) and
// suppressed results are counted apart, not as findings.
func (t *Tally) Add(f Finding) {
	switch {
	case f.BaselineState == BaselineAbsent:
		t.Absent++
		return
	case f.Suppressed:
		t.Suppressed++
		return
	}
	t.Total++
	t.ByLevel[f.Level]++
	t.ByTool[f.Tool]++
	t.rules[ruleKey{f.Rule, f.Tool, f.Level}]++
	if t.IsNew(f) {
		t.New++
	}
	if len(t.first[f.Level]) < t.Keep {
		t.first[f.Level] = append(t.first[f.Level], f)
	}
}

// IsNew reports whether f is new: not in the baseline when there is one,
// else not marked unchanged or updated by its own baselineState.
func (t *Tally) IsNew(f Finding) bool {
	if t.Baseline != nil {
		return !t.Baseline[f.Fingerprint]
	}
	return f.BaselineState != BaselineUnchanged && f.BaselineState != BaselineUpdated
}

// Metrics returns the findings.* metrics, files being the number of
// files read.
func (t *Tally) Metrics(files int) map[string]float64 {
	m := map[string]float64{
		"findings.total":      float64(t.Total),
		"findings.error":      float64(t.ByLevel[LevelError]),
		"findings.warning":    float64(t.ByLevel[LevelWarning]),
		"findings.note":       float64(t.ByLevel[LevelNote]),
		"findings.new":        float64(t.New),
		"findings.suppressed": float64(t.Suppressed),
		"findings.files":      float64(files),
	}
	for tool, n := range t.ByTool {
		m["findings.tool."+MetricName(tool)] += float64(n)
	}
	return m
}

var notMetricChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// MetricName is a tool's name as a metric name segment: lower case,
// runs of anything but letters, digits, - and _ as one -
// ("golangci-lint", "eslint", "trivy", "codeql").
func MetricName(tool string) string {
	s := strings.Trim(notMetricChars.ReplaceAllString(strings.ToLower(tool), "-"), "-")
	if s == "" {
		return "unknown"
	}
	return s
}

// Column widths of the report's tables.
const maxMessageRunes = 160

// Tables returns the report's tables: the rules with the most findings
// and the first findings, errors first, at most rows rows each.
func (t *Tally) Tables(rows int, display func(file string) string) []plan.Table {
	if t.Total == 0 {
		return nil
	}
	type ruleCount struct {
		ruleKey
		n int
	}
	counts := make([]ruleCount, 0, len(t.rules))
	for k, n := range t.rules {
		counts = append(counts, ruleCount{k, n})
	}
	slices.SortFunc(counts, func(a, b ruleCount) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.level.rank(), b.level.rank()),
			cmp.Compare(a.tool, b.tool), cmp.Compare(a.rule, b.rule))
	})
	ruleTable := plan.Table{Title: "Rules with the most findings", Columns: []string{"Rule", "Tool", "Level", "Findings"}}
	for i, c := range counts {
		if i == rows {
			ruleTable.Title += fmt.Sprintf(" (top %d of %d)", rows, len(counts))
			break
		}
		ruleTable.Rows = append(ruleTable.Rows, []string{orDash(c.rule), c.tool, string(c.level), strconv.Itoa(c.n)})
	}

	list := plan.Table{Title: "Findings", Columns: []string{"Level", "Rule", "Location", "Message"}}
	for _, l := range levels {
		for _, f := range t.first[l] {
			if len(list.Rows) == rows {
				break
			}
			list.Rows = append(list.Rows, []string{string(f.Level), orDash(f.Rule), location(f, display), truncate(f.Message, maxMessageRunes)})
		}
	}
	if len(list.Rows) < t.Total {
		list.Title += fmt.Sprintf(" (first %d of %d, most severe first)", len(list.Rows), t.Total)
	}
	return []plan.Table{ruleTable, list}
}

func location(f Finding, display func(string) string) string {
	if f.File == "" {
		return "-"
	}
	file := display(f.File)
	if f.Line > 0 {
		return file + ":" + strconv.Itoa(f.Line)
	}
	return file
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncate shortens s to at most n runes, on one line.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
