// Package osv is a client of OSV (https://osv.dev): its API, which says
// which advisories affect given package versions, and its data bucket,
// which serves every advisory of an ecosystem as one zip archive.
package osv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Default endpoints.
const (
	DefaultAPIURL  = "https://api.osv.dev"
	DefaultDataURL = "https://osv-vulnerabilities.storage.googleapis.com"
)

// Config configures the client.
type Config struct {
	// APIURL is the OSV API's base URL; "" means DefaultAPIURL.
	APIURL string
	// DataURL is the base URL of the per-ecosystem archives
	// (DataURL/<ecosystem>/all.zip); "" means DefaultDataURL.
	DataURL string
	// HTTPClient is used for every request; nil means one with a
	// 60-second timeout.
	HTTPClient *http.Client
	// MaxAttempts bounds tries of a request that failed with a network
	// error, 429 or 5xx; 0 means 3.
	MaxAttempts int
	// UserAgent is sent with every request.
	UserAgent string
}

// Client talks to OSV. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a client; it connects on first use.
func New(cfg Config) *Client {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.DataURL == "" {
		cfg.DataURL = DefaultDataURL
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "shipshape"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	cfg.DataURL = strings.TrimSuffix(cfg.DataURL, "/")
	return &Client{cfg: cfg, http: hc}
}

// StatusError is an HTTP response OSV answered with an error status.
type StatusError struct {
	URL  string
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("osv: %s: HTTP %d: %s", e.URL, e.Code, e.Body)
}

// Query asks about one package version.
type Query struct {
	Ecosystem string
	Name      string
	Version   string
}

// maxBatch is the most queries the API takes in one querybatch request.
const maxBatch = 1000

// maxPages bounds the pages followed for one query.
const maxPages = 50

type batchRequest struct {
	Queries []queryJSON `json:"queries"`
}

type queryJSON struct {
	Package   packageJSON `json:"package"`
	Version   string      `json:"version,omitempty"`
	PageToken string      `json:"page_token,omitempty"`
}

type packageJSON struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
}

type batchResponse struct {
	Results []struct {
		Vulns []struct {
			ID string `json:"id"`
		} `json:"vulns"`
		NextPageToken string `json:"next_page_token"`
	} `json:"results"`
}

// Vulnerabilities returns the OSV JSON of every advisory the API says
// affects one of the queries: their IDs from /v1/querybatch, then each
// advisory from /v1/vulns/{id}.
func (c *Client) Vulnerabilities(ctx context.Context, queries []Query) ([]json.RawMessage, error) {
	ids := map[string]bool{}
	for start := 0; start < len(queries); start += maxBatch {
		batch := queries[start:min(start+maxBatch, len(queries))]
		req := batchRequest{Queries: make([]queryJSON, len(batch))}
		for i, q := range batch {
			req.Queries[i] = queryJSON{Package: packageJSON{Name: q.Name, Ecosystem: q.Ecosystem}, Version: q.Version}
		}
		for page := 0; len(req.Queries) > 0; page++ {
			if page == maxPages {
				return nil, fmt.Errorf("osv: querybatch: more than %d pages of results", maxPages)
			}
			var resp batchResponse
			if err := c.postJSON(ctx, c.cfg.APIURL+"/v1/querybatch", req, &resp); err != nil {
				return nil, err
			}
			if len(resp.Results) != len(req.Queries) {
				return nil, fmt.Errorf("osv: querybatch answered %d results for %d queries", len(resp.Results), len(req.Queries))
			}
			var next []queryJSON
			for i, r := range resp.Results {
				for _, v := range r.Vulns {
					ids[v.ID] = true
				}
				if r.NextPageToken != "" {
					q := req.Queries[i]
					q.PageToken = r.NextPageToken
					next = append(next, q)
				}
			}
			req.Queries = next
		}
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	out := make([]json.RawMessage, len(sorted))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range sorted {
		g.Go(func() error {
			body, err := c.get(gctx, c.cfg.APIURL+"/v1/vulns/"+url.PathEscape(id), nil)
			if err != nil {
				return err
			}
			out[i] = body
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// DownloadResult says what Download fetched.
type DownloadResult struct {
	// NotModified is true when the archive has not changed since etag:
	// nothing was written.
	NotModified bool
	ETag        string
	Bytes       int64
}

// Download streams DataURL/<ecosystem>/all.zip, every advisory of the
// ecosystem, into w. With a non-empty etag from an earlier download, an
// unchanged archive is not sent again.
func (c *Client) Download(ctx context.Context, ecosystem, etag string, w io.Writer) (DownloadResult, error) {
	u := c.cfg.DataURL + "/" + url.PathEscape(ecosystem) + "/all.zip"
	var res DownloadResult
	err := c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil && etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		return req, err
	}, func(resp *http.Response) error {
		if resp.StatusCode == http.StatusNotModified {
			res = DownloadResult{NotModified: true, ETag: etag}
			return nil
		}
		n, err := io.Copy(w, resp.Body)
		if err != nil {
			return fmt.Errorf("osv: download %s: %w", u, err)
		}
		res = DownloadResult{ETag: resp.Header.Get("ETag"), Bytes: n}
		return nil
	})
	return res, err
}

func (c *Client) postJSON(ctx context.Context, u string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	data, err := c.get(ctx, u, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("osv: %s: invalid response: %w", u, err)
	}
	return nil
}

// maxResponse bounds an API response (one advisory or one batch answer).
const maxResponse = 64 << 20

// get GETs u, or POSTs body to it when body is not nil, and returns the
// response body.
func (c *Client) get(ctx context.Context, u string, body []byte) ([]byte, error) {
	var data []byte
	err := c.do(ctx, func() (*http.Request, error) {
		if body == nil {
			return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}, func(resp *http.Response) error {
		var err error
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		return err
	})
	return data, err
}

// do sends a request, retrying network errors, 429 and 5xx a bounded
// number of times with a growing pause, and hands a 2xx or 304 response
// to handle.
func (c *Client) do(ctx context.Context, newReq func() (*http.Request, error), handle func(*http.Response) error) error {
	var last error
	for attempt := 1; attempt <= c.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt-1) * 500 * time.Millisecond):
			}
		}
		req, err := newReq()
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", c.cfg.UserAgent)
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = fmt.Errorf("osv: %s: %w", req.URL, err)
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
			err := handle(resp)
			resp.Body.Close()
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		last = &StatusError{URL: req.URL.String(), Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return last
		}
	}
	return last
}

// IsNotFound reports whether err is a 404 from OSV (an unknown ecosystem).
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}
