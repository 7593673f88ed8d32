package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/internal/codec"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/internal/host"
)

// devEnv is everything `run --dev` starts: a Temporal dev server, an
// embedded NATS server, the demo service and an in-process worker. Its
// state lives under stateDir, so later runs see earlier history.
type devEnv struct {
	temporal *devenv.Temporal
	nats     *server.Server
	demo     *devenv.Demo
	events   *natsevents.Client
	client   client.Client
	worker   worker.Worker
	hooks    *http.Server
}

type devOptions struct {
	stateDir string
	demoAddr string
	// hooksAddr, when set, is where the in-process worker serves the task
	// types' webhook receivers (/hooks/…), as a worker does on its
	// --metrics-addr.
	hooksAddr string
	logger    *slog.Logger
}

func startDev(ctx context.Context, opts devOptions, c *conn) (_ *devEnv, err error) {
	env := &devEnv{}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()
	if err := os.MkdirAll(opts.stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if env.demo, err = devenv.StartDemo(opts.demoAddr); err != nil {
		return nil, err
	}
	if env.nats, err = devenv.StartNATS(devenv.NATSOptions{StoreDir: filepath.Join(opts.stateDir, "nats")}); err != nil {
		return nil, err
	}
	env.temporal, err = devenv.StartTemporal(ctx, devenv.TemporalOptions{
		DBFile:  filepath.Join(opts.stateDir, "temporal.db"),
		LogFile: filepath.Join(opts.stateDir, "temporal.log"),
		Logger:  opts.logger,
	})
	if err != nil {
		if errors.Is(err, devenv.ErrNoTemporalCLI) {
			return nil, err
		}
		return nil, fmt.Errorf("dev temporal server (log in %s): %w", filepath.Join(opts.stateDir, "temporal.log"), err)
	}
	c.temporal.Address = env.temporal.Address()
	c.temporal.Namespace = "default"
	// Payloads are encrypted in dev mode too, with a keyring kept beside
	// the state it protects.
	c.temporal.CodecKeys = filepath.Join(opts.stateDir, "codec.keys")
	if _, err := codec.EnsureKeyring(c.temporal.CodecKeys); err != nil {
		return nil, err
	}
	c.nats.URL = env.nats.ClientURL()
	c.nats.Logger = opts.logger
	env.events = natsevents.New(c.nats)
	if err := env.events.Init(ctx); err != nil {
		return nil, fmt.Errorf("dev nats: %w", err)
	}
	if env.client, err = c.dial(ctx, opts.logger); err != nil {
		return nil, err
	}
	cfg := all.Config{Logger: opts.logger, Events: env.events, EventReader: env.events}
	env.worker = host.NewWorker(env.client, all.Types(cfg), taskrun.Options{Logger: opts.logger, Events: env.events}, host.WorkerOptions{})
	if err := env.worker.Start(); err != nil {
		return nil, fmt.Errorf("start in-process worker: %w", err)
	}
	if opts.hooksAddr != "" {
		if env.hooks, err = serveHooks(opts.hooksAddr, all.Hooks(cfg), opts.logger); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// serveHooks serves webhook receivers at /hooks/<path> on addr.
func serveHooks(addr string, hooks map[string]http.Handler, logger *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--hooks-addr: %w", err)
	}
	mux := http.NewServeMux()
	for _, path := range slices.Sorted(maps.Keys(hooks)) {
		mux.Handle("/hooks/"+path, hooks[path])
		logger.Info("serving a webhook receiver", slog.String("url", "http://"+ln.Addr().String()+"/hooks/"+path))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// devStopGrace is how long dev mode lets the Temporal dev server stop
// on its own before killing it: not at all. Its graceful shutdown takes
// a second or more (its services stop one by one), and a kill loses
// nothing: its state is SQLite's, whose committed transactions survive a
// killed process (TestTemporalKilledMidRun kills it mid-run).
const devStopGrace = 0

// Close stops everything in reverse order of start.
func (e *devEnv) Close() {
	if e.hooks != nil {
		_ = e.hooks.Close()
	}
	if e.worker != nil {
		e.worker.Stop()
	}
	if e.client != nil {
		e.client.Close()
	}
	if e.events != nil {
		e.events.Close()
	}
	if e.temporal != nil {
		// The worker and client are gone and the run's result is in
		// hand: the server's state is on disk.
		e.temporal.StopWithin(devStopGrace)
	}
	if e.nats != nil {
		e.nats.Shutdown()
		e.nats.WaitForShutdown()
	}
	if e.demo != nil {
		_ = e.demo.Close()
	}
}
