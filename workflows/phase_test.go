package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

func TestPhaseBoundsConcurrency(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		want        int
	}{
		{"one at a time", 1, 1},
		{"two at a time", 2, 2},
		{"unset means four", 0, 4},
		{"more than tasks", 10, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var tasks []plan.Task
			for i := range 6 {
				tasks = append(tasks, planTask(fmt.Sprintf("t%d", i), "http-check", gateBelow("latency", 0.2, 0, 1)))
			}
			// Each task waits until as many tasks run as the limit allows,
			// or all have started (or 10s), then stays a little longer: a
			// task started beyond the limit would show in the peak.
			for _, tk := range tasks {
				h.on("p/"+tk.Name, func(ctx context.Context, in task.Input) (task.Output, error) {
					for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
						h.mu.Lock()
						running, started := h.running, len(h.calls)
						h.mu.Unlock()
						if running >= tt.want || started == len(tasks) {
							break
						}
					}
					time.Sleep(5 * time.Millisecond)
					return pass(ctx, in)
				})
			}
			p := newPlan(phase("p", nil, tasks...))
			p.Spec.Concurrency = tt.concurrency

			res := h.mustRun(workflows.ReadinessInput{Plan: p})

			if got := h.peakRunning(); got != tt.want {
				t.Errorf("peak of %d tasks running at once, want %d", got, tt.want)
			}
			for _, tk := range tasks {
				if tr := mustTask(t, res, "p", tk.Name); tr.Status != plan.StatusPass {
					t.Errorf("%s: %s %q, want pass", tk.Name, tr.Status, tr.Error)
				}
			}
			if tt.concurrency == 1 {
				// One at a time, in plan order.
				var want []step
				for _, tk := range tasks {
					want = append(want, step{"start", "p/" + tk.Name}, step{"end", "p/" + tk.Name})
				}
				if got := h.steps(); !slices.Equal(got, want) {
					t.Errorf("journal %v, want %v", got, want)
				}
			}
		})
	}
}

