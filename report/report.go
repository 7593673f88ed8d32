// Package report renders a run's plan.RunResult, the one value the
// Readiness workflow returns, as report.json (a public contract, documented
// in docs/report.md), a Markdown report for pull-request comments, JUnit XML
// for CI test views, a self-contained HTML page, and a compact terminal
// summary.
//
// Renderers only format: scores and statuses come from the RunResult as
// plan computed them, never recomputed here.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/internal/atomicfile"
	"github.com/shipshape-dev/shipshape/plan"
)

// Names of the files WriteDir writes.
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	JUnitFile    = "junit.xml"
)

// errNoResult is returned by every renderer given a nil RunResult.
var errNoResult = errors.New("no run result to report")

// WriteDir creates dir if needed and writes report.json, report.md,
// junit.xml and report.html into it. Each file is written to a temporary file in dir and
// renamed into place, so a reader never sees half a report. It stops at the
// first file it cannot write.
func WriteDir(dir string, r *plan.RunResult) error {
	if r == nil {
		return errNoResult
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report directory: %w", err)
	}
	files := []struct {
		name   string
		render func(io.Writer, *plan.RunResult) error
	}{
		{JSONFile, JSON},
		{MarkdownFile, func(w io.Writer, r *plan.RunResult) error { return Markdown(w, relativeArtifacts(dir, r)) }},
		{JUnitFile, JUnit},
		{HTMLFile, func(w io.Writer, r *plan.RunResult) error {
			return HTMLWith(w, relativeArtifacts(dir, r), HTMLOptions{ReadArtifact: ArtifactReader(dir)})
		}},
	}
	for _, f := range files {
		var buf bytes.Buffer
		path := filepath.Join(dir, f.name)
		if err := f.render(&buf, r); err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// relativeArtifacts returns r with its absolute artifact paths made
// relative to dir, where report.md goes, so that its links and images work
// wherever the directories are opened together. r itself is unchanged.
func relativeArtifacts(dir string, r *plan.RunResult) *plan.RunResult {
	base, err := filepath.Abs(dir)
	if err != nil {
		return r
	}
	return mapArtifacts(r, func(p string) string {
		if !filepath.IsAbs(p) {
			return p
		}
		if rel, err := filepath.Rel(base, p); err == nil {
			return filepath.ToSlash(rel)
		}
		return p
	})
}

// InArtifactDir returns r with its artifacts' relative paths (relative
// to the run's artifact directory, as tasks write them) joined to dir, so
// that reports written anywhere else link them. An empty dir leaves r.
func InArtifactDir(r *plan.RunResult, dir string) *plan.RunResult {
	if dir == "" {
		return r
	}
	return mapArtifacts(r, func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, "://") {
			return p
		}
		return filepath.Join(dir, filepath.FromSlash(p))
	})
}

// mapArtifacts returns a copy of r with fn applied to every artifact's
// path; r is not changed.
func mapArtifacts(r *plan.RunResult, fn func(string) string) *plan.RunResult {
	out := *r
	out.Phases = slices.Clone(r.Phases)
	for i := range out.Phases {
		tasks := slices.Clone(out.Phases[i].Tasks)
		for j := range tasks {
			artifacts := slices.Clone(tasks[j].Artifacts)
			for k := range artifacts {
				artifacts[k].Path = fn(artifacts[k].Path)
			}
			tasks[j].Artifacts = artifacts
		}
		out.Phases[i].Tasks = tasks
	}
	return &out
}

// ArtifactReader reads an artifact named relative to dir (where
// relativeArtifacts put it) or by an absolute path: the HTMLOptions
// ReadArtifact of a report written into dir.
func ArtifactReader(dir string) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, filepath.FromSlash(path))
		}
		return os.ReadFile(path)
	}
}

// writeAll writes what a renderer built in memory, so a renderer either
// writes its whole output or reports why not.
func writeAll(w io.Writer, buf *bytes.Buffer) error {
	_, err := w.Write(buf.Bytes())
	return err
}

// elapsed is the time from start to end, or false when either is unknown
// (a phase that never started, a run still going).
func elapsed(start, end time.Time) (time.Duration, bool) {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return 0, false
	}
	return end.Sub(start), true
}

// formatTime writes an instant in UTC, to the second.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// isApproval reports whether a phase waits for a decision rather than
// running tasks: it has one, ended approved or rejected, or is waiting
// without tasks (a waiting phase with tasks waits for a checklist).
func isApproval(ph *plan.PhaseResult) bool {
	switch {
	case ph.Approval != nil, ph.Status == plan.StatusApproved, ph.Status == plan.StatusRejected:
		return true
	}
	return ph.Status == plan.StatusWaiting && len(ph.Tasks) == 0
}

// valueText formats a gate's value, or says it was not reported.
func valueText(g plan.GateResult) string {
	if g.Value == nil {
		return "not reported"
	}
	return FormatUnit(g.Metric, g.Unit, *g.Value)
}

// maxReasons bounds the reasons a report opens with; the rest are counted.
const maxReasons = 8

// Reasons says why a run is not a clean pass, in the words a report opens
// with, most important first: key gates that failed, then key gates that
// met only their warning threshold, phases rejected and tasks that errored
// without gates, other failed gates, other warnings, and the share of the
// weight that never ran. A clean pass has none.
func Reasons(r *plan.RunResult) []string {
	var keyFail, keyWarn, broken, fail, warn []string
	for _, ph := range r.Phases {
		if ph.Status == plan.StatusRejected {
			broken = append(broken, fmt.Sprintf("phase %s was rejected%s", ph.Name, suffix(": ", ph.Reason)))
		}
		for _, t := range ph.Tasks {
			where := ph.Name + "/" + t.Name
			if len(t.Gates) == 0 && (t.Status == plan.StatusError || t.Status == plan.StatusCancelled) {
				broken = append(broken, fmt.Sprintf("task %s ended %s%s", where, t.Status, suffix(": ", oneLine(t.Error))))
			}
			for _, g := range t.Gates {
				line := fmt.Sprintf("%s of %s: %s, %s", g.Metric, where, valueText(g), gateTarget(g))
				if g.Status == plan.StatusFail && g.Reason != "" {
					line = fmt.Sprintf("%s of %s: %s", g.Metric, where, g.Reason)
				}
				switch {
				case g.Key && g.Status == plan.StatusFail:
					keyFail = append(keyFail, "key gate failed: "+line)
				case g.Key && g.Status == plan.StatusWarning:
					keyWarn = append(keyWarn, "key gate only at warning: "+line)
				case g.Status == plan.StatusFail:
					fail = append(fail, "gate failed: "+line)
				case g.Status == plan.StatusWarning:
					warn = append(warn, "gate at warning: "+line)
				}
			}
		}
	}
	all := slices.Concat(keyFail, keyWarn, broken, fail, warn)
	if len(all) > maxReasons {
		n := len(all) - maxReasons
		all = append(all[:maxReasons], fmt.Sprintf("and %d more", n))
	}
	if why := noBaselineReason(r); why != "" {
		all = append(all, why)
	}
	if r.NotRun > 0 {
		all = append(all, fmt.Sprintf("%s%% of the gates' weight never ran (skipped phases)", formatScore(r.NotRun)))
	}
	return all
}

// gateTarget is what a gate wanted: "want < 200ms (warning < 500ms)".
func gateTarget(g plan.GateResult) string {
	s := "want " + passText(g)
	if g.Warning != "" {
		s += " (warning " + g.Warning + ")"
	}
	return s
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}
