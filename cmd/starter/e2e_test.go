//go:build integration

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/internal/codec"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/plan"
)

// Binaries built once for every test in this file.
var starterBin, workerBin, repoRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shipshape-e2e")
	if err != nil {
		panic(err)
	}
	repoRoot, _ = filepath.Abs("../..")
	starterBin = filepath.Join(dir, "starter")
	workerBin = filepath.Join(dir, "worker")
	for bin, pkg := range map[string]string{starterBin: "./cmd/starter", workerBin: "./cmd/worker"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func temporalCLI(t *testing.T) string {
	t.Helper()
	cli, err := devenv.FindTemporalCLI()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("temporal CLI needed in CI: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return cli
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type result struct {
	code           int
	stdout, stderr string
}

// starter runs the starter binary from the repository root.
func starter(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, starterBin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "SHIPSHAPE_TEMPORAL_CLI="+temporalCLI(t))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run starter: %v", err)
	}
	return result{code, out.String(), errOut.String()}
}

func readReport(t *testing.T, dir string) plan.RunResult {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r plan.RunResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("report dir lacks %s: %v", f, err)
		}
	}
	return r
}

// consume reads every run event of a run (of every run: "") from the stream.
func consume(t *testing.T, natsURL, runID string) []events.Event {
	t.Helper()
	evs, err := readEvents(t, natsURL, runID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// poll is consume for a test waiting for events of a run it has just
// started: the stream may not exist yet (the worker creates it when it
// first connects), which is "no events yet", not a failure.
func poll(t *testing.T, natsURL, runID string) []events.Event {
	t.Helper()
	evs, err := readEvents(t, natsURL, runID)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func readEvents(t *testing.T, natsURL, runID string) ([]events.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := natsevents.New(natsevents.Config{URL: natsURL, ReadOnly: true})
	if err := c.Init(ctx); err != nil {
		return nil, err
	}
	defer c.Close()
	var got []events.Event
	err := c.Consume(ctx, natsevents.ConsumeOptions{FilterSubject: events.SubjectPrefix + ".run.>"}, func(m natsevents.Message) error {
		var e events.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			return err
		}
		if e.ID != m.MsgID {
			t.Errorf("event %s sent with Nats-Msg-Id %q", e.ID, m.MsgID)
		}
		if runID == "" || e.RunID == runID {
			got = append(got, e)
		}
		return nil
	})
	return got, err
}

func assertNoDuplicates(t *testing.T, evs []events.Event) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.ID] {
			t.Errorf("duplicate event %s (%s)", e.ID, e.Type)
		}
		seen[e.ID] = true
	}
}

func sequence(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		s := e.Type.Short()
		if e.Subject != "" {
			s += " " + e.Subject
		}
		out = append(out, s)
	}
	return out
}

