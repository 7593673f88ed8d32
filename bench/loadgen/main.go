// Command loadgen benchmarks the load generator of the loadtest task type
// (activities/loadtest, the engine the activity runs) against wrk, on one
// loopback HTTP server in a process of its own:
//
//  1. Maximum rate, closed model: wrk with -c connections and our
//     generator with as many users, alternately, several runs each; the
//     median requests per second and p50 latency of each, and the ratios.
//  2. Latency at one connection: the same with a single connection, so
//     neither queues and both measure the same round trip.
//  3. Fixed rate, open model: our generator at -rate for -rate-duration,
//     several runs; the achieved rate against the target.
//
// It prints Markdown, for docs/benchmarks.md. Run it on an idle machine:
//
//	go run ./bench/loadgen [-runs 3] [-duration 10s] [-connections 50] [-rate 2000] [-rate-duration 10s]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/loadtest"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "serve" {
		if err := serve(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 3, "runs of each measurement")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each maximum-rate run")
	flag.IntVar(&cfg.connections, "connections", 50, "wrk connections, and our closed model's users")
	flag.IntVar(&cfg.threads, "threads", 2, "wrk threads")
	flag.Float64Var(&cfg.rate, "rate", 2000, "the fixed open-model rate, per second")
	flag.DurationVar(&cfg.rateDuration, "rate-duration", 10*time.Second, "length of each fixed-rate run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type config struct {
	runs         int
	duration     time.Duration
	connections  int
	threads      int
	rate         float64
	rateDuration time.Duration
}

// sample is what one run measured.
type sample struct {
	rps, p50, p99 float64 // per second; seconds
	requests      float64
	errors        float64
}

