package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/workflows"
)

// approvalsSubject is where chat bots publish decisions:
// shipshape.approvals.<run>.
const approvalsSubject = events.SubjectPrefix + ".approvals."

// ChatDecision is the body of a message on shipshape.approvals.<run>.
type ChatDecision struct {
	Phase    string `json:"phase"`
	Approver string `json:"approver"`
	// Decision is approve or reject.
	Decision string `json:"decision"`
	// Reason is required to reject.
	Reason string `json:"reason,omitempty"`
}

// approvalStream is what the bridge needs of the event stream.
type approvalStream interface {
	Consume(ctx context.Context, opts natsevents.ConsumeOptions, fn func(natsevents.Message) error) error
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// approvalBridge passes chat decisions to runs as approve and reject
// signals. It reads them with a durable consumer, so decisions sent while
// no worker runs are applied when one starts. The run itself checks the
// plan's approvers and that the phase waits, and refuses with an
// approval.refused event; the bridge refuses, with the same event,
// messages it cannot pass on (malformed, a run that does not exist or has
// finished).
type approvalBridge struct {
	temporal client.Client
	stream   approvalStream
	dc       converter.DataConverter
	log      *slog.Logger
}

func (b *approvalBridge) run(ctx context.Context) error {
	for {
		err := b.stream.Consume(ctx, natsevents.ConsumeOptions{
			FilterSubject: approvalsSubject + ">",
			Durable:       "shipshape-approvals",
			Follow:        true,
		}, func(m natsevents.Message) error { return b.handle(ctx, m) })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.log.Warn("approval bridge stopped; restarting", slog.Any("error", err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

// handle passes one decision on. It returns an error only for failures
// worth a redelivery (Temporal unreachable).
func (b *approvalBridge) handle(ctx context.Context, m natsevents.Message) error {
	runID, d, signal, why := parseDecision(m.Subject, m.Data)
	if why != "" {
		return b.refuse(ctx, m, runID, d, why)
	}
	err := b.temporal.SignalWorkflow(ctx, runID, "", signal, workflows.ApprovalSignal{Phase: d.Phase, By: d.Approver, Reason: d.Reason, Via: "chat"})
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return b.refuse(ctx, m, runID, d, fmt.Sprintf("run %q does not exist or has finished", runID))
	case err != nil:
		return fmt.Errorf("signal %s: %w", runID, err)
	}
	b.log.Info("chat decision passed on", slog.String("run", runID), slog.String("phase", d.Phase),
		slog.String("approver", d.Approver), slog.String("decision", d.Decision))
	return nil
}

// parseDecision reads a chat decision published on
// shipshape.approvals.<run>: the run it is for (from the subject only, so a
// message cannot name another run), the decision, and the signal to send;
// or why it cannot be passed on.
func parseDecision(subject string, data []byte) (runID string, d ChatDecision, signal, why string) {
	runID = strings.TrimPrefix(subject, approvalsSubject)
	if err := json.Unmarshal(data, &d); err != nil {
		return runID, d, "", "the message is not a decision: " + err.Error()
	}
	switch d.Decision {
	case "approve":
		signal = workflows.SignalApprove
	case "reject":
		signal = workflows.SignalReject
		if strings.TrimSpace(d.Reason) == "" {
			return runID, d, "", "a rejection needs a reason"
		}
	default:
		return runID, d, "", fmt.Sprintf("decision %q is neither approve nor reject", d.Decision)
	}
	if d.Phase == "" || strings.TrimSpace(d.Approver) == "" {
		return runID, d, "", "phase and approver are required"
	}
	return runID, d, signal, ""
}

// refuse publishes an approval.refused event for a message the bridge
// cannot pass on. Its ID is the message's stream sequence, so a
// redelivered message is refused once.
func (b *approvalBridge) refuse(ctx context.Context, m natsevents.Message, runID string, d ChatDecision, why string) error {
	b.log.Warn("chat decision refused", slog.String("run", runID), slog.String("approver", d.Approver), slog.String("why", why))
	data, _ := json.Marshal(events.ApprovalRefusedData{Phase: d.Phase, Approver: d.Approver, Decision: d.Decision, Reason: d.Reason, Why: why})
	e := events.Event{
		SpecVersion: events.SpecVersion, ID: fmt.Sprintf("approvals/%d", m.Sequence),
		Source: "/shipshape/runs/" + runID, Type: events.ApprovalRefused, Subject: d.Phase,
		Time: time.Now().UTC(), DataContentType: events.ContentType,
		RunID: runID, Plan: b.planOf(ctx, runID), Data: data,
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.stream.Publish(ctx, e.NATSSubject(), e.ID, body)
}

// planOf is the plan of a run, from its memo; "unknown" for a run that
// does not exist.
func (b *approvalBridge) planOf(ctx context.Context, runID string) string {
	desc, err := b.temporal.DescribeWorkflowExecution(ctx, runID, "")
	if err == nil {
		var name string
		if p := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()["plan"]; p != nil && b.dc.FromPayload(p, &name) == nil && name != "" {
			return name
		}
	}
	return "unknown"
}
