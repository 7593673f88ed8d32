//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/internal/promtest"
	"github.com/shipshape-dev/shipshape/plan"
)

// The fault campaign (issue: "prove it survives"): real processes on
// loopback — the Temporal dev server, NATS with JetStream on disk, the
// worker binary — and a plan whose side effects can be counted: command
// tasks that append "start" and "end" lines to a file. Each scenario runs
// SHIPSHAPE_CHAOS_RUNS runs (3 in CI, 20 with `make chaos`), each with a
// fault at a random moment, and prints one line of figures; the test fails
// when a promise is broken. docs/reliability.md records the figures.

// chaosPlan: three command tasks of 2.5 s, one attempt each (a lost worker
// is not a task that failed: the engine starts the task again anyway), a
// 2 s heartbeat so a lost worker is noticed quickly, then an HTTP check.
// The log file comes through env, never into the script.
const chaosPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: chaos}
spec:
  vars: {log: /dev/null, url: "http://127.0.0.1:1", source: "", storage: ""}
  allowedHosts: [127.0.0.1]
  phases:
    - name: build
      tasks:
%s    - name: package
      needs: [build]
      tasks:
%s        - name: backup
          uses: backup
          with: {source: "${vars.source}", storage: "${vars.storage}", keep: 100}
          heartbeat: 2s
          gates: [{metric: backup.size, pass: "> 0"}]
    - name: check
      needs: [package]
      tasks:
        - name: health
          uses: http-check
          with: {url: "${vars.url}/health"}
          gates: [{metric: http.status, pass: "== 200"}]
`

const chaosTask = `        - name: step-%d
          uses: command
          with:
            shell: true
            argv: ['echo "start $TASK $$" >> "$LOG"; sleep 2.5; echo "end $TASK $$" >> "$LOG"']
            env: {LOG: "${vars.log}", TASK: "step-%d"}
          heartbeat: 2s
          gates: [{metric: command.exit_code, pass: "== 0"}]
