// Package httpcheck is the http-check task type: one HTTP request, its
// status, body, JSON fields, headers, redirects, cookies, security
// policies (HSTS, CSP, CORS, nosniff, Referrer-Policy, compression) and
// TLS certificate checked.
package httpcheck

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/internal/httpclient"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the HTTP check task type.
const Name = "http-check"

// maxCheckedBody is how much of a response body is kept to check
// bodyContains and json; the rest is read, counted and dropped.
const maxCheckedBody = 10 << 20

// Decl declares the http-check task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Sends one HTTP request and checks the status, body, JSON fields, headers, redirects, cookies, security policies (HSTS, CSP, CORS, X-Content-Type-Options, Referrer-Policy, compression) and TLS certificate of the response. " +
		"Redirects are followed only to hosts the plan allows when it has an allow-list (`spec.allowedHosts`), besides the URL's own host.",
	Params: []plan.Param{
		{Name: "url", Type: plan.TypeString, Required: true, Doc: "Absolute http:// or https:// URL."},
		{Name: "method", Type: plan.TypeString, Default: "GET", Doc: "HTTP method."},
		{Name: "headers", Type: plan.TypeStringMap, Doc: "Request headers (`Host` sets the virtual host)."},
		{Name: "body", Type: plan.TypeString, Doc: "Request body."},
		{Name: "expectStatus", Type: plan.TypeInt, Default: 200, Doc: "Expected status code of the final response; 0 accepts any."},
		{Name: "bodyContains", Type: plan.TypeString, Doc: "Text the response body must contain (the first 10 MiB are searched)."},
		{Name: "json", Type: plan.TypeStringMap, Doc: "JSON fields the body must hold: path → expected value. A path is dot-separated keys with [n] for array items (`status`, `checks.db`, `items[0].name`, `[0].id`). A string field compares as the string, other values as their JSON text (`true`, `null`, `{\"a\":1}`); numbers compare by value (`1` equals `1.0`)."},
		{Name: "expectJSON", Type: plan.TypeObjectList, Doc: "Assertions on JSON fields of the body, for health endpoints; each failing one fails the check. A path is a small JSONPath: `$.status`, `$.checks.db`, `$.items[0].name`, `$['a.b']` (the `$.` may be left out).", Fields: []plan.Param{
			{Name: "path", Type: plan.TypeString, Required: true, Doc: "The field."},
			{Name: "equals", Type: plan.TypeString, Doc: "Expected value, compared as for `json`."},
			{Name: "matches", Type: plan.TypeString, Doc: "Regular expression (Go syntax) the value's text must match."},
		}},
		{Name: "requireHeaders", Type: plan.TypeStringList, Doc: "Response headers that must be present. A missing one does not fail the task: it counts in headers.missing, for a gate to judge."},
		{Name: "expectHeaders", Type: plan.TypeObjectList, Doc: "Assertions on response header values; a header missing or not as expected fails the check.", Fields: []plan.Param{
			{Name: "name", Type: plan.TypeString, Required: true, Doc: "Header name."},
			{Name: "equals", Type: plan.TypeString, Doc: "Expected value (several headers of the name are joined with `, `)."},
			{Name: "matches", Type: plan.TypeString, Doc: "Regular expression (Go syntax) the value must match."},
		}},
		{Name: "expectRedirect", Type: plan.TypeObject, Doc: "The first response must be a redirect, as described; it fails the check otherwise.", Fields: []plan.Param{
			{Name: "to", Type: plan.TypeString, Required: true, Doc: "`https`: to the same host over https (for an http:// URL); or the URL (or URL prefix) the Location must lead to."},
			{Name: "status", Type: plan.TypeInt, Doc: "Expected redirect status; unset: a permanent redirect, 301 or 308."},
		}},
		{Name: "hsts", Type: plan.TypeObject, Doc: "Policy: Strict-Transport-Security must be present, well formed, with a max-age above 0 (and minMaxAge).", Fields: []plan.Param{
			{Name: "minMaxAge", Type: plan.TypeString, Doc: "Least max-age: days (`180d`), a duration (`4320h`) or seconds."},
			{Name: "includeSubDomains", Type: plan.TypeBool, Doc: "includeSubDomains must be set."},
			{Name: "preload", Type: plan.TypeBool, Doc: "preload must be set, with what preload lists ask: includeSubDomains and a max-age of a year or more."},
		}},
		{Name: "csp", Type: plan.TypeObject, Doc: "Policy: Content-Security-Policy must be present and well formed (quoted keywords, directives once).", Fields: []plan.Param{
			{Name: "forbid", Type: plan.TypeStringList, Doc: "Source keywords script-src (else default-src) must not allow: `unsafe-inline`, `unsafe-eval`, `*`. 'unsafe-inline' beside a nonce or hash is ignored by browsers and passes."},
			{Name: "require", Type: plan.TypeStringList, Doc: "Directives that must be present: `default-src`, `frame-ancestors`, …"},
		}},
		{Name: "cors", Type: plan.TypeObject, Doc: "Policy: the request is sent with an Origin header and the CORS answer is checked: never `Access-Control-Allow-Origin: *` with credentials; an allowed origin echoed (with `Vary: Origin`).", Fields: []plan.Param{
			{Name: "origin", Type: plan.TypeString, Required: true, Doc: "Origin sent: `https://app.example.com`."},
			{Name: "allowed", Type: plan.TypeBool, Doc: "Whether the origin must be allowed (default true) or refused (false)."},
		}},
		{Name: "nosniff", Type: plan.TypeBool, Default: false, Doc: "Policy: `X-Content-Type-Options: nosniff` must be present."},
		{Name: "referrerPolicy", Type: plan.TypeStringList, Doc: "Policy: the Referrer-Policy browsers apply must be one of these (`no-referrer`, `strict-origin-when-cross-origin`, …)."},
		{Name: "acceptEncoding", Type: plan.TypeStringList, Doc: "Policy: sent as Accept-Encoding (`br`, `gzip`, `deflate`, `zstd`); the response must be compressed with one of them. The body is decompressed for the other checks."},
		{Name: "timeout", Type: plan.TypeDuration, Default: "10s", Doc: "Limit for the whole exchange, until the body is read."},
		{Name: "insecureSkipVerify", Type: plan.TypeBool, Default: false, Doc: "Accept any TLS certificate (tls.days_left is still reported)."},
		{Name: "caFile", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "PEM file of CA certificates trusted on top of the system's (or the worker client's), for services behind a private CA."},
		{Name: "clientCert", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "PEM file of a client certificate presented to servers that ask for one (mutual TLS); with clientKey."},
		{Name: "clientKey", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "PEM file of clientCert's private key."},
		{Name: "followRedirects", Type: plan.TypeBool, Default: true, Doc: "Follow redirects (up to 10); when false the redirect response itself is checked."},
	},
	Metrics: []plan.Metric{
		{Name: "http.status", Unit: plan.UnitCount, Doc: "Status code of the final response."},
		{Name: "http.latency", Unit: plan.UnitSeconds, Doc: "Time from sending the request (redirects included) until the whole body is read."},
		{Name: "http.bytes", Unit: plan.UnitBytes, Doc: "Size of the response body, as received (after transparent decompression)."},
		{Name: "headers.missing", Unit: plan.UnitCount, Doc: "How many of requireHeaders the response lacks; their names are in the task output."},
		{Name: "http.redirects", Unit: plan.UnitCount, Doc: "Redirects followed; the final URL is in the task output."},
		{Name: "http.cookies.total", Unit: plan.UnitCount, Doc: "Cookies set (Set-Cookie) by the responses, redirects included."},
		{Name: "http.cookies.insecure", Unit: plan.UnitCount, Doc: "Cookies set without Secure, HttpOnly or a SameSite of Lax or Strict (None only with Secure); their names and what they lack are in the task output."},
		{Name: "http.policy.failures", Unit: plan.UnitCount, Doc: "Policies asked for (hsts, csp, cors, nosniff, referrerPolicy, acceptEncoding) that the response does not meet. A policy not met does not fail the task, for a gate to judge; what is wrong is in the task output."},
		{Name: "http.hsts.ok", Unit: plan.UnitCount, Doc: "1 when the hsts policy is met, else 0."},
		{Name: "http.hsts.max_age", Unit: plan.UnitSeconds, Doc: "Strict-Transport-Security max-age, when it can be read."},
		{Name: "http.csp.ok", Unit: plan.UnitCount, Doc: "1 when the csp policy is met, else 0 (a malformed policy too)."},
		{Name: "http.cors.ok", Unit: plan.UnitCount, Doc: "1 when the cors policy is met, else 0."},
		{Name: "http.nosniff.ok", Unit: plan.UnitCount, Doc: "1 when `X-Content-Type-Options: nosniff` is present, else 0."},
		{Name: "http.referrer_policy.ok", Unit: plan.UnitCount, Doc: "1 when the Referrer-Policy is one of referrerPolicy, else 0."},
		{Name: "http.content_encoding.ok", Unit: plan.UnitCount, Doc: "1 when the response is compressed with one of acceptEncoding, else 0."},
		{Name: "tls.days_left", Unit: plan.UnitCount, Doc: "Days (fractional) until the server's leaf certificate expires; negative once expired. Only for https. Reported even when verification fails."},
	},
	Timeout: 2 * time.Minute,
}

