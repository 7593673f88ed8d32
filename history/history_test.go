package history_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/history"
	"github.com/shipshape-dev/shipshape/plan"
)

func run(planName, id string, result plan.Status, started time.Time) *plan.RunResult {
	return &plan.RunResult{Plan: planName, RunID: id, Result: result, Score: 90, StartedAt: started, FinishedAt: started.Add(time.Minute),
		Phases: []plan.PhaseResult{{Name: "perf", Status: result, Tasks: []plan.TaskResult{{Name: "load", Metrics: map[string]float64{"p95": 0.2}}}}}}
}

func TestStoreKeepsEveryRunByPlan(t *testing.T) {
	s := history.New(t.TempDir())
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for i, r := range []*plan.RunResult{
		run("api", "api-1", plan.StatusPass, t0),
		run("api", "api-2", plan.StatusFail, t0.Add(time.Hour)),
		run("web", "web-1", plan.StatusPass, t0.Add(2*time.Hour)),
		run("api", "api-3", plan.StatusWarning, t0.Add(3*time.Hour)),
	} {
		r.Compared = &plan.Comparison{ScoreDelta: float64(i)}
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List("api", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids := runIDs(got); fmt.Sprint(ids) != "[api-3 api-2 api-1]" {
		t.Fatalf("List(api) = %v, want newest first", ids)
	}
	if got[0].Compared != nil {
		t.Error("the store kept what a report attached")
	}
	if got, _ := s.List("api", 2); len(got) != 2 {
		t.Errorf("List(api, 2) = %d runs", len(got))
	}
	last, err := s.LastPassing("api")
	if err != nil || last == nil || last.RunID != "api-1" {
		t.Fatalf("LastPassing = %v, %v; want api-1 (api-3 only warned)", last, err)
	}
	before, _ := s.Before(got[0], 0)
	if fmt.Sprint(runIDs(before)) != "[api-2 api-1]" {
		t.Errorf("Before(api-3) = %v", runIDs(before))
	}
	if r, err := s.Get("", "web-1"); err != nil || r.Plan != "web" {
		t.Errorf("Get(any plan, web-1) = %v, %v", r, err)
	}
	if _, err := s.Get("api", "api-9"); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("Get(api-9) = %v, want ErrNotFound", err)
	}
	if got, err := s.List("never-ran", 0); err != nil || len(got) != 0 {
		t.Errorf("List(never-ran) = %v, %v; want an empty history", got, err)
	}
	if last, err := s.LastPassing("never-ran"); last != nil || err != nil {
		t.Errorf("LastPassing(never-ran) = %v, %v", last, err)
	}
}

func TestStoreRefusesWhatIsNotAFinishedRun(t *testing.T) {
	s := history.New(t.TempDir())
	now := time.Now()
	for name, r := range map[string]*plan.RunResult{
		"running":         run("api", "api-1", plan.StatusRunning, now),
		"plan with slash": run("../etc", "api-1", plan.StatusPass, now),
		"run with dots":   run("api", "..", plan.StatusPass, now),
	} {
		if err := s.Put(r); err == nil {
			t.Errorf("%s: Put accepted it", name)
		}
	}
}

// TestConcurrentWritersLoseNothing: many writers at once, some of them
// writing the same run again, leave every run whole.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := history.New(dir) // a store per writer, as separate starters have
			for i := range 25 {
				id := fmt.Sprintf("api-%03d", (w*25+i)%150)
				errs <- s.Put(run("api", id, plan.StatusPass, t0.Add(time.Duration((w*25+i)%150)*time.Minute)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := history.New(dir).List("api", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 150 {
		t.Fatalf("%d runs kept, want 150", len(got))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "api", ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// A damaged file is an error, not a run silently missing.
	if err := os.WriteFile(filepath.Join(dir, "api", "api-999.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := history.New(dir).List("api", 0); err == nil {
		t.Error("List read past a damaged run")
	}
}

func runIDs(rs []*plan.RunResult) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.RunID)
	}
	return ids
}
