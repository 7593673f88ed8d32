// Package devenv starts what `starter run --dev` needs on this machine
// without Docker: a Temporal dev server (the temporal CLI's start-dev, a
// child process with a SQLite file), an embedded NATS server with
// JetStream, and a small demo service on loopback.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// TemporalCLIVersion is the temporal CLI the dev mode runs; `make temporal`
// builds it into bin/.
const TemporalCLIVersion = "v1.5.1"

// ErrNoTemporalCLI means no temporal CLI binary was found.
var ErrNoTemporalCLI = errors.New("temporal CLI not found: run `make temporal` (builds " +
	"github.com/temporalio/cli/cmd/temporal@" + TemporalCLIVersion + " into bin/, about 3 minutes once), " +
	"put `temporal` on PATH, or set SHIPSHAPE_TEMPORAL_CLI")

// FindTemporalCLI returns the temporal CLI to run: $SHIPSHAPE_TEMPORAL_CLI,
// then bin/temporal in the working directory or next to this executable,
// then `temporal` on PATH.
func FindTemporalCLI() (string, error) {
	if p := os.Getenv("SHIPSHAPE_TEMPORAL_CLI"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("SHIPSHAPE_TEMPORAL_CLI: %w", err)
		}
		return p, nil
	}
	candidates := []string{filepath.Join("bin", "temporal")}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "temporal"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Abs(c)
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", ErrNoTemporalCLI
}

// TemporalOptions configure a dev server.
type TemporalOptions struct {
	// CLI is the temporal binary; empty: FindTemporalCLI.
	CLI string
	// DBFile keeps the server's state across runs; empty: in memory.
	DBFile string
	// Port is the gRPC port; 0 picks a free one.
	Port      int
	Namespace string
	Logger    *slog.Logger
	// LogFile receives the server's own output; empty: discarded.
	LogFile string
}

// Temporal is a running dev server.
type Temporal struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// StartTemporal starts `temporal server start-dev` on loopback and waits
// until its frontend answers.
//
// The ports it picks are free when picked but not held until the server
// binds them, so another process may take one in between; when the server
// exits while starting on ports it picked, it is started again on new ones,
// up to three times.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	for attempt := 1; ; attempt++ {
		t, err := startTemporal(ctx, opts)
		if err == nil || opts.Port != 0 || attempt == 3 || !errors.Is(err, errExited) {
			return t, err
		}
		if opts.Logger != nil {
			opts.Logger.Warn("temporal dev server exited while starting; trying other ports", slog.Any("error", err))
		}
	}
}

// errExited marks a server that exited before it was ready.
var errExited = errors.New("temporal dev server exited while starting")

func startTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	cli := opts.CLI
	if cli == "" {
		var err error
		if cli, err = FindTemporalCLI(); err != nil {
			return nil, err
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(port), "--http-port", strconv.Itoa(httpPort), "--metrics-port", strconv.Itoa(metricsPort),
		"--namespace", opts.Namespace, "--log-level", "warn",
		// One partition per task queue: with the default four, an idle
		// poller may sit on another partition than the task, adding a
		// median 0.2 s (worst 2 s) before each activity and at every phase
		// barrier. One worker polls a dev server; it needs no spread.
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
		// The dev server keeps all workflows on one history shard, whose
		// queue readers poll at most 20 times a second (the server's
		// default, made for clusters of hundreds of shards): once the
		// burst is spent, every activity, workflow task, child workflow
		// and timer waits up to 50 ms for the next poll. A dev server's
		// one shard may poll as often as work arrives.
		"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
		"--dynamic-config-value", "history.timerProcessorMaxPollRPS=1000",
		"--dynamic-config-value", "history.outboundProcessorMaxPollRPS=1000",
		// A run started by the process whose worker runs it (run --dev)
		// gets its first workflow task with the start.
		"--dynamic-config-value", "system.enableEagerWorkflowStart=true"}
	if opts.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("temporal state dir: %w", err)
		}
		args = append(args, "--db-filename", opts.DBFile)
	}
	cmd := exec.Command(cli, args...)
	// Its own process group: a Ctrl-C at the terminal reaches the starter,
	// which then stops the server in order, after the worker.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("temporal log: %w", err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cli, err)
	}
	t := &Temporal{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan error, 1)}
	go func() { t.done <- cmd.Wait() }()
	if err := t.waitReady(ctx, opts.Namespace); err != nil {
		t.Stop()
		return nil, err
	}
	if opts.Logger != nil {
		opts.Logger.Info("temporal dev server ready", slog.String("address", t.addr), slog.String("db", opts.DBFile))
	}
	return t, nil
}

func (t *Temporal) waitReady(ctx context.Context, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		select {
		case err := <-t.done:
			t.done <- err
			return fmt.Errorf("%w: %v", errExited, err)
		case <-ctx.Done():
			return fmt.Errorf("temporal dev server not ready at %s: %w", t.addr, ctx.Err())
		case <-time.After(25 * time.Millisecond): // it answers within about 150 ms
		}
		c, err := client.Dial(client.Options{HostPort: t.addr, Namespace: namespace, Logger: quiet{}})
		if err != nil {
			continue
		}
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		c.Close()
		if err == nil {
			return nil
		}
	}
}

// Address is the server's gRPC address.
func (t *Temporal) Address() string { return t.addr }

// PID is the server process ID, for tests that kill it.
func (t *Temporal) PID() int { return t.cmd.Process.Pid }

// Stop stops the server and waits for it, killing it after ten seconds.
func (t *Temporal) Stop() { t.StopWithin(10 * time.Second) }

// StopWithin asks the server to stop and kills it if it has not within
// grace; with no grace it kills it at once. Its state is SQLite's, whose
// committed transactions survive a kill as they survive a crash (the chaos tests kill the server mid-run
// and its runs go on after a restart), so a caller that has already
// stopped its workers need not wait out the server's graceful shutdown,
// a second or two of its components stopping one by one.
func (t *Temporal) StopWithin(grace time.Duration) {
	if grace > 0 {
		_ = t.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-t.done:
			t.done <- err
			return
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	err := <-t.done
	t.done <- err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quiet silences the SDK's logger while probing readiness.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
