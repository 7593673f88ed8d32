package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

func TestReadinessRunsPhasesAsDAG(t *testing.T) {
	// a → b, a → c, b + c → d: b and c run together once a is done, d
	// once both are.
	diamond := []plan.Phase{
		phase("a", nil, planTask("t", "http-check", gateBelow("latency", 0.2, 0, 1))),
		phase("b", []string{"a"}, planTask("t", "http-check", gateBelow("latency", 0.2, 0, 1))),
		phase("c", []string{"a"}, planTask("t", "command", gateBelow("latency", 0.2, 0, 1))),
		phase("d", []string{"b", "c"}, planTask("t", "coverage", gateBelow("latency", 0.2, 0, 1))),
	}
	reversed := slices.Clone(diamond)
	slices.Reverse(reversed)
	tests := []struct {
		name   string
		phases []plan.Phase
	}{
		{"plan order", diamond},
		{"needs listed after the phase", reversed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var children []string
			h.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
				children = append(children, info.WorkflowType.Name+" "+info.WorkflowExecution.ID)
			})
			// b and c each wait for the other to start: they only both
			// finish if they run at the same time.
			bStarted, cStarted := make(chan struct{}), make(chan struct{})
			meet := func(mine, other chan struct{}) taskFunc {
				return func(ctx context.Context, in task.Input) (task.Output, error) {
					close(mine)
					select {
					case <-other:
						return pass(ctx, in)
					case <-time.After(20 * time.Second):
						return task.Output{}, task.InvalidParams("%s ran alone", in.Phase)
					}
				}
			}
			h.on("a/t", pass)
			h.on("b/t", meet(bStarted, cStarted))
			h.on("c/t", meet(cStarted, bStarted))
			h.on("d/t", pass)

			res := h.mustRun(workflows.ReadinessInput{Plan: newPlan(tt.phases...)})

			if res.Result != plan.StatusPass || res.Score != 100 {
				t.Errorf("result %s score %g, want pass 100; %v", res.Result, res.Score, statuses(res))
			}
			for _, name := range []string{"a", "b", "c", "d"} {
				if pr := mustPhase(t, res, name); pr.Status != plan.StatusPass {
					t.Errorf("phase %s: %s (%s), want pass", name, pr.Status, pr.Reason)
				}
			}
			pos := map[step]int{}
			for i, s := range h.steps() {
				pos[s] = i
			}
			before := func(x, y step) {
				t.Helper()
				if pos[x] >= pos[y] {
					t.Errorf("%v at %d, want before %v at %d; journal %v", x, pos[x], y, pos[y], h.steps())
				}
			}
			before(step{"end", "a/t"}, step{"start", "b/t"})
			before(step{"end", "a/t"}, step{"start", "c/t"})
			before(step{"end", "b/t"}, step{"start", "d/t"})
			before(step{"end", "c/t"}, step{"start", "d/t"})
			slices.Sort(children)
			want := []string{
				workflows.PhaseName + " " + workflows.PhaseWorkflowID(testRunID, "a"),
				workflows.PhaseName + " " + workflows.PhaseWorkflowID(testRunID, "b"),
				workflows.PhaseName + " " + workflows.PhaseWorkflowID(testRunID, "c"),
				workflows.PhaseName + " " + workflows.PhaseWorkflowID(testRunID, "d"),
			}
			if !slices.Equal(children, want) {
				t.Errorf("phase workflows %q, want %q", children, want)
			}
		})
	}
}

