package metricwatch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/cloudwatch/cwtest"
	"github.com/shipshape-dev/shipshape/internal/awstest"
)

// TestCloudWatchAgainstFake: source cloudwatch through the real AWS SDK
// client against cwtest, a protocol-level fake of CloudWatch's
// GetMetricData: a 5xx ratio from metric math that goes bad halfway
// through a watch fails it; an unknown namespace is no data, which fails
// by default; an expression CloudWatch refuses is a task error naming it.
func TestCloudWatchAgainstFake(t *testing.T) {
	awstest.Credentials(t)
	fake := cwtest.New(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", fake.URL)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	dims := map[string]string{"LoadBalancer": "app/web/1"}
	for i := -15; i < 30; i++ {
		at := start.Add(time.Duration(i)*time.Minute + 5*time.Second)
		errs := 1.0
		if i >= 10 {
			errs = 20
		}
		fake.Put("AWS/ApplicationELB", "RequestCount", dims, cwtest.Point{At: at, Value: 100})
		fake.Put("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims, cwtest.Point{At: at, Value: errs})
	}
	cw := func(namespace string) map[string]any {
		return map[string]any{"region": "us-east-1", "metrics": []any{
			map[string]any{"id": "errors", "namespace": namespace, "metric": "HTTPCode_Target_5XX_Count", "dimensions": map[string]any{"LoadBalancer": "app/web/1"}, "stat": "Sum"},
			map[string]any{"id": "requests", "namespace": namespace, "metric": "RequestCount", "dimensions": map[string]any{"LoadBalancer": "app/web/1"}, "stat": "Sum"},
		}}
	}
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"source": "cloudwatch", "query": "errors / requests", "cloudwatch": cw("AWS/ApplicationELB"), "threshold": "< 0.05"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	out, err := run(t, start.Add(5*time.Minute+30*time.Second), base(nil))
	if err != nil || out.Metrics[metricwatch.MetricLast] != 0.01 {
		t.Fatalf("now: %v, metrics %v: want 0.01", err, out.Metrics)
	}

	out, err = run(t, start, base(map[string]any{"mode": "watch", "interval": "1m", "duration": "20m", "failureLimit": 100}))
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	if m := out.Metrics; m[metricwatch.MetricSamples] != 21 || m[metricwatch.MetricFailed] < 9 || m[metricwatch.MetricFailed] > 11 || m[metricwatch.MetricMax] != 0.2 {
		t.Errorf("watch: metrics %v: want 21 samples, the last ten or so failed at 0.2", m)
	}

	out, err = run(t, start.Add(25*time.Minute), base(map[string]any{"mode": "window", "window": "20m", "step": "1m", "failureLimit": 100}))
	if err != nil {
		t.Fatalf("window: %v", err)
	}
	if m := out.Metrics; m[metricwatch.MetricSamples] != 21 || m[metricwatch.MetricFailed] != 16 || m[metricwatch.MetricMin] != 0.01 {
		t.Errorf("window: metrics %v: want 21 points (minutes 5 to 25), 16 of them (from minute 10) failed", m)
	}

	_, err = run(t, start, map[string]any{"source": "cloudwatch", "query": "errors / requests", "cloudwatch": cw("AWS/Nope")})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "no data", "onEmpty fail", "errors = AWS/Nope HTTPCode_Target_5XX_Count {LoadBalancer=app/web/1} Sum",
		"CloudWatch answers a namespace, metric name or dimension that does not exist with no data")

	_, err = run(t, start, base(map[string]any{"query": "errors ^ 2"}))
	tasktest.MustKind(t, err, tasktest.Invalid, `query "errors ^ 2"`, "AWS/ApplicationELB HTTPCode_Target_5XX_Count", "InvalidParameterValue")

	if !strings.Contains(fake.URL, "127.0.0.1") {
		t.Errorf("fake at %s", fake.URL)
	}
}