// Activities runs http-check tasks.
type Activities struct {
	// HTTPClient is the client requests go through; nil: a default one.
	HTTPClient *http.Client
	logger     *slog.Logger
}

// New returns the http-check activities; a nil client or logger means the
// default one.
func New(client *http.Client, logger *slog.Logger) *Activities {
	if logger == nil {
		logger = slog.Default()
	}
	return &Activities{HTTPClient: client, logger: logger}
}

// Type is the http-check task type, run by a.
func (a *Activities) Type() task.Type { return task.Type{Decl: Decl, Run: a.HTTPCheck} }

// httpCheck is an http-check task's parameters, checked.
type httpCheck struct {
	method          string
	url             *url.URL
	headers         map[string]string
	body            string
	expectStatus    int
	bodyContains    string
	json            map[string][]jsonStep
	jsonWant        map[string]string
	expectJSON      []jsonAssertion
	requireHeaders  []string
	expectHeaders   []headerAssertion
	redirect        *redirectExpectation
	policies        policies
	timeout         time.Duration
	insecure        bool
	tlsFiles        httpclient.TLSFiles
	followRedirects bool
	// allowed are the hosts redirects may lead to; nil: any.
	allowed []string
}

// jsonAssertion is one of expectJSON.
type jsonAssertion struct {
	path    string
	steps   []jsonStep
	equals  *string
	matches *regexp.Regexp
}