// TestQuickstartDev runs `starter run --dev` on the quickstart plan, the
// README's first command, and checks the report, the exit code, and the
// exact events a JetStream consumer receives afterwards from the stream the
// dev mode left in its state directory.
func TestQuickstartDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	state := t.TempDir()
	out := t.TempDir()
	demo := freeAddr(t)
	res := starter(t, ctx, "run", "--dev", "--approve-all", "--state-dir", state, "--demo-addr", demo,
		"--set", "vars.baseURL=http://"+demo, "--report-dir", out, "examples/plans/quickstart.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	if r.Result != plan.StatusPass {
		t.Errorf("result %s, want pass", r.Result)
	}
	// Weights: coverage 2, lint 1+1, health 1+1, search 1 (warning: half), checklist 1.
	if r.Score != 93.75 {
		t.Errorf("score %v, want 93.75 (7.5 of 8)", r.Score)
	}
	if tr := r.Task("smoke", "search-latency"); tr == nil || tr.Status != plan.StatusWarning {
		t.Errorf("search-latency: %+v, want warning", tr)
	}
	if ph := r.Phase("go-live"); ph == nil || ph.Status != plan.StatusApproved || ph.Approval == nil {
		t.Errorf("go-live: %+v, want approved", ph)
	}

	// The dev mode's NATS is gone with the starter; its JetStream store is
	// not. Open it with a server of our own and read the run's events.
	srv, err := devenv.StartNATS(devenv.NATSOptions{StoreDir: filepath.Join(state, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	evs := consume(t, srv.ClientURL(), r.RunID)
	assertNoDuplicates(t, evs)
	want := []string{
		"run.started",
		"phase.started testing",
		"task.started testing/unit-coverage", "gate.evaluated testing/unit-coverage", "task.finished testing/unit-coverage",
		"task.started testing/lint", "gate.evaluated testing/lint", "gate.evaluated testing/lint", "task.finished testing/lint",
		"phase.finished testing",
		"phase.started smoke",
		"task.started smoke/health", "gate.evaluated smoke/health", "gate.evaluated smoke/health", "task.finished smoke/health",
		"task.started smoke/search-latency", "gate.evaluated smoke/search-latency", "task.finished smoke/search-latency",
		"phase.finished smoke",
		"phase.started release-checklist",
		"task.started release-checklist/sign-off", "gate.evaluated release-checklist/sign-off", "task.finished release-checklist/sign-off",
		"phase.finished release-checklist",
		"phase.started go-live", "approval.requested go-live", "approval.resolved go-live", "phase.finished go-live",
		"run.finished",
	}
	if got := sequence(evs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// `starter events --dev` reads the same store.
	tail := starter(t, ctx, "events", "--dev", "--state-dir", state, "--run", r.RunID, "--json")
	if lines := strings.Count(tail.stdout, "\n"); tail.code != 0 || lines != len(want) {
		t.Errorf("starter events --dev: exit %d, %d events, want %d\n%s", tail.code, lines, len(want), tail.stderr)
	}
	var fin events.RunData
	if err := json.Unmarshal(evs[len(evs)-1].Data, &fin); err != nil || fin.Result != "pass" || fin.Score != 93.75 {
		t.Errorf("run.finished data %+v (%v), want pass 93.75", fin, err)
	}
}

// cluster is a Temporal dev server, a NATS server and a worker process,
// as in production but on loopback.
type cluster struct {
	temporal *devenv.Temporal
	nats     *server.Server
	natsDir  string
	natsPort int
	worker   *exec.Cmd
	demo     *devenv.Demo
	keys     string        // the payload codec keyring, shared by worker and starter
	logs     *lockedBuffer // the worker's output, written while tests read it
	mu       sync.Mutex
}

// lockedBuffer is a bytes.Buffer that a child process's output is copied
// into while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startClusterWith(t, devenv.TemporalOptions{})
}

// startClusterWith starts a cluster whose Temporal server has opts (a
// state file and fixed port, for tests that restart it).
func startClusterWith(t *testing.T, opts devenv.TemporalOptions) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &cluster{natsDir: t.TempDir(), logs: &lockedBuffer{}}
	c.keys = filepath.Join(t.TempDir(), "codec.keys")
	if _, err := codec.EnsureKeyring(c.keys); err != nil {
		t.Fatal(err)
	}
	var err error
	opts.CLI = temporalCLI(t)
	c.temporal, err = devenv.StartTemporal(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.temporal.Stop() })
	c.startNATS(t)
	t.Cleanup(func() { c.nats.Shutdown() })
	if c.demo, err = devenv.StartDemo("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.demo.Close() })
	c.startWorker(t)
	t.Cleanup(func() {
		c.stopWorker()
		if t.Failed() {
			t.Logf("worker log:\n%s", c.logs.String())
		}
	})
	return c
}

func (c *cluster) startNATS(t *testing.T) {
	t.Helper()
	srv, err := devenv.StartNATS(devenv.NATSOptions{StoreDir: c.natsDir, Port: c.natsPort})
	if err != nil {
		t.Fatal(err)
	}
	c.nats = srv
	c.natsPort = srv.Addr().(*net.TCPAddr).Port
}

func (c *cluster) natsURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", c.natsPort) }

func (c *cluster) startWorker(t *testing.T) {
	t.Helper()
	cmd := exec.Command(workerBin, "--temporal-address", c.temporal.Address(), "--nats-url", c.natsURL(), "--stop-timeout", "5s", "--codec-keys", c.keys)
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.worker = cmd
}

// serveWorker replaces c's worker with one serving its HTTP endpoint
// (metrics, health, hooks) on a free address, ready; it returns the base URL.
func (c *cluster) serveWorker(t *testing.T) string {
	t.Helper()
	c.stopWorker()
	addr := freeAddr(t)
	worker := exec.Command(workerBin, c.args("--stop-timeout", "5s", "--metrics-addr", addr)...)
	worker.Stdout, worker.Stderr = c.logs, c.logs
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	c.worker = worker
	base := "http://" + addr
	waitFor(t, 30*time.Second, func() bool { return httpStatus(base+"/readyz") == http.StatusOK })
	return base
}

func (c *cluster) stopWorker() {
	if c.worker != nil && c.worker.ProcessState == nil {
		_ = c.worker.Process.Signal(os.Interrupt)
		_ = c.worker.Wait()
	}
}

func (c *cluster) args(extra ...string) []string {
	return append([]string{"--temporal-address", c.temporal.Address(), "--nats-url", c.natsURL(), "--codec-keys", c.keys}, extra...)
}

func writePlan(t *testing.T, body string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

const gatePlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: %s}
spec:
  vars: {url: "http://127.0.0.1:1"}
  # One gate: a warning earns half its weight, a score of 50.
  scoring: {pass: 90, warning: 50}
  phases:
    - name: check
      tasks:
        - name: probe
          uses: http-check
          with: {url: "${vars.url}", expectStatus: 0, timeout: 5s}
          retry: {maxAttempts: 1}
          gates: [{metric: http.latency, pass: "%s", warning: "%s"}]
`

// TestExitCodes checks the exit codes a release pipeline gates on, with a
// separate worker process, as in production.
func TestExitCodes(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	demo := c.demo.URL()
	cases := []struct {
		name  string
		args  []string
		want  int
		check func(t *testing.T, r result, dir string)
	}{
		{"pass", []string{"--set", "vars.url=" + demo + "/health", writePlan(t, fmt.Sprintf(gatePlan, "exit-pass", "< 5s", "< 10s"))}, 0, nil},
		{"fail", []string{"--set", "vars.url=" + demo + "/slow?ms=50", writePlan(t, fmt.Sprintf(gatePlan, "exit-fail", "< 1ms", "< 2ms"))}, 1, nil},
		{"warning passes by default", []string{"--set", "vars.url=" + demo + "/slow?ms=50", writePlan(t, fmt.Sprintf(gatePlan, "exit-warn", "< 1ms", "< 10s"))}, 0, nil},
		{"warning with --fail-on-warning", []string{"--fail-on-warning", "--set", "vars.url=" + demo + "/slow?ms=50", writePlan(t, fmt.Sprintf(gatePlan, "exit-warn", "< 1ms", "< 10s"))}, 2, nil},
		{"task error fails", []string{writePlan(t, fmt.Sprintf(gatePlan, "exit-error", "< 1s", "< 2s"))}, 1, func(t *testing.T, r result, dir string) {
			rep := readReport(t, dir)
			if tr := rep.Task("check", "probe"); tr == nil || tr.Status != plan.StatusError || tr.Error == "" {
				t.Errorf("probe: %+v, want an error carried in the report", tr)
			}
		}},
		{"invalid plan", []string{writePlan(t, strings.Replace(fmt.Sprintf(gatePlan, "exit-invalid", "< 1mss", "< 2s"), "", "", 1))}, 3, func(t *testing.T, r result, dir string) {
			if !strings.Contains(r.stderr, `plan.yaml:15:`) || !strings.Contains(r.stderr, `phases[0].tasks[0].gates[0].pass: unknown unit "mss"`) {
				t.Errorf("stderr does not locate the error:\n%s", r.stderr)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := starter(t, ctx, append([]string{"run", "--report-dir", dir}, c.args(tc.args...)...)...)
			if r.code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.want, r.stdout, r.stderr)
			}
			if tc.check != nil {
				tc.check(t, r, dir)
			}
		})
	}
	t.Run("infrastructure error", func(t *testing.T) {
		r := starter(t, ctx, "run", "--temporal-address", "127.0.0.1:1", writePlan(t, fmt.Sprintf(gatePlan, "exit-infra", "< 1s", "< 2s")))
		if r.code != 4 {
			t.Fatalf("exit %d, want 4\n%s", r.code, r.stderr)
		}
	})
}
