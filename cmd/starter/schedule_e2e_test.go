//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/runs"
)

const scheduledPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: scheduled}
spec:
  vars: {pause: "0"}
  schedule:
    cron: "0 6 1 1,4,7,10 *"   # quarterly
    timezone: Europe/Berlin
  phases:
    - name: work
      tasks:
        - {name: wait, uses: command, with: {argv: [sleep, "${vars.pause}"]}}
`

// TestSchedules creates a quarterly schedule from a plan's spec.schedule
// on a real Temporal server, lists and describes it, triggers a run that
// completes and passes, shows that a trigger while that run still runs
// is skipped (overlap policy skip), pauses, resumes and deletes it.
func TestSchedules(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	file := writePlan(t, scheduledPlan)
	do := func(args ...string) result {
		t.Helper()
		r := starter(t, ctx, append(args, c.args()...)...)
		if r.code != 0 {
			t.Fatalf("starter %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	describe := func() runs.ScheduleInfo {
		t.Helper()
		var s runs.ScheduleInfo
		r := do("schedule", "describe", "quarterly-dr", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("describe: %v\n%s", err, r.stdout)
		}
		return s
	}

	r := do("schedule", "create", "quarterly-dr", "--plan", file, "--set", "vars.pause=3")
	if !strings.Contains(r.stdout, "schedule quarterly-dr created: plan scheduled, cron 0 6 1 1,4,7,10 * (Europe/Berlin), active") {
		t.Errorf("create said %q", r.stdout)
	}
	if r := starter(t, ctx, append([]string{"schedule", "create", "quarterly-dr", "--plan", file}, c.args()...)...); r.code == 0 || !strings.Contains(r.stderr, "exists already") {
		t.Errorf("second create: exit %d %s", r.code, r.stderr)
	}
	s := describe()
	if s.Plan != "scheduled" || s.Paused || len(s.Next) == 0 {
		t.Fatalf("describe %+v", s)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if n := s.Next[0].In(berlin); n.Day() != 1 || n.Hour() != 6 || (n.Month()-1)%3 != 0 {
		t.Errorf("next start %s, want 06:00 Berlin on the first day of a quarter", n)
	}
	list := do("schedule", "list")
	if !strings.Contains(list.stdout, "quarterly-dr") || !strings.Contains(list.stdout, "active") {
		t.Errorf("list:\n%s", list.stdout)
	}

	do("schedule", "trigger", "quarterly-dr")
	var runID string
	for deadline := time.Now().Add(30 * time.Second); runID == ""; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the triggered run did not start")
		}
		if s := describe(); len(s.Running) == 1 {
			runID = s.Running[0]
		}
	}
	if !strings.HasPrefix(runID, "scheduled-quarterly-dr-") {
		t.Errorf("run ID %q", runID)
	}
	do("schedule", "trigger", "quarterly-dr") // while the first still runs: skipped
	rep := do(append([]string{"report", "--format", "json"}, runID)...)
	var res plan.RunResult
	if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil || res.Result != plan.StatusPass {
		t.Fatalf("scheduled run: %v %s", err, res.Result)
	}
	if s := describe(); s.Runs != 1 || len(s.Recent) != 1 || s.Recent[0].RunID != runID {
		t.Errorf("after two triggers, one while running: %+v", s)
	}

	do("schedule", "pause", "quarterly-dr", "--note", "change freeze")
	if s := describe(); !s.Paused || s.Note != "change freeze" {
		t.Errorf("after pause: %+v", s)
	}
	if l := do("schedule", "list"); !strings.Contains(l.stdout, "paused: change freeze") {
		t.Errorf("list after pause:\n%s", l.stdout)
	}
	do("schedule", "unpause", "quarterly-dr")
	if s := describe(); s.Paused {
		t.Errorf("after unpause: %+v", s)
	}
	do("schedule", "delete", "quarterly-dr")
	if r := starter(t, ctx, append([]string{"schedule", "describe", "quarterly-dr"}, c.args()...)...); r.code == 0 || !strings.Contains(r.stderr, `schedule not found: "quarterly-dr"`) {
		t.Errorf("describe after delete: exit %d %s", r.code, r.stderr)
	}
}
