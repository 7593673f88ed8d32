//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
)

const chatApprovalPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: chat-approval}
spec:
  phases:
    - name: go-live
      approval: {timeout: 10m, approvers: [alice, bob]}
`

// TestChatApprovals publishes decisions the way a chat bot does (a plain
// NATS publish on shipshape.approvals.<run>): a malformed one, one by
// someone who is not an approver and one for a run that does not exist
// are refused with approval.refused events; then an approver's decision
// passes through the worker's bridge and the run passes.
func TestChatApprovals(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := starter(t, ctx, append([]string{"run", "--detach"}, c.args(writePlan(t, chatApprovalPlan))...)...)
	if r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}
	runID := strings.TrimSpace(r.stdout)
	waitPhase(t, ctx, c, runID, "go-live", plan.StatusWaiting)

	nc, err := nats.Connect(c.natsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	send := func(run, body string) {
		if err := nc.Publish("shipshape.approvals."+run, []byte(body)); err != nil {
			t.Fatal(err)
		}
		nc.Flush()
	}
	send(runID, `{"phase": "go-live", "approver": "mallory", "decision": "approve"}`)
	send(runID, `{"phase": "go-live", "approver": "alice", "decision": "reject"}`) // no reason
	send("no-such-run", `{"phase": "go-live", "approver": "alice", "decision": "approve"}`)
	send(runID, `not json`)
	time.Sleep(2 * time.Second) // the refusals come before the approval
	send(runID, `{"phase": "go-live", "approver": "bob", "decision": "approve", "reason": "checked the drill"}`)

	rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(runID)...)...)
	var res plan.RunResult
	if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil {
		t.Fatalf("report: %v\n%s", err, rep.stderr)
	}
	g := res.Phase("go-live")
	if res.Result != plan.StatusPass || g == nil || g.Approval == nil || g.Approval.By != "bob" || g.Approval.Reason != "checked the drill" {
		t.Fatalf("result %s, go-live %+v", res.Result, g)
	}

	var whys []string
	for _, e := range consume(t, c.natsURL(), "") {
		if e.Type != events.ApprovalRefused {
			continue
		}
		var d events.ApprovalRefusedData
		_ = json.Unmarshal(e.Data, &d)
		whys = append(whys, e.RunID+": "+d.Why)
	}
	want := []string{
		runID + `: "mallory" is not an approver of phase "go-live"`,
		runID + ": a rejection needs a reason",
		`no-such-run: run "no-such-run" does not exist or has finished`,
		runID + ": the message is not a decision",
	}
	if len(whys) != len(want) {
		t.Fatalf("refusals:\n%s", strings.Join(whys, "\n"))
	}
	for _, w := range want {
		found := false
		for _, got := range whys {
			found = found || strings.HasPrefix(got, w)
		}
		if !found {
			t.Errorf("no refusal %q in:\n%s", w, strings.Join(whys, "\n"))
		}
	}
}
