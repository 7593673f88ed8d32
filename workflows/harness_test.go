package workflows_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

// testRunID is the workflow ID every test run gets, so phase workflow IDs
// and event IDs are predictable.
const testRunID = "demo-20260101-000000-test"

// testStart is the test clock's start, so recorded times are predictable.
var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// taskTypes are the task types the harness fakes. The workflow only knows
// a task type by its activity name, so fakes registered under these names
// stand in for the real activities.
var taskTypes = []string{"http-check", "command", "coverage"}

// taskFunc is the behaviour of one faked task.
type taskFunc func(ctx context.Context, in task.Input) (task.Output, error)

// step is one entry of the harness's journal of task activity starts and
// ends, in the order they happened on the wall clock.
type step struct {
	kind string // "start" or "end"
	task string // phase/task
}

// harness is a test workflow environment with Readiness and Phase
// registered under their real names, every task type faked by a dispatcher
// that runs the behaviour set for each phase/task, and PublishEvents
// captured by a sink.
type harness struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	sink *eventSink
	logs *syncBuffer

	mu         sync.Mutex
	behaviours map[string]taskFunc
	journal    []step
	calls      map[string]int
	running    int
	maxRunning int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t:          t,
		sink:       &eventSink{inflight: map[string]int{}},
		logs:       &syncBuffer{},
		behaviours: map[string]taskFunc{},
		calls:      map[string]int{},
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	h.env = suite.NewTestWorkflowEnvironment()
	h.env.SetStartTime(testStart)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testRunID, TaskQueue: workflows.TaskQueue})
	h.env.SetTestTimeout(30 * time.Second)
	h.env.SetWorkerOptions(worker.Options{
		// Heartbeats reach the (fake) server every 50ms, so a cancelled
		// activity learns it within that, not within 80% of its heartbeat
		// timeout.
		MaxHeartbeatThrottleInterval: 50 * time.Millisecond,
		// The deadlock detector measures wall time: on a shared machine
		// under -race, a workflow task can take over the default second
		// without anything being wrong with the workflow.
		DeadlockDetectionTimeout: 30 * time.Second,
	})
	workflows.Register(h.env, all.Catalog())
	h.env.RegisterActivityWithOptions(h.sink.publish, activity.RegisterOptions{Name: taskrun.PublishEventsName})
	for _, name := range taskTypes {
		h.env.RegisterActivityWithOptions(h.dispatch, activity.RegisterOptions{Name: name})
	}
	t.Cleanup(func() {
		if t.Failed() && h.logs.Len() > 0 {
			t.Logf("workflow logs:\n%s", h.logs.String())
		}
	})
	return h
}

// on sets the behaviour of the task phase/task.
func (h *harness) on(phaseTask string, fn taskFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.behaviours[phaseTask] = fn
}

// dispatch is every faked task type. Like the registry's wrapper in
// taskrun.Register, it records the attempt in the output, also in the
// output a CheckFailed error carries.
func (h *harness) dispatch(ctx context.Context, in task.Input) (task.Output, error) {
	key := in.Phase + "/" + in.Task
	h.mu.Lock()
	fn := h.behaviours[key]
	h.calls[key]++
	h.running++
	h.maxRunning = max(h.maxRunning, h.running)
	h.journal = append(h.journal, step{"start", key})
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.running--
		h.journal = append(h.journal, step{"end", key})
		h.mu.Unlock()
	}()
	if fn == nil {
		return task.Output{}, temporal.NewNonRetryableApplicationError("no behaviour for "+key, "TestSetup", nil)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	out, err := fn(ctx, in)
	out.Attempt = attempt
	if te, ok := task.AsError(err); ok && te.Output != nil {
		te.Output.Attempt = attempt
	}
	return out, taskrun.AppError(err)
}

func (h *harness) callCount(phaseTask string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[phaseTask]
}

func (h *harness) steps() []step {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]step(nil), h.journal...)
}

func (h *harness) peakRunning() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.maxRunning
}

// execute runs Readiness to its end and returns its result: the value it
// returned or, for a cancelled run, the one its CanceledError carries.
func (h *harness) execute(in workflows.ReadinessInput) (plan.RunResult, error) {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.ReadinessName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var res plan.RunResult
	err := h.env.GetWorkflowError()
	if err == nil {
		if err := h.env.GetWorkflowResult(&res); err != nil {
			h.t.Fatalf("decode result: %v", err)
		}
		return res, nil
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) && canceled.HasDetails() {
		if derr := canceled.Details(&res); derr != nil {
			h.t.Fatalf("decode cancelled result: %v", derr)
		}
	}
	return res, err
}

// mustRun runs a plan that must complete without error.
func (h *harness) mustRun(in workflows.ReadinessInput) plan.RunResult {
	h.t.Helper()
	res, err := h.execute(in)
	if err != nil {
		h.t.Fatalf("Readiness: %v", err)
	}
	return res
}

// eventSink is the fake PublishEvents activity: it records every batch it
// accepted, can fail its first calls, and measures how many batches of one
// lane are in flight at once.
type eventSink struct {
	mu        sync.Mutex
	failFirst int
	// failLanes fails every batch of a lane that contains it.
	failLanes   string
	calls       int
	batches     [][]events.Event
	inflight    map[string]int
	maxInflight int
}