`

func chaosRuns() int {
	if n, err := strconv.Atoi(os.Getenv("SHIPSHAPE_CHAOS_RUNS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// chaosTasks are the command tasks of the chaos plan: three in the build
// phase, one in the package phase.
const chaosTasks = 4

func chaosPlanFile(t *testing.T) string {
	var build, pkg strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&build, chaosTask, i, i)
	}
	fmt.Fprintf(&pkg, chaosTask, 4, 4)
	return writePlan(t, fmt.Sprintf(chaosPlan, build.String(), pkg.String()))
}

// chaosSource and chaosStorage are the database the chaos plan backs up
// and the directory its backups go to (set by chaosCluster).
var chaosSource, chaosStorage string

// chaosCluster starts the cluster and the PostgreSQL database the chaos
// plan's backup task backs up.
func chaosCluster(t *testing.T) *cluster {
	pg := pgtest.Start(t, "test/chaos")
	chaosSource = pgtest.CreateDB(t, pg, "app")
	pgtest.Seed(t, chaosSource, 1)
	chaosStorage = t.TempDir()
	return startCluster(t)
}

// backups counts the complete backups of a run's backup task: the backup
// task promises exactly one (effectively once).
func backups(t *testing.T, runID string) int {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(chaosStorage, "app", "*", "manifest.json"))
	n := 0
	for _, f := range dirs {
		data, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(data), `"`+runID+`"`) {
			n++
		}
	}
	return n
}

// chaosOutcome is what one run of the campaign is judged by.
type chaosOutcome struct {
	result     plan.RunResult
	events     []events.Event
	log        string
	logFile    string
	wall       time.Duration
	faultToEnd time.Duration
}

// runChaos starts one run of the chaos plan, calls fault (if any) at a
// random moment while it runs, and waits for its report.
func runChaos(t *testing.T, c *cluster, file, runID string, span time.Duration, fault func()) chaosOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	logFile := filepath.Join(t.TempDir(), runID+".log")
	start := time.Now()
	r := starter(t, ctx, append([]string{"run", "--detach", "--run-id", runID,
		"--set", "vars.log=" + logFile, "--set", "vars.url=" + c.demo.URL(),
		"--set", "vars.source=" + chaosSource, "--set", "vars.storage=" + chaosStorage}, c.args(file)...)...)
	if r.code != 0 {
		t.Fatalf("start %s: %s", runID, r.stderr)
	}
	var faultAt time.Time
	if fault != nil {
		// A random moment while the run works: its span is how long an
		// undisturbed run took from start to finish.
		time.Sleep(200*time.Millisecond + time.Duration(rand.Int64N(int64(max(span, time.Second)*9/10))))
		faultAt = time.Now()
		fault()
	}
	rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(runID)...)...)
	var out chaosOutcome
	if err := json.Unmarshal([]byte(rep.stdout), &out.result); err != nil {
		t.Fatalf("report %s: %v\n%s", runID, err, rep.stderr)
	}
	out.wall = time.Since(start)
	if !faultAt.IsZero() && out.result.FinishedAt.After(faultAt) {
		out.faultToEnd = out.result.FinishedAt.Sub(faultAt)
	}
	data, _ := os.ReadFile(logFile)
	out.log, out.logFile = string(data), logFile
	out.events = consume(t, c.natsURL(), runID)
	return out
}

// verdict is a run's outcome reduced to what must not change: the result,
// the score, every task's status and every gate's status.
func verdict(r plan.RunResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %.1f", r.Result, r.Score)
	for _, ph := range r.Phases {
		for _, tr := range ph.Tasks {
			fmt.Fprintf(&b, " %s/%s=%s", ph.Name, tr.Name, tr.Status)
			for _, g := range tr.Gates {
				fmt.Fprintf(&b, ",%s:%s", g.Metric, g.Status)
			}
		}
	}
	return b.String()
}

// sideEffects checks the command tasks' promise: each finished exactly
// once, and no attempt ran beside another (a killed attempt never wrote its
// "end" line). It returns how many attempts were repeated.
func sideEffects(t *testing.T, runID, log string) (repeated int) {
	t.Helper()
	starts, ends := map[string]int{}, map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		switch f[0] {
		case "start":
			starts[f[1]]++
		case "end":
			ends[f[1]]++
		}
	}
	for i := 1; i <= chaosTasks; i++ {
		task := fmt.Sprintf("step-%d", i)
		if ends[task] != 1 {
			t.Errorf("%s: %s finished %d times, want exactly once (log:\n%s)", runID, task, ends[task], log)
		}
		repeated += starts[task] - 1
	}
	return repeated
}

// lostOrDoubled compares a run's lifecycle events with an undisturbed
// run's: the same count, no duplicate IDs, per-lane sequences without gaps.
func lostOrDoubled(t *testing.T, runID string, evs []events.Event, want int) (lost, dup int) {
	t.Helper()
	seen := map[string]bool{}
	lanes := map[string][]int64{}
	for _, e := range evs {
		if seen[e.ID] {
			dup++
		}
		seen[e.ID] = true
		if e.Type != events.TaskProgress {
			lane := e.ID[:strings.LastIndex(e.ID, "/")]
			lanes[lane] = append(lanes[lane], e.Sequence)
		}
	}
	for lane, seqs := range lanes {
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Errorf("%s: lane %s has sequence %v: a gap", runID, lane, seqs)
				lost++
				break
			}
		}
	}
	if got := len(lifecycle(evs)); got < want {
		lost += want - got
	}
	return lost, dup
}

// orphans counts processes still running with the run's log file in their
// environment: command attempts a killed worker left behind.
func orphans(log string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(data), "LOG="+log) {
			n++
		}
	}
	return n
}

func p50(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestChaosWorkerKilled: the worker is SIGKILLed at a random moment of each
// run and started again. Every run completes with the result of an
// undisturbed run, every command task finishes exactly once and never runs
// beside a copy of itself, no event is lost or doubled, nothing is left
// running.
func TestChaosWorkerKilled(t *testing.T) {
	c := chaosCluster(t)
	file := chaosPlanFile(t)
	base := runChaos(t, c, file, "chaos-base", 0, nil)
	span := base.result.FinishedAt.Sub(base.result.StartedAt)
	want := verdict(base.result)
	wantEvents := len(lifecycle(base.events))
	if base.result.Result != plan.StatusPass {
		t.Fatalf("undisturbed run: %s", want)
	}
	runs := chaosRuns()
	complete, identical, repeated, lostEvents, dupEvents, left, hit, extraBackups := 0, 0, 0, 0, 0, 0, 0, 0
	var resume []time.Duration
	for i := range runs {
		runID := fmt.Sprintf("chaos-kill-%d", i)
		out := runChaos(t, c, file, runID, span, func() {
			_ = c.worker.Process.Signal(syscall.SIGKILL)
			_ = c.worker.Wait()
			c.startWorker(t)
		})
		if out.result.Result != "" {
			complete++
		}
		if got := verdict(out.result); got == want {
			identical++
		} else {
			t.Errorf("%s: %s, want %s as undisturbed", runID, got, want)
		}
		if n := backups(t, runID); n != 1 {
			t.Errorf("%s: %d backups stored by its backup task, want exactly 1", runID, n)
			extraBackups += n - 1
		}
		r := sideEffects(t, runID, out.log)
		repeated += r
		if r > 0 {
			hit++
		}
		lost, dup := lostOrDoubled(t, runID, out.events, wantEvents)
		lostEvents += lost
		dupEvents += dup
		time.Sleep(500 * time.Millisecond) // a killed attempt's pending sleep ends
		left += orphans(out.logFile)
		if out.faultToEnd > 0 {
			resume = append(resume, out.faultToEnd)
		}
	}
	line := fmt.Sprintf("worker-kill: runs %d/%d complete, identical %d/%d, killed mid-command %d/%d, repeated attempts %d, extra backups %d, duplicate events %d, lost events %d, orphans %d, fault to finish p50 %s (undisturbed run %s)",
		complete, runs, identical, runs, hit, runs, repeated, extraBackups, dupEvents, lostEvents, left, p50(resume).Round(100*time.Millisecond), span.Round(100*time.Millisecond))
	t.Log(line)
	fmt.Println(line)
	if dupEvents > 0 || lostEvents > 0 || left > 0 || extraBackups != 0 {
		t.Errorf("a promise broke: %s", line)
	}
}

// TestChaosNATSKilled: NATS stops at a random moment of each run and comes
// back a few seconds later on the same store. Every run completes with the
// undisturbed result; afterwards the stream holds every event exactly once,
// each lane's sequence without a gap.
func TestChaosNATSKilled(t *testing.T) {
	c := chaosCluster(t)
	file := chaosPlanFile(t)
	base := runChaos(t, c, file, "chaos-nats-base", 0, nil)
	span := base.result.FinishedAt.Sub(base.result.StartedAt)
	want := verdict(base.result)
	wantEvents := len(lifecycle(base.events))
	runs := chaosRuns()
	complete, identical, lostEvents, dupEvents := 0, 0, 0, 0
	for i := range runs {
		runID := fmt.Sprintf("chaos-nats-%d", i)
		out := runChaos(t, c, file, runID, span, func() {
			c.nats.Shutdown()
			c.nats.WaitForShutdown()
			time.Sleep(time.Duration(1000+rand.IntN(3000)) * time.Millisecond)
			c.startNATS(t)
		})
		if out.result.Result != "" {
			complete++
		}
		if got := verdict(out.result); got == want {
			identical++
		} else {
			t.Errorf("%s: %s, want %s as undisturbed", runID, got, want)
		}
		// Events delivered while NATS was down arrive through the relay:
		// give it a moment, then read again.
		deadline := time.Now().Add(30 * time.Second)
		for len(lifecycle(out.events)) < wantEvents && time.Now().Before(deadline) {
			time.Sleep(time.Second)
			out.events = consume(t, c.natsURL(), runID)
		}
		lost, dup := lostOrDoubled(t, runID, out.events, wantEvents)
		lostEvents += lost
		dupEvents += dup
	}
	line := fmt.Sprintf("nats-kill: runs %d/%d complete, identical %d/%d, duplicate events %d, lost events %d",
		complete, runs, identical, runs, dupEvents, lostEvents)
	t.Log(line)
	fmt.Println(line)
	if dupEvents > 0 || lostEvents > 0 || identical < runs {
		t.Errorf("a promise broke: %s", line)
	}
}

// TestChaosWorkerTerminated: the worker gets SIGTERM at a random moment of
// each run and is started again once it has stopped. It stops polling and
// lets in-flight activities finish (--stop-timeout 5s is longer than any
// task of the plan), so nothing runs twice: every run completes with the
// undisturbed result and no attempt is repeated.
func TestChaosWorkerTerminated(t *testing.T) {
	c := chaosCluster(t)
	file := chaosPlanFile(t)
	base := runChaos(t, c, file, "chaos-term-base", 0, nil)
	span := base.result.FinishedAt.Sub(base.result.StartedAt)
	want := verdict(base.result)
	wantEvents := len(lifecycle(base.events))
	runs := chaosRuns()
	identical, repeated, lostEvents, dupEvents, extraBackups := 0, 0, 0, 0, 0
	for i := range runs {
		runID := fmt.Sprintf("chaos-term-%d", i)
		out := runChaos(t, c, file, runID, span, func() {
			_ = c.worker.Process.Signal(syscall.SIGTERM)
			_ = c.worker.Wait()
			c.startWorker(t)
		})
		if got := verdict(out.result); got == want {
			identical++
		} else {
			t.Errorf("%s: %s, want %s as undisturbed", runID, got, want)
		}
		if n := backups(t, runID); n != 1 {
			extraBackups += n - 1
		}
		repeated += sideEffects(t, runID, out.log)
		lost, dup := lostOrDoubled(t, runID, out.events, wantEvents)
		lostEvents += lost
		dupEvents += dup
	}
	line := fmt.Sprintf("worker-term: runs %d, identical %d/%d, repeated attempts %d, extra backups %d, duplicate events %d, lost events %d",
		runs, identical, runs, repeated, extraBackups, dupEvents, lostEvents)
	t.Log(line)
	fmt.Println(line)
	if repeated > 0 || dupEvents > 0 || lostEvents > 0 || extraBackups != 0 || identical < runs {
		t.Errorf("a promise broke: %s", line)
	}
}

// TestChaosTemporalKilled: the Temporal dev server is SIGKILLed at a random
// moment of each run and started again on the same port and database.
// The worker and the starter reconnect and every run finishes with the
// undisturbed result.
func TestChaosTemporalKilled(t *testing.T) {
	port := freeAddr(t)[len("127.0.0.1:"):]
	opts := devenv.TemporalOptions{DBFile: filepath.Join(t.TempDir(), "temporal.db")}
	opts.Port, _ = strconv.Atoi(port)
	pg := pgtest.Start(t, "test/chaos-temporal")
	chaosSource = pgtest.CreateDB(t, pg, "app")
	pgtest.Seed(t, chaosSource, 1)
	chaosStorage = t.TempDir()
	c := startClusterWith(t, opts)
	file := chaosPlanFile(t)
	base := runChaos(t, c, file, "chaos-temporal-base", 0, nil)
	span := base.result.FinishedAt.Sub(base.result.StartedAt)
	want := verdict(base.result)
	runs := chaosRuns()
	identical, dupEvents := 0, 0
	for i := range runs {
		runID := fmt.Sprintf("chaos-temporal-%d", i)
		out := runChaos(t, c, file, runID, span, func() { killTemporal(t, c, opts) })
		if got := verdict(out.result); got == want {
			identical++
		} else {
			t.Errorf("%s: %s, want %s as undisturbed", runID, got, want)
		}
		_, dup := lostOrDoubled(t, runID, out.events, 0)
		dupEvents += dup
	}
	line := fmt.Sprintf("temporal-kill: runs %d, identical %d/%d, duplicate events %d", runs, identical, runs, dupEvents)
	t.Log(line)
	fmt.Println(line)
	if dupEvents > 0 || identical < runs {
		t.Errorf("a promise broke: %s", line)
	}
}

// scalePlan: ten HTTP checks in two phases.
const scalePlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: scale}
spec:
  vars: {url: "http://127.0.0.1:1"}
  allowedHosts: [127.0.0.1]
  concurrency: 5
  phases:
    - name: one
      tasks:
%s    - name: two
      needs: [one]
      tasks:
%s`

