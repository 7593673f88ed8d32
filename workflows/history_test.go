//go:build integration

package workflows_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/shipshape-dev/shipshape/activities/alertdrill"
	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/command"
	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/secretage"
	"github.com/shipshape-dev/shipshape/activities/secretrotation"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/runs"
	"github.com/shipshape-dev/shipshape/workflows"
)

var record = flag.Bool("record", false, "re-record the histories under testdata/histories")

// registrar is where devCluster's extra activities go: the test worker.
type registrar interface {
	RegisterActivityWithOptions(any, activity.RegisterOptions)
}

// devCluster starts a Temporal dev server, NATS and a worker with the real
// activities, plus extra activities for the test. extra gets the worker's
// real activities too; it may replace one of them by registering under its
// name with DisableAlreadyRegisteredCheck.
func devCluster(t *testing.T, extra func(w registrar, events taskrun.EventPublisher)) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := devenv.FindTemporalCLI()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	tmp, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{CLI: cli})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tmp.Stop)
	ns, err := devenv.StartNATS(devenv.NATSOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	ev := natsevents.New(natsevents.Config{URL: ns.ClientURL()})
	if err := ev.Init(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ev.Close)
	c, err := client.Dial(client.Options{HostPort: tmp.Address()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := host.NewWorker(c, all.Types(all.Config{Events: ev}), taskrun.Options{Events: ev}, host.WorkerOptions{})
	if extra != nil {
		extra(w, ev)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c
}

func history(t *testing.T, c client.Client, id string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), id, "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// Run IDs of the recorded runs whose fake activities behave differently.
const (
	drillFailRun = "dr-drill-fail-replay" // restore fails: teardown after a failed step
	cancelRun    = "cancel-replay"        // fetch blocks until the run is cancelled
	relayRun     = "relay-replay"         // its events cannot be published until the run closed
	// windowCancelRun's drill is cancelled during its validation window.
	windowCancelRun = "dr-drill-window-cancel-replay"
)

// fakes stand in, on the recording worker, for the activities that need
// PostgreSQL, a secret store or cloud accounts: only the workflows are
// recorded, so the activities only return plausible results under the
// real names. Which run calls decides how they behave.
type fakes struct {
	// eventsDown makes PublishEvents fail for relayRun's events, as when
	// NATS is down, so its workflows hand them to EventRelay workflows.
	eventsDown atomic.Bool
	// fetching is closed once cancelRun's drill is fetching.
	fetching chan struct{}
	once     sync.Once
	// ready is closed once windowCancelRun's drill is in its window.
	ready     chan struct{}
	readyOnce sync.Once
}

func newFakes() *fakes {
	f := &fakes{fetching: make(chan struct{}), ready: make(chan struct{})}
	f.eventsDown.Store(true)
	return f
}

func (f *fakes) register(w registrar, events taskrun.EventPublisher) {
	over := func(fn any, name string) {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name, DisableAlreadyRegisteredCheck: true})
	}
	over(func(ctx context.Context, in taskrun.PublishEventsInput) error {
		if len(in.Events) > 0 && in.Events[0].RunID == relayRun && f.eventsDown.Load() {
			return errors.New("nats: no servers available for connection")
		}
		return taskrun.PublishEvents(ctx, events, in)
	}, taskrun.PublishEventsName)

	fakeTask := func(metrics map[string]float64, output string) func(context.Context, task.Input) (task.Output, error) {
		return func(ctx context.Context, _ task.Input) (task.Output, error) {
			return task.Output{Metrics: metrics, Output: output, Attempt: int(activity.GetInfo(ctx).Attempt)}, nil
		}
	}
	over(fakeTask(map[string]float64{"backup.size": 48213, "backup.duration": 0.8, "backup.kept": 3, "backup.deleted": 0},
		"backup 20261125T061500Z-3f9a1c2b of \"postgres\": 48213 bytes"), "backup")
	over(fakeTask(map[string]float64{"secret.age": 2592000}, "local://app-db: current version 30 days old"), secretage.Name)

	over(func(ctx context.Context, s restoredrill.Step) (restoredrill.Backup, error) {
		return restoredrill.Backup{ID: "20261125T061500Z-3f9a1c2b", Database: "postgres", Key: "postgres/20261125T061500Z-3f9a1c2b/dump",
			Format: "custom", Size: 48213, SHA256: "9f2c1e4b7a", Finished: time.Now().Add(-20 * time.Minute).UTC()}, nil
	}, restoredrill.Select)
	over(func(ctx context.Context, s restoredrill.Step) (restoredrill.Target, error) {
		return restoredrill.Target{Kind: restoredrill.TargetLocal, Host: "127.0.0.1", Port: 54329, User: "postgres", Database: "postgres",
			Dir: "/tmp/shipshape-drills/" + strings.ReplaceAll(s.ID, "/", "_")}, nil
	}, restoredrill.Provision)
	over(func(ctx context.Context, s restoredrill.Step) (restoredrill.Result, error) {
		if s.Task.RunID == cancelRun {
			f.once.Do(func() { close(f.fetching) })
			for ctx.Err() == nil {
				activity.RecordHeartbeat(ctx, task.Progress{})
				time.Sleep(200 * time.Millisecond)
			}
			return restoredrill.Result{}, ctx.Err()
		}
		return restoredrill.Result{Metrics: map[string]float64{"drill.fetch.duration": 0.3, "drill.bytes": 48213},
			Message: "fetched 48213 bytes; SHA-256 matches the manifest"}, nil
	}, restoredrill.Fetch)
	over(func(ctx context.Context, s restoredrill.Step) (restoredrill.Result, error) {
		if s.Task.RunID == drillFailRun {
			return restoredrill.Result{}, temporal.NewNonRetryableApplicationError(
				"pg_restore: exit status 1: error: could not execute query: ERROR: relation \"users\" already exists",
				task.ErrTaskFailed, nil, task.Output{Metrics: map[string]float64{"drill.restore.duration": 1.2}})
		}
		return restoredrill.Result{Metrics: map[string]float64{"drill.restore.duration": 2.1}, Message: "pg_restore with 2 jobs"}, nil
	}, restoredrill.Restore)
	over(func(ctx context.Context, s restoredrill.Step) (restoredrill.Result, error) {
		return restoredrill.Result{
			Metrics: map[string]float64{"drill.verify.duration": 0.4, "drill.verify.mismatches": 0, "drill.assertions.failed": 0, "drill.tables": 12},
			Tables: []plan.Table{{Title: "Assertions", Columns: []string{"assertion", "value", "expect", "status"},
				Rows: [][]string{{"the restored database has tables", "12", ">= 0", "pass"}}}},
			Message: "12 tables match the manifest; 1 assertion held", Verified: true,
		}, nil
	}, restoredrill.Verify)
	over(func(ctx context.Context, s restoredrill.Step) (restoredrill.Result, error) {
		return restoredrill.Result{Message: "torn down: local cluster removed"}, nil
	}, restoredrill.Teardown)
	over(func(ctx context.Context, s restoredrill.Step) (restoredrill.Connection, error) {
		if s.Task.RunID == windowCancelRun {
			f.readyOnce.Do(func() { close(f.ready) })
		}
		return restoredrill.Connection{Host: s.Target.Host, Port: s.Target.Port, Database: s.Target.Database, User: s.Target.User,
			SSLMode: "disable", PasswordRef: "local://shipshape-drill-5e2b7d3a9f106b8e"}, nil
	}, restoredrill.Ready)

	// The alert drill: delivered at the first poll, acknowledged on NATS
	// at the second (after a timer), then silenced and resolved.
	var alertPolls atomic.Int32
	over(func(ctx context.Context, s alertdrill.Step) (alertdrill.Step, error) {
		s.FiredAt = time.Now().UTC()
		return s, nil
	}, alertdrill.Fire)
	over(func(ctx context.Context, s alertdrill.Step) (alertdrill.PollResult, error) {
		r := alertdrill.PollResult{Delivered: true, How: "received at the webhook", Receivers: []string{"oncall-webhook"}, State: "active"}
		if alertPolls.Add(1) > 1 {
			r.Ack = &alertdrill.Ack{By: "oncall", Via: alertdrill.ViaNATS, At: time.Now().UTC()}
		}
		return r, nil
	}, alertdrill.Poll)
	over(func(ctx context.Context, s alertdrill.Step) (string, error) {
		return "0a1b2c3d-silence", nil
	}, alertdrill.Silence)
	over(func(ctx context.Context, s alertdrill.Step) (alertdrill.ResolveResult, error) {
		return alertdrill.ResolveResult{Message: "alert resolved; 1 silence(s) of the drill's own expired", Expired: 1}, nil
	}, alertdrill.Resolve)

	// The metric watch: a steady series, one sample a second.
	over(func(ctx context.Context, in metricwatch.SampleInput) (metricwatch.Sample, error) {
		return metricwatch.Sample{At: in.At, Value: 0.001 * float64(in.Seq)}, nil
	}, metricwatch.SampleActivity)

	rotation := func(name string, res func(s secretrotation.RotationStep) (secretrotation.RotationResult, error)) {
		over(func(ctx context.Context, s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
			return res(s)
		}, name)
	}
	rotation(secretrotation.RotateCreate, func(s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
		return secretrotation.RotationResult{Version: "v2", Metrics: map[string]float64{"secret.age": 2592000}, Message: "pending version v2 stored"}, nil
	})
	rotation(secretrotation.RotateSet, func(s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
		return secretrotation.RotationResult{Version: "v2", Message: "set on the resource"}, nil
	})
	rotation(secretrotation.RotateTest, func(s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
		if s.Task.Task == "app-db" {
			return secretrotation.RotationResult{}, temporal.NewNonRetryableApplicationError(
				"connect with the new password: FATAL: password authentication failed for user \"app\"", task.ErrCheckFailed, nil)
		}
		return secretrotation.RotationResult{Version: "v2", Message: "the new version works"}, nil
	})
	rotation(secretrotation.RotateFinish, func(s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
		return secretrotation.RotationResult{Version: "v2", Message: "v2 is current"}, nil
	})
	rotation(secretrotation.RotateRollback, func(s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
		return secretrotation.RotationResult{Version: "v1", Message: "resource restored to v1; pending v2 removed"}, nil
	})
	rotation(secretrotation.RotateRetire, func(s secretrotation.RotationStep) (secretrotation.RotationResult, error) {
		return secretrotation.RotationResult{Version: "v2", Message: "JWKS holds only the current key"}, nil
	})
}

// parsePlan parses a plan written in the test, defaults filled in as
// plan.Load fills them.
func parsePlan(t *testing.T, yaml string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse(t.Name()+".yaml", []byte(yaml), all.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loadPlan loads an example plan.
func loadPlan(t *testing.T, name string, vars map[string]string) *plan.Plan {
	t.Helper()
	p, err := plan.Load(filepath.Join("..", "examples", "plans", name), all.Catalog(), vars)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startRun starts a run of p under runID, failing the test if it cannot.
func startRun(t *testing.T, c client.Client, p *plan.Plan, runID string, autoApprove bool) string {
	t.Helper()
	id, err := runs.Start(context.Background(), c, p, runs.StartOptions{RunID: runID, AutoApprove: autoApprove})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// finish waits for a run's result.
func finish(t *testing.T, c client.Client, id string) *plan.RunResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := runs.Result(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// waitPhase waits until a run's phase has status want.
func waitPhase(t *testing.T, c client.Client, id, phase string, want plan.Status) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		live, err := runs.Status(context.Background(), c, id)
		if err == nil {
			if ph := live.Result.Phase(phase); ph != nil && ph.Status == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("phase %s of %s is not %s after a minute (last error %v)", phase, id, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// phaseIDs are the workflow IDs of a run's phase workflows (of phases
// with tasks) that ran.
func phaseIDs(id string, res *plan.RunResult, p *plan.Plan) []string {
	var ids []string
	for _, ph := range p.Spec.Phases {
		if pr := res.Phase(ph.Name); len(ph.Tasks) > 0 && ph.Approval == nil && pr != nil && pr.Status != plan.StatusSkipped && pr.Status != plan.StatusPending {
			ids = append(ids, workflows.PhaseWorkflowID(id, ph.Name))
		}
	}
	return ids
}

// recording is one recorded scenario: it runs on the dev cluster and
// returns the IDs of the workflows whose histories to keep.
type recording struct {
	name string
	run  func(t *testing.T, c client.Client, f *fakes) []string
}

// recordings cover every registered workflow type (TestReplay checks
// that the corpus does), and each one's paths
// that leave a different history: approvals approved (automatically and
// by signal), rejected (by signal and by timeout), a cancelled run, a
// plan that cannot run, restore drills that pass and fail, secret
// rotations rolled back and waiting out a JWT key's overlap, and event
// relays that outlive the workflows that could not publish.
var recordings = []recording{
	{"quickstart", func(t *testing.T, c client.Client, _ *fakes) []string {
		// The quickstart auto-approves its approval and checklist.
		demo, err := devenv.StartDemo("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { demo.Close() })
		profile, _ := filepath.Abs("../examples/data/coverage.out")
		p := loadPlan(t, "quickstart.yaml", map[string]string{"baseURL": demo.URL(), "coverage": profile})
		id := startRun(t, c, p, "quickstart-replay", true)
		res := finish(t, c, id)
		return append([]string{id}, phaseIDs(id, res, p)...)
	}},
	{"approved-by-signal", func(t *testing.T, c client.Client, _ *fakes) []string {
		p := parsePlan(t, `
apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: approvals}
spec:
  phases:
    - name: checks
      tasks:
        - name: sign-off
          uses: checklist
          with: {items: ["runbook reviewed", "on-call briefed"], timeout: 1h}
          gates:
            - {metric: checklist.done_ratio, pass: ">= 100%"}
    - name: release
      needs: [checks]
      approval: {required: true, timeout: 24h, approvers: [alice]}
`)
		id := startRun(t, c, p, "approved-replay", false)
		ctx := context.Background()
		// One item at a time, then the rest; then a decision that does
		// not count (not an approver) before the one that does.
		if err := runs.Confirm(ctx, c, id, workflows.ConfirmSignal{Phase: "checks", Task: "sign-off", Item: "runbook reviewed", By: "bob"}); err != nil {
			t.Fatal(err)
		}
		waitPhase(t, c, id, "checks", plan.StatusRunning)
		if err := runs.Confirm(ctx, c, id, workflows.ConfirmSignal{Phase: "checks", Task: "sign-off", By: "bob"}); err != nil {
			t.Fatal(err)
		}
		waitPhase(t, c, id, "release", plan.StatusWaiting)
		if err := runs.Reject(ctx, c, id, workflows.ApprovalSignal{Phase: "release", By: "mallory", Reason: "no", Via: "chat"}); err != nil {
			t.Fatal(err)
		}
		if err := runs.Approve(ctx, c, id, workflows.ApprovalSignal{Phase: "release", By: "alice", Reason: "checks done"}); err != nil {
			t.Fatal(err)
		}
		res := finish(t, c, id)
		if ph := res.Phase("release"); ph.Status != plan.StatusApproved || ph.Approval.By != "alice" {
			t.Fatalf("release: %+v", ph)
		}
		return append([]string{id}, phaseIDs(id, res, p)...)
	}},
	{"rejected", func(t *testing.T, c client.Client, _ *fakes) []string {
		p := parsePlan(t, `
apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: rejections}
spec:
  phases:
    - name: signoff
      approval: {required: true, timeout: 24h}
    - name: legal
      approval: {required: true, timeout: 2s}
    - name: deploy
      needs: [signoff]
      tasks:
        - name: ship
          uses: command
          with: {argv: ["true"]}
`)
		id := startRun(t, c, p, "rejected-replay", false)
		waitPhase(t, c, id, "signoff", plan.StatusWaiting)
		if err := runs.Reject(context.Background(), c, id, workflows.ApprovalSignal{Phase: "signoff", By: "alice", Reason: "change freeze"}); err != nil {
			t.Fatal(err)
		}
		res := finish(t, c, id)
		if res.Phase("signoff").Status != plan.StatusRejected || !res.Phase("legal").Approval.TimedOut || res.Phase("deploy").Status != plan.StatusSkipped {
			t.Fatalf("phases %+v", res.Phases)
		}
		return []string{id}
	}},
	{"cancelled", func(t *testing.T, c client.Client, f *fakes) []string {
		p := parsePlan(t, `
apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: cancelled}
spec:
  phases:
    - name: drill
      tasks:
        - name: restore
          uses: restore-drill
          timeout: 30m
          with: {storage: .shipshape/backups, database: postgres}
          gates:
            - {metric: drill.verify.mismatches, pass: "== 0", key: true}
    - name: signoff
      approval: {required: true, timeout: 24h}
`)
		id := startRun(t, c, p, cancelRun, false)
		select {
		case <-f.fetching:
		case <-time.After(time.Minute):
			t.Fatal("the drill did not start fetching")
		}
		waitPhase(t, c, id, "signoff", plan.StatusWaiting)
		if err := runs.Cancel(context.Background(), c, id); err != nil {
			t.Fatal(err)
		}
		res := finish(t, c, id)
		if res.Error != "run cancelled" || res.Phase("drill").Status != plan.StatusCancelled {
			t.Fatalf("result %s %q, drill %s", res.Result, res.Error, res.Phase("drill").Status)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "drill"), workflows.TaskWorkflowID(id, "drill", "restore")}
	}},
	{"invalid-plan", func(t *testing.T, c client.Client, _ *fakes) []string {
		// plan.Load refuses a cycle of needs; Readiness refuses it too.
		task := []plan.Task{{Name: "t", Uses: command.Name, With: map[string]any{"argv": []string{"true"}}}}
		p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Metadata: plan.Metadata{Name: "cycle"},
			Spec: plan.Spec{Scoring: plan.Scoring{Pass: 90, Warning: 75}, Phases: []plan.Phase{
				{Name: "a", Needs: []string{"b"}, Tasks: task},
				{Name: "b", Needs: []string{"a"}, Tasks: task},
			}}}
		id := startRun(t, c, p, "invalid-plan-replay", false)
		if _, err := runs.Result(context.Background(), c, id); err == nil || !strings.Contains(err.Error(), "cycle") {
			t.Fatalf("err %v", err)
		}
		return []string{id}
	}},
	{"drill", func(t *testing.T, c client.Client, _ *fakes) []string {
		p := loadPlan(t, "dr-drill.yaml", nil)
		id := startRun(t, c, p, "dr-drill-replay", false)
		res := finish(t, c, id)
		if res.Result != plan.StatusPass {
			t.Fatalf("result %s: %+v", res.Result, res.Phases)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "drill"), workflows.TaskWorkflowID(id, "drill", "restore")}
	}},
	{"drill-window", func(t *testing.T, c client.Client, _ *fakes) []string {
		// keepFor: the verified copy stays up 10s, then teardown.
		p := loadPlan(t, "drill-validation-window.yaml", nil)
		id := startRun(t, c, p, "dr-drill-window-replay", false)
		res := finish(t, c, id)
		if tr := res.Phase("drill").Tasks[0]; res.Result != plan.StatusPass || tr.Metrics["drill.kept"] < 10 {
			t.Fatalf("result %s, drill %v", res.Result, tr.Metrics)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "drill"), workflows.TaskWorkflowID(id, "drill", "restore")}
	}},
	{"drill-window-cancelled", func(t *testing.T, c client.Client, f *fakes) []string {
		// Cancelled during a 1h validation window: teardown at once.
		p := loadPlan(t, "drill-validation-window.yaml", map[string]string{"window": "1h"})
		id := startRun(t, c, p, windowCancelRun, false)
		select {
		case <-f.ready:
		case <-time.After(time.Minute):
			t.Fatal("the drill did not reach its window")
		}
		time.Sleep(time.Second) // into the window's timer
		if err := runs.Cancel(context.Background(), c, id); err != nil {
			t.Fatal(err)
		}
		res := finish(t, c, id)
		if tr := res.Phase("drill").Tasks[0]; tr.Status != plan.StatusCancelled {
			t.Fatalf("drill task %s: %q", tr.Status, tr.Output)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "drill"), workflows.TaskWorkflowID(id, "drill", "restore")}
	}},
	{"drill-fails", func(t *testing.T, c client.Client, _ *fakes) []string {
		p := loadPlan(t, "dr-drill.yaml", nil)
		id := startRun(t, c, p, drillFailRun, false)
		res := finish(t, c, id)
		if tr := res.Phase("drill").Tasks[0]; tr.Status == plan.StatusPass || !strings.Contains(tr.Output, "torn down") {
			t.Fatalf("drill task %s: %q", tr.Status, tr.Output)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "drill"), workflows.TaskWorkflowID(id, "drill", "restore")}
	}},
	{"secret-rotation", func(t *testing.T, c client.Client, _ *fakes) []string {
		// app-db's test step fails: it rolls back. signing-key is a JWT
		// key: it waits out its overlap (5s) before retiring the old key.
		p := loadPlan(t, "secret-rotation.yaml", nil)
		id := startRun(t, c, p, "secret-rotation-replay", false)
		res := finish(t, c, id)
		rotate := res.Phase("rotate")
		if db, key := rotate.Tasks[0], rotate.Tasks[1]; db.Metrics["rotation.rolled_back"] != 1 || key.Metrics["rotation.overlap"] < 5 {
			t.Fatalf("app-db %v, signing-key %v", db.Metrics, key.Metrics)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "rotate"),
			workflows.TaskWorkflowID(id, "rotate", "app-db"), workflows.TaskWorkflowID(id, "rotate", "signing-key")}
	}},
	{"alert-drill", func(t *testing.T, c client.Client, _ *fakes) []string {
		p := loadPlan(t, "alert-drill.yaml", nil)
		id := startRun(t, c, p, "alert-drill-replay", false)
		res := finish(t, c, id)
		if tr := res.Phase("alerting").Tasks[0]; tr.Status != plan.StatusPass || tr.Metrics["alert.acknowledged"] != 1 {
			t.Fatalf("alert drill %s: %v %q", tr.Status, tr.Metrics, tr.Output)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "alerting"), workflows.TaskWorkflowID(id, "alerting", "page-oncall")}
	}},
	{"metric-watch", func(t *testing.T, c client.Client, _ *fakes) []string {
		p := parsePlan(t, `
apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: watch}
spec:
  phases:
    - name: production
      tasks:
        - name: error-ratio
          uses: metric-watch
          with: {url: "http://127.0.0.1:9090", query: app_error_ratio, mode: watch, duration: 4s, interval: 1s, threshold: "< 5%", unit: ratio}
          gates:
            - {metric: watch.max, pass: "< 5%"}
`)
		id := startRun(t, c, p, "metric-watch-replay", false)
		res := finish(t, c, id)
		if tr := res.Phase("production").Tasks[0]; tr.Status != plan.StatusPass || tr.Metrics["watch.samples"] < 4 {
			t.Fatalf("metric watch %s: %v %q", tr.Status, tr.Metrics, tr.Output)
		}
		return []string{id, workflows.PhaseWorkflowID(id, "production"), workflows.TaskWorkflowID(id, "production", "error-ratio")}
	}},
	{"event-relay", func(t *testing.T, c client.Client, f *fakes) []string {
		// PublishEvents fails for this run's events (NATS down) until the
		// run is over: the run and its phase wait handoffWait each, then
		// hand their events to EventRelay workflows, which deliver them
		// once NATS is back.
		p := parsePlan(t, `
apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: relay}
spec:
  phases:
    - name: ship
      tasks:
        - name: build
          uses: command
          with: {argv: ["true"]}
`)
		id := startRun(t, c, p, relayRun, false)
		finish(t, c, id)
		f.eventsDown.Store(false)
		relays := []string{id + "/events-relay", workflows.PhaseWorkflowID(id, "ship") + "/events-relay"}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for _, r := range relays {
			if err := c.GetWorkflow(ctx, r, "").Get(ctx, nil); err != nil {
				t.Fatalf("relay %s: %v", r, err)
			}
		}
		return append([]string{id, workflows.PhaseWorkflowID(id, "ship")}, relays...)
	}},
}

// TestRecordHistories runs, with -record (make replay-record), a run of
// every kind in recordings on a real dev server, and keeps the histories
// of their workflows for TestReplay: every workflow type, on the paths
// where their histories differ. Activities that need PostgreSQL or
// secrets are fakes; the workflows are the real ones.
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("run with -record (make replay-record) to re-record histories")
	}
	f := newFakes()
	c := devCluster(t, f.register)
	var mu sync.Mutex
	var ids []string
	t.Run("runs", func(t *testing.T) {
		for _, r := range recordings {
			t.Run(r.name, func(t *testing.T) {
				t.Parallel()
				got := r.run(t, c, f)
				mu.Lock()
				ids = append(ids, got...)
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		t.Fatal("not recorded: a run failed")
	}
	slices.Sort(ids)
	histories := map[string][]byte{}
	for _, wid := range ids {
		desc, err := c.DescribeWorkflowExecution(context.Background(), wid, "")
		if err != nil {
			t.Fatal(err)
		}
		if st := desc.GetWorkflowExecutionInfo().GetStatus(); st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("%s is still running", wid)
		}
		data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history(t, c, wid))
		if err != nil {
			t.Fatal(err)
		}
		histories[historyFile(wid)] = data
	}
	old, _ := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	for file, data := range histories {
		if err := os.WriteFile(filepath.Join("testdata", "histories", file), data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s (%d bytes)", file, len(data))
	}
}

// TestHistorySize runs plans of 1,000 tasks on a real dev server and
// reports how many history events each workflow needs per task: Temporal
// refuses a history past 51,200 events (and warns at 10,240).
func TestHistorySize(t *testing.T) {
	noop := func(ctx context.Context, in task.Input) (task.Output, error) {
		return task.Output{Metrics: map[string]float64{"ok": 1}}, nil
	}
	c := devCluster(t, func(w registrar, _ taskrun.EventPublisher) {
		w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "noop"})
	})
	for _, shape := range []struct{ phases, tasks int }{{1, 1000}, {10, 100}} {
		t.Run(fmt.Sprintf("%dx%d", shape.phases, shape.tasks), func(t *testing.T) {
			p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Metadata: plan.Metadata{Name: "history-size"},
				Spec: plan.Spec{Scoring: plan.Scoring{Pass: 90, Warning: 75}, Concurrency: 20}}
			for i := range shape.phases {
				ph := plan.Phase{Name: fmt.Sprintf("p%d", i)}
				for j := range shape.tasks {
					ph.Tasks = append(ph.Tasks, plan.Task{Name: fmt.Sprintf("t%d", j), Uses: "noop", Timeout: plan.Duration(time.Minute),
						Gates: []plan.Gate{{Metric: "ok", Pass: plan.Threshold{Op: "==", Value: 1, Text: "== 1"}, Weight: 1}}})
				}
				p.Spec.Phases = append(p.Spec.Phases, ph)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			id, err := runs.Start(ctx, c, p, runs.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := runs.Result(ctx, c, id)
			if err != nil {
				t.Fatal(err)
			}
			if res.Result != plan.StatusPass || res.Score != 100 {
				t.Fatalf("result %s score %v", res.Result, res.Score)
			}
			parent := len(history(t, c, id).Events)
			largest := 0
			for _, ph := range p.Spec.Phases {
				largest = max(largest, len(history(t, c, workflows.PhaseWorkflowID(id, ph.Name)).Events))
			}
			perTask := float64(largest) / float64(shape.tasks)
			t.Logf("%d phases × %d tasks in %s: run history %d events; largest phase history %d events (%.1f per task)",
				shape.phases, shape.tasks, time.Since(start).Round(time.Millisecond), parent, largest, perTask)
			if largest > 10240 || parent > 10240 {
				t.Errorf("a history passed Temporal's warning limit of 10,240 events")
			}
		})
	}
}