func TestPhaseRetriesTasks(t *testing.T) {
	errRefused := errors.New("dial tcp 127.0.0.1:8080: connection refused")
	latency := gateBelow("latency", 0.2, 0, 1)
	status := gateAtLeast("http.ok", 1, 1)
	tests := []struct {
		name     string
		attempts int
		timeout  time.Duration
		behave   taskFunc
		// want
		calls    int
		status   plan.Status
		tries    int // TaskResult.Attempts
		err      string
		metrics  map[string]float64
		gateStat []plan.Status
		reason   string
	}{
		{
			name: "fails twice then passes", attempts: 3,
			behave: func(ctx context.Context, in task.Input) (task.Output, error) {
				if activity.GetInfo(ctx).Attempt < 3 {
					return task.Output{}, errRefused
				}
				return task.Output{Metrics: map[string]float64{"latency": 0.1, "http.ok": 1}}, nil
			},
			calls: 3, status: plan.StatusPass, tries: 3,
			metrics: map[string]float64{"latency": 0.1, "http.ok": 1}, gateStat: []plan.Status{plan.StatusPass, plan.StatusPass},
		},
		{
			name: "always fails", attempts: 3,
			behave: func(context.Context, task.Input) (task.Output, error) {
				return task.Output{}, errRefused
			},
			calls: 3, status: plan.StatusError, err: errRefused.Error(),
			metrics: map[string]float64{}, gateStat: []plan.Status{plan.StatusFail, plan.StatusFail},
			reason: "task failed: " + errRefused.Error(),
		},
		{
			name: "invalid params are not retried", attempts: 3,
			behave: func(context.Context, task.Input) (task.Output, error) {
				return task.Output{}, task.InvalidParams("url %q has no host", "http://")
			},
			calls: 1, status: plan.StatusError, err: `url "http://" has no host`,
			metrics: map[string]float64{}, gateStat: []plan.Status{plan.StatusFail, plan.StatusFail},
			reason: `task failed: url "http://" has no host`,
		},
		{
			name: "check failed keeps its metrics", attempts: 2,
			behave: func(context.Context, task.Input) (task.Output, error) {
				out := task.Output{Metrics: map[string]float64{"latency": 0.05, "http.ok": 0}, Output: "HTTP/1.1 503"}
				return task.Output{}, task.CheckFailed(out, "status %d, want 200", 503)
			},
			calls: 2, status: plan.StatusError, tries: 2, err: "status 503, want 200",
			metrics:  map[string]float64{"latency": 0.05, "http.ok": 0},
			gateStat: []plan.Status{plan.StatusFail, plan.StatusFail},
			reason:   "task failed: status 503, want 200",
		},
		{
			name: "check failed then passes", attempts: 3,
			behave: func(ctx context.Context, in task.Input) (task.Output, error) {
				if activity.GetInfo(ctx).Attempt == 1 {
					return task.Output{}, task.CheckFailed(task.Output{Metrics: map[string]float64{"latency": 0.9}}, "slow")
				}
				return task.Output{Metrics: map[string]float64{"latency": 0.1, "http.ok": 1}}, nil
			},
			calls: 2, status: plan.StatusPass, tries: 2,
			metrics: map[string]float64{"latency": 0.1, "http.ok": 1}, gateStat: []plan.Status{plan.StatusPass, plan.StatusPass},
		},
		{
			name: "worker lost then passes", attempts: 1,
			behave: func(ctx context.Context, in task.Input) (task.Output, error) {
				if activity.GetInfo(ctx).ActivityID == "api" {
					return task.Output{}, temporal.NewTimeoutError(enums.TIMEOUT_TYPE_HEARTBEAT, nil)
				}
				return task.Output{Metrics: map[string]float64{"latency": 0.1, "http.ok": 1}}, nil
			},
			calls: 2, status: plan.StatusPass, tries: 1,
			metrics: map[string]float64{"latency": 0.1, "http.ok": 1}, gateStat: []plan.Status{plan.StatusPass, plan.StatusPass},
		},
		{
			name: "worker gave the task up (lost Temporal) then passes", attempts: 1,
			behave: func(ctx context.Context, in task.Input) (task.Output, error) {
				if activity.GetInfo(ctx).ActivityID == "api" {
					return task.Output{}, temporal.NewApplicationError("the worker gave the task up: context canceled", taskrun.ErrWorkerLost)
				}
				return task.Output{Metrics: map[string]float64{"latency": 0.1, "http.ok": 1}}, nil
			},
			calls: 2, status: plan.StatusPass, tries: 1,
			metrics: map[string]float64{"latency": 0.1, "http.ok": 1}, gateStat: []plan.Status{plan.StatusPass, plan.StatusPass},
		},
		{
			name: "worker lost every time", attempts: 1,
			behave: func(ctx context.Context, in task.Input) (task.Output, error) {
				return task.Output{}, temporal.NewTimeoutError(enums.TIMEOUT_TYPE_HEARTBEAT, nil)
			},
			calls: 4, status: plan.StatusError, err: "Heartbeat timeout",
			metrics: map[string]float64{}, gateStat: []plan.Status{plan.StatusFail, plan.StatusFail},
			reason: "task failed: Heartbeat timeout",
		},
		{
			name: "times out", attempts: 1, timeout: 50 * time.Millisecond,
			behave: func(ctx context.Context, in task.Input) (task.Output, error) {
				<-ctx.Done()
				return task.Output{}, ctx.Err()
			},
			calls: 1, status: plan.StatusError, err: "StartToClose timeout",
			metrics: map[string]float64{}, gateStat: []plan.Status{plan.StatusFail, plan.StatusFail},
			reason: "task failed: StartToClose timeout",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("probe/api", tt.behave)
			h.on("after/t", pass)
			probe := withRetry(planTask("api", "http-check", latency, status), tt.attempts)
			if tt.timeout > 0 {
				probe.Timeout = plan.Duration(tt.timeout)
			}
			p := newPlan(
				phase("probe", nil, probe),
				phase("after", []string{"probe"}, planTask("t", "command", latency)),
			)

			res := h.mustRun(workflows.ReadinessInput{Plan: p})

			tr := mustTask(t, res, "probe", "api")
			if got := h.callCount("probe/api"); got != tt.calls {
				t.Errorf("activity called %d times, want %d", got, tt.calls)
			}
			if tr.Status != tt.status || tr.Attempts != tt.tries || tr.Error != tt.err {
				t.Errorf("task %s attempts %d error %q, want %s %d %q", tr.Status, tr.Attempts, tr.Error, tt.status, tt.tries, tt.err)
			}
			if fmt.Sprint(tr.Metrics) != fmt.Sprint(tt.metrics) {
				t.Errorf("metrics %v, want %v", tr.Metrics, tt.metrics)
			}
			var gateStat []plan.Status
			for _, g := range tr.Gates {
				gateStat = append(gateStat, g.Status)
				if g.Reason != tt.reason {
					t.Errorf("gate %s reason %q, want %q", g.Metric, g.Reason, tt.reason)
				}
				if v, ok := tt.metrics[g.Metric]; ok != (g.Value != nil) || ok && *g.Value != v {
					t.Errorf("gate %s value %v, want %v (reported %v)", g.Metric, g.Value, v, ok)
				}
			}
			if !slices.Equal(gateStat, tt.gateStat) {
				t.Errorf("gates %v, want %v", gateStat, tt.gateStat)
			}
			after := mustPhase(t, res, "after")
			if tt.status == plan.StatusPass {
				if res.Result != plan.StatusPass || after.Status != plan.StatusPass {
					t.Errorf("run %s, phase after %s, want both pass", res.Result, after.Status)
				}
				return
			}
			// A task that errored fails the run and blocks what needs it.
			if res.Result != plan.StatusFail {
				t.Errorf("run %s, want fail", res.Result)
			}
			wantReason := "skipped: task probe/api ended error"
			if after.Status != plan.StatusSkipped || after.Reason != wantReason {
				t.Errorf("phase after %s %q, want skipped %q", after.Status, after.Reason, wantReason)
			}
			if h.callCount("after/t") != 0 {
				t.Error("a skipped phase ran its task")
			}
			at := mustTask(t, res, "after", "t")
			if at.Status != plan.StatusSkipped || len(at.Gates) != 1 || at.Gates[0].Status != plan.StatusSkipped || at.Gates[0].Reason != wantReason {
				t.Errorf("skipped task %s gates %+v, want skipped with its gate not run (skipped) %q", at.Status, at.Gates, wantReason)
			}
		})
	}
}

