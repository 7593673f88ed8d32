// Package history keeps every finished run's report.json, queryable by
// plan: the run history that baselines, "compared with the previous run"
// and trends read.
//
// The store is a directory: DIR/PLAN/RUN.json, one file per run, each
// written whole with internal/atomicfile (a temporary file renamed into
// place). Writing one run never touches another run's file, so no run's
// data is lost when another is written, and concurrent writers (two
// starters, a starter and `starter history --sync`) are safe: the last
// whole write of a run wins, and every write of a run carries the same
// final result. Temporal's visibility lists runs too, but only within the
// namespace's retention; the store keeps them after that. The starter
// fills it: with the run it followed, and with the finished runs of a plan
// that Temporal lists and the store lacks (--detach, schedules), read with
// runs.Result. docs/history.md describes it.
package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/atomicfile"
	"github.com/shipshape-dev/shipshape/plan"
)

// ErrNotFound means the store has no such run.
var ErrNotFound = errors.New("run not in the history")

// Store is a run history kept in a directory.
type Store struct {
	Dir string
}

// New returns the store kept in dir (created on the first write).
func New(dir string) *Store { return &Store{Dir: dir} }

// safeName is what a plan name or run ID must look like to be a file
// name: plan names and run IDs are restricted to these already.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func checkName(what, s string) error {
	if !safeName.MatchString(s) || strings.Contains(s, "..") {
		return fmt.Errorf("history: %s %q cannot name a file", what, s)
	}
	return nil
}

// Finished reports whether r is a run's final result, which the store keeps.
func Finished(r *plan.RunResult) bool {
	return r != nil && r.Result.Done() && r.Result != ""
}

// Put keeps a finished run's result as DIR/PLAN/RUN.json. What a report
// attaches from the history (the comparison, the trend) is left out: the
// store keeps what the run produced.
func (s *Store) Put(r *plan.RunResult) error {
	if !Finished(r) {
		return fmt.Errorf("history: run %s has not finished (result %q)", r.RunID, r.Result)
	}
	if err := checkName("plan", r.Plan); err != nil {
		return err
	}
	if err := checkName("run", r.RunID); err != nil {
		return err
	}
	kept := *r
	kept.Compared, kept.Trend = nil, nil
	data, err := json.MarshalIndent(&kept, "", "  ")
	if err != nil {
		return fmt.Errorf("history: encode run %s: %w", r.RunID, err)
	}
	dir := filepath.Join(s.Dir, r.Plan)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, r.RunID+".json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("history: keep run %s: %w", r.RunID, err)
	}
	return nil
}

// Has reports whether the store keeps the run.
func (s *Store) Has(planName, runID string) bool {
	if checkName("plan", planName) != nil || checkName("run", runID) != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(s.Dir, planName, runID+".json"))
	return err == nil
}

// Get returns a kept run of a plan; with planName empty, of any plan.
func (s *Store) Get(planName, runID string) (*plan.RunResult, error) {
	if err := checkName("run", runID); err != nil {
		return nil, err
	}
	if planName != "" {
		if err := checkName("plan", planName); err != nil {
			return nil, err
		}
		return read(filepath.Join(s.Dir, planName, runID+".json"), runID)
	}
	matches, err := filepath.Glob(filepath.Join(s.Dir, "*", runID+".json"))
	if err != nil || len(matches) == 0 {
		return nil, fmt.Errorf("%w: %s (in %s)", ErrNotFound, runID, s.Dir)
	}
	return read(matches[0], runID)
}

func read(path, runID string) (*plan.RunResult, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, runID)
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var r plan.RunResult
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("history: %s: %w", path, err)
	}
	return &r, nil
}

// List returns the kept runs of a plan, newest first (by start time, then
// run ID), at most limit of them (all when limit ≤ 0). A plan with no
// runs has an empty history, not an error; a file that does not read is.
func (s *Store) List(planName string, limit int) ([]*plan.RunResult, error) {
	if err := checkName("plan", planName); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.Dir, planName)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []*plan.RunResult
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue // a writer's temporary file, or not ours
		}
		r, err := read(filepath.Join(dir, name), strings.TrimSuffix(name, ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	SortNewestFirst(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// SortNewestFirst orders runs newest first: by start time, then run ID.
func SortNewestFirst(rs []*plan.RunResult) {
	slices.SortStableFunc(rs, func(a, b *plan.RunResult) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.RunID, a.RunID)
	})
}

// Before returns the kept runs of a plan that started before the run
// given (all kept runs when it is not kept), newest first, without it.
func (s *Store) Before(r *plan.RunResult, limit int) ([]*plan.RunResult, error) {
	all, err := s.List(r.Plan, 0)
	if err != nil {
		return nil, err
	}
	var out []*plan.RunResult
	for _, o := range all {
		if o.RunID == r.RunID || (!r.StartedAt.IsZero() && !o.StartedAt.Before(r.StartedAt)) {
			continue
		}
		out = append(out, o)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// LastPassing returns the newest kept run of the plan whose result is
// pass, or nil when it has none.
func (s *Store) LastPassing(planName string) (*plan.RunResult, error) {
	all, err := s.List(planName, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.Result == plan.StatusPass {
			return r, nil
		}
	}
	return nil, nil
}