func run(ctx context.Context, cfg config, w io.Writer) error {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk not found: apt-get install -y wrk")
	}
	url, stopServer, err := startServer(ctx)
	if err != nil {
		return err
	}
	defer stopServer()

	fmt.Fprintf(w, "Machine: %d CPUs (%s/%s), %s, %s; load average before: %s.\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		runtime.Version(), wrkVersion(wrk), loadAverage())
	fmt.Fprintf(w, "Server: net/http on loopback in its own process, answering `ok` (2 bytes) to GET /.\n\n")

	fmt.Fprintf(w, "### Maximum rate: %d connections (wrk) vs %d users (loadtest, closed model), %s per run\n\n", cfg.connections, cfg.connections, cfg.duration)
	mt, mo, err := compare(ctx, w, wrk, url, cfg, cfg.connections)
	if err != nil {
		return err
	}
	rateRatio := mo.rps / mt.rps
	fmt.Fprintf(w, "Rate: loadtest / wrk = **%.2f** (goal ≥ 0.8: %s).\n\n", rateRatio, verdict(rateRatio >= 0.8))

	// With one connection there is no queue: both measure the same round
	// trip, so this compares what each adds to a latency it reports.
	fmt.Fprintf(w, "### Latency at one connection (wrk -c1 -t1 vs 1 user), %s per run\n\n", cfg.duration)
	single := cfg
	single.connections, single.threads = 1, 1
	if mt, mo, err = compare(ctx, w, wrk, url, single, 1); err != nil {
		return err
	}
	fmt.Fprintf(w, "p50 at one connection: loadtest / wrk = **%.2f** (goal ≤ 1.2: %s).\n\n", mo.p50/mt.p50, verdict(mo.p50/mt.p50 <= 1.2))

	fmt.Fprintf(w, "### Fixed rate: loadtest open model at %s/s for %s\n\n", strconv.FormatFloat(cfg.rate, 'f', -1, 64), cfg.rateDuration)
	fmt.Fprintln(w, "| run | requests | achieved req/s | off target | p50 | p99 | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	var fixed []sample
	for i := range cfg.runs {
		o, err := runOurs(ctx, loadtest.Config{
			Targets: []loadtest.Target{{Method: http.MethodGet, URL: url, Weight: 1}},
			Rate:    cfg.rate, Duration: cfg.rateDuration, Timeout: 30 * time.Second, KeepAlive: true, Workers: 10,
		})
		if err != nil {
			return err
		}
		pause(ctx)
		fixed = append(fixed, o)
		fmt.Fprintf(w, "| %d | %.0f | %.1f | %+.2f %% | %s | %s | %.0f |\n", i+1, o.requests, o.rps, 100*(o.rps-cfg.rate)/cfg.rate, ms(o.p50), ms(o.p99), o.errors)
	}
	mf := median(fixed)
	off := 100 * (mf.rps - cfg.rate) / cfg.rate
	fmt.Fprintf(w, "| **median** | **%.0f** | **%.1f** | **%+.2f %%** | **%s** | **%s** | |\n\n", mf.requests, mf.rps, off, ms(mf.p50), ms(mf.p99))
	fmt.Fprintf(w, "Achieved rate within 1 %% of the target: %s.\n", verdict(off >= -1 && off <= 1))
	return nil
}

// compare runs wrk and the loadtest engine (with its default client, and
// with net/http for reference) alternately, cfg.runs times each, prints a
// table, and returns the medians of wrk and of the default client.
func compare(ctx context.Context, w io.Writer, wrk, url string, cfg config, users int) (sample, sample, error) {
	fmt.Fprintln(w, "| run | wrk req/s | loadtest req/s | loadtest net/http req/s | wrk p50 | loadtest p50 | net/http p50 | wrk p99 | loadtest p99 | net/http p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	var theirs, ours, std []sample
	row := func(label string, t, o, n sample) {
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s |\n", label, t.rps, o.rps, n.rps, ms(t.p50), ms(o.p50), ms(n.p50), ms(t.p99), ms(o.p99), ms(n.p99))
	}
	for i := range cfg.runs {
		t, err := runWrk(ctx, wrk, url, cfg)
		if err != nil {
			return sample{}, sample{}, err
		}
		pause(ctx)
		var o, n sample
		for _, netHTTP := range []bool{false, true} {
			s, err := runOurs(ctx, loadtest.Config{
				Targets: []loadtest.Target{{Method: http.MethodGet, URL: url, Weight: 1}},
				Users:   users, Duration: cfg.duration, Timeout: 30 * time.Second, KeepAlive: true, NetHTTP: netHTTP,
			})
			if err != nil {
				return sample{}, sample{}, err
			}
			pause(ctx)
			if netHTTP {
				n = s
			} else {
				o = s
			}
		}
		theirs, ours, std = append(theirs, t), append(ours, o), append(std, n)
		row(strconv.Itoa(i+1), t, o, n)
	}
	mt, mo, mn := median(theirs), median(ours), median(std)
	fmt.Fprintf(w, "| **median** | **%.0f** | **%.0f** | **%.0f** | **%s** | **%s** | **%s** | **%s** | **%s** | **%s** |\n\n", mt.rps, mo.rps, mn.rps, ms(mt.p50), ms(mo.p50), ms(mn.p50), ms(mt.p99), ms(mo.p99), ms(mn.p99))
	return mt, mo, nil
}

// runOurs runs our generator once and reads what it reports.
func runOurs(ctx context.Context, c loadtest.Config) (sample, error) {
	res, err := loadtest.Run(ctx, c, nil)
	if err != nil {
		return sample{}, err
	}
	m := res.Metrics
	return sample{rps: m["http.rps"], p50: m["http.latency.p50"], p99: m["http.latency.p99"], requests: m["http.requests"], errors: m["http.errors.count"]}, nil
}

var (
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

// runWrk runs wrk once and reads its requests per second and its p50 and
// p99 latency.
func runWrk(ctx context.Context, wrk, url string, cfg config) (sample, error) {
	out, err := exec.CommandContext(ctx, wrk, "-t", strconv.Itoa(cfg.threads), "-c", strconv.Itoa(cfg.connections),
		"-d", strconv.Itoa(int(cfg.duration.Seconds()))+"s", "--latency", url).CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	var s sample
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	s.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, l := range wrkLatency.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		v *= map[string]float64{"us": 1e-6, "ms": 1e-3, "s": 1}[string(l[3])]
		if string(l[1]) == "50" {
			s.p50 = v
		} else {
			s.p99 = v
		}
	}
	if s.p50 == 0 {
		return s, fmt.Errorf("no latency distribution in wrk's output:\n%s", out)
	}
	return s, nil
}

// startServer starts this program as the server, in a process of its own
// so that it shares no Go runtime with our generator, and returns its URL.
func startServer(ctx context.Context) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, self, "serve", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("server did not start: %w", err)
	}
	return "http://" + strings.TrimSpace(line) + "/", stop, nil
}

// serve answers every request with "ok", and prints its address once it
// listens.
func serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	body := []byte("ok")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	return srv.Serve(ln)
}

// median is the median of each figure, taken separately.
func median(samples []sample) sample {
	of := func(f func(sample) float64) float64 {
		v := make([]float64, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return sample{
		rps:      of(func(s sample) float64 { return s.rps }),
		p50:      of(func(s sample) float64 { return s.p50 }),
		p99:      of(func(s sample) float64 { return s.p99 }),
		requests: of(func(s sample) float64 { return s.requests }),
		errors:   of(func(s sample) float64 { return s.errors }),
	}
}

// pause lets connections close and the machine settle between runs.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
}

// ms writes a latency in milliseconds, to the microsecond.
func ms(seconds float64) string { return strconv.FormatFloat(seconds*1000, 'f', 3, 64) + " ms" }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func wrkVersion(wrk string) string {
	out, _ := exec.Command(wrk, "--version").CombinedOutput()
	first, _, _ := strings.Cut(string(out), " [")
	return strings.TrimSpace(first)
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}
