// Command orchestration benchmarks Shipshape's engine against a bare
// Temporal program doing the same work. Both run on one Temporal dev
// server (the temporal CLI, one task-queue partition, as `run --dev`
// starts it), in this process, alternating run by run:
//
//   - shipshape: a plan of N http-check tasks, in P phases run one after
//     another, at the plan's concurrency, started as `starter run` starts
//     it (Readiness workflow, encrypted payloads, events on an embedded
//     NATS JetStream) and waited for;
//   - bare: one workflow running the same GETs as activities, phase by
//     phase, with the same concurrency, default data converter, no events.
//
// The difference is what the engine costs: phase and task workflows,
// events, scoring, the codec. It prints a Markdown table of medians for
// docs/benchmarks.md.
//
//	go run ./bench/orchestration [-runs 3] [-shapes 1x10,1x1000,10x100]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/internal/codec"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/runs"
)

// shape is a plan's form: phases run one after another, each with tasks.
type shape struct{ phases, tasks int }

func (s shape) String() string { return fmt.Sprintf("%d × %d", s.phases, s.tasks) }

func main() {
	runsFlag := flag.Int("runs", 3, "repetitions of each contender per shape")
	shapes := flag.String("shapes", "1x10,1x1000,10x100", "comma-separated PHASESxTASKS shapes")
	concurrency := flag.Int("concurrency", 4, "tasks of a phase run at once (the plan's spec.concurrency)")
	flag.Parse()
	var list []shape
	for _, s := range strings.Split(*shapes, ",") {
		p, t, ok := strings.Cut(strings.TrimSpace(s), "x")
		np, err1 := strconv.Atoi(p)
		nt, err2 := strconv.Atoi(t)
		if !ok || err1 != nil || err2 != nil || np < 1 || nt < 1 {
			fmt.Fprintf(os.Stderr, "bench/orchestration: shape %q: want PHASESxTASKS, like 10x100\n", s)
			os.Exit(2)
		}
		list = append(list, shape{np, nt})
	}
	if err := run(list, *runsFlag, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "bench/orchestration:", err)
		os.Exit(1)
	}
}

func run(shapes []shape, n, concurrency int) error {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tmp, err := os.MkdirTemp("", "shipshape-bench-orchestration")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// The target: a loopback server answering every GET with 200.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	target := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})}
	go func() { _ = target.Serve(ln) }()
	defer target.Close()
	url := "http://" + ln.Addr().String() + "/"

	ns, err := devenv.StartNATS(devenv.NATSOptions{StoreDir: filepath.Join(tmp, "nats")})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	srv, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{Logger: logger, LogFile: filepath.Join(tmp, "temporal.log")})
	if err != nil {
		return fmt.Errorf("temporal dev server (make temporal builds it): %w", err)
	}
	defer srv.Stop()

	// Shipshape, as run --dev wires it: encrypted payloads, events.
	keys := filepath.Join(tmp, "codec.keys")
	if _, err := codec.EnsureKeyring(keys); err != nil {
		return err
	}
	cfg := host.TemporalConfig{Address: srv.Address(), Namespace: "default", CodecKeys: keys}
	ship, err := cfg.Dial(ctx, logger)
	if err != nil {
		return err
	}
	defer ship.Close()
	events := natsevents.New(natsevents.Config{URL: ns.ClientURL(), Logger: logger})
	if err := events.Init(ctx); err != nil {
		return err
	}
	defer events.Close()
	types := all.Types(all.Config{Logger: logger, Events: events})
	w := host.NewWorker(ship, types, taskrun.Options{Logger: logger, Events: events}, host.WorkerOptions{})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	catalog := all.Catalog()

	// Bare Temporal: its own client and worker, nothing else.
	bare, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: "default", Logger: quiet{}})
	if err != nil {
		return err
	}
	defer bare.Close()
	bw := worker.New(bare, bareQueue, worker.Options{})
	bw.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: "BareGets"})
	bw.RegisterActivityWithOptions(bareGet, activity.RegisterOptions{Name: "BareGet"})
	if err := bw.Start(); err != nil {
		return err
	}
	defer bw.Stop()

	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("Machine: %d CPUs (%s/%s), %s; load average before: %s.\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("Each contender %d times per shape, alternating; concurrency %d; the target is a loopback net/http server answering `ok`.\n\n", n, concurrency)
	fmt.Println("| shape (phases × tasks) | Shipshape | bare Temporal | ratio | runs (Shipshape / bare) |")
	fmt.Println("|---|---|---|---|---|")
	for _, s := range shapes {
		// One warm-up of each, not counted: the first workflow of a
		// kind pays for caches and connections.
		p, err := plan.Parse("bench.yaml", planYAML(s, url, concurrency), catalog, nil)
		if err != nil {
			return fmt.Errorf("bench plan: %w", err)
		}
		if _, err := runShipshape(ctx, ship, p); err != nil {
			return err
		}
		if _, err := runBare(ctx, bare, s, url, concurrency); err != nil {
			return err
		}
		// A run of a few tasks takes tens of milliseconds, where the
		// machine's noise is of the same size: such shapes get more runs.
		k := n
		if s.phases*s.tasks <= 100 {
			k = max(n, 15)
		}
		var a, b []time.Duration
		for range k {
			d, err := runShipshape(ctx, ship, p)
			if err != nil {
				return err
			}
			a = append(a, d)
			if d, err = runBare(ctx, bare, s, url, concurrency); err != nil {
				return err
			}
			b = append(b, d)
		}
		ma, mb := median(a), median(b)
		fmt.Printf("| %s | **%s** | **%s** | **%.2f** | %s / %s |\n", s, secs(ma), secs(mb), ma.Seconds()/mb.Seconds(), list(a), list(b))
	}
	return nil
}