// TestChaosScale: many concurrent runs of a 10-task plan on three workers,
// one of them SIGKILLed once half the runs have finished. Every run
// completes and passes; the wall time and the surviving workers' peak
// memory are the figures.
func TestChaosScale(t *testing.T) {
	runs := 30
	if chaosRuns() >= 20 {
		runs = 100
	}
	c := startCluster(t)
	var one, two strings.Builder
	for i := range 5 {
		fmt.Fprintf(&one, "        - {name: a%d, uses: http-check, heartbeat: 2s, with: {url: \"${vars.url}/health\"}, gates: [{metric: http.status, pass: \"== 200\"}]}\n", i)
		fmt.Fprintf(&two, "        - {name: b%d, uses: http-check, heartbeat: 2s, with: {url: \"${vars.url}/health\"}, gates: [{metric: http.status, pass: \"== 200\"}]}\n", i)
	}
	file := writePlan(t, fmt.Sprintf(scalePlan, one.String(), two.String()))
	var extra []*exec.Cmd
	for range 2 {
		cmd := exec.Command(workerBin, "--temporal-address", c.temporal.Address(), "--nats-url", c.natsURL(), "--stop-timeout", "5s", "--codec-keys", c.keys)
		cmd.Stdout, cmd.Stderr = c.logs, c.logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		extra = append(extra, cmd)
		t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	ids := make([]string, runs)
	for i := range runs {
		ids[i] = fmt.Sprintf("scale-%d", i)
		if r := starter(t, ctx, append([]string{"run", "--detach", "--run-id", ids[i], "--set", "vars.url=" + c.demo.URL()}, c.args(file)...)...); r.code != 0 {
			t.Fatalf("start %s: %s", ids[i], r.stderr)
		}
	}
	passed, killed := 0, false
	for i, id := range ids {
		if !killed && i >= runs/2 {
			_ = extra[0].Process.Signal(syscall.SIGKILL)
			_ = extra[0].Wait()
			killed = true
		}
		rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(id)...)...)
		var res plan.RunResult
		if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil {
			t.Fatalf("report %s: %v\n%s", id, err, rep.stderr)
		}
		if res.Result == plan.StatusPass {
			passed++
		} else {
			t.Errorf("%s: %s", id, verdict(res))
		}
	}
	wall := time.Since(start)
	peak := 0
	for _, p := range []int{c.worker.Process.Pid, extra[1].Process.Pid} {
		peak = max(peak, peakRSS(p))
	}
	line := fmt.Sprintf("scale: %d concurrent runs of 10 tasks on 3 workers, one killed halfway: %d/%d passed in %s, surviving workers' peak memory %d MiB",
		runs, passed, runs, wall.Round(100*time.Millisecond), peak>>10)
	t.Log(line)
	fmt.Println(line)
}

