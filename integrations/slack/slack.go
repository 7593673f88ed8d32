// Package slack posts Block Kit messages to Slack incoming webhooks.
//
// A webhook URL is a secret (whoever has it may post to the channel): it
// never appears in an error or a log line of this package.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Message is the body of an incoming-webhook post: Text is the fallback
// shown in notifications, Blocks the Block Kit layout.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks,omitempty"`
}

// Block is one Block Kit layout block: header, section, context or
// divider.
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object: "mrkdwn" or "plain_text".
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Errors Post returns, for callers to match with errors.Is.
var (
	// ErrRejected: Slack refused the message for good (a 4xx other than
	// 429: bad payload, webhook revoked, channel archived); retrying will
	// not help.
	ErrRejected = errors.New("slack rejected the message")
	// ErrUnavailable: every attempt failed on a transient error (429, 5xx,
	// network).
	ErrUnavailable = errors.New("slack unavailable")
)

// Defaults of Config.
const (
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultTimeout        = 10 * time.Second
	// maxRetryAfter bounds how long a Retry-After may make Post wait.
	maxRetryAfter = 5 * time.Minute
)

// Config configures a Client.
type Config struct {
	// HTTPClient sends the requests; default: one with Timeout.
	HTTPClient *http.Client
	// Timeout bounds one attempt (DefaultTimeout).
	Timeout time.Duration
	// MaxAttempts is how many times Post tries one message, the first
	// included (DefaultMaxAttempts).
	MaxAttempts int
	// InitialBackoff is the wait after the first failure, doubled after
	// each further one up to MaxBackoff, with jitter. A 429's Retry-After
	// replaces it when longer.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Logger         *slog.Logger
}

// Client posts messages to incoming webhooks.
type Client struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
}

// New returns a Client; it holds no webhook, each Post names one.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{cfg: cfg, http: hc, log: log}
}

// Post sends msg to the webhook, retrying 429s (after their Retry-After),
// 5xx answers and network errors with exponential backoff, up to
// MaxAttempts. It returns the number of attempts made and nil, an error
// matching ErrRejected, ErrUnavailable, or ctx's error.
func (c *Client) Post(ctx context.Context, webhook string, msg Message) (attempts int, err error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return 0, fmt.Errorf("slack: encode message: %w", err)
	}
	backoff := c.cfg.InitialBackoff
	var last error
	for attempts = 1; ; attempts++ {
		wait, err := c.post(ctx, webhook, body)
		if err == nil {
			return attempts, nil
		}
		if errors.Is(err, ErrRejected) || ctx.Err() != nil {
			return attempts, err
		}
		last = err
		if attempts >= c.cfg.MaxAttempts {
			return attempts, fmt.Errorf("%w after %d attempts: %v", ErrUnavailable, attempts, last)
		}
		// Jitter of up to a quarter spreads notifiers that failed together.
		delay := backoff + time.Duration(rand.Int64N(int64(backoff)/4+1))
		if wait > delay {
			delay = wait
		}
		c.log.Warn("slack post failed, retrying", slog.Int("attempt", attempts), slog.Duration("in", delay), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return attempts, ctx.Err()
		case <-time.After(delay):
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// post makes one attempt; on a 429 it returns how long Slack asked to wait.
func (c *Client) post(ctx context.Context, webhook string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: bad webhook URL", ErrRejected) // the URL itself is not repeated
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error quotes the URL, and the URL is the secret: keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("post: %v", err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	answer := strings.TrimSpace(string(text))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("rate limited (429 %s)", answer)
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("server error (%d %s)", resp.StatusCode, answer)
	}
	return 0, fmt.Errorf("%w (%d %s)", ErrRejected, resp.StatusCode, answer)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	return max(0, min(d, maxRetryAfter))
}
