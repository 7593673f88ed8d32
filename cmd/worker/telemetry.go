package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/internal/telemetry"
)

// telemetryFlags are the flags of the metrics endpoint; tracing is set by
// the standard OTEL_* variables.
type telemetryFlags struct {
	fs          *flag.FlagSet
	metricsAddr string
}

// defaultMetricsAddr is where Prometheus finds a worker unless told
// otherwise (deploy/prometheus.yml, deploy/kubernetes).
const defaultMetricsAddr = ":9090"

func registerTelemetryFlags(fs *flag.FlagSet) *telemetryFlags {
	f := &telemetryFlags{fs: fs}
	fs.StringVar(&f.metricsAddr, "metrics-addr", envOr("SHIPSHAPE_METRICS_ADDR", defaultMetricsAddr),
		"address of /metrics, /healthz and /readyz; empty disables (env SHIPSHAPE_METRICS_ADDR)")
	return f
}

// workerTelemetry is the worker's metrics registry, its HTTP endpoint and
// its tracer; all optional, and all stopped by close.
type workerTelemetry struct {
	logger   *slog.Logger
	registry *prometheus.Registry
	metrics  *telemetry.Metrics
	sdk      *telemetry.SDKMetrics
	ready    telemetry.Readiness
	server   *telemetry.Server
	tracer   *sdktrace.TracerProvider
	tracing  interceptor.Interceptor
	fatal    chan error
	// hooks serves the task types' webhook receivers under /hooks/,
	// mounted once the types exist (mountHooks).
	hooks *http.ServeMux
}

// start sets up metrics (always, so interceptors are the same with and
// without the endpoint), serves them when --metrics-addr is set, and
// traces when the environment asks for it. The logger it returns adds
// trace IDs to records logged with a traced context.
func (f *telemetryFlags) start(ctx context.Context, logger *slog.Logger) (*workerTelemetry, *slog.Logger, error) {
	t := &workerTelemetry{logger: logger, registry: prometheus.NewRegistry(), fatal: make(chan error, 1), hooks: http.NewServeMux()}
	t.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if t.metrics, err = telemetry.NewMetrics(t.registry, all.Catalog()); err != nil {
		return nil, nil, err
	}
	if t.sdk, err = telemetry.NewSDKMetrics(t.registry, logger); err != nil {
		return nil, nil, err
	}
	if t.tracer, err = telemetry.TracingFromEnv(ctx, os.Getenv, "shipshape-worker"); err != nil {
		t.close()
		return nil, nil, err
	}
	if t.tracer != nil {
		if t.tracing, err = telemetry.TracingInterceptor(t.tracer); err != nil {
			t.close()
			return nil, nil, err
		}
		logger = slog.New(telemetry.TraceLogHandler(logger.Handler()))
		t.logger = logger
		logger.Info("tracing on: spans exported over OTLP")
	}
	if f.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/", telemetry.Handler(t.registry, &t.ready, logger))
		mux.Handle("/hooks/", t.hooks)
		t.server, err = telemetry.Listen(f.metricsAddr, mux)
		switch {
		case err != nil && f.explicit():
			t.close()
			return nil, nil, err
		case err != nil:
			// Several workers on one host (tests, `starter run --dev`
			// beside a worker) must not fail on the default port.
			logger.Warn("metrics endpoint off: default address taken; set --metrics-addr", slog.String("error", err.Error()))
			return t, logger, nil
		}
		go func() {
			if err := t.server.Serve(); err != nil {
				logger.Error("metrics endpoint stopped", slog.String("error", err.Error()))
			}
		}()
		logger.Info("serving /metrics, /healthz, /readyz", slog.String("addr", t.server.Addr()))
	}
	return t, logger, nil
}

// mountHooks serves the task types' hooks at /hooks/<path> on the
// metrics endpoint (when it is on).
func (t *workerTelemetry) mountHooks(hooks map[string]http.Handler) {
	for _, path := range slices.Sorted(maps.Keys(hooks)) {
		t.hooks.Handle("/hooks/"+path, hooks[path])
		if t.server != nil {
			t.logger.Info("serving a webhook receiver", slog.String("path", "/hooks/"+path), slog.String("addr", t.server.Addr()))
		}
	}
}

// explicit says whether the metrics address was asked for, rather than
// the default.
func (f *telemetryFlags) explicit() bool {
	if _, ok := os.LookupEnv("SHIPSHAPE_METRICS_ADDR"); ok {
		return true
	}
	set := false
	f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "metrics-addr" })
	return set
}

// clientOptions adds the SDK metrics handler and the tracing interceptor
// to the Temporal client.
func (t *workerTelemetry) clientOptions(o *client.Options) {
	o.MetricsHandler = t.sdk.Handler
	if t.tracing != nil {
		o.Interceptors = append(o.Interceptors, t.tracing)
	}
}

// workerOptions adds the metrics interceptor and the fatal error hook.
func (t *workerTelemetry) workerOptions(o host.WorkerOptions) host.WorkerOptions {
	o.Interceptors = append(o.Interceptors, t.metrics.Interceptor())
	o.OnFatalError = func(err error) {
		select {
		case t.fatal <- err:
		default:
		}
	}
	return o
}

// run starts w, is ready while it polls and Temporal answers, and stops it
// on interrupt or when it fails.
func (t *workerTelemetry) run(cl client.Client, w worker.Worker, interrupt <-chan any) error {
	t.ready.SetTemporal(cl)
	if err := w.Start(); err != nil {
		return err
	}
	t.ready.SetStarted(true)
	defer t.ready.SetStarted(false)
	select {
	case <-interrupt:
		t.ready.SetStarted(false)
		w.Stop()
		return nil
	case err := <-t.fatal:
		w.Stop()
		return err
	}
}

func (t *workerTelemetry) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if t.server != nil {
		errs = append(errs, t.server.Shutdown(ctx))
	}
	if t.tracer != nil {
		errs = append(errs, t.tracer.Shutdown(ctx))
	}
	if t.sdk != nil {
		errs = append(errs, t.sdk.Close(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		t.logger.Warn("telemetry shutdown", slog.String("error", err.Error()))
	}
}

// healthcheck is `worker healthcheck [URL]`: it exits 0 when the worker's
// /readyz answers 200, for container health checks in images without a
// shell or curl. The default URL is /readyz on SHIPSHAPE_METRICS_ADDR's
// port (default 9090) on loopback.
func healthcheck(ctx context.Context, args []string) error {
	url := ""
	if len(args) > 0 {
		url = args[0]
	} else {
		_, port, err := net.SplitHostPort(envOr("SHIPSHAPE_METRICS_ADDR", defaultMetricsAddr))
		if err != nil || port == "" {
			return fmt.Errorf("healthcheck: SHIPSHAPE_METRICS_ADDR: want host:port, got %q", os.Getenv("SHIPSHAPE_METRICS_ADDR"))
		}
		url = "http://127.0.0.1:" + port + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
