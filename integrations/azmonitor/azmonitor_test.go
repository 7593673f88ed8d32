package azmonitor_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/azmonitor"
	"github.com/shipshape-dev/shipshape/integrations/azmonitor/azmontest"
)

const app = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Web/sites/web"

// TestMetricsAgainstFakeAzureMonitor: the Azure SDK's ARM pipeline
// against azmontest, a protocol-level fake of the Metrics API.
func TestMetricsAgainstFakeAzureMonitor(t *testing.T) {
	fake := azmontest.New(t)
	fake.AddResource(app, "Http5xx", "Requests")
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		at := start.Add(time.Duration(i)*time.Minute + 10*time.Second)
		fake.Put(app, "Http5xx", azmontest.Point{At: at, Value: float64(i), Dimensions: map[string]string{"Instance": "a"}},
			azmontest.Point{At: at, Value: 1, Dimensions: map[string]string{"Instance": "b"}})
	}
	c, err := azmonitor.New(azmontest.Credential(), fake.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := azmonitor.Query{Resource: app, Metric: "Http5xx", Aggregation: "Total", Interval: time.Minute, Start: start, End: start.Add(12 * time.Minute)}
	points, err := c.Points(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 10 || points[3].Value != 4 || !points[3].At.Equal(start.Add(3*time.Minute)) {
		t.Errorf("points %+v: want 10, i+1 each (two instances summed)", points)
	}
	q.Filter = "Instance eq 'a'"
	if points, err = c.Points(ctx, q); err != nil || len(points) != 10 || points[3].Value != 3 {
		t.Errorf("filtered: %v %+v", err, points)
	}
	q.Metric = "Nope"
	if _, err := c.Points(ctx, q); !errors.Is(err, azmonitor.ErrBadQuery) {
		t.Errorf("unknown metric: %v, want ErrBadQuery", err)
	}
	q.Metric, q.Resource = "Http5xx", app+"x"
	if _, err := c.Points(ctx, q); !errors.Is(err, azmonitor.ErrBadQuery) {
		t.Errorf("unknown resource: %v, want ErrBadQuery", err)
	}
	q.Resource = app
	fake.Fail(10, http.StatusServiceUnavailable)
	if _, err := c.Points(ctx, q); !errors.Is(err, azmonitor.ErrUnavailable) {
		t.Errorf("service unavailable: %v, want ErrUnavailable", err)
	}
}
