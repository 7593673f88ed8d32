package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/internal/telemetry"
)

// dialTraced dials Temporal with Temporal's tracing interceptor when the
// OTEL_* variables ask for traces (docs/operations.md#tracing), so a
// run's trace starts at the starter's StartWorkflow span. Closing the
// client flushes the spans.
func dialTraced(ctx context.Context, cfg host.TemporalConfig, logger *slog.Logger) (client.Client, error) {
	tp, err := telemetry.TracingFromEnv(ctx, os.Getenv, "shipshape-starter")
	if err != nil {
		return nil, err
	}
	if tp == nil {
		return cfg.Dial(ctx, logger)
	}
	tracing, err := telemetry.TracingInterceptor(tp)
	if err != nil {
		return nil, err
	}
	cl, err := cfg.Dial(ctx, logger, func(o *client.Options) { o.Interceptors = append(o.Interceptors, tracing) })
	if err != nil {
		shutdownTracer(tp, logger)
		return nil, err
	}
	return tracedClient{Client: cl, tp: tp, logger: logger}, nil
}

// tracedClient flushes its spans on Close.
type tracedClient struct {
	client.Client
	tp     *sdktrace.TracerProvider
	logger *slog.Logger
}

func (c tracedClient) Close() {
	c.Client.Close()
	shutdownTracer(c.tp, c.logger)
}

func shutdownTracer(tp *sdktrace.TracerProvider, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		logger.Warn("traces not exported", slog.String("error", err.Error()))
	}
}
