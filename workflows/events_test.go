package workflows_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// twoPhases is a plan of two sequential phases with gates.
func twoPhases() plan.Plan {
	return newPlan(
		phase("build", nil, planTask("compile", "command", gateBelow("latency", 0.2, 0, 1), gateAtLeast("coverage", 0.8, 2))),
		phase("verify", []string{"build"}, planTask("smoke", "http-check", gateBelow("latency", 0.2, 0.5, 1))),
	)
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name string
		// failFirst PublishEvents calls fail (retryably).
		failFirst int
	}{
		{"published at once", 0},
		{"published after the stream fails three times", 3},
	}
	var clean plan.RunResult
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sink.failFirst = tt.failFirst
			h.on("build/compile", reports(map[string]float64{"latency": 0.1, "coverage": 0.85}))
			h.on("verify/smoke", reports(map[string]float64{"latency": 0.3}))

			res := h.mustRun(workflows.ReadinessInput{Plan: twoPhases()})

			evs := h.sink.all()
			checkEventInvariants(t, evs)
			if h.sink.maxInflight != 1 {
				t.Errorf("%d batches of one lane in flight at once, want 1", h.sink.maxInflight)
			}
			if h.sink.calls-len(h.sink.batches) != tt.failFirst {
				t.Errorf("%d failed calls, want %d", h.sink.calls-len(h.sink.batches), tt.failFirst)
			}
			wantLanes := map[string][]string{
				testRunID + "/": {"run.started", "run.finished"},
				workflows.PhaseWorkflowID(testRunID, "build") + "/": {
					"phase.started", "task.started", "gate.evaluated", "gate.evaluated", "task.finished", "phase.finished",
				},
				workflows.PhaseWorkflowID(testRunID, "verify") + "/": {
					"phase.started", "task.started", "gate.evaluated", "task.finished", "phase.finished",
				},
			}
			lanes := map[string][]events.Event{}
			for _, e := range evs {
				lanes[laneOf(e.ID)] = append(lanes[laneOf(e.ID)], e)
			}
			if len(lanes) != len(wantLanes) {
				t.Errorf("%d lanes, want %d", len(lanes), len(wantLanes))
			}
			for lane, evs := range lanes {
				var want []string
				for prefix, types := range wantLanes {
					// A lane is <workflow ID>/<Temporal run ID>; the
					// run's workflow ID is a prefix of its phases'.
					if strings.HasPrefix(lane, prefix) && !strings.Contains(strings.TrimPrefix(lane, prefix), "/") {
						want = types
					}
				}
				if got := shortTypes(evs); !slices.Equal(got, want) {
					t.Errorf("lane %s: %q, want %q", lane, got, want)
				}
			}

			if tt.failFirst == 0 {
				clean = res
				checkGolden(t, "two-phases.events.golden", eventLines(evs))
				checkGolden(t, "two-phases.result.golden.json", mustJSON(t, res))
				return
			}
			// Retried batches change when things happened, not what.
			if clean.Plan == "" {
				t.Skip("needs the clean run")
			}
			if res.Score != clean.Score || res.Result != clean.Result || !slices.Equal(statuses(res), statuses(clean)) {
				t.Errorf("with failing publishes: %s %g %q, want %s %g %q", res.Result, res.Score, statuses(res), clean.Result, clean.Score, statuses(clean))
			}
		})
	}
}

// checkEventInvariants checks what consumers rely on: every ID unique;
// within a lane (the ID before its last '/'), sequences 1..n in order and
// matching the ID; run.started first overall and run.finished last; and
// the CloudEvents attributes of every event.
func checkEventInvariants(t *testing.T, evs []events.Event) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no events published")
	}
	seen := map[string]bool{}
	next := map[string]int64{}
	for i, e := range evs {
		if seen[e.ID] {
			t.Errorf("event %d: duplicate ID %s", i, e.ID)
		}
		seen[e.ID] = true
		lane := laneOf(e.ID)
		next[lane]++
		if e.Sequence != next[lane] || strings.TrimPrefix(e.ID, lane+"/") != strconv.FormatInt(e.Sequence, 10) {
			t.Errorf("event %d %s: sequence %d, want %d", i, e.ID, e.Sequence, next[lane])
		}
		if e.SpecVersion != events.SpecVersion || e.DataContentType != events.ContentType ||
			e.Source != "/shipshape/runs/"+testRunID || e.RunID != testRunID || e.Plan != "demo" || e.Time.IsZero() {
			t.Errorf("event %d %s: attributes %+v", i, e.ID, e)
		}
		if !json.Valid(e.Data) {
			t.Errorf("event %d %s: data %q is not JSON", i, e.ID, e.Data)
		}
		if !slices.Contains(events.Types, e.Type) {
			t.Errorf("event %d %s: unknown type %s", i, e.ID, e.Type)
		}
	}
	if evs[0].Type != events.RunStarted {
		t.Errorf("first event %s, want run.started", evs[0].Type)
	}
	if last := evs[len(evs)-1]; last.Type != events.RunFinished {
		t.Errorf("last event %s, want run.finished", last.Type)
	}
}

func TestEventBatchesAreBounded(t *testing.T) {
	h := newHarness(t)
	// One task with 250 gates emits 251 events at once when it finishes.
	var gates []plan.Gate
	metrics := map[string]float64{}
	for i := range 250 {
		name := fmt.Sprintf("m%03d", i)
		gates = append(gates, gateBelow(name, 1, 0, 1))
		metrics[name] = 0
	}
	h.on("p/t", reports(metrics))

	res := h.mustRun(workflows.ReadinessInput{Plan: newPlan(phase("p", nil, planTask("t", "command", gates...)))})

	if res.Result != plan.StatusPass {
		t.Errorf("result %s", res.Result)
	}
	checkEventInvariants(t, h.sink.all())
	largest := 0
	for _, b := range h.sink.batches {
		largest = max(largest, len(b))
		if lane := laneOf(b[0].ID); slices.ContainsFunc(b, func(e events.Event) bool { return laneOf(e.ID) != lane }) {
			t.Errorf("a batch mixes lanes")
		}
	}
	if largest != 200 {
		t.Errorf("largest batch %d events, want 200", largest)
	}
	if n := len(h.sink.all()); n != 2+2+250+2 {
		t.Errorf("%d events, want %d", n, 2+2+250+2)
	}
}

// eventLines renders events one a line, for golden files.
func eventLines(evs []events.Event) []byte {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s %s %s %s\n", e.ID, e.Time.Format("15:04:05"), e.Type.Short(), e.Subject, e.Data)
	}
	return []byte(b.String())
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	must(t, err)
	return append(data, '\n')
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
