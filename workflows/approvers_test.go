package workflows_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

// TestApproversRefuseOthers: a phase that names its approvers refuses
// anyone else's decision with an approval.refused event and keeps
// waiting; a chat decision for a phase that is not waiting is refused
// too; an approver's decision then counts.
func TestApproversRefuseOthers(t *testing.T) {
	h := newHarness(t)
	h.on("build/t", pass)
	gate := approvalPhase("gate", []string{"build"}, time.Hour)
	gate.Approval.Approvers = []string{"alice", "bob"}
	p := newPlan(phase("build", nil, planTask("t", "command")), gate)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalApprove, workflows.ApprovalSignal{Phase: "gate", By: "mallory", Reason: "trust me", Via: "chat"})
		h.env.SignalWorkflow(workflows.SignalReject, workflows.ApprovalSignal{Phase: "gate", By: "eve"})
		h.env.SignalWorkflow(workflows.SignalApprove, workflows.ApprovalSignal{Phase: "build", By: "alice", Via: "chat"})
	}, time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalApprove, workflows.ApprovalSignal{Phase: "gate", By: "bob", Reason: "ok", Via: "chat"})
	}, 2*time.Minute)
	res := h.mustRun(workflows.ReadinessInput{Plan: p})

	g := mustPhase(t, res, "gate")
	if g.Status != plan.StatusApproved || g.Approval.By != "bob" || !g.FinishedAt.Equal(testStart.Add(2*time.Minute)) {
		t.Fatalf("gate %s %+v", g.Status, g.Approval)
	}
	var refused []events.ApprovalRefusedData
	for _, e := range h.sink.all() {
		if e.Type == events.ApprovalRefused {
			var d events.ApprovalRefusedData
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			refused = append(refused, d)
		}
	}
	want := []events.ApprovalRefusedData{
		{Phase: "gate", Approver: "mallory", Decision: "approve", Reason: "trust me", Why: `"mallory" is not an approver of phase "gate"`},
		{Phase: "gate", Approver: "eve", Decision: "reject", Why: `"eve" is not an approver of phase "gate"`},
		{Phase: "build", Approver: "alice", Decision: "approve", Why: `phase "build" is not waiting for a decision`},
	}
	if len(refused) != len(want) {
		t.Fatalf("refused %+v", refused)
	}
	for i := range want {
		if refused[i] != want[i] {
			t.Errorf("refusal %d: %+v, want %+v", i, refused[i], want[i])
		}
	}
}
