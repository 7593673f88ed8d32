package restoredrill_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
)

// drillEnv runs the drill's Workflow with its step activities replaced by
// functions that record their calls: the real steps are tested against
// real PostgreSQL in activities and end to end in cmd/starter; these
// tests are about the saga — teardown runs after every outcome.
type drillEnv struct {
	env   *testsuite.TestWorkflowEnvironment
	sink  *eventSink
	mu    sync.Mutex
	calls []string
	fail  map[string]error
	block map[string]bool
	// verified is what verify reports.
	verified bool
	// with adds to the task's params.
	with map[string]any
	// times records when (on the test clock) each step started.
	times map[string]time.Time
}

func newDrillEnv(t *testing.T) *drillEnv {
	d := &drillEnv{sink: &eventSink{inflight: map[string]int{}}, fail: map[string]error{}, block: map[string]bool{}, verified: true}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	d.env = suite.NewTestWorkflowEnvironment()
	d.env.SetStartTime(testStart)
	d.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "run-1/task/dr/drill", TaskQueue: "shipshape"})
	d.env.SetTestTimeout(30 * time.Second)
	d.env.SetWorkerOptions(worker.Options{MaxHeartbeatThrottleInterval: 50 * time.Millisecond, DeadlockDetectionTimeout: 30 * time.Second})
	taskrun.RegisterWorkflows(d.env, []task.Type{restoredrill.New(restoredrill.Config{}).Type()})
	d.env.RegisterActivityWithOptions(d.sink.publish, activity.RegisterOptions{Name: taskrun.PublishEventsName})
	step := func(name string, res func(s restoredrill.Step) any) {
		short := strings.TrimPrefix(name, "restore-drill.")
		switch name {
		case restoredrill.Select:
			d.env.RegisterActivityWithOptions(func(ctx context.Context, s restoredrill.Step) (restoredrill.Backup, error) {
				if err := d.record(ctx, short); err != nil {
					return restoredrill.Backup{}, err
				}
				return res(s).(restoredrill.Backup), nil
			}, activity.RegisterOptions{Name: name})
		case restoredrill.Ready:
			d.env.RegisterActivityWithOptions(func(ctx context.Context, s restoredrill.Step) (restoredrill.Connection, error) {
				if err := d.record(ctx, short); err != nil {
					return restoredrill.Connection{}, err
				}
				return res(s).(restoredrill.Connection), nil
			}, activity.RegisterOptions{Name: name})
		case restoredrill.Provision:
			d.env.RegisterActivityWithOptions(func(ctx context.Context, s restoredrill.Step) (restoredrill.Target, error) {
				if err := d.record(ctx, short); err != nil {
					return restoredrill.Target{}, err
				}
				return res(s).(restoredrill.Target), nil
			}, activity.RegisterOptions{Name: name})
		default:
			d.env.RegisterActivityWithOptions(func(ctx context.Context, s restoredrill.Step) (restoredrill.Result, error) {
				if err := d.record(ctx, short); err != nil {
					return restoredrill.Result{}, err
				}
				return res(s).(restoredrill.Result), nil
			}, activity.RegisterOptions{Name: name})
		}
	}
	backupEnd := testStart.Add(-2 * time.Hour)
	step(restoredrill.Select, func(restoredrill.Step) any {
		return restoredrill.Backup{ID: "b1", Database: "app", Key: "app/b1/dump.zst", Size: 10, Finished: backupEnd}
	})
	step(restoredrill.Provision, func(restoredrill.Step) any {
		return restoredrill.Target{Kind: "local", Host: "127.0.0.1", Port: 5555, Database: "app"}
	})
	step(restoredrill.Fetch, func(restoredrill.Step) any {
		return restoredrill.Result{Metrics: map[string]float64{"drill.bytes": 10}}
	})
	step(restoredrill.Restore, func(s restoredrill.Step) any {
		if s.Target.Port != 5555 || s.Backup.ID != "b1" {
			t.Errorf("restore got step %+v", s)
		}
		return restoredrill.Result{Metrics: map[string]float64{"drill.restore.duration": 3}}
	})
	step(restoredrill.Verify, func(restoredrill.Step) any {
		m := 0.0
		if !d.verified {
			m = 2
		}
		return restoredrill.Result{Metrics: map[string]float64{"drill.verify.mismatches": m}, Verified: d.verified, Message: "checked"}
	})
	step(restoredrill.Teardown, func(restoredrill.Step) any {
		return restoredrill.Result{Message: "torn down: 1 clusters removed"}
	})
	step(restoredrill.Ready, func(s restoredrill.Step) any {
		return restoredrill.Connection{Host: s.Target.Host, Port: s.Target.Port, Database: s.Target.Database, User: "postgres",
			SSLMode: "disable", PasswordRef: "local://shipshape-drill-0123456789abcdef"}
	})
	d.times = map[string]time.Time{}
	d.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.times[strings.TrimPrefix(info.ActivityType.Name, "restore-drill.")] = d.env.Now()
	})
	return d
}

