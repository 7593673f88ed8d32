package main

import (
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/workflows"
)

// FuzzParseDecision: a chat decision of any shape — not JSON, an unknown
// decision, a rejection without a reason, fields naming another run — is
// passed on as exactly approve or reject for the run its subject names, or
// refused with a reason; never a crash.
func FuzzParseDecision(f *testing.F) {
	f.Add("shipshape.approvals.api-1", []byte(`{"phase":"go-live","approver":"ana","decision":"approve"}`))
	f.Add("shipshape.approvals.api-1", []byte(`{"phase":"go-live","approver":"ana","decision":"reject"}`))
	f.Add("shipshape.approvals.api-1", []byte(`{"runId":"other-run","phase":"p","approver":"x","decision":"approve"}`))
	f.Add("shipshape.approvals.api-1", []byte(`not json`))
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		runID, d, signal, why := parseDecision(subject, data)
		if runID != strings.TrimPrefix(subject, approvalsSubject) {
			t.Fatalf("run %q does not come from the subject %q", runID, subject)
		}
		if why != "" {
			if signal != "" {
				t.Fatalf("refused (%s) with a signal %q", why, signal)
			}
			return
		}
		switch {
		case signal == workflows.SignalApprove && d.Decision == "approve":
		case signal == workflows.SignalReject && d.Decision == "reject" && strings.TrimSpace(d.Reason) != "":
		default:
			t.Fatalf("decision %+v passed on as %q", d, signal)
		}
		if d.Phase == "" || strings.TrimSpace(d.Approver) == "" {
			t.Fatalf("decision %+v without phase or approver passed on", d)
		}
	})
}