func TestReadinessScoresGates(t *testing.T) {
	// Values against gateBelow("latency", 0.2, 0.5, w): 0.1 passes, 0.3
	// warns, 0.9 fails.
	type gateCase struct {
		value, weight float64
		key           bool
	}
	tests := []struct {
		name  string
		gates []gateCase // one task each in phase check; deploy needs check
		// want
		score  float64
		result plan.Status
		err    string
		check  plan.Status
		deploy plan.Status
	}{
		{
			name:  "all pass",
			gates: []gateCase{{0.1, 1, false}, {0.1, 1, false}},
			score: 100, result: plan.StatusPass, check: plan.StatusPass, deploy: plan.StatusPass,
		},
		{
			name:  "a warning earns half its weight",
			gates: []gateCase{{0.1, 2, false}, {0.3, 2, false}},
			// (2 + 1 + deploy 1) / 5
			score: 80, result: plan.StatusWarning, check: plan.StatusWarning, deploy: plan.StatusPass,
		},
		{
			name:  "pass, warning and fail",
			gates: []gateCase{{0.1, 2, false}, {0.3, 2, false}, {0.9, 2, false}},
			// (2 + 1 + 0 + deploy 1) / 7
			score: 57.14, result: plan.StatusFail, check: plan.StatusFail, deploy: plan.StatusPass,
		},
		{
			name:  "a failed gate that is not key only lowers the score",
			gates: []gateCase{{0.1, 9, false}, {0.9, 1, false}},
			// (9 + deploy 1) / 11
			score: 90.91, result: plan.StatusPass, check: plan.StatusFail, deploy: plan.StatusPass,
		},
		{
			name:  "a failed key gate fails the run whatever the score",
			gates: []gateCase{{0.1, 9, false}, {0.9, 1, true}},
			// 9 / 11: deploy is skipped, its gate failed
			score: 81.82, result: plan.StatusFail, err: "key gate latency of check/t1 failed",
			check: plan.StatusFail, deploy: plan.StatusSkipped,
		},
		{
			name:  "a key gate that warns does not block",
			gates: []gateCase{{0.3, 1, true}},
			// (0.5 + deploy 1) / 2
			score: 75, result: plan.StatusWarning, check: plan.StatusWarning, deploy: plan.StatusPass,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var tasks []plan.Task
			for i, g := range tt.gates {
				gt := gateBelow("latency", 0.2, 0.5, g.weight)
				gt.Key = g.key
				name := fmt.Sprintf("t%d", i)
				tasks = append(tasks, planTask(name, "http-check", gt))
				h.on("check/"+name, reports(map[string]float64{"latency": g.value}))
			}
			h.on("deploy/t", pass)
			p := newPlan(
				phase("check", nil, tasks...),
				phase("deploy", []string{"check"}, planTask("t", "command", gateBelow("latency", 0.2, 0, 1))),
			)

			res := h.mustRun(workflows.ReadinessInput{Plan: p})

			if res.Score != tt.score || res.Result != tt.result || res.Error != tt.err {
				t.Errorf("score %g result %s error %q, want %g %s %q", res.Score, res.Result, res.Error, tt.score, tt.result, tt.err)
			}
			// The workflow keeps the verdict plan.Score gives.
			score, result, reason := plan.Score(&res)
			if score != res.Score || result != res.Result || reason != res.Error {
				t.Errorf("plan.Score gives %g %s %q, the workflow %g %s %q", score, result, reason, res.Score, res.Result, res.Error)
			}
			if got := mustPhase(t, res, "check").Status; got != tt.check {
				t.Errorf("phase check %s, want %s", got, tt.check)
			}
			deploy := mustPhase(t, res, "deploy")
			if deploy.Status != tt.deploy {
				t.Errorf("phase deploy %s (%s), want %s", deploy.Status, deploy.Reason, tt.deploy)
			}
			if tt.deploy == plan.StatusSkipped {
				want := "skipped: " + tt.err
				if deploy.Reason != want {
					t.Errorf("deploy reason %q, want %q", deploy.Reason, want)
				}
				if n := h.callCount("deploy/t"); n != 0 {
					t.Errorf("skipped phase ran its task %d times", n)
				}
				g := mustTask(t, res, "deploy", "t").Gates
				if len(g) != 1 || g[0].Status != plan.StatusSkipped || g[0].Reason != want || g[0].Value != nil {
					t.Errorf("skipped task's gates %+v, want one not run (skipped) with reason %q", g, want)
				}
			}
			if wantReason := tt.err; mustPhase(t, res, "check").Reason != wantReason {
				t.Errorf("check reason %q, want %q", mustPhase(t, res, "check").Reason, wantReason)
			}
		})
	}
}