// headerAssertion is one of expectHeaders.
type headerAssertion struct {
	name    string
	equals  *string
	matches *regexp.Regexp
}

// redirectExpectation is expectRedirect.
type redirectExpectation struct {
	to     string
	status int
}

// hop is one redirect followed: the response that asked for it and where
// it led.
type hop struct {
	status int
	to     *url.URL
	header http.Header
}

// HTTPCheck sends one request and checks the response. Status, body,
// JSON, header and redirect mismatches fail the check (all of them
// listed); policies and cookies are measured for gates; connection errors
// are returned as they are, to be retried.
func (a *Activities) HTTPCheck(ctx context.Context, in task.Input) (task.Output, error) {
	check, err := parseHTTPCheck(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	if len(in.AllowedHosts) > 0 {
		// The plan has an allow-list: redirects stay on it, or on the
		// URL's own host (which the plan does not check for this type).
		check.allowed = append(slices.Clone(in.AllowedHosts), check.url.Hostname())
	}
	target := check.url.Redacted()
	var hops []hop
	client, closeClient, err := a.checkClient(check, &hops)
	if err != nil {
		return task.Output{}, err
	}
	defer closeClient()

	ctx, cancel := context.WithTimeout(ctx, check.timeout)
	defer cancel()
	req, err := check.request(ctx)
	if err != nil {
		return task.Output{}, task.InvalidParams("request %s %s: %v", check.method, target, err)
	}

	out := task.Output{Metrics: map[string]float64{}}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return a.httpError(ctx, check, out, start, err)
	}
	defer resp.Body.Close()
	var body []byte
	var size int64
	decoded, err := decodeBody(resp, check.policies.encodings)
	if err == nil {
		body, size, err = readBody(decoded, maxCheckedBody)
	}
	latency := time.Since(start)
	if err != nil {
		return a.httpError(ctx, check, out, start, err)
	}

	out.Metrics["http.status"] = float64(resp.StatusCode)
	out.Metrics["http.latency"] = latency.Seconds()
	out.Metrics["http.bytes"] = float64(size)
	out.Metrics["http.redirects"] = float64(len(hops))
	var report strings.Builder
	fmt.Fprintf(&report, "%s %s -> %s in %s, %d bytes", check.method, target, resp.Status, latency.Round(time.Microsecond), size)
	if len(hops) > 0 {
		fmt.Fprintf(&report, " (redirected to %s)", hops[len(hops)-1].to.Redacted())
		for _, h := range hops {
			fmt.Fprintf(&report, "\nredirect: %d -> %s", h.status, h.to.Redacted())
		}
		fmt.Fprintf(&report, "\nfinal URL: %s", hops[len(hops)-1].to.Redacted())
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf := resp.TLS.PeerCertificates[0]
		out.Metrics["tls.days_left"] = daysLeft(leaf)
		report.WriteString(certificateNote(leaf))
	}

	var missing []string
	for _, h := range check.requireHeaders {
		if len(resp.Header.Values(h)) == 0 {
			missing = append(missing, h)
		}
	}
	out.Metrics["headers.missing"] = float64(len(missing))
	if len(missing) > 0 {
		fmt.Fprintf(&report, "\nmissing headers: %s", strings.Join(missing, ", "))
	}

	var cookies []*http.Cookie
	for _, h := range hops {
		cookies = append(cookies, (&http.Response{Header: h.header}).Cookies()...)
	}
	cookies = append(cookies, resp.Cookies()...)
	insecure := cookieProblems(cookies)
	out.Metrics["http.cookies.total"] = float64(len(cookies))
	out.Metrics["http.cookies.insecure"] = float64(len(insecure))
	for _, c := range insecure {
		report.WriteString("\n" + c)
	}

	for _, r := range check.policies.check(resp.Header, out.Metrics) {
		if r.ok {
			fmt.Fprintf(&report, "\npolicy %s: ok", r.name)
		} else {
			fmt.Fprintf(&report, "\npolicy %s: FAILED: %s", r.name, r.why)
		}
	}
	if !check.policies.any() {
		out.Metrics["http.policy.failures"] = 0
	}

	problems := check.redirectMismatches(resp, hops)
	problems = append(problems, check.headerMismatches(resp.Header)...)
	problems = append(problems, check.mismatches(resp.StatusCode, body, size)...)
	for _, p := range problems {
		report.WriteString("\n" + p)
	}
	out.Output = report.String()

	a.logger.InfoContext(ctx, "http check",
		slog.String("task", in.Task), slog.String("method", check.method), slog.String("url", target),
		slog.Int("status", resp.StatusCode), slog.Duration("latency", latency), slog.Int("redirects", len(hops)),
		slog.Int("missing_headers", len(missing)), slog.Int("mismatches", len(problems)),
		slog.Float64("policy_failures", out.Metrics["http.policy.failures"]), slog.Int("insecure_cookies", len(insecure)))
	if len(problems) > 0 {
		return task.Output{}, task.CheckFailed(out, "%s %s: %s", check.method, target, strings.Join(problems, "; "))
	}
	return out, nil
}

