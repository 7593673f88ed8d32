//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/plan"
)

const approvalPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: %s}
spec:
  vars: {url: "http://127.0.0.1:1"}
  phases:
    - name: smoke
      tasks:
        - name: health
          uses: http-check
          with: {url: "${vars.url}/health"}
          gates: [{metric: http.status, pass: "== 200"}]
    - name: go-live
      needs: [smoke]
      approval: {required: true, timeout: 10m}
`

// waitPhase polls `starter status --json` until a phase has the status.
func waitPhase(t *testing.T, ctx context.Context, c *cluster, runID, phase string, want plan.Status) {
	t.Helper()
	for {
		r := starter(t, ctx, append([]string{"status", "--json"}, c.args(runID)...)...)
		var res plan.RunResult
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &res) == nil {
			if ph := res.Phase(phase); ph != nil && ph.Status == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("phase %s of %s never became %s; last status:\n%s%s", phase, runID, want, r.stdout, r.stderr)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// TestApprovalByCommand starts a run detached, approves and rejects its
// gated phase with `starter approve|reject`, and gates on `starter report`.
func TestApprovalByCommand(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		decision string
		want     plan.Status
	}{{"approve", plan.StatusPass}, {"reject", plan.StatusFail}} {
		t.Run(tc.decision, func(t *testing.T) {
			planFile := writePlan(t, fmt.Sprintf(approvalPlan, "approval-"+tc.decision))
			r := starter(t, ctx, append([]string{"run", "--detach", "--set", "vars.url=" + c.demo.URL()}, c.args(planFile)...)...)
			if r.code != 0 {
				t.Fatalf("start: exit %d\n%s", r.code, r.stderr)
			}
			runID := strings.TrimSpace(r.stdout)
			waitPhase(t, ctx, c, runID, "go-live", plan.StatusWaiting)

			// A decision for a phase that is not waiting is refused.
			bad := starter(t, ctx, append([]string{tc.decision, "--phase", "smoke", "--by", "alice", "--reason", "x"}, c.args(runID)...)...)
			if bad.code == 0 || !strings.Contains(bad.stderr, "not waiting") {
				t.Errorf("decision on a finished phase: exit %d, stderr %q", bad.code, bad.stderr)
			}
			d := starter(t, ctx, append([]string{tc.decision, "--phase", "go-live", "--by", "alice", "--reason", "change window open"}, c.args(runID)...)...)
			if d.code != 0 {
				t.Fatalf("%s: exit %d\n%s", tc.decision, d.code, d.stderr)
			}
			waitPhase(t, ctx, c, runID, "go-live", map[string]plan.Status{"approve": plan.StatusApproved, "reject": plan.StatusRejected}[tc.decision])
			rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(runID)...)...)
			var res plan.RunResult
			if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil {
				t.Fatalf("report: %v\n%s", err, rep.stderr)
			}
			ap := res.Phase("go-live").Approval
			if res.Result != tc.want || ap == nil || ap.By != "alice" || ap.Reason != "change window open" {
				t.Errorf("result %s approval %+v, want %s by alice", res.Result, ap, tc.want)
			}
		})
	}
}

const slowPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: %s}
spec:
  phases:
    - name: work
      tasks:
        - name: slow
          uses: command
          with: {argv: ["sh", "-c", "sleep 4; echo done"]}
          heartbeat: 2s
          retry: {maxAttempts: 3, initialInterval: 1s}
          gates: [{metric: command.exit_code, pass: "== 0"}]
    - name: after
      needs: [work]
      tasks:
        - name: quick
          uses: command
          with: {argv: ["true"]}
          gates: [{metric: command.exit_code, pass: "== 0"}]
`

