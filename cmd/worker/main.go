// Command worker hosts Shipshape's workflows and task activities on the
// Temporal task queue "shipshape" and publishes run events to NATS
// JetStream. On SIGTERM it stops polling and gives in-flight activities
// --stop-timeout to finish.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "worker: %v\n", err)
		os.Exit(1)
	}
}

// Main runs a worker until ctx is done.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:])
	}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		temporal host.TemporalConfig
		nats     natsevents.Config
	)
	temporal.RegisterFlags(fs)
	host.RegisterNATSFlags(fs, &nats)
	telemetryFlags := registerTelemetryFlags(fs)
	logFormat := fs.String("log-format", envOr("SHIPSHAPE_LOG_FORMAT", "text"), "log format: text or json (env SHIPSHAPE_LOG_FORMAT)")
	logLevel := fs.String("log-level", envOr("SHIPSHAPE_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env SHIPSHAPE_LOG_LEVEL)")
	stopTimeout := fs.Duration("stop-timeout", 30*time.Second, "on SIGTERM, how long in-flight activities get to finish")
	maxActivities := fs.Int("max-activities", 0, "most activities this worker runs at once (0: SDK default)")
	approvals := fs.Bool("approvals", envOr("SHIPSHAPE_APPROVALS", "true") == "true", "pass chat decisions published on shipshape.approvals.<run> to the runs (env SHIPSHAPE_APPROVALS)")
	secretsDir := fs.String("secrets-dir", local.DefaultDir(), "the local secret store (local:// references) (env SHIPSHAPE_SECRETS_DIR)")
	scratchDir := fs.String("scratch-dir", all.DefaultScratchDir(), "where restore drills make local scratch clusters and keep downloads (env SHIPSHAPE_SCRATCH_DIR)")
	fileRoots := fs.String("file-roots", os.Getenv("SHIPSHAPE_FILE_ROOTS"), "comma-separated directories tasks may read files below (coverage files, test reports, CA files…); empty: anywhere. Set it on a worker shared by teams (env SHIPSHAPE_FILE_ROOTS)")
	fs.DurationVar(&nats.Stream.MaxAge, "stream-max-age", 30*24*time.Hour, "how long the SHIPSHAPE stream keeps events")
	fs.Int64Var(&nats.Stream.MaxBytes, "stream-max-bytes", -1, "size limit of the SHIPSHAPE stream (-1: none)")
	fs.IntVar(&nats.Stream.Replicas, "stream-replicas", 1, "replicas of the SHIPSHAPE stream (3 on a JetStream cluster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	obs, logger, err := telemetryFlags.start(ctx, logger)
	if err != nil {
		return err
	}
	defer obs.close()
	nats.Logger = logger

	events := natsevents.New(nats)
	// NATS being down must not stop runs: PublishEvents retries until it
	// is back, so a failed Init is logged, not fatal.
	if err := events.Init(ctx); err != nil {
		logger.Warn("nats not ready; events will be published when it is", slog.String("error", err.Error()))
	}
	defer events.Close()

	cl, err := temporal.Dial(ctx, logger, obs.clientOptions)
	if err != nil {
		return err
	}
	defer cl.Close()
	cfg := all.Config{Logger: logger, Events: events, EventReader: events, ScratchDir: *scratchDir, SecretsDir: *secretsDir}
	obs.mountHooks(all.Hooks(cfg))
	w := host.NewWorker(cl, all.Types(cfg), taskrun.Options{Logger: logger, Events: events, FileRoots: splitList(*fileRoots)}, obs.workerOptions(host.WorkerOptions{
		StopTimeout: *stopTimeout, MaxConcurrentActivities: *maxActivities,
	}))
	logger.Info("worker starting", slog.String("temporal", temporal.Address), slog.String("namespace", temporal.Namespace),
		slog.String("taskQueue", workflows.TaskQueue))
	if *approvals {
		dc, err := temporal.DataConverter()
		if err != nil {
			return err
		}
		bridge := &approvalBridge{temporal: cl, stream: events, dc: dc, log: logger.With(slog.String("component", "approvals"))}
		go func() { _ = bridge.run(ctx) }()
	}
	interrupt := make(chan any)
	go func() {
		<-ctx.Done()
		logger.Info("stopping: no new work; in-flight activities may finish", slog.Duration("timeout", *stopTimeout))
		close(interrupt)
	}()
	return obs.run(cl, w, interrupt)
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// splitList splits a comma-separated flag, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