func parseHTTPCheck(p task.Params) (*httpCheck, error) {
	c := &httpCheck{
		method:          strings.ToUpper(strings.TrimSpace(p.String("method"))),
		headers:         p.StringMap("headers"),
		body:            p.String("body"),
		expectStatus:    p.Int("expectStatus"),
		bodyContains:    p.String("bodyContains"),
		requireHeaders:  p.Strings("requireHeaders"),
		timeout:         p.Duration("timeout"),
		insecure:        p.Bool("insecureSkipVerify"),
		followRedirects: p.Bool("followRedirects"),
		tlsFiles:        httpclient.TLSFiles{CA: p.String("caFile"), Cert: p.String("clientCert"), Key: p.String("clientKey")},
	}
	if c.method == "" {
		c.method = http.MethodGet
	}
	raw := p.String("url")
	u, err := url.Parse(raw)
	if err != nil {
		return nil, task.InvalidParams("url: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, task.InvalidParams("url %q: want an absolute http:// or https:// URL", u.Redacted())
	}
	c.url = u
	if c.expectStatus != 0 && (c.expectStatus < 100 || c.expectStatus > 599) {
		return nil, task.InvalidParams("expectStatus %d: want 0 (any) or a status from 100 to 599", c.expectStatus)
	}
	if c.timeout <= 0 {
		return nil, task.InvalidParams("timeout %q: want a positive duration", p.String("timeout"))
	}
	if want := p.StringMap("json"); len(want) > 0 {
		c.json, c.jsonWant = map[string][]jsonStep{}, want
		for path := range want {
			steps, err := parseJSONPath(path)
			if err != nil {
				return nil, task.InvalidParams("json: path %q: %v", path, err)
			}
			c.json[path] = steps
		}
	}
	for i, o := range p.Objects("expectJSON") {
		at := fmt.Sprintf("expectJSON[%d]", i)
		path := strings.TrimSpace(o.String("path"))
		steps, err := parseJSONPath(strings.TrimPrefix(strings.TrimPrefix(path, "$"), "."))
		if err != nil && path != "$" {
			return nil, task.InvalidParams("%s.path %q: %v", at, path, err)
		}
		a := jsonAssertion{path: path, steps: steps}
		if a.equals, a.matches, err = expectation(o, at); err != nil {
			return nil, err
		}
		c.expectJSON = append(c.expectJSON, a)
	}
	for i, o := range p.Objects("expectHeaders") {
		at := fmt.Sprintf("expectHeaders[%d]", i)
		a := headerAssertion{name: http.CanonicalHeaderKey(strings.TrimSpace(o.String("name")))}
		if a.name == "" {
			return nil, task.InvalidParams("%s.name: required", at)
		}
		if a.equals, a.matches, err = expectation(o, at); err != nil {
			return nil, err
		}
		c.expectHeaders = append(c.expectHeaders, a)
	}
	if _, ok := p["expectRedirect"]; ok {
		o := p.Object("expectRedirect")
		c.redirect = &redirectExpectation{to: strings.TrimSpace(o.String("to")), status: o.Int("status")}
		switch {
		case c.redirect.to == "":
			return nil, task.InvalidParams("expectRedirect.to: required: https, or the URL the redirect leads to")
		case strings.EqualFold(c.redirect.to, "https") && u.Scheme != "http":
			return nil, task.InvalidParams("expectRedirect.to https: the url %s is not http://", u.Redacted())
		case c.redirect.status != 0 && (c.redirect.status < 300 || c.redirect.status > 399):
			return nil, task.InvalidParams("expectRedirect.status %d: want a 3xx status", c.redirect.status)
		}
	}
	if c.policies, err = parsePolicies(p); err != nil {
		return nil, err
	}
	return c, nil
}

// expectation reads an assertion's equals and matches; one is needed.
func expectation(o task.Params, at string) (*string, *regexp.Regexp, error) {
	var equals *string
	var matches *regexp.Regexp
	if _, ok := o["equals"]; ok {
		s := o.String("equals")
		equals = &s
	}
	if _, ok := o["matches"]; ok {
		re, err := regexp.Compile(o.String("matches"))
		if err != nil {
			return nil, nil, task.InvalidParams("%s.matches: %v", at, err)
		}
		matches = re
	}
	if equals == nil && matches == nil {
		return nil, nil, task.InvalidParams("%s: give equals or matches", at)
	}
	return equals, matches, nil
}

func (c *httpCheck) request(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url.String(), body)
	if err != nil {
		return nil, err
	}
	c.policies.prepare(req)
	for _, k := range slices.Sorted(maps.Keys(c.headers)) {
		if strings.EqualFold(k, "Host") {
			req.Host = c.headers[k]
			continue
		}
		req.Header.Set(k, c.headers[k])
	}
	return req, nil
}