// TestNATSOutageMidRun stops NATS while a run is in progress: the run goes
// on, and once NATS is back every event is in the stream exactly once.
func TestNATSOutageMidRun(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := starter(t, ctx, append([]string{"run", "--detach"}, c.args(writePlan(t, fmt.Sprintf(slowPlan, "nats-outage")))...)...)
	if r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}
	runID := strings.TrimSpace(r.stdout)
	waitPhase(t, ctx, c, runID, "work", plan.StatusRunning)
	c.nats.Shutdown()
	c.nats.WaitForShutdown()
	// The run finishes while NATS is down.
	waitPhase(t, ctx, c, runID, "after", plan.StatusPass)
	c.startNATS(t)
	var evs []events.Event
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		evs = poll(t, c.natsURL(), runID)
		if len(evs) > 0 && evs[len(evs)-1].Type == events.RunFinished {
			break
		}
		time.Sleep(time.Second)
	}
	assertNoDuplicates(t, evs)
	evs = lifecycle(evs)
	// run.started, run.finished, and per phase: phase.started, task.started,
	// gate.evaluated, task.finished, phase.finished.
	want := 2 + 2*5
	if len(evs) != want {
		t.Fatalf("%d events after the outage, want %d:\n%s", len(evs), want, strings.Join(sequence(evs), "\n"))
	}
}

// TestWorkerKilledMidTask kills the worker with SIGKILL while a task runs;
// a new worker picks the run up: the task is retried after its heartbeat
// times out, and the run completes without losing or duplicating events.
func TestWorkerKilledMidTask(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := starter(t, ctx, append([]string{"run", "--detach"}, c.args(writePlan(t, fmt.Sprintf(slowPlan, "worker-crash")))...)...)
	if r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}
	runID := strings.TrimSpace(r.stdout)
	waitPhase(t, ctx, c, runID, "work", plan.StatusRunning)
	time.Sleep(time.Second) // the task is running
	_ = c.worker.Process.Signal(syscall.SIGKILL)
	_ = c.worker.Wait()
	c.startWorker(t)
	rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(runID)...)...)
	var res plan.RunResult
	if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil {
		t.Fatalf("report: %v\n%s", err, rep.stderr)
	}
	tr := res.Task("work", "slow")
	if res.Result != plan.StatusPass || tr == nil || tr.Attempts < 2 {
		t.Errorf("result %s, slow task %+v: want pass after a retry", res.Result, tr)
	}
	all := consume(t, c.natsURL(), runID)
	assertNoDuplicates(t, all)
	evs := lifecycle(all)
	if len(evs) != 12 {
		t.Errorf("%d events, want 12:\n%s", len(evs), strings.Join(sequence(evs), "\n"))
	}
}

// lifecycle drops task.progress events: they are best effort (published
// by the activity, skipped while NATS is down), the others are exact.
func lifecycle(evs []events.Event) []events.Event {
	var out []events.Event
	for _, e := range evs {
		if e.Type != events.TaskProgress {
			out = append(out, e)
		}
	}
	return out
}

// TestTemporalKilledMidRun kills the Temporal server (SIGKILL) while a task
// runs and starts it again on the same port and state file: the worker and
// the following `starter run` reconnect, the run completes, and its events
// are in the stream exactly once.
func TestTemporalKilledMidRun(t *testing.T) {
	port := freeAddr(t)[len("127.0.0.1:"):]
	opts := devenv.TemporalOptions{DBFile: filepath.Join(t.TempDir(), "temporal.db")}
	opts.Port, _ = strconv.Atoi(port)
	c := startClusterWith(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- starter(t, ctx, append([]string{"run", "--run-id", "temporal-crash-1", "--report-dir", t.TempDir()},
			c.args(writePlan(t, fmt.Sprintf(slowPlan, "temporal-crash")))...)...)
	}()
	waitPhase(t, ctx, c, "temporal-crash-1", "work", plan.StatusRunning)
	time.Sleep(time.Second) // the task is running
	if err := syscall.Kill(c.temporal.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.temporal.Stop() // reaps the killed process
	time.Sleep(2 * time.Second)
	opts.CLI = temporalCLI(t)
	restarted, err := devenv.StartTemporal(ctx, opts)
	if err != nil {
		t.Fatalf("restart temporal: %v", err)
	}
	c.temporal = restarted
	r := <-done
	if r.code != 0 {
		t.Fatalf("starter run across the restart: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	evs := consume(t, c.natsURL(), "temporal-crash-1")
	assertNoDuplicates(t, evs)
	if got := len(lifecycle(evs)); got != 12 {
		t.Errorf("%d events, want 12:\n%s", got, strings.Join(sequence(lifecycle(evs)), "\n"))
	}
}