func TestReadinessApproval(t *testing.T) {
	const timeout = time.Hour
	approve := func(by, reason string) func(h *harness) {
		return func(h *harness) {
			h.env.SignalWorkflow(workflows.SignalApprove, workflows.ApprovalSignal{Phase: "gate", By: by, Reason: reason})
		}
	}
	reject := func(by, reason string) func(h *harness) {
		return func(h *harness) {
			h.env.SignalWorkflow(workflows.SignalReject, workflows.ApprovalSignal{Phase: "gate", By: by, Reason: reason})
		}
	}
	type timed struct {
		at   time.Duration
		send func(*harness)
	}
	tests := []struct {
		name        string
		autoApprove bool
		notRequired bool
		// early is sent while build runs, before gate waits.
		early   []func(*harness)
		signals []timed
		// want
		decision plan.Status
		by       string
		reason   string // of the decision
		at       time.Duration
		timedOut bool
		phase    string // reason of the phase
		result   plan.Status
		err      string
		deploy   plan.Status
		logged   string
	}{
		{
			name:     "approved",
			signals:  []timed{{10 * time.Minute, approve("alice", "lgtm")}},
			decision: plan.StatusApproved, by: "alice", reason: "lgtm", at: 10 * time.Minute,
			result: plan.StatusPass, deploy: plan.StatusPass,
		},
		{
			name: "a decision after the first is ignored",
			signals: []timed{{10 * time.Minute, func(h *harness) {
				approve("alice", "lgtm")(h)
				reject("bob", "too late")(h)
			}}},
			decision: plan.StatusApproved, by: "alice", reason: "lgtm", at: 10 * time.Minute,
			result: plan.StatusPass, deploy: plan.StatusPass,
			logged: "approval decision ignored",
		},
		{
			name:     "rejected",
			signals:  []timed{{10 * time.Minute, reject("bob", "change freeze")}},
			decision: plan.StatusRejected, by: "bob", reason: "change freeze", at: 10 * time.Minute,
			phase:  "rejected by bob: change freeze",
			result: plan.StatusFail, err: "phase gate was rejected", deploy: plan.StatusSkipped,
		},
		{
			name:     "no decision before the timeout",
			decision: plan.StatusRejected, reason: "no decision within 1h0m0s", at: timeout, timedOut: true,
			phase:  "rejected: no decision within 1h0m0s",
			result: plan.StatusFail, err: "phase gate was rejected", deploy: plan.StatusSkipped,
		},
		{
			name:     "a decision before the phase waits is ignored",
			early:    []func(*harness){approve("alice", "too early")},
			decision: plan.StatusRejected, reason: "no decision within 1h0m0s", at: timeout, timedOut: true,
			phase:  "rejected: no decision within 1h0m0s",
			result: plan.StatusFail, err: "phase gate was rejected", deploy: plan.StatusSkipped,
			logged: "approval decision ignored",
		},
		{
			name: "decisions for other phases are ignored",
			signals: []timed{
				{5 * time.Minute, func(h *harness) {
					h.env.SignalWorkflow(workflows.SignalApprove, workflows.ApprovalSignal{Phase: "build", By: "mallory"})
					h.env.SignalWorkflow(workflows.SignalReject, workflows.ApprovalSignal{Phase: "no-such-phase", By: "mallory"})
				}},
				{10 * time.Minute, approve("alice", "lgtm")},
			},
			decision: plan.StatusApproved, by: "alice", reason: "lgtm", at: 10 * time.Minute,
			result: plan.StatusPass, deploy: plan.StatusPass,
			logged: "approval decision ignored",
		},
		{
			name:        "auto-approve",
			autoApprove: true,
			decision:    plan.StatusApproved, by: workflows.AutoApprover, reason: "auto-approved",
			result: plan.StatusPass, deploy: plan.StatusPass,
		},
		{
			name:        "approval not required",
			notRequired: true,
			decision:    plan.StatusApproved, by: workflows.AutoApprover, reason: "auto-approved",
			result: plan.StatusPass, deploy: plan.StatusPass,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("build/t", pass)
			h.on("deploy/t", pass)
			h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.ActivityType.Name == "command" {
					for _, send := range tt.early {
						send(h)
					}
				}
			})
			for _, s := range tt.signals {
				h.env.RegisterDelayedCallback(func() { s.send(h) }, s.at)
			}
			gate := approvalPhase("gate", []string{"build"}, timeout)
			gate.Approval.Required = !tt.notRequired
			p := newPlan(
				phase("build", nil, planTask("t", "command", gateBelow("latency", 0.2, 0, 1))),
				gate,
				phase("deploy", []string{"gate"}, planTask("t", "http-check", gateBelow("latency", 0.2, 0, 1))),
			)

			res := h.mustRun(workflows.ReadinessInput{Plan: p, AutoApprove: tt.autoApprove})

			g := mustPhase(t, res, "gate")
			want := plan.ApprovalResult{Decision: tt.decision, By: tt.by, Reason: tt.reason, At: testStart.Add(tt.at), TimedOut: tt.timedOut}
			if g.Status != tt.decision || g.Approval == nil || *g.Approval != want {
				t.Errorf("gate %s approval %+v, want %s %+v", g.Status, g.Approval, tt.decision, want)
			}
			if g.Reason != tt.phase {
				t.Errorf("gate reason %q, want %q", g.Reason, tt.phase)
			}
			if !g.StartedAt.Equal(testStart) || !g.FinishedAt.Equal(testStart.Add(tt.at)) {
				t.Errorf("gate waited from %s to %s, want %s to %s", g.StartedAt, g.FinishedAt, testStart, testStart.Add(tt.at))
			}
			if res.Result != tt.result || res.Error != tt.err {
				t.Errorf("run %s %q, want %s %q", res.Result, res.Error, tt.result, tt.err)
			}
			deploy := mustPhase(t, res, "deploy")
			if deploy.Status != tt.deploy {
				t.Errorf("deploy %s %q, want %s", deploy.Status, deploy.Reason, tt.deploy)
			}
			if ran := h.callCount("deploy/t") > 0; ran != (tt.deploy == plan.StatusPass) {
				t.Errorf("deploy ran: %v, want %v", ran, tt.deploy == plan.StatusPass)
			}
			if tt.deploy == plan.StatusSkipped && deploy.Reason != "skipped: phase gate was rejected" {
				t.Errorf("deploy reason %q", deploy.Reason)
			}
			if tt.logged != "" && !strings.Contains(h.logs.String(), tt.logged) {
				t.Errorf("logs do not say %q:\n%s", tt.logged, h.logs.String())
			}
			// The run's lane tells the approval's story.
			resolved, _ := json.Marshal(events.ApprovalData{Phase: "gate", Decision: string(tt.decision), By: tt.by, Reason: tt.reason, TimedOut: tt.timedOut})
			wantLane := []string{
				"run.started ",
				"phase.started gate",
				`approval.requested gate {"phase":"gate","timeout":"1h0m0s"}`,
				"approval.resolved gate " + string(resolved),
				"phase.finished gate",
			}
			if tt.deploy == plan.StatusSkipped {
				wantLane = append(wantLane, "phase.finished deploy")
			}
			wantLane = append(wantLane, "run.finished ")
			var lane []string
			evs := h.sink.all()
			for _, e := range evs {
				if laneOf(e.ID) != laneOf(evs[0].ID) { // run.started's
					continue
				}
				line := e.Type.Short() + " " + e.Subject
				if strings.HasPrefix(e.Type.Short(), "approval.") {
					line += " " + string(e.Data)
				}
				lane = append(lane, line)
			}
			if !slices.Equal(lane, wantLane) {
				t.Errorf("run lane:\n  %s\nwant\n  %s", strings.Join(lane, "\n  "), strings.Join(wantLane, "\n  "))
			}
		})
	}
}