// checkClient derives the client of one check from the worker's client:
// same transport and jar, this check's redirect and TLS settings. Every
// redirect followed is appended to hops. The returned func releases a
// transport made for this check only.
func (a *Activities) checkClient(c *httpCheck, hops *[]hop) (*http.Client, func(), error) {
	base := a.HTTPClient
	if base == nil {
		base = http.DefaultClient
	}
	client := *base
	client.Timeout = 0 // the check's own timeout bounds the exchange
	allowed := httpclient.CheckRedirect(c.allowed)
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !c.followRedirects {
			return http.ErrUseLastResponse
		}
		if c.allowed != nil {
			if err := allowed(req, via); err != nil {
				return err
			}
		} else if len(via) >= httpclient.MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", httpclient.MaxRedirects)
		}
		h := hop{to: req.URL}
		if req.Response != nil {
			h.status, h.header = req.Response.StatusCode, req.Response.Header
		}
		*hops = append(*hops, h)
		return nil
	}
	if !c.insecure && c.tlsFiles.Empty() {
		return &client, func() {}, nil
	}
	var transport *http.Transport
	switch t := base.Transport.(type) {
	case nil:
		transport = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		transport = t.Clone()
	default:
		return nil, nil, task.InvalidParams("insecureSkipVerify, caFile and clientCert need an *http.Transport; the worker's HTTP client has a %T", t)
	}
	cfg, err := c.tlsFiles.Apply(transport.TLSClientConfig)
	if errors.Is(err, httpclient.ErrFile) {
		return nil, nil, task.InvalidParams("%v", err)
	}
	if err != nil {
		return nil, nil, err
	}
	cfg.InsecureSkipVerify = c.insecure
	transport.TLSClientConfig = cfg
	client.Transport = transport
	return &client, transport.CloseIdleConnections, nil
}

