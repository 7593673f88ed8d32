// Package cloudwatch reads Amazon CloudWatch metrics with GetMetricData:
// metrics by namespace, name, dimensions and statistic, and metric math
// expressions over them. It pages with NextToken and maps the API's
// errors to ours: a request CloudWatch refuses (ErrBadQuery) is not worth
// a retry, a throttled or failing service (ErrUnavailable) may be.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

// Errors, for errors.Is.
var (
	// ErrBadQuery: CloudWatch refused the request (an invalid
	// expression, parameter or combination).
	ErrBadQuery = errors.New("invalid query")
	// ErrUnavailable: CloudWatch could not be reached, throttled or
	// failed.
	ErrUnavailable = errors.New("query failed")
)

// Client is CloudWatch in one region.
type Client struct {
	cw     *cloudwatch.Client
	region string
}

// New returns a client for region (empty: AWS_REGION or the AWS config)
// with the AWS SDK's default configuration and credentials chain; the
// endpoint may be overridden with AWS_ENDPOINT_URL_CLOUDWATCH.
func New(ctx context.Context, region string) (*Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set cloudwatch.region or AWS_REGION")
	}
	return &Client{cw: cloudwatch.NewFromConfig(cfg), region: cfg.Region}, nil
}

// String names the client, for messages.
func (c *Client) String() string { return "CloudWatch in " + c.region }

// Metric is one metric the expression refers to by ID.
type Metric struct {
	ID         string
	Namespace  string
	Name       string
	Dimensions map[string]string
	// Stat is a statistic: Average, Sum, Minimum, Maximum, SampleCount,
	// p99, tm90…
	Stat string
}

// Query is a metric math expression over Metrics (an expression may be
// one metric's ID), at one point per Period from Start to End.
type Query struct {
	Expression string
	Metrics    []Metric
	Period     time.Duration
	Start, End time.Time
}

// Point is one value at one time.
type Point struct {
	At    time.Time
	Value float64
}

// resultID is the ID of the expression's query.
const resultID = "shipshape_result"

// Points returns the expression's points, oldest first, every page read.
func (c *Client) Points(ctx context.Context, q Query) ([]Point, error) {
	period := int32(q.Period / time.Second)
	queries := []types.MetricDataQuery{{Id: aws.String(resultID), Expression: aws.String(q.Expression), ReturnData: aws.Bool(true), Period: aws.Int32(period)}}
	for _, m := range q.Metrics {
		dims := make([]types.Dimension, 0, len(m.Dimensions))
		names := make([]string, 0, len(m.Dimensions))
		for k := range m.Dimensions {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			dims = append(dims, types.Dimension{Name: aws.String(k), Value: aws.String(m.Dimensions[k])})
		}
		queries = append(queries, types.MetricDataQuery{Id: aws.String(m.ID), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(m.Name), Dimensions: dims},
			Period: aws.Int32(period), Stat: aws.String(m.Stat),
		}})
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(q.Start), EndTime: aws.Time(q.End),
		MetricDataQueries: queries, ScanBy: types.ScanByTimestampAscending,
	}
	var out []Point
	for page := cloudwatch.NewGetMetricDataPaginator(c.cw, in); page.HasMorePages(); {
		res, err := page.NextPage(ctx)
		if err != nil {
			return nil, classify(c, err)
		}
		for _, r := range res.MetricDataResults {
			if aws.ToString(r.Id) != resultID {
				continue
			}
			switch r.StatusCode {
			case types.StatusCodeForbidden:
				return nil, fmt.Errorf("%s: %w: forbidden: %s", c, ErrUnavailable, messages(r.Messages))
			case types.StatusCodeInternalError:
				return nil, fmt.Errorf("%s: %w: internal error: %s", c, ErrUnavailable, messages(r.Messages))
			}
			if len(r.Timestamps) != len(r.Values) {
				return nil, fmt.Errorf("%s: %d timestamps for %d values", c, len(r.Timestamps), len(r.Values))
			}
			for i, at := range r.Timestamps {
				out = append(out, Point{At: at, Value: r.Values[i]})
			}
		}
	}
	slices.SortFunc(out, func(a, b Point) int { return a.At.Compare(b.At) })
	return out, nil
}

func messages(ms []types.MessageData) string {
	var s string
	for i, m := range ms {
		if i > 0 {
			s += "; "
		}
		s += aws.ToString(m.Code) + " " + aws.ToString(m.Value)
	}
	return s
}

// classify maps an SDK error to ErrBadQuery or ErrUnavailable.
func classify(c *Client, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "InvalidParameterValue", "InvalidParameterCombination", "MissingParameter", "InvalidNextToken",
			"InvalidParameterValueException", "InvalidParameterCombinationException", "MissingRequiredParameterException":
			return fmt.Errorf("%w: %s: %s", ErrBadQuery, api.ErrorCode(), api.ErrorMessage())
		case "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken":
			return fmt.Errorf("%s: %s: %s: check the worker's AWS credentials (cloudwatch:GetMetricData)", c, api.ErrorCode(), api.ErrorMessage())
		}
		return fmt.Errorf("%s: %w: %s: %s", c, ErrUnavailable, api.ErrorCode(), api.ErrorMessage())
	}
	return fmt.Errorf("%s: %w: %v", c, ErrUnavailable, err)
}
