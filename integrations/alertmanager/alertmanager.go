// Package alertmanager is a client of Prometheus Alertmanager's v2 HTTP
// API (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml):
// posting alerts, reading them with their routing and silencing status,
// and listing, creating and expiring silences. Errors name the endpoint.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures the client.
type Config struct {
	// URL is Alertmanager's base URL, e.g. http://alertmanager:9093 (the
	// API is below it at /api/v2).
	URL string
	// HTTPClient is used for every request; nil means one with a
	// 30-second timeout.
	HTTPClient *http.Client
	// BearerToken, when set, is sent as an Authorization: Bearer header
	// (an Alertmanager behind an authenticating proxy). Basic auth goes
	// in the URL (http://user:password@host), which messages redact.
	BearerToken string
}

// Client talks to one Alertmanager. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	// shown is base as messages show it: without a password.
	shown string
	http  *http.Client
}

// New returns a client of cfg.URL; it connects on first use.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	shown := base
	if u, err := url.Parse(base); err == nil {
		shown = u.Redacted()
	}
	return &Client{base: base, shown: shown, http: hc, token: cfg.BearerToken}
}

// Alert is an alert as posted (postableAlert).
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// AlertStatus is an alert as Alertmanager holds it (gettableAlert): its
// state (active, suppressed, unprocessed), the receivers it routes to and
// the silences muting it.
type AlertStatus struct {
	Labels      map[string]string `json:"labels"`
	Fingerprint string            `json:"fingerprint"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Receivers   []struct {
		Name string `json:"name"`
	} `json:"receivers"`
	Status struct {
		State       string   `json:"state"`
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// Matcher is one matcher of a silence: the label Name equals (IsEqual)
// or does not equal Value, taken literally or as a regular expression
// anchored at both ends (IsRegex).
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"`
}

// Silence is a silence as Alertmanager holds it (gettableSilence), or as
// posted (ID empty: a new one).
type Silence struct {
	ID        string    `json:"id,omitempty"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	Status    *struct {
		// State is pending, active or expired.
		State string `json:"state"`
	} `json:"status,omitempty"`
}

// State is the silence's state: pending, active or expired.
func (s Silence) State() string {
	if s.Status == nil {
		return ""
	}
	return s.Status.State
}

// StatusError is a response with an error status.
type StatusError struct {
	Endpoint string
	Code     int
	Body     string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Endpoint, e.Code, e.Body)
}

// Temporary says whether a later attempt may succeed (429, 5xx).
func (e *StatusError) Temporary() bool {
	return e.Code == http.StatusTooManyRequests || e.Code >= 500
}

// ErrUnreachable wraps errors of requests that got no answer.
var ErrUnreachable = errors.New("alertmanager unreachable")

// Endpoint is the full URL of an API path as messages show it (a
// password in the base URL redacted).
func (c *Client) Endpoint(path string) string { return c.shown + "/api/v2" + path }

// PostAlerts posts alerts: new ones fire, known ones (same labels) are
// updated, and one whose EndsAt has passed is resolved.
func (c *Client) PostAlerts(ctx context.Context, alerts []Alert) error {
	return c.do(ctx, http.MethodPost, "/alerts", nil, alerts, nil)
}

// Alerts returns the unresolved alerts that match every filter matcher
// (written as Alertmanager's filter, e.g. `alertname="Drill"`), silenced
// and inhibited ones included.
func (c *Client) Alerts(ctx context.Context, filter ...string) ([]AlertStatus, error) {
	q := url.Values{"filter": filter}
	var out []AlertStatus
	return out, c.do(ctx, http.MethodGet, "/alerts", q, nil, &out)
}

// Silences returns every silence Alertmanager holds, expired ones too.
func (c *Client) Silences(ctx context.Context) ([]Silence, error) {
	var out []Silence
	return out, c.do(ctx, http.MethodGet, "/silences", nil, nil, &out)
}

// CreateSilence creates s and returns its ID.
func (c *Client) CreateSilence(ctx context.Context, s Silence) (string, error) {
	s.ID, s.Status, s.UpdatedAt = "", nil, time.Time{}
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := c.do(ctx, http.MethodPost, "/silences", nil, s, &out); err != nil {
		return "", err
	}
	return out.SilenceID, nil
}

// ExpireSilence expires the silence id. Expiring one that has already
// expired is not an error.
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	err := c.do(ctx, http.MethodDelete, "/silence/"+url.PathEscape(id), nil, nil, nil)
	var se *StatusError
	// Alertmanager answers 500 "silence … already expired" for an expired one.
	if errors.As(err, &se) && strings.Contains(se.Body, "already expired") {
		return nil
	}
	return err
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	endpoint := c.Endpoint(path)
	u := c.base + "/api/v2" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, endpoint, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, endpoint, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, endpoint, ctx.Err())
		}
		return fmt.Errorf("%s %s: %w: %w", method, endpoint, ErrUnreachable, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, endpoint, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return &StatusError{Endpoint: method + " " + endpoint, Code: resp.StatusCode, Body: msg}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, endpoint, err)
	}
	return nil
}

// unwrapURLError drops url.Error's repetition of the method and URL,
// which the message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Notification is the body Alertmanager's webhook receiver POSTs
// (webhook_config, payload version 4): one group of alerts for one
// receiver.
type Notification struct {
	Version  string `json:"version"`
	Receiver string `json:"receiver"`
	// Status is the group's: firing or resolved.
	Status string              `json:"status"`
	Alerts []NotificationAlert `json:"alerts"`
}

// NotificationAlert is one alert of a Notification.
type NotificationAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
}