func TestChecklist(t *testing.T) {
	const (
		phaseName = "release"
		taskName  = "signoff"
	)
	confirm := func(item, by string) workflows.ConfirmSignal {
		return workflows.ConfirmSignal{Phase: phaseName, Task: taskName, Item: item, By: by}
	}
	tests := []struct {
		name        string
		autoApprove bool
		// early are sent to the run while the phase before runs, late 10
		// minutes into the checklist.
		early, late []workflows.ConfirmSignal
		// direct sends late to the phase workflow instead of the run.
		direct bool
		// want
		ratio    float64
		rows     [][]string
		status   plan.Status
		duration time.Duration
	}{
		{
			name:  "each item confirmed, before and while the phase runs",
			early: []workflows.ConfirmSignal{confirm("store listing reviewed", "alice")},
			late:  []workflows.ConfirmSignal{confirm("on-call briefed", "bob")},
			ratio: 1, status: plan.StatusPass, duration: 10 * time.Minute,
			rows: [][]string{{"store listing reviewed", "alice"}, {"on-call briefed", "bob"}},
		},
		{
			name:  "timeout with one of two confirmed",
			early: []workflows.ConfirmSignal{confirm("on-call briefed", "bob")},
			ratio: 0.5, status: plan.StatusFail, duration: time.Hour,
			rows: [][]string{{"store listing reviewed", ""}, {"on-call briefed", "bob"}},
		},
		{
			name:   "confirmed on the phase workflow itself",
			late:   []workflows.ConfirmSignal{confirm("store listing reviewed", "alice"), confirm("on-call briefed", "bob")},
			direct: true,
			ratio:  1, status: plan.StatusPass, duration: 10 * time.Minute,
			rows: [][]string{{"store listing reviewed", "alice"}, {"on-call briefed", "bob"}},
		},
		{
			name:  "an empty item confirms all",
			late:  []workflows.ConfirmSignal{confirm("", "carol")},
			ratio: 1, status: plan.StatusPass, duration: 10 * time.Minute,
			rows: [][]string{{"store listing reviewed", "carol"}, {"on-call briefed", "carol"}},
		},
		{
			name: "unknown items, tasks and phases are ignored, first confirmation is kept",
			early: []workflows.ConfirmSignal{
				confirm("store listing reviewed", "alice"),
				confirm("no such item", "mallory"),
				{Phase: phaseName, Task: "no-such-task", By: "mallory"},
				{Phase: "no-such-phase", Task: taskName, By: "mallory"},
			},
			late:  []workflows.ConfirmSignal{confirm("store listing reviewed", "mallory")},
			ratio: 0.5, status: plan.StatusFail, duration: time.Hour,
			rows: [][]string{{"store listing reviewed", "alice"}, {"on-call briefed", ""}},
		},
		{
			name:        "auto-approve confirms all at once",
			autoApprove: true,
			ratio:       1, status: plan.StatusPass,
			rows: [][]string{{"store listing reviewed", workflows.AutoApprover}, {"on-call briefed", workflows.AutoApprover}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("build/t", pass)
			h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.ActivityType.Name != "command" {
					return
				}
				for _, c := range tt.early {
					h.env.SignalWorkflow(workflows.SignalConfirm, c)
				}
			})
			for _, c := range tt.late {
				h.env.RegisterDelayedCallback(func() {
					if !tt.direct {
						h.env.SignalWorkflow(workflows.SignalConfirm, c)
						return
					}
					if err := h.env.SignalWorkflowByID(workflows.PhaseWorkflowID(testRunID, phaseName), workflows.SignalConfirm, c); err != nil {
						t.Errorf("signal phase workflow: %v", err)
					}
				}, 10*time.Minute)
			}
			p := newPlan(
				phase("build", nil, planTask("t", "command", gateBelow("latency", 0.2, 0, 1))),
				phase(phaseName, []string{"build"}, checklistTask(taskName, time.Hour, "store listing reviewed", "on-call briefed")),
			)

			res := h.mustRun(workflows.ReadinessInput{Plan: p, AutoApprove: tt.autoApprove})

			tr := mustTask(t, res, phaseName, taskName)
			if tr.Metrics["checklist.done_ratio"] != tt.ratio || tr.Metrics["checklist.items"] != 2 {
				t.Errorf("metrics %v, want done_ratio %g of 2 items", tr.Metrics, tt.ratio)
			}
			if tr.Status != tt.status || tr.Error != "" || tr.Attempts != 1 {
				t.Errorf("task %s %q attempts %d, want %s without error, 1 attempt", tr.Status, tr.Error, tr.Attempts, tt.status)
			}
			if len(tr.Tables) != 1 || fmt.Sprint(tr.Tables[0].Rows) != fmt.Sprint(tt.rows) {
				t.Errorf("tables %+v, want rows %q", tr.Tables, tt.rows)
			}
			if got := tr.FinishedAt.Sub(tr.StartedAt); got != tt.duration {
				t.Errorf("checklist took %s, want %s", got, tt.duration)
			}
			if h.callCount(phaseName+"/"+taskName) != 0 {
				t.Error("a checklist ran as an activity")
			}
		})
	}
}

func TestPhaseTaskNamesAreFree(t *testing.T) {
	// Task names are activity IDs. "1", "2"… are valid names and must not
	// collide with the IDs of the phase's own event batches.
	h := newHarness(t)
	var tasks []plan.Task
	for i := 1; i <= 6; i++ {
		name := fmt.Sprint(i)
		tasks = append(tasks, planTask(name, "command", gateBelow("latency", 0.2, 0, 1)))
		h.on("p/"+name, pass)
	}
	p := newPlan(phase("p", nil, tasks...))
	p.Spec.Concurrency = 1

	res := h.mustRun(workflows.ReadinessInput{Plan: p})

	want := []string{"p:pass", "p/1:pass", "p/2:pass", "p/3:pass", "p/4:pass", "p/5:pass", "p/6:pass"}
	if got := statuses(res); !slices.Equal(got, want) || res.Result != plan.StatusPass {
		t.Errorf("%s %q, want pass %q", res.Result, got, want)
	}
}
