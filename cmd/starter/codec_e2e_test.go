//go:build integration

package main_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// TestPayloadsEncrypted runs a plan through a worker and starter that share
// a payload codec keyring, then reads the run's history with a client that
// has no keys: the plan's values appear nowhere in it, and the starter
// (with the keys) still reports the run.
func TestPayloadsEncrypted(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const canary = "canary-value-9f3a61"
	planFile := writePlan(t, `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: codec-check}
spec:
  vars: {marker: "`+canary+`"}
  phases:
    - name: check
      tasks:
        - name: echo
          uses: command
          with: {argv: ["sh", "-c", "echo ${vars.marker}"]}
          gates: [{metric: command.exit_code, pass: "== 0"}]
`)
	r := starter(t, ctx, append([]string{"run", "--run-id", "codec-check-1"}, c.args(planFile)...)...)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "echo") {
		t.Errorf("report lacks the task:\n%s", r.stdout)
	}
	// The detector sees plaintext in a payload the default converter wrote
	// (protobuf keeps payload bytes raw; protojson would hide them as base64).
	probe, _ := converter.GetDefaultDataConverter().ToPayloads(map[string]string{"marker": canary})
	if !holds(&historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: probe}}}, canary) {
		t.Fatal("detector misses plaintext")
	}
	plain, err := client.Dial(client.Options{HostPort: c.temporal.Address()})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, id := range []string{"codec-check-1", "codec-check-1/phase/check"} {
		it := plain.GetWorkflowHistory(ctx, id, "", false, 0)
		n := 0
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			n++
			if holds(e, canary) || holds(e, "command.exit_code") {
				t.Errorf("%s: history event %d (%s) holds plaintext", id, e.GetEventId(), e.GetEventType())
			}
		}
		if n == 0 {
			t.Errorf("%s: no history", id)
		}
	}
}

// holds reports whether s appears in the event's wire form.
func holds(e *historypb.HistoryEvent, s string) bool {
	raw, err := proto.Marshal(e)
	return err == nil && bytes.Contains(raw, []byte(s))
}