func TestReadinessSkipsWhatABlockedPhaseNeeds(t *testing.T) {
	h := newHarness(t)
	h.on("a/t", func(context.Context, task.Input) (task.Output, error) {
		return task.Output{}, task.InvalidParams("no such file %s", "coverage.out")
	})
	h.on("c/t", pass)
	p := newPlan(
		phase("a", nil, planTask("t", "coverage", gateAtLeast("coverage", 0.8, 1))),
		phase("b", []string{"a"}, planTask("t", "command", gateBelow("latency", 0.2, 0, 1))),
		phase("c", nil, planTask("t", "http-check", gateBelow("latency", 0.2, 0, 1))),
		phase("d", []string{"b", "c"}, planTask("t", "http-check", gateBelow("latency", 0.2, 0, 1))),
	)

	res := h.mustRun(workflows.ReadinessInput{Plan: p})

	want := []string{"a:error", "a/t:error", "b:skipped", "b/t:skipped", "c:pass", "c/t:pass", "d:skipped", "d/t:skipped"}
	if got := statuses(res); !slices.Equal(got, want) {
		t.Errorf("statuses %q, want %q", got, want)
	}
	reasons := map[string]string{
		"a": "task a/t ended error",
		"b": "skipped: task a/t ended error",
		"d": "skipped: phase b was skipped",
	}
	for name, want := range reasons {
		if got := mustPhase(t, res, name).Reason; got != want {
			t.Errorf("phase %s reason %q, want %q", name, got, want)
		}
	}
	// 1 of 4 gates passed.
	if res.Result != plan.StatusFail || res.Score != 25 {
		t.Errorf("run %s %g, want fail 25", res.Result, res.Score)
	}
}