// decodeBody undoes the Content-Encoding of a response to an
// Accept-Encoding the check sent itself (the transport decodes only what
// it asked for).
func decodeBody(resp *http.Response, accepted []string) (io.Reader, error) {
	if len(accepted) == 0 || resp.Uncompressed {
		return resp.Body, nil
	}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return resp.Body, nil
	case "gzip":
		return gzip.NewReader(resp.Body)
	case "deflate":
		return zlib.NewReader(resp.Body)
	case "br":
		return brotli.NewReader(resp.Body), nil
	case "zstd":
		d, err := zstd.NewReader(resp.Body)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	default:
		return nil, fmt.Errorf("body in unknown Content-Encoding %q", shorten(enc, 40))
	}
}

// redirectMismatches checks expectRedirect against the first response:
// hops[0] when redirects were followed, else resp itself.
func (c *httpCheck) redirectMismatches(resp *http.Response, hops []hop) []string {
	e := c.redirect
	if e == nil {
		return nil
	}
	status, to := resp.StatusCode, (*url.URL)(nil)
	if len(hops) > 0 {
		status, to = hops[0].status, hops[0].to
	} else if loc, err := resp.Location(); err == nil {
		to = loc
	}
	var problems []string
	switch {
	case to == nil:
		return []string{fmt.Sprintf("no redirect: status %d without a Location, want a redirect to %s", status, e.to)}
	case e.status != 0 && status != e.status:
		problems = append(problems, fmt.Sprintf("redirect status %d, want %d", status, e.status))
	case e.status == 0 && status != http.StatusMovedPermanently && status != http.StatusPermanentRedirect:
		problems = append(problems, fmt.Sprintf("redirect status %d, want a permanent one (301 or 308)", status))
	}
	if strings.EqualFold(e.to, "https") {
		if to.Scheme != "https" || !strings.EqualFold(to.Hostname(), c.url.Hostname()) {
			problems = append(problems, fmt.Sprintf("redirect to %s, want https://%s", to.Redacted(), c.url.Hostname()))
		}
	} else if got := to.String(); got != e.to && !strings.HasPrefix(got, e.to) {
		problems = append(problems, fmt.Sprintf("redirect to %s, want %s", to.Redacted(), e.to))
	}
	return problems
}

// headerMismatches checks expectHeaders.
func (c *httpCheck) headerMismatches(h http.Header) []string {
	var problems []string
	for _, a := range c.expectHeaders {
		values := h.Values(a.name)
		if len(values) == 0 {
			problems = append(problems, fmt.Sprintf("header %s is missing, want %s", a.name, a.want()))
			continue
		}
		got := strings.Join(values, ", ")
		if (a.equals != nil && got != *a.equals) || (a.matches != nil && !a.matches.MatchString(got)) {
			problems = append(problems, fmt.Sprintf("header %s is %q, want %s", a.name, shorten(got, 80), a.want()))
		}
	}
	return problems
}

func (a headerAssertion) want() string { return describeWant(a.equals, a.matches) }

func describeWant(equals *string, matches *regexp.Regexp) string {
	var parts []string
	if equals != nil {
		parts = append(parts, fmt.Sprintf("%q", *equals))
	}
	if matches != nil {
		parts = append(parts, fmt.Sprintf("a match of /%s/", matches))
	}
	return strings.Join(parts, " and ")
}