// planYAML is a plan of s's shape: each task one http-check GET.
func planYAML(s shape, url string, concurrency int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: shipshape.dev/v1\nkind: ReadinessPlan\nmetadata: {name: bench-%dx%d}\nspec:\n  concurrency: %d\n  phases:\n", s.phases, s.tasks, concurrency)
	for p := range s.phases {
		fmt.Fprintf(&b, "    - name: p%d\n", p)
		if p > 0 {
			fmt.Fprintf(&b, "      needs: [p%d]\n", p-1)
		}
		b.WriteString("      tasks:\n")
		for t := range s.tasks {
			fmt.Fprintf(&b, "        - {name: t%d, uses: http-check, with: {url: %q}}\n", t, url)
		}
	}
	return []byte(b.String())
}

func runShipshape(ctx context.Context, c client.Client, p *plan.Plan) (time.Duration, error) {
	start := time.Now()
	id, err := runs.Start(ctx, c, p, runs.StartOptions{})
	if err != nil {
		return 0, err
	}
	res, err := runs.Result(ctx, c, id)
	if err != nil {
		return 0, err
	}
	if res.Result != plan.StatusPass {
		return 0, fmt.Errorf("shipshape run %s ended %s: %s", id, res.Result, res.Error)
	}
	return time.Since(start), nil
}

const bareQueue = "bench-bare"

// bareInput is the bare workflow's work.
type bareInput struct {
	Phases, Tasks, Concurrency int
	URL                        string
}

func runBare(ctx context.Context, c client.Client, s shape, url string, concurrency int) (time.Duration, error) {
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: bareQueue}, "BareGets", bareInput{s.phases, s.tasks, concurrency, url})
	if err != nil {
		return 0, err
	}
	if err := run.Get(ctx, nil); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// bareWorkflow runs the GETs phase by phase, at most Concurrency at once.
func bareWorkflow(ctx workflow.Context, in bareInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	for range in.Phases {
		var pending []workflow.Future
		for range in.Tasks {
			if len(pending) == in.Concurrency {
				if err := pending[0].Get(ctx, nil); err != nil {
					return err
				}
				pending = pending[1:]
			}
			pending = append(pending, workflow.ExecuteActivity(ctx, "BareGet", in.URL))
		}
		for _, f := range pending {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// bareGet is the work of the cheapest task type: one GET, its status
// checked, its latency measured.
func bareGet(ctx context.Context, url string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start).Seconds(), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(d time.Duration) string { return seconds(d) + " s" }

// seconds prints d in seconds, to the millisecond under a second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3f", d.Seconds())
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}

func list(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, seconds(d))
	}
	return strings.Join(parts, ", ")
}

// quiet drops the SDK's logs.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
