package alertdrill_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/alertdrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
)

// runMocked runs the Workflow with its steps replaced: poll answers each
// poll (numbered from 1). It returns the output, the error and whether
// the alert was resolved.
func runMocked(t *testing.T, poll func(n int) (alertdrill.PollResult, error)) (task.Output, error, bool) {
	t.Helper()
	out, err, resolved, _ := runMockedEvents(t, poll)
	return out, err, resolved
}

// runMockedEvents is runMocked that also returns the events the drill
// published, in order.
func runMockedEvents(t *testing.T, poll func(n int) (alertdrill.PollResult, error)) (task.Output, error, bool, []events.Event) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: runID + "/task/alerting/page", TaskQueue: "shipshape"})
	taskrun.RegisterWorkflows(env, []task.Type{alertdrill.New(alertdrill.Config{}).Type()})
	fired := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	env.RegisterActivityWithOptions(func(_ context.Context, s alertdrill.Step) (alertdrill.Step, error) {
		s.FiredAt = fired
		return s, nil
	}, activity.RegisterOptions{Name: alertdrill.Fire})
	var n atomic.Int32
	env.RegisterActivityWithOptions(func(context.Context, alertdrill.Step) (alertdrill.PollResult, error) {
		return poll(int(n.Add(1)))
	}, activity.RegisterOptions{Name: alertdrill.Poll})
	var resolved atomic.Bool
	env.RegisterActivityWithOptions(func(context.Context, alertdrill.Step) (alertdrill.ResolveResult, error) {
		resolved.Store(true)
		return alertdrill.ResolveResult{Message: "alert resolved"}, nil
	}, activity.RegisterOptions{Name: alertdrill.Resolve})
	var mu sync.Mutex
	var published []events.Event
	env.RegisterActivityWithOptions(func(_ context.Context, in taskrun.PublishEventsInput) error {
		mu.Lock()
		defer mu.Unlock()
		published = append(published, in.Events...)
		return nil
	}, activity.RegisterOptions{Name: taskrun.PublishEventsName})
	p := task.Params{"alertmanager": "http://am:9093", "alertname": "Drill", "severity": "critical", "ackVia": []any{"silence"},
		"ackTimeout": "10m", "interval": "10s"}
	env.ExecuteWorkflow(alertdrill.Workflow, task.Input{RunID: runID, Phase: "alerting", Task: "page", Uses: alertdrill.Name, Params: p, Timeout: time.Hour})
	var out task.Output
	err := env.GetWorkflowError()
	if err == nil {
		err = env.GetWorkflowResult(&out)
	} else if o, ok := taskrun.OutputOf(err); ok {
		out = o
	}
	mu.Lock()
	defer mu.Unlock()
	return out, err, resolved.Load(), published
}

// TestWorkflowPublishesAlertEvents: the drill publishes alert.fired, an
// alert.refused for an acknowledgement by someone not allowed (as
// approval.refused does for approvals), and alert.acknowledged with the
// time to acknowledge, on its own lane.
func TestWorkflowPublishesAlertEvents(t *testing.T) {
	_, err, _, evs := runMockedEvents(t, func(n int) (alertdrill.PollResult, error) {
		if n == 1 {
			return alertdrill.PollResult{Delivered: true, How: "received at the webhook", Refused: []string{"mallory (nats)", "eve (silence s9)"}}, nil
		}
		return alertdrill.PollResult{Delivered: true, Ack: &alertdrill.Ack{By: "oncall", Via: "silence", Silence: "s1",
			At: time.Date(2026, 12, 3, 12, 1, 30, 0, time.UTC)}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	var data []alertdrill.EventData
	for _, e := range evs {
		types = append(types, e.Type.Short())
		var d alertdrill.EventData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if e.Subject != "alerting/page" || d.Drill != runID+"/alerting/page" || d.Alertname != "Drill" || d.FiredAt.IsZero() {
			t.Errorf("event %s: subject %q, data %+v", e.ID, e.Subject, d)
		}
		data = append(data, d)
	}
	if want := []string{"alert.fired", "alert.refused", "alert.refused", "alert.acknowledged"}; !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if d := data[1]; d.Responder != "mallory" || d.Via != "nats" || !strings.Contains(d.Why, "allowedResponders") {
		t.Errorf("refused: %+v", d)
	}
	if d := data[2]; d.Responder != "eve" || d.Via != "silence" || d.Silence != "s9" {
		t.Errorf("refused: %+v", d)
	}
	if d := data[3]; d.Responder != "oncall" || d.Via != "silence" || d.Silence != "s1" || d.TTA == nil || *d.TTA != 90 {
		t.Errorf("acknowledged: %+v", d)
	}
}

// TestWorkflowRidesOutFailedPolls: polls that fail now and then (an
// Alertmanager briefly away) do not end the drill; the acknowledgement
// after them counts, tta from the alert's firing.
func TestWorkflowRidesOutFailedPolls(t *testing.T) {
	out, err, resolved := runMocked(t, func(n int) (alertdrill.PollResult, error) {
		switch {
		case (n >= 2 && n <= 4) || (n >= 6 && n <= 8): // two polls failing all their 3 attempts
			return alertdrill.PollResult{}, errors.New("connection refused")
		case n < 10:
			return alertdrill.PollResult{Delivered: n > 2, How: "received at the webhook"}, nil
		}
		return alertdrill.PollResult{Delivered: true, Ack: &alertdrill.Ack{By: "oncall", Via: "silence", Silence: "s1",
			At: time.Date(2026, 12, 3, 12, 1, 30, 0, time.UTC)}}, nil
	})
	if err != nil || !resolved {
		t.Fatalf("%v, resolved %v", err, resolved)
	}
	if m := out.Metrics; m["alert.tta"] != 90 || m["alert.acknowledged"] != 1 || m["alert.delivered"] != 1 {
		t.Errorf("metrics %v", m)
	}
	if strings.Count(out.Output, "poll failed: connection refused") != 2 {
		t.Errorf("output %q: want two failed polls noted", out.Output)
	}
}

// TestWorkflowGivesUpOnFailingPolls: polls that keep failing end the
// drill, which still resolves its alert.
func TestWorkflowGivesUpOnFailingPolls(t *testing.T) {
	_, err, resolved := runMocked(t, func(int) (alertdrill.PollResult, error) {
		return alertdrill.PollResult{}, errors.New("connection refused")
	})
	if err == nil || !strings.Contains(err.Error(), "poll: ") || !resolved {
		t.Fatalf("%v, resolved %v: want the poll's failure and the alert resolved", err, resolved)
	}
}

// TestWorkflowWaitsOnTimers: an unacknowledged drill polls every
// interval until ackTimeout (10m / 10s: 61 polls, the first at once), then fails.
func TestWorkflowWaitsOnTimers(t *testing.T) {
	polls := 0
	out, err, resolved := runMocked(t, func(n int) (alertdrill.PollResult, error) {
		polls = n
		return alertdrill.PollResult{}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "not acknowledged within 10m0s") || !resolved {
		t.Fatalf("%v, resolved %v", err, resolved)
	}
	if polls != 61 || out.Metrics["alert.acknowledged"] != 0 {
		t.Errorf("%d polls, metrics %v", polls, out.Metrics)
	}
}