// httpError classifies an error of the exchange. A certificate that fails
// verification is a failed check (with tls.days_left when the certificate
// is known); anything else is returned to be retried.
func (a *Activities) httpError(ctx context.Context, c *httpCheck, out task.Output, start time.Time, err error) (task.Output, error) {
	target := c.url.Redacted()
	var verify *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var refused *httpclient.RedirectRefused
	switch {
	case errors.As(err, &refused):
		out.Output = fmt.Sprintf("%s %s: %v", c.method, target, refused)
		return task.Output{}, task.CheckFailed(out, "%s %s: %v", c.method, target, refused)
	case errors.As(err, &verify), errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname):
		out.Output = fmt.Sprintf("%s %s: %v", c.method, target, unwrapURLError(err))
		if verify != nil && len(verify.UnverifiedCertificates) > 0 {
			leaf := verify.UnverifiedCertificates[0]
			out.Metrics["tls.days_left"] = daysLeft(leaf)
			out.Output += certificateNote(leaf)
		}
		return task.Output{}, task.CheckFailed(out, "%s %s: TLS certificate not accepted: %v", c.method, target, unwrapURLError(err))
	case ctx.Err() == context.DeadlineExceeded && errors.Is(err, context.DeadlineExceeded):
		// The check's own timeout, not the activity's: retry it.
		return task.Output{}, fmt.Errorf("%s %s: no complete response within %s", c.method, target, c.timeout)
	}
	a.logger.InfoContext(ctx, "http check got no response", slog.String("url", target),
		slog.Duration("after", time.Since(start)), slog.String("error", unwrapURLError(err).Error()))
	return task.Output{}, fmt.Errorf("%s %s: %w", c.method, target, unwrapURLError(err))
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and URL (unredacted).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func certificateNote(leaf *x509.Certificate) string {
	return fmt.Sprintf("\ncertificate %q expires %s (%.1f days left)",
		leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339), daysLeft(leaf))
}

func daysLeft(cert *x509.Certificate) float64 {
	return time.Until(cert.NotAfter).Hours() / 24
}

// readBody reads the whole body, keeping its first limit bytes.
func readBody(r io.Reader, limit int64) ([]byte, int64, error) {
	var kept bytes.Buffer
	n, err := io.Copy(&kept, io.LimitReader(r, limit))
	if err != nil {
		return nil, n, err
	}
	rest, err := io.Copy(io.Discard, r)
	return kept.Bytes(), n + rest, err
}

// mismatches lists every expectation the response does not meet.
func (c *httpCheck) mismatches(status int, body []byte, size int64) []string {
	var problems []string
	if c.expectStatus != 0 && status != c.expectStatus {
		problems = append(problems, fmt.Sprintf("status %d, want %d", status, c.expectStatus))
	}
	truncated := ""
	if size > int64(len(body)) {
		truncated = fmt.Sprintf(" (in its first %d bytes)", len(body))
	}
	if c.bodyContains != "" && !bytes.Contains(body, []byte(c.bodyContains)) {
		problems = append(problems, fmt.Sprintf("body does not contain %q%s", c.bodyContains, truncated))
	}
	if len(c.json) == 0 && len(c.expectJSON) == 0 {
		return problems
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return append(problems, fmt.Sprintf("body is not JSON%s: %v", truncated, err))
	}
	for _, path := range slices.Sorted(maps.Keys(c.json)) {
		want := c.jsonWant[path]
		got, err := lookupJSON(doc, c.json[path])
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("json %s: %v, want %q", path, err, want))
		case !got.equal(want):
			problems = append(problems, fmt.Sprintf("json %s = %s, want %q", path, shorten(got.text, 80), want))
		}
	}
	for _, a := range c.expectJSON {
		want := describeWant(a.equals, a.matches)
		got, err := lookupJSON(doc, a.steps)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("json %s: %v, want %s", a.path, err, want))
		case (a.equals != nil && !got.equal(*a.equals)) || (a.matches != nil && !a.matches.MatchString(got.text)):
			problems = append(problems, fmt.Sprintf("json %s = %s, want %s", a.path, shorten(got.text, 80), want))
		}
	}
	return problems
}

