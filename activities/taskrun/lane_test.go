package taskrun_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
)

// capture is an EventPublisher that keeps what it is given.
type capture struct {
	mu     sync.Mutex
	events []events.Event
}

func (c *capture) Publish(_ context.Context, _, _ string, data []byte) error {
	var e events.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
	return nil
}

// TestLaneEventThatCannotBeEncoded checks that data JSON cannot carry (a
// score of +Inf) does not panic the workflow, which would fail every one
// of its workflow tasks and never end the run: the event goes out with
// the error as its data, numbered like any other.
func TestLaneEventThatCannotBeEncoded(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	pub := &capture{}
	taskrun.RegisterActivities(env, nil, taskrun.Options{Events: pub})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		lane := taskrun.NewLane(ctx, "run-1", "api-release")
		lane.Emit(ctx, events.RunFinished, "", events.RunData{Plan: "api-release", RunID: "run-1", Result: "pass", Score: math.Inf(1)})
		lane.Emit(ctx, events.PhaseStarted, "smoke", events.PhaseData{Phase: "smoke", Status: "running"})
		lane.Close(ctx)
		return nil
	}, workflow.RegisterOptions{Name: "LaneTest"})
	env.ExecuteWorkflow("LaneTest")
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(pub.events) != 2 {
		t.Fatalf("published %d events, want 2", len(pub.events))
	}
	first, second := pub.events[0], pub.events[1]
	if first.Type != events.RunFinished || first.Sequence != 1 || second.Sequence != 2 {
		t.Errorf("events %s #%d, %s #%d; want run.finished #1, phase.started #2", first.Type, first.Sequence, second.Type, second.Sequence)
	}
	var data taskrun.EncodeError
	if err := json.Unmarshal(first.Data, &data); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(data.Error, "encode dev.shipshape.run.finished event") || !strings.Contains(data.Error, "+Inf") {
		t.Errorf("data of the event that could not be encoded = %s, want the error", first.Data)
	}
	var phase events.PhaseData
	if err := json.Unmarshal(second.Data, &phase); err != nil || phase.Phase != "smoke" {
		t.Errorf("the next event's data = %s (%v)", second.Data, err)
	}
}