// peakRSS is a process's peak resident memory in KiB (VmHWM), 0 when
// unknown.
func peakRSS(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

const watchPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: chaos-watch}
spec:
  vars: {prometheus: ""}
  phases:
    - name: production
      tasks:
        - name: error-ratio
          uses: metric-watch
          timeout: 5m
          with:
            url: "${vars.prometheus}"
            query: 'sum(rate(http_requests_total{code="500"}[5s])) / sum(rate(http_requests_total[5s]))'
            mode: watch
            interval: 1s
            duration: 12s
            queryTimeout: 2s
            threshold: "< 1%"
            unit: ratio
          gates:
            - {metric: watch.max, pass: "< 1%"}
            - {metric: watch.query_errors, pass: "== 0"}
`

// TestChaosWatchWorkerKilled: the only worker is SIGKILLed at a random
// moment of a 12-second metric watch against a real Prometheus, and
// started again. The watch resumes from its history: it passes, as
// undisturbed, with no query error (a sample lost with the worker is taken
// again by the next), its samples are the ones before the kill and after,
// none twice (the series' slots strictly increase), and slots the watch
// could not run in are skipped, not sampled after the fact.
func TestChaosWatchWorkerKilled(t *testing.T) {
	prom := watchPrometheus(t)
	c := startCluster(t)
	file := writePlan(t, watchPlan)
	for i := range chaosRuns() {
		runWatchWithFault(t, c, file, prom, fmt.Sprintf("chaos-watch-%d", i), func() {
			_ = c.worker.Process.Signal(syscall.SIGKILL)
			_ = c.worker.Wait()
			c.startWorker(t)
		})
	}
}

// killTemporal SIGKILLs c's Temporal dev server and starts it again on
// the same port and database.
func killTemporal(t *testing.T, c *cluster, opts devenv.TemporalOptions) {
	t.Helper()
	if err := syscall.Kill(c.temporal.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.temporal.Stop() // reaps the killed process
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.CLI = temporalCLI(t)
	restarted, err := devenv.StartTemporal(ctx, opts)
	if err != nil {
		t.Fatalf("restart temporal: %v", err)
	}
	c.temporal = restarted
}

// TestChaosWatchTemporalKilled: the Temporal dev server is SIGKILLed at a
// random moment of the same watch and started again on its port and
// database. The watch's timers and samples live in its history, so it
// resumes and passes as undisturbed, each slot sampled at most once.
func TestChaosWatchTemporalKilled(t *testing.T) {
	prom := watchPrometheus(t)
	port := freeAddr(t)[len("127.0.0.1:"):]
	opts := devenv.TemporalOptions{DBFile: filepath.Join(t.TempDir(), "temporal.db")}
	opts.Port, _ = strconv.Atoi(port)
	c := startClusterWith(t, opts)
	file := writePlan(t, watchPlan)
	for i := range chaosRuns() {
		runWatchWithFault(t, c, file, prom, fmt.Sprintf("chaos-watch-temporal-%d", i), func() { killTemporal(t, c, opts) })
	}
}

// watchPrometheus is a real Prometheus scraping an exporter whose error
// ratio stays at 0.01 %, its 5 s rate ready.
func watchPrometheus(t *testing.T) *promtest.Server {
	exp := promtest.NewExporter(t)
	exp.Traffic(t, map[string]float64{`http_requests_total{code="200"}`: 9999, `http_requests_total{code="500"}`: 1})
	prom := promtest.Start(t, exp.URL)
	prom.WaitFor(t, "http_requests_total")
	time.Sleep(6 * time.Second) // the 5s rate has points
	return prom
}

// runWatchWithFault starts watchPlan, injects fault 2 to 10 s into its
// 12 s watch, and checks the run ends as undisturbed: passed, no query
// error, one point per sample, slots strictly increasing.
func runWatchWithFault(t *testing.T, c *cluster, file string, prom *promtest.Server, runID string, fault func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r := starter(t, ctx, append([]string{"run", "--detach", "--run-id", runID, "--set", "vars.prometheus=" + prom.URL}, c.args(file)...)...)
	if r.code != 0 {
		t.Fatalf("start %s: %s", runID, r.stderr)
	}
	time.Sleep(2*time.Second + time.Duration(rand.Int64N(int64(8*time.Second))))
	fault()
	rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(runID)...)...)
	var res plan.RunResult
	if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil {
		t.Fatalf("report %s: %v\n%s", runID, err, rep.stderr)
	}
	tr := res.Task("production", "error-ratio")
	if res.Result != plan.StatusPass || tr == nil {
		t.Errorf("%s: result %s, task %+v: want pass as undisturbed", runID, res.Result, tr)
		return
	}
	m := tr.Metrics
	if m["watch.query_errors"] != 0 || m["watch.samples"] < 3 || m["watch.samples"] > 13 {
		t.Errorf("%s: metrics %v", runID, m)
	}
	if len(tr.Series) != 1 || len(tr.Series[0].X) != int(m["watch.samples"]) {
		t.Errorf("%s: series %+v, want one point per sample", runID, tr.Series)
		return
	}
	xs := tr.Series[0].X
	for j := 1; j < len(xs); j++ {
		if xs[j] <= xs[j-1] {
			t.Errorf("%s: slot %v sampled after %v: a sample twice or out of order", runID, xs[j], xs[j-1])
		}
	}
	t.Logf("%s: %v samples of 13 slots, query errors %v", runID, m["watch.samples"], m["watch.query_errors"])
}
