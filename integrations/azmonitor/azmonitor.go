// Package azmonitor reads Azure Monitor platform metrics of one resource
// through Azure Resource Manager's Metrics API (Microsoft.Insights/metrics,
// api-version 2023-10-01) with the Azure SDK's ARM pipeline (azcore:
// bearer tokens from a TokenCredential such as DefaultAzureCredential,
// retries, throttling). Errors map to ours: a request Azure refuses
// (ErrBadQuery) is not worth a retry, a throttled or failing service
// (ErrUnavailable) may be.
package azmonitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// APIVersion is the Metrics API version the client speaks.
const APIVersion = "2023-10-01"

// Errors, for errors.Is.
var (
	ErrBadQuery    = errors.New("invalid query")
	ErrUnavailable = errors.New("query failed")
)

// Intervals are the time grains the Metrics API accepts, by duration.
var Intervals = map[time.Duration]string{
	time.Minute: "PT1M", 5 * time.Minute: "PT5M", 15 * time.Minute: "PT15M", 30 * time.Minute: "PT30M",
	time.Hour: "PT1H", 6 * time.Hour: "PT6H", 12 * time.Hour: "PT12H", 24 * time.Hour: "P1D",
}

// Client reads metrics through ARM.
type Client struct {
	arm *arm.Client
}

// New returns a client; opts may be nil (Azure's public cloud).
func New(cred azcore.TokenCredential, opts *arm.ClientOptions) (*Client, error) {
	c, err := arm.NewClient("shipshape.azmonitor", "v1.0.0", cred, opts)
	if err != nil {
		return nil, err
	}
	return &Client{arm: c}, nil
}

// Query is one metric of one resource, aggregated per Interval.
type Query struct {
	// Resource is the resource's ID (/subscriptions/…/providers/…).
	Resource    string
	Namespace   string
	Metric      string
	Aggregation string
	// Filter is an OData filter on dimensions (`StatusCode eq '500'`).
	Filter     string
	Interval   time.Duration
	Start, End time.Time
}

// Point is one value at one time.
type Point struct {
	At    time.Time
	Value float64
}

type response struct {
	Value []struct {
		Name       struct{ Value string } `json:"name"`
		ErrorCode  string                 `json:"errorCode"`
		Timeseries []struct {
			Data []map[string]any `json:"data"`
		} `json:"timeseries"`
	} `json:"value"`
}

// Points returns the metric's points, oldest first: the aggregation's
// value of each interval that has one (summed over the time series a
// filter leaves, as Azure Monitor charts do).
func (c *Client) Points(ctx context.Context, q Query) ([]Point, error) {
	grain, ok := Intervals[q.Interval]
	if !ok {
		return nil, fmt.Errorf("%w: interval %s: Azure Monitor's are 1m, 5m, 15m, 30m, 1h, 6h, 12h and 24h", ErrBadQuery, q.Interval)
	}
	endpoint := runtime.JoinPaths(c.arm.Endpoint(), q.Resource, "providers/Microsoft.Insights/metrics")
	req, err := runtime.NewRequest(ctx, http.MethodGet, endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: resource %q: %v", ErrBadQuery, q.Resource, err)
	}
	v := url.Values{}
	v.Set("api-version", APIVersion)
	v.Set("metricnames", q.Metric)
	v.Set("aggregation", q.Aggregation)
	v.Set("interval", grain)
	v.Set("timespan", q.Start.UTC().Format(time.RFC3339)+"/"+q.End.UTC().Format(time.RFC3339))
	if q.Namespace != "" {
		v.Set("metricnamespace", q.Namespace)
	}
	if q.Filter != "" {
		v.Set("$filter", q.Filter)
	}
	req.Raw().URL.RawQuery = v.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.arm.Pipeline().Do(req)
	if err != nil {
		return nil, fmt.Errorf("azure monitor: %w: %v", ErrUnavailable, err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, classify(runtime.NewResponseError(resp))
	}
	var r response
	if err := runtime.UnmarshalAsJSON(resp, &r); err != nil {
		return nil, fmt.Errorf("azure monitor: %w: %v", ErrUnavailable, err)
	}
	field := strings.ToLower(q.Aggregation[:1]) + q.Aggregation[1:]
	sums := map[time.Time]float64{}
	for _, m := range r.Value {
		if m.ErrorCode != "" && m.ErrorCode != "Success" {
			return nil, fmt.Errorf("%w: metric %s: %s", ErrBadQuery, m.Name.Value, m.ErrorCode)
		}
		for _, ts := range m.Timeseries {
			for _, d := range ts.Data {
				val, ok := d[field].(float64)
				if !ok {
					continue // no value in this interval
				}
				at, err := time.Parse(time.RFC3339, fmt.Sprint(d["timeStamp"]))
				if err != nil {
					return nil, fmt.Errorf("azure monitor: timeStamp %v: %v", d["timeStamp"], err)
				}
				sums[at] += val
			}
		}
	}
	out := make([]Point, 0, len(sums))
	for at, v := range sums {
		out = append(out, Point{At: at, Value: v})
	}
	slices.SortFunc(out, func(a, b Point) int { return a.At.Compare(b.At) })
	return out, nil
}

func classify(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("azure monitor: %w: %v", ErrUnavailable, err)
	}
	msg := re.ErrorCode
	if body := errorMessage(re); body != "" {
		msg += ": " + body
	}
	switch {
	case re.StatusCode == http.StatusBadRequest || re.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s %s", ErrBadQuery, re.RawResponse.Status, msg)
	case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
		return fmt.Errorf("azure monitor: %s %s: check the worker's Azure credential (Monitoring Reader on the resource)", re.RawResponse.Status, msg)
	}
	return fmt.Errorf("azure monitor: %w: %s %s", ErrUnavailable, re.RawResponse.Status, msg)
}

// errorMessage is ARM's error message, when the body has one.
func errorMessage(re *azcore.ResponseError) string {
	if re.RawResponse == nil || re.RawResponse.Body == nil {
		return ""
	}
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	b, err := runtime.Payload(re.RawResponse)
	if err != nil || json.Unmarshal(b, &body) != nil {
		return ""
	}
	return body.Error.Message
}
