package cloudwatch_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/cloudwatch"
	"github.com/shipshape-dev/shipshape/integrations/cloudwatch/cwtest"
	"github.com/shipshape-dev/shipshape/internal/awstest"
)

// TestGetMetricDataAgainstFakeCloudWatch: the real SDK client against
// the protocol-level fake (cwtest): metric math over two metrics, read
// over several pages; a refused expression and a failing service are
// told apart.
func TestGetMetricDataAgainstFakeCloudWatch(t *testing.T) {
	awstest.Credentials(t)
	fake := cwtest.New(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", fake.URL)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	dims := map[string]string{"LoadBalancer": "app/web/1"}
	for i := range 12 {
		at := start.Add(time.Duration(i)*time.Minute + 10*time.Second)
		fake.Put("AWS/ApplicationELB", "RequestCount", dims, cwtest.Point{At: at, Value: 100})
		fake.Put("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims, cwtest.Point{At: at, Value: float64(i)})
	}
	c, err := cloudwatch.New(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	q := cloudwatch.Query{
		Expression: "errors / requests",
		Metrics: []cloudwatch.Metric{
			{ID: "errors", Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: dims, Stat: "Sum"},
			{ID: "requests", Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: dims, Stat: "Sum"},
		},
		Period: time.Minute, Start: start, End: start.Add(12 * time.Minute),
	}
	points, err := c.Points(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 12 || points[0].Value != 0 || points[11].Value != 0.11 || !points[3].At.Equal(start.Add(3*time.Minute)) {
		t.Errorf("points %+v: want 12, one a minute, i/100", points)
	}
	if fake.Requests < 3 {
		t.Errorf("%d requests: want the 12 points read over pages of 5", fake.Requests)
	}

	q.Expression = "errors ^ 2"
	if _, err := c.Points(ctx, q); !errors.Is(err, cloudwatch.ErrBadQuery) {
		t.Errorf("unsupported expression: %v, want ErrBadQuery", err)
	}
	q.Expression = "errors"
	q.Metrics[0].Stat = "Sum"
	q.Period = 45 * time.Second
	if _, err := c.Points(ctx, q); !errors.Is(err, cloudwatch.ErrBadQuery) {
		t.Errorf("period 45s: %v, want ErrBadQuery", err)
	}

	// An unknown namespace is no data, as in CloudWatch.
	q.Period = time.Minute
	q.Metrics[0].Namespace = "AWS/Nope"
	if points, err := c.Points(ctx, q); err != nil || len(points) != 0 {
		t.Errorf("unknown namespace: %v, %v: want no points", points, err)
	}

	fake.Fail(10, http.StatusInternalServerError, "InternalFailure")
	if _, err := c.Points(ctx, q); !errors.Is(err, cloudwatch.ErrUnavailable) {
		t.Errorf("failing service: %v, want ErrUnavailable", err)
	}
}
