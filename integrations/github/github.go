// Package github is a small client of GitHub's REST API (github.com or
// GitHub Enterprise Server): authenticated GETs of JSON, every page of a
// list through its Link headers, and bounded retries of rate limits
// (429, or 403 with the rate limit spent) and server errors, waiting as
// Retry-After or X-RateLimit-Reset says.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the REST API version requested.
const APIVersion = "2022-11-28"

// Client calls one GitHub API.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	// MaxAttempts bounds the attempts of one request (default 5);
	// MaxWait bounds one wait for a rate limit (default 60 s): a longer
	// one is an error rather than a stalled task.
	MaxAttempts int
	MaxWait     time.Duration
	sleep       func(context.Context, time.Duration) error
}

// New returns a client of the API at apiURL (https://api.github.com, or
// https://HOST/api/v3 for GitHub Enterprise Server) with token (never
// written to errors or logs); hc nil: http.DefaultClient.
func New(apiURL, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(apiURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("api URL %q: want an http(s) URL", apiURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, token: token, http: hc, MaxAttempts: 5, MaxWait: time.Minute, sleep: sleepCtx}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Error is an answer other than 2xx.
type Error struct {
	Method, Path string
	Status       int
	Message      string
	// Permissions is what GitHub says the call needs
	// (X-Accepted-GitHub-Permissions, fine-grained tokens) and Scopes the
	// OAuth scopes it accepts (X-Accepted-OAuth-Scopes, classic tokens);
	// TokenScopes the scopes the classic token has (X-OAuth-Scopes; empty
	// for fine-grained tokens).
	Permissions, Scopes, TokenScopes string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("GET %s: %d %s", e.Path, e.Status, e.Message)
	if e.Permissions != "" {
		s += " (needs permission " + e.Permissions + ")"
	}
	if e.Scopes != "" {
		s += " (accepted scopes: " + e.Scopes + ")"
	}
	if e.TokenScopes != "" {
		s += " (the token has scopes: " + e.TokenScopes + ")"
	}
	return s
}

// IsStatus reports whether err is an API answer with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// Get reads path (with its query) into v.
func (c *Client) Get(ctx context.Context, path string, v any) error {
	_, err := c.get(ctx, c.resolve(path), v)
	return err
}

// GetAll reads every page of a list at path: each page is decoded by
// page, which appends its items; the next page is the Link header's
// rel="next".
func (c *Client) GetAll(ctx context.Context, path string, page func(body []byte) error) error {
	next := c.resolve(path)
	for n := 0; next != ""; n++ {
		if n >= 1000 {
			return fmt.Errorf("GET %s: more than 1000 pages", path)
		}
		var raw json.RawMessage
		h, err := c.get(ctx, next, &raw)
		if err != nil {
			return err
		}
		if err := page(raw); err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		next = nextLink(h.Get("Link"))
	}
	return nil
}

func (c *Client) resolve(path string) string {
	return c.base.String() + "/" + strings.TrimPrefix(path, "/")
}

var linkNext = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

func nextLink(h string) string {
	if m := linkNext.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

func (c *Client) get(ctx context.Context, u string, v any) (http.Header, error) {
	path := strings.TrimPrefix(u, c.base.String())
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	attempts := max(c.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", APIVersion)
		req.Header.Set("User-Agent", "shipshape")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		if resp.StatusCode/100 == 2 {
			if err := json.Unmarshal(body, v); err != nil {
				return nil, fmt.Errorf("GET %s: decode: %w", path, err)
			}
			return resp.Header, nil
		}
		var msg struct{ Message string }
		_ = json.Unmarshal(body, &msg)
		apiErr := &Error{Method: http.MethodGet, Path: path, Status: resp.StatusCode, Message: msg.Message,
			Permissions: resp.Header.Get("X-Accepted-GitHub-Permissions"), Scopes: resp.Header.Get("X-Accepted-OAuth-Scopes"),
			TokenScopes: resp.Header.Get("X-OAuth-Scopes")}
		wait, retry := retryAfter(resp, attempt)
		if !retry || attempt >= attempts {
			if retry {
				apiErr.Message += fmt.Sprintf(" (still after %d attempts)", attempt)
			}
			return nil, apiErr
		}
		if wait > c.MaxWait {
			return nil, fmt.Errorf("%w: the rate limit resets in %s, longer than %s", apiErr, wait.Round(time.Second), c.MaxWait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
	}
}

// retryAfter says whether an answer is worth retrying and after how long:
// a rate limit (429, or 403 with X-RateLimit-Remaining 0) after
// Retry-After or until X-RateLimit-Reset; a server error after a backoff.
func retryAfter(resp *http.Response, attempt int) (time.Duration, bool) {
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusForbidden && (resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0")
	if limited {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Until(time.Unix(s, 0)), 0) + time.Second, true
		}
		return time.Minute, true
	}
	if resp.StatusCode >= 500 {
		return time.Duration(attempt) * 500 * time.Millisecond, true
	}
	return 0, false
}
