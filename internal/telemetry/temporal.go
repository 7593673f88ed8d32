package telemetry

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// SDKMetrics exports the Temporal SDK's metrics (temporal_request_total,
// temporal_activity_execution_latency_seconds, temporal_worker_task_slots_available, …)
// on reg, through OpenTelemetry's Prometheus exporter. Close flushes it.
type SDKMetrics struct {
	provider *sdkmetric.MeterProvider
	// Handler goes into client.Options.MetricsHandler.
	Handler client.MetricsHandler
}

// NewSDKMetrics registers the Temporal SDK's metrics on reg.
func NewSDKMetrics(reg prometheus.Registerer, logger *slog.Logger) (*SDKMetrics, error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("temporal sdk metrics: %w", err)
	}
	// Temporal's timers are seconds; OpenTelemetry's default buckets
	// are for milliseconds.
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Unit: "s"}, sdkmetric.Stream{
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{
			Boundaries: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		},
	})
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(seconds))
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError: func(err error) {
			logger.Warn("temporal sdk metric", slog.String("error", err.Error()))
		},
	})
	return &SDKMetrics{provider: provider, Handler: handler}, nil
}

// Close stops the meter provider.
func (s *SDKMetrics) Close(ctx context.Context) error {
	return s.provider.Shutdown(ctx)
}