func (s *eventSink) publish(ctx context.Context, in taskrun.PublishEventsInput) error {
	lane := ""
	if len(in.Events) > 0 {
		lane = laneOf(in.Events[0].ID)
	}
	s.mu.Lock()
	s.calls++
	if s.calls <= s.failFirst || s.failLanes != "" && strings.Contains(lane, s.failLanes) {
		s.mu.Unlock()
		return errors.New("nats: no responders available for request")
	}
	s.inflight[lane]++
	s.maxInflight = max(s.maxInflight, s.inflight[lane])
	s.mu.Unlock()
	// Stay in flight a moment, so overlapping batches of a lane would show.
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight[lane]--
	s.batches = append(s.batches, append([]events.Event(nil), in.Events...))
	return nil
}

// all is every event published, batches concatenated in publishing order.
func (s *eventSink) all() []events.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []events.Event
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

// laneOf is the lane of an event ID: all of it before the last '/'.
func laneOf(id string) string {
	return id[:strings.LastIndex(id, "/")]
}

// shortTypes are the types of evs without their prefix.
func shortTypes(evs []events.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Type.Short())
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Plan builders: plans are built as structs, the way plan.Load returns
// them once validated.

func newPlan(phases ...plan.Phase) plan.Plan {
	return plan.Plan{
		APIVersion: plan.APIVersion,
		Kind:       plan.Kind,
		Metadata:   plan.Metadata{Name: "demo", Labels: map[string]string{"team": "payments"}},
		Spec: plan.Spec{
			Scoring:     plan.Scoring{Pass: 90, Warning: 75},
			Concurrency: 4,
			Phases:      phases,
		},
	}
}

func phase(name string, needs []string, tasks ...plan.Task) plan.Phase {
	return plan.Phase{Name: name, Needs: needs, Tasks: tasks}
}

func approvalPhase(name string, needs []string, timeout time.Duration) plan.Phase {
	return plan.Phase{Name: name, Needs: needs, Approval: &plan.Approval{Required: true, Timeout: plan.Duration(timeout)}}
}

func planTask(name, uses string, gates ...plan.Gate) plan.Task {
	return plan.Task{
		Name: name, Uses: uses, Gates: gates,
		Timeout: plan.Duration(time.Minute),
		Retry:   plan.Retry{MaxAttempts: 1, InitialInterval: plan.Duration(time.Second), MaxInterval: plan.Duration(10 * time.Second), Backoff: 2},
	}
}

func checklistTask(name string, timeout time.Duration, items ...string) plan.Task {
	list := make([]any, len(items))
	for i, item := range items {
		list[i] = item
	}
	return plan.Task{
		Name: name, Uses: "checklist",
		With:    map[string]any{"items": list, "timeout": timeout.String()},
		Gates:   []plan.Gate{gateAtLeast("checklist.done_ratio", 1, 1)},
		Timeout: plan.Duration(24 * time.Hour),
	}
}

func withRetry(t plan.Task, attempts int) plan.Task {
	t.Retry.MaxAttempts = attempts
	return t
}

// gateBelow passes below pass and warns below warn (0: no warning).
func gateBelow(metric string, pass, warn, weight float64) plan.Gate {
	g := plan.Gate{Metric: metric, Weight: weight, Pass: plan.Threshold{Op: "<", Value: pass, Text: fmt.Sprintf("< %g", pass)}}
	if warn > 0 {
		g.Warning = &plan.Threshold{Op: "<", Value: warn, Text: fmt.Sprintf("< %g", warn)}
	}
	return g
}

func gateAtLeast(metric string, pass, weight float64) plan.Gate {
	return plan.Gate{Metric: metric, Weight: weight, Pass: plan.Threshold{Op: ">=", Value: pass, Text: fmt.Sprintf(">= %g", pass)}}
}

// Task behaviours.

// reports returns the metrics given.
func reports(metrics map[string]float64) taskFunc {
	return func(context.Context, task.Input) (task.Output, error) {
		return task.Output{Metrics: metrics}, nil
	}
}

// pass reports a latency of 0.1, which every gateBelow("latency", …) in
// these tests passes.
var pass = reports(map[string]float64{"latency": 0.1})

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mustPhase returns the named phase of res.
func mustPhase(t testing.TB, res plan.RunResult, name string) plan.PhaseResult {
	t.Helper()
	pr := res.Phase(name)
	if pr == nil {
		t.Fatalf("no phase %q in result", name)
	}
	return *pr
}

// mustTask returns the named task of res.
func mustTask(t testing.TB, res plan.RunResult, phase, task string) plan.TaskResult {
	t.Helper()
	tr := res.Task(phase, task)
	if tr == nil {
		t.Fatalf("no task %s/%s in result", phase, task)
	}
	return *tr
}

// statuses summarises a result as "phase:status" and "phase/task:status".
func statuses(res plan.RunResult) []string {
	var out []string
	for _, ph := range res.Phases {
		out = append(out, ph.Name+":"+string(ph.Status))
		for _, t := range ph.Tasks {
			out = append(out, ph.Name+"/"+t.Name+":"+string(t.Status))
		}
	}
	return out
}