// record notes a call and fails or blocks it as the test set.
func (d *drillEnv) record(ctx context.Context, step string) error {
	d.mu.Lock()
	d.calls = append(d.calls, step)
	err, block := d.fail[step], d.block[step]
	d.mu.Unlock()
	if block {
		for ctx.Err() == nil {
			activity.RecordHeartbeat(ctx)
			time.Sleep(10 * time.Millisecond)
		}
		return ctx.Err()
	}
	return err
}

func (d *drillEnv) run(timeout time.Duration) (task.Output, error) {
	return d.runRetrying(timeout, plan.Retry{})
}

func (d *drillEnv) runRetrying(timeout time.Duration, retry plan.Retry) (task.Output, error) {
	params := task.Params{"storage": "/x", "database": "app", "target": map[string]any{"kind": "local"}}
	for k, v := range d.with {
		params[k] = v
	}
	d.env.ExecuteWorkflow(restoredrill.Workflow, task.Input{
		Retry: retry,
		RunID: "run-1", Plan: "dr", Phase: "dr", Task: "drill", Uses: restoredrill.Name,
		Params:  params,
		Timeout: timeout,
	})
	var out task.Output
	err := d.env.GetWorkflowError()
	if err == nil {
		err = d.env.GetWorkflowResult(&out)
	} else if o, ok := taskrun.OutputOf(err); ok {
		out = o
	}
	return out, err
}

func (d *drillEnv) callList() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.calls, ",")
}