func TestReadinessCancelled(t *testing.T) {
	h := newHarness(t)
	h.on("a/quick", pass)
	sawCancel := make(chan error, 1)
	h.on("a/slow", func(ctx context.Context, in task.Input) (task.Output, error) {
		for i := 0; ; i++ {
			activity.RecordHeartbeat(ctx, i)
			select {
			case <-ctx.Done():
				sawCancel <- ctx.Err()
				return task.Output{}, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	// Cancel the run once slow is running; quick has finished by then.
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in task.Input
		if args.Get(&in) == nil && in.Task == "slow" {
			h.env.CancelWorkflow()
		}
	})
	slow := planTask("slow", "command", gateBelow("latency", 0.2, 0, 1))
	slow.Heartbeat = plan.Duration(5 * time.Second)
	p := newPlan(
		// One task at a time: quick finishes, slow runs, queued waits.
		phase("a", nil, planTask("quick", "http-check", gateBelow("latency", 0.2, 0, 1)), slow,
			planTask("queued", "http-check", gateBelow("latency", 0.2, 0, 1))),
		phase("b", []string{"a"}, planTask("t", "http-check", gateBelow("latency", 0.2, 0, 1))),
		phase("c", nil, checklistTask("signoff", time.Hour, "runbook updated")),
		approvalPhase("hold", nil, time.Hour),
	)
	p.Spec.Concurrency = 1

	res, err := h.execute(workflows.ReadinessInput{Plan: p})

	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) || !canceled.HasDetails() {
		t.Fatalf("Readiness returned %v, want a CanceledError with the result", err)
	}
	select {
	case err := <-sawCancel:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("slow's context ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the running activity never learned it was cancelled")
	}
	if res.Result != plan.StatusFail || res.Error != "run cancelled" || res.FinishedAt.IsZero() {
		t.Errorf("run %s %q finished %s, want fail %q", res.Result, res.Error, res.FinishedAt, "run cancelled")
	}
	want := []string{
		"a:cancelled", "a/quick:pass", "a/slow:cancelled", "a/queued:cancelled",
		"b:cancelled", "b/t:cancelled",
		"c:cancelled", "c/signoff:cancelled",
		"hold:cancelled",
	}
	if n := h.callCount("a/queued"); n != 0 {
		t.Errorf("a task queued behind the cancelled one ran %d times", n)
	}
	if got := statuses(res); !slices.Equal(got, want) {
		t.Errorf("statuses %q, want %q", got, want)
	}
	for _, ph := range res.Phases {
		if ph.Reason != "run cancelled" {
			t.Errorf("phase %s reason %q, want %q", ph.Name, ph.Reason, "run cancelled")
		}
		for _, tr := range ph.Tasks {
			if tr.Status != plan.StatusCancelled {
				continue
			}
			if tr.Error != "run cancelled" || len(tr.Gates) != 1 || tr.Gates[0].Status != plan.StatusFail || tr.Gates[0].Reason != "run cancelled" {
				t.Errorf("cancelled task %s/%s: error %q gates %+v, want its gate failed %q", ph.Name, tr.Name, tr.Error, tr.Gates, "run cancelled")
			}
		}
	}
	if q := mustTask(t, res, "a", "quick"); len(q.Gates) != 1 || q.Gates[0].Status != plan.StatusPass {
		t.Errorf("finished task lost its result: %+v", q)
	}

	// The last events are still published.
	lanes := map[string][]string{}
	for _, e := range h.sink.all() {
		lanes[laneOf(e.ID)] = append(lanes[laneOf(e.ID)], e.Type.Short()+" "+e.Subject+" "+string(e.Data))
	}
	wantLanes := map[string][]string{
		"run": {
			`run.started  {"plan":"demo","runId":"` + testRunID + `","labels":{"team":"payments"},"phases":4,"tasks":5}`,
			`phase.started hold {"phase":"hold","status":"waiting"}`,
			`approval.requested hold {"phase":"hold","timeout":"1h0m0s"}`,
			`approval.resolved hold {"phase":"hold","decision":"cancelled","reason":"run cancelled"}`,
			`phase.finished hold {"phase":"hold","status":"cancelled","reason":"run cancelled"}`,
			`run.finished  {"plan":"demo","runId":"` + testRunID + `","labels":{"team":"payments"},"phases":4,"tasks":5,"result":"fail","score":20,"error":"run cancelled"}`,
		},
		"a": {
			`phase.started a {"phase":"a","status":"running"}`,
			`task.started a/quick {"phase":"a","task":"quick","uses":"http-check","status":"running"}`,
			`gate.evaluated a/quick {"phase":"a","task":"quick","metric":"latency","value":0.1,"pass":"\u003c 0.2","status":"pass","weight":1,"key":false}`,
			`task.finished a/quick {"phase":"a","task":"quick","uses":"http-check","status":"pass","attempt":1,"metrics":{"latency":0.1}}`,
			`task.started a/slow {"phase":"a","task":"slow","uses":"command","status":"running"}`,
			`gate.evaluated a/slow {"phase":"a","task":"slow","metric":"latency","value":null,"pass":"\u003c 0.2","status":"fail","weight":1,"key":false,"reason":"run cancelled"}`,
			`task.finished a/slow {"phase":"a","task":"slow","uses":"command","status":"cancelled","error":"run cancelled"}`,
			`phase.finished a {"phase":"a","status":"cancelled","reason":"run cancelled"}`,
		},
		"c": {
			`phase.started c {"phase":"c","status":"running"}`,
			`task.started c/signoff {"phase":"c","task":"signoff","uses":"checklist","status":"running"}`,
			`gate.evaluated c/signoff {"phase":"c","task":"signoff","metric":"checklist.done_ratio","value":null,"pass":"\u003e= 1","status":"fail","weight":1,"key":false,"reason":"run cancelled"}`,
			`task.finished c/signoff {"phase":"c","task":"signoff","uses":"checklist","status":"cancelled","error":"run cancelled"}`,
			`phase.finished c {"phase":"c","status":"cancelled","reason":"run cancelled"}`,
		},
	}
	for lane, evs := range lanes {
		name := "run"
		if strings.Contains(lane, "/phase/") {
			name = strings.Split(lane, "/")[2]
		}
		if !slices.Equal(evs, wantLanes[name]) {
			t.Errorf("lane %s:\n  %s\nwant\n  %s", lane, strings.Join(evs, "\n  "), strings.Join(wantLanes[name], "\n  "))
		}
		delete(wantLanes, name)
	}
	for name := range wantLanes {
		t.Errorf("no events from %s", name)
	}
}

func TestReadinessCancelledPhaseHandsEventsToRelay(t *testing.T) {
	// NATS is down for the phase's lane. Cancelled, the phase settles its
	// tasks, waits handoffWait (10s) for its events, then hands them to an
	// EventRelay workflow and closes, so the run is not held by NATS.
	h := newHarness(t)
	h.sink.failLanes = "/phase/"
	h.on("a/slow", func(ctx context.Context, in task.Input) (task.Output, error) {
		for i := 0; ; i++ {
			activity.RecordHeartbeat(ctx, i)
			select {
			case <-ctx.Done():
				return task.Output{}, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "command" {
			h.env.CancelWorkflow()
		}
	})
	var relayed []string
	h.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		if info.WorkflowType.Name != workflows.EventRelayName {
			return
		}
		var in taskrun.EventRelayInput
		if err := args.Get(&in); err != nil {
			t.Errorf("relay input: %v", err)
		}
		for _, e := range in.Events {
			relayed = append(relayed, e.Type.Short()+" "+e.Subject)
		}
	})
	slow := planTask("slow", "command", gateBelow("latency", 0.2, 0, 1))
	slow.Heartbeat = plan.Duration(5 * time.Second)

	res, err := h.execute(workflows.ReadinessInput{Plan: newPlan(phase("a", nil, slow))})

	if !temporal.IsCanceledError(err) {
		t.Fatalf("Readiness returned %v, want a CanceledError", err)
	}
	if want := []string{"a:cancelled", "a/slow:cancelled"}; !slices.Equal(statuses(res), want) {
		t.Errorf("statuses %q, want %q", statuses(res), want)
	}
	if waited := res.FinishedAt.Sub(res.StartedAt); waited > 15*time.Second {
		t.Errorf("the run waited %s for its phase, want about 10s (the hand-off wait)", waited)
	}
	want := []string{"phase.started a", "task.started a/slow", "gate.evaluated a/slow", "task.finished a/slow", "phase.finished a"}
	if !slices.Equal(relayed, want) {
		t.Errorf("relayed events %q, want %q", relayed, want)
	}
	var lane []string
	for _, e := range h.sink.all() {
		if !strings.Contains(e.ID, "/phase/") {
			lane = append(lane, e.Type.Short()+" "+e.Subject)
		}
	}
	if want := []string{"run.started ", "run.finished "}; !slices.Equal(lane, want) {
		t.Errorf("run events %q, want %q", lane, want)
	}
}

func TestReadinessStatusQuery(t *testing.T) {
	h := newHarness(t)
	// a reports a passing and a failing gate: half the score so far.
	h.on("a/t", reports(map[string]float64{"latency": 0.1, "errors": 3}))
	h.on("c/t", pass)
	var (
		run    plan.RunResult
		phaseB plan.PhaseResult
		errs   []error
	)
	// Query while b's task runs, from the test environment's loop, then
	// let the run go on.
	h.on("b/t", pass)
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in task.Input
		if args.Get(&in) != nil || in.Phase != "b" {
			return
		}
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err == nil {
			err = v.Get(&run)
		}
		errs = append(errs, err)
		v, err = h.env.QueryWorkflowByID(workflows.PhaseWorkflowID(testRunID, "b"), workflows.QueryStatus)
		if err == nil {
			err = v.Get(&phaseB)
		}
		errs = append(errs, err)
		h.env.SignalWorkflow(workflows.SignalApprove, workflows.ApprovalSignal{Phase: "hold", By: "alice"})
	})
	p := newPlan(
		phase("a", nil, planTask("t", "http-check", gateBelow("latency", 0.2, 0, 1), gateBelow("errors", 1, 0, 1))),
		phase("b", []string{"a"}, planTask("t", "command", gateBelow("latency", 0.2, 0, 1))),
		phase("c", []string{"b"}, planTask("t", "coverage", gateBelow("latency", 0.2, 0, 1))),
		approvalPhase("hold", nil, time.Hour),
	)

	final := h.mustRun(workflows.ReadinessInput{Plan: p})

	if len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("queries: %v", errs)
	}
	if run.Result != plan.StatusRunning || run.Score != 50 || !run.FinishedAt.IsZero() {
		t.Errorf("run %s score %g finished %s, want running, 50 so far, not finished", run.Result, run.Score, run.FinishedAt)
	}
	// The run knows the state of its phases; the tasks of a running phase
	// are known to the phase workflow until it finishes.
	want := []string{"a:fail", "a/t:fail", "b:running", "b/t:pending", "c:pending", "c/t:pending", "hold:waiting"}
	if got := statuses(run); !slices.Equal(got, want) {
		t.Errorf("run status %q, want %q", got, want)
	}
	if phaseB.Status != plan.StatusRunning || len(phaseB.Tasks) != 1 || phaseB.Tasks[0].Status != plan.StatusRunning {
		t.Errorf("phase b status %s tasks %+v, want its task running", phaseB.Status, phaseB.Tasks)
	}
	if final.Result != plan.StatusWarning || final.Score != 75 {
		t.Errorf("final %s %g, want warning 75", final.Result, final.Score)
	}
}

