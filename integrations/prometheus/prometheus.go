// Package prometheus is a client of the Prometheus HTTP query API
// (/api/v1/query and /api/v1/query_range), which Prometheus, Thanos,
// Mimir, VictoriaMetrics and Grafana Cloud all serve. It reads the
// documented JSON envelope and maps the API's errors to ours: an
// expression the server refuses (ErrBadQuery) is not worth a retry, a
// server that is down or overloaded (ErrUnavailable) may be.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors, for errors.Is.
var (
	// ErrBadQuery: the server refused the expression (errorType bad_data).
	ErrBadQuery = errors.New("invalid query")
	// ErrUnavailable: the server could not be reached or answered with
	// an error of its own (5xx, timeout, execution, canceled).
	ErrUnavailable = errors.New("query failed")
)

// Auth is how a client authenticates: a bearer token or basic
// authentication, or neither. It is never logged nor formatted.
type Auth struct {
	BearerToken        string
	Username, Password string
}

// Config is a client's configuration.
type Config struct {
	// URL is the API's base URL, the part before /api/v1/.
	URL  string
	Auth Auth
	// HTTPClient sends the requests; nil: http.DefaultClient.
	HTTPClient *http.Client
}

// Client queries one Prometheus-compatible API.
type Client struct {
	base *url.URL
	auth Auth
	http *http.Client
}

// New returns a client of cfg.URL.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q: want an absolute http:// or https:// URL", cfg.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("prometheus URL %s: credentials do not go in the URL", u.Redacted())
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, auth: cfg.Auth, http: hc}, nil
}

// String is the client's base URL, for messages.
func (c *Client) String() string { return c.base.String() }

// Series is one series of a result: its labels and its points.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Point is one value at one time. NaN is a value Prometheus returns (0/0).
type Point struct {
	At    time.Time
	Value float64
}

// Query evaluates expr at the instant at (zero: the server's now) and
// returns its series: a scalar is one series without labels, a vector one
// per element, each with one point.
func (c *Client) Query(ctx context.Context, expr string, at time.Time) ([]Series, error) {
	v := url.Values{"query": {expr}}
	if !at.IsZero() {
		v.Set("time", formatTime(at))
	}
	return c.get(ctx, "/api/v1/query", v)
}

// QueryRange evaluates expr at every step from start to end.
func (c *Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	v := url.Values{"query": {expr}, "start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	return c.get(ctx, "/api/v1/query_range", v)
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// response is the API's envelope.
type response struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

func (c *Client) get(ctx context.Context, path string, v url.Values) ([]Series, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case c.auth.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.auth.BearerToken)
	case c.auth.Username != "":
		req.SetBasicAuth(c.auth.Username, c.auth.Password)
	}
	where := c.base.String()
	resp, err := c.http.Do(req)
	if err != nil {
		// The error names the URL, query included; keep it short.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %w: %v", where, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: reading the answer: %v", where, ErrUnavailable, err)
	}
	var r response
	if jerr := json.Unmarshal(body, &r); jerr != nil || r.Status == "" {
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return nil, fmt.Errorf("%s: %s: check the bearer token or basic authentication", where, resp.Status)
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return nil, fmt.Errorf("%s: %w: %s", where, ErrUnavailable, resp.Status)
		case resp.StatusCode == http.StatusNotFound:
			return nil, fmt.Errorf("%s%s: %s: is the URL the API's base (before /api/v1/)?", where, path, resp.Status)
		}
		return nil, fmt.Errorf("%s: %s, not a Prometheus API answer: %s", where, resp.Status, snippet(body))
	}
	if r.Status != "success" {
		switch r.ErrorType {
		case "bad_data":
			return nil, fmt.Errorf("%w: %s", ErrBadQuery, r.Error)
		case "timeout", "canceled", "execution", "unavailable", "internal":
			return nil, fmt.Errorf("%s: %w: %s: %s", where, ErrUnavailable, r.ErrorType, r.Error)
		}
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("%s: %w: %s: %s", where, ErrUnavailable, r.ErrorType, r.Error)
		}
		return nil, fmt.Errorf("%s: %s: %s", where, r.ErrorType, r.Error)
	}
	return decode(r.Data.ResultType, r.Data.Result)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

// sample is [unix seconds, "value"].
type sample [2]json.RawMessage

func (s sample) point() (Point, error) {
	var ts float64
	if err := json.Unmarshal(s[0], &ts); err != nil {
		return Point{}, fmt.Errorf("sample time %s: %v", s[0], err)
	}
	var text string
	if err := json.Unmarshal(s[1], &text); err != nil {
		return Point{}, fmt.Errorf("sample value %s: %v", s[1], err)
	}
	v, err := parseValue(text)
	if err != nil {
		return Point{}, err
	}
	sec, frac := math.Modf(ts)
	return Point{At: time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC(), Value: v}, nil
}

// parseValue reads Prometheus's value text, NaN and ±Inf included.
func parseValue(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %q is not a number", s)
	}
	return v, nil
}

func decode(resultType string, raw json.RawMessage) ([]Series, error) {
	switch resultType {
	case "scalar":
		var s sample
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("scalar result: %v", err)
		}
		p, err := s.point()
		if err != nil {
			return nil, err
		}
		return []Series{{Points: []Point{p}}}, nil
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  sample            `json:"value"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("vector result: %v", err)
		}
		out := make([]Series, 0, len(v))
		for _, e := range v {
			p, err := e.Value.point()
			if err != nil {
				return nil, err
			}
			out = append(out, Series{Labels: e.Metric, Points: []Point{p}})
		}
		return out, nil
	case "matrix":
		var m []struct {
			Metric map[string]string `json:"metric"`
			Values []sample          `json:"values"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("matrix result: %v", err)
		}
		out := make([]Series, 0, len(m))
		for _, e := range m {
			s := Series{Labels: e.Metric, Points: make([]Point, 0, len(e.Values))}
			for _, raw := range e.Values {
				p, err := raw.point()
				if err != nil {
					return nil, err
				}
				s.Points = append(s.Points, p)
			}
			out = append(out, s)
		}
		return out, nil
	case "string":
		return nil, fmt.Errorf("%w: the expression gives a string, not a number", ErrBadQuery)
	}
	return nil, fmt.Errorf("unknown result type %q", resultType)
}

// FormatLabels writes labels as Prometheus does ({job="api", code="500"}),
// sorted, for messages.
func FormatLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(labels[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
