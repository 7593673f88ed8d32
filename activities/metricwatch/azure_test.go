package metricwatch_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/azmonitor"
	"github.com/shipshape-dev/shipshape/integrations/azmonitor/azmontest"
)

// TestAzureMonitorAgainstFake: source azure-monitor through the Azure
// SDK's ARM pipeline against azmontest, a protocol-level fake of the
// Metrics API: 5xx responses that climb halfway through a watch fail it;
// a metric the resource lacks is a task error naming it; a service that
// stays unavailable is counted in query errors.
func TestAzureMonitorAgainstFake(t *testing.T) {
	fake := azmontest.New(t)
	const site = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Web/sites/web"
	fake.AddResource(site, "Http5xx")
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := -15; i < 30; i++ {
		v := 1.0
		if i >= 10 {
			v = 50
		}
		fake.Put(site, "Http5xx", azmontest.Point{At: start.Add(time.Duration(i)*time.Minute + 5*time.Second), Value: v,
			Dimensions: map[string]string{"Instance": "a"}})
	}
	cfg := metricwatch.Config{AzureMonitor: func() (*azmonitor.Client, error) {
		return azmonitor.New(azmontest.Credential(), fake.ClientOptions())
	}}
	az := func(metric string) map[string]any {
		return map[string]any{"resource": site, "metric": metric, "aggregation": "Total", "filter": "Instance eq 'a'"}
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{"source": "azure-monitor", "azureMonitor": az("Http5xx"), "threshold": "< 10"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	out, err := runWith(t, cfg, start.Add(5*time.Minute+30*time.Second), with(nil))
	if err != nil || out.Metrics[metricwatch.MetricLast] != 1 || !strings.Contains(out.Output, "Total Http5xx of "+site+" where Instance eq 'a'") {
		t.Fatalf("now: %v, metrics %v, output %q", err, out.Metrics, out.Output)
	}

	out, err = runWith(t, cfg, start, with(map[string]any{"mode": "watch", "interval": "1m", "duration": "20m", "consecutiveFailureLimit": 3, "failureLimit": 100}))
	tasktest.MustKind(t, err, tasktest.CheckFailed, "3 samples in a row failed")
	if m := out.Metrics; m[metricwatch.MetricMax] != 50 || m[metricwatch.MetricSamples] > 14 {
		t.Errorf("watch: metrics %v: want it stopped soon after minute 10 at 50", m)
	}

	out, err = runWith(t, cfg, start.Add(25*time.Minute), with(map[string]any{"mode": "window", "window": "20m", "step": "1m", "failureLimit": 100}))
	if err != nil || out.Metrics[metricwatch.MetricSamples] != 21 || out.Metrics[metricwatch.MetricFailed] != 16 {
		t.Errorf("window: %v, metrics %v: want 21 points, 16 failed", err, out.Metrics)
	}

	_, err = runWith(t, cfg, start, with(map[string]any{"azureMonitor": az("Nope")}))
	tasktest.MustKind(t, err, tasktest.Invalid, "metric Nope of "+site, "Failed to find metric configuration")

	fake.Fail(1000, http.StatusServiceUnavailable)
	out, err = runWith(t, cfg, start, with(map[string]any{"mode": "watch", "interval": "1m", "duration": "5m", "queryErrorLimit": 10}))
	if err != nil || out.Metrics[metricwatch.MetricQueryErrors] != 6 || out.Metrics[metricwatch.MetricFailed] != 0 {
		t.Errorf("unavailable: %v, metrics %v: want 6 query errors, tolerated", err, out.Metrics)
	}
}