func TestReadinessRejectsInvalidPlans(t *testing.T) {
	tk := func(name string) plan.Task { return planTask(name, "command", gateBelow("latency", 0.2, 0, 1)) }
	tests := []struct {
		name   string
		phases []plan.Phase
		want   string
	}{
		{
			name:   "unknown need",
			phases: []plan.Phase{phase("a", nil, tk("t")), phase("b", []string{"x"}, tk("t"))},
			want:   `invalid plan: phase "b" needs "x", which is not a phase of the plan`,
		},
		{
			name:   "cycle",
			phases: []plan.Phase{phase("a", nil, tk("t")), phase("b", []string{"a", "c"}, tk("t")), phase("c", []string{"b"}, tk("t"))},
			want:   `invalid plan: phase "b" needs itself through a cycle of needs`,
		},
		{
			name:   "needs itself",
			phases: []plan.Phase{phase("a", []string{"a"}, tk("t"))},
			want:   `invalid plan: phase "a" needs itself through a cycle of needs`,
		},
		{
			name:   "phase twice",
			phases: []plan.Phase{phase("a", nil, tk("t")), phase("a", nil, tk("u"))},
			want:   `invalid plan: phase "a" appears twice`,
		},
		{
			name:   "task twice",
			phases: []plan.Phase{phase("a", nil, tk("t"), tk("t"))},
			want:   `invalid plan: task "t" appears twice in phase "a"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)

			_, err := h.execute(workflows.ReadinessInput{Plan: newPlan(tt.phases...)})

			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrInvalidPlan || !appErr.NonRetryable() || appErr.Message() != tt.want {
				t.Fatalf("Readiness returned %v, want non-retryable %s %q", err, workflows.ErrInvalidPlan, tt.want)
			}
			if n := len(h.sink.all()); n != 0 {
				t.Errorf("%d events published for a run that never started", n)
			}
		})
	}
}