// jsonStep is one step of a JSON path: a key or an array index.
type jsonStep struct {
	key    string
	index  int  // used when key is "" and not quoted
	quoted bool // a key written ['key']
}

func (s jsonStep) String() string {
	if s.quoted {
		return "['" + s.key + "']"
	}
	if s.key != "" {
		return s.key
	}
	return "[" + strconv.Itoa(s.index) + "]"
}

// parseJSONPath reads "checks.db", "items[0].name", "[2]".
func parseJSONPath(path string) ([]jsonStep, error) {
	if path == "" {
		return nil, errors.New("empty path")
	}
	var steps []jsonStep
	i := 0
	for i < len(path) {
		switch path[i] {
		case '[':
			if i+1 < len(path) && (path[i+1] == '\'' || path[i+1] == '"') {
				// ['key'] or ["key"]: a key that may hold dots.
				q := path[i+1]
				end := strings.IndexByte(path[i+2:], q)
				if end < 0 || i+2+end+1 >= len(path) || path[i+2+end+1] != ']' {
					return nil, fmt.Errorf("unclosed [%c at %d", q, i)
				}
				steps = append(steps, jsonStep{key: path[i+2 : i+2+end], quoted: true})
				i += end + 4
				if i < len(path) && path[i] != '.' && path[i] != '[' {
					return nil, fmt.Errorf("want . or [ after ] at %d", i)
				}
				continue
			}
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at %d", i)
			}
			n, err := strconv.Atoi(path[i+1 : i+end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("index %q at %d is not a non-negative integer", path[i+1:i+end], i)
			}
			steps = append(steps, jsonStep{index: n})
			i += end + 1
			if i < len(path) && path[i] != '.' && path[i] != '[' {
				return nil, fmt.Errorf("want . or [ after ] at %d", i)
			}
		case '.':
			if i == 0 || i == len(path)-1 || path[i+1] == '.' || path[i+1] == '[' {
				return nil, fmt.Errorf("empty key at %d", i)
			}
			i++
		default:
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				end = len(path) - i
			}
			steps = append(steps, jsonStep{key: path[i : i+end]})
			i += end
		}
	}
	return steps, nil
}

// jsonValue is a value found in a JSON document, as text: a string as
// itself, anything else as compact JSON.
type jsonValue struct {
	text   string
	number bool
}

// equal compares the value with the expected text; a number compares by
// value, so that 1.0 matches "1".
func (v jsonValue) equal(want string) bool {
	if v.text == want {
		return true
	}
	if !v.number {
		return false
	}
	got, err1 := strconv.ParseFloat(v.text, 64)
	w, err2 := strconv.ParseFloat(strings.TrimSpace(want), 64)
	return err1 == nil && err2 == nil && got == w
}

// lookupJSON follows steps into doc and returns the value found.
func lookupJSON(doc any, steps []jsonStep) (jsonValue, error) {
	cur := doc
	for i, step := range steps {
		at := "at " + jsonPathText(steps[:i+1])
		switch v := cur.(type) {
		case map[string]any:
			if step.key == "" && !step.quoted {
				return jsonValue{}, fmt.Errorf("%s: an object, not an array", at)
			}
			next, ok := v[step.key]
			if !ok {
				return jsonValue{}, fmt.Errorf("%s: no such field", at)
			}
			cur = next
		case []any:
			if step.key != "" || step.quoted {
				return jsonValue{}, fmt.Errorf("%s: an array, not an object", at)
			}
			if step.index >= len(v) {
				return jsonValue{}, fmt.Errorf("%s: the array has %d items", at, len(v))
			}
			cur = v[step.index]
		default:
			return jsonValue{}, fmt.Errorf("%s: parent is %s, not an object or array", at, jsonKind(v))
		}
	}
	if s, ok := cur.(string); ok {
		return jsonValue{text: s}, nil
	}
	text, err := json.Marshal(cur)
	if err != nil {
		return jsonValue{}, err
	}
	_, number := cur.(json.Number)
	return jsonValue{text: string(text), number: number}, nil
}

func jsonPathText(steps []jsonStep) string {
	var b strings.Builder
	for i, s := range steps {
		if i > 0 && s.key != "" && !s.quoted {
			b.WriteByte('.')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// shorten cuts s to n bytes for a message.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// jsonKind names the kind of a decoded JSON value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