func (d *drillEnv) finished(t *testing.T) restoredrill.EventData {
	t.Helper()
	var data restoredrill.EventData
	var types []string
	for _, e := range d.sink.all() {
		types = append(types, e.Type.Short())
		if e.Type == events.DrillFinished {
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if strings.Join(types, ",") != "drill.started,drill.finished" {
		t.Fatalf("events %v", types)
	}
	return data
}

func TestRestoreDrillSucceedsAndTearsDown(t *testing.T) {
	d := newDrillEnv(t)
	out, err := d.run(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.callList(); got != "select,provision,fetch,restore,verify,teardown" {
		t.Fatalf("steps %s", got)
	}
	if out.Metrics["drill.rpo"] != 7200 || out.Metrics["drill.rto"] < 0 || out.Metrics["drill.restore.duration"] != 3 || out.Metrics["drill.bytes"] != 10 {
		t.Fatalf("metrics %v", out.Metrics)
	}
	if _, ok := out.Metrics["drill.rto"]; !ok {
		t.Fatal("no drill.rto")
	}
	if !strings.Contains(out.Output, "torn down") {
		t.Fatalf("output %q", out.Output)
	}
	f := d.finished(t)
	if f.Status != "pass" || !f.Verified || !f.TornDown || f.RPO == nil || *f.RPO != 7200 || f.RTO == nil || f.Backup != "b1" || f.Target != "local" {
		t.Fatalf("drill.finished %+v", f)
	}
}

func TestRestoreDrillTearsDownWhenAStepFails(t *testing.T) {
	for _, step := range []string{"provision", "fetch", "restore"} {
		t.Run(step, func(t *testing.T) {
			d := newDrillEnv(t)
			d.fail[step] = temporal.NewNonRetryableApplicationError("boom in "+step, "TaskFailed", nil)
			_, err := d.run(time.Hour)
			if err == nil || !strings.Contains(err.Error(), step+": boom in "+step) {
				t.Fatalf("err = %v", err)
			}
			calls := d.callList()
			if !strings.HasSuffix(calls, step+",teardown") || strings.Count(calls, "teardown") != 1 {
				t.Fatalf("steps %s", calls)
			}
			f := d.finished(t)
			if f.Status != "fail" || f.Step != step || !f.TornDown || f.Verified || f.RTO != nil {
				t.Fatalf("drill.finished %+v", f)
			}
		})
	}
}

func TestRestoreDrillVerificationFailureFailsTheCheck(t *testing.T) {
	d := newDrillEnv(t)
	d.verified = false
	out, err := d.run(time.Hour)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrCheckFailed {
		t.Fatalf("err = %v", err)
	}
	if out.Metrics["drill.verify.mismatches"] != 2 {
		t.Fatalf("metrics %v", out.Metrics)
	}
	if _, ok := out.Metrics["drill.rto"]; ok {
		t.Fatal("an unverified drill has no RTO")
	}
	if !strings.HasSuffix(d.callList(), "verify,teardown") {
		t.Fatalf("steps %s", d.callList())
	}
}

func TestRestoreDrillNoTeardownWithoutProvisioning(t *testing.T) {
	d := newDrillEnv(t)
	d.fail["select"] = temporal.NewNonRetryableApplicationError("no complete backup", "InvalidParams", nil)
	if _, err := d.run(time.Hour); err == nil || !strings.Contains(err.Error(), "select: no complete backup") {
		t.Fatalf("err = %v", err)
	}
	if got := d.callList(); got != "select" {
		t.Fatalf("steps %s", got)
	}
}

func TestRestoreDrillTearsDownOnCancellation(t *testing.T) {
	d := newDrillEnv(t)
	d.block["restore"] = true
	restoreStarted := false
	d.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == restoredrill.Restore {
			d.mu.Lock()
			restoreStarted = true
			d.mu.Unlock()
			d.env.CancelWorkflow()
		}
	})
	_, err := d.run(time.Hour)
	if !temporal.IsCanceledError(err) {
		t.Fatalf("err = %v", err)
	}
	// The cancellation may reach restore before its function runs (it
	// then records no call): what matters is that it had started, and
	// teardown followed.
	if got := d.callList(); !restoreStarted || got != "select,provision,fetch,restore,teardown" && got != "select,provision,fetch,teardown" {
		t.Fatalf("steps %s (restore started: %v)", got, restoreStarted)
	}
	if f := d.finished(t); !f.TornDown || f.Status != "fail" {
		t.Fatalf("drill.finished %+v", f)
	}
}

func TestRestoreDrillTearsDownAtItsTimeout(t *testing.T) {
	d := newDrillEnv(t)
	// A fetch that keeps failing, retried every minute, until the
	// drill's timeout stops it.
	d.fail["fetch"] = errors.New("store unreachable")
	_, err := d.runRetrying(10*time.Minute, plan.Retry{MaxAttempts: 1000, InitialInterval: plan.Duration(time.Minute), MaxInterval: plan.Duration(time.Minute)})
	if err == nil || !strings.Contains(err.Error(), "did not finish within its timeout (10m0s)") {
		t.Fatalf("err = %v", err)
	}
	if got := d.callList(); !strings.HasPrefix(got, "select,provision,fetch,fetch,fetch,") || !strings.HasSuffix(got, ",fetch,teardown") {
		t.Fatalf("steps %s", got)
	}
}
