// Package httpcheck is the http-check task type: one HTTP request, its
// status, body, JSON fields, headers and TLS certificate checked.
package httpcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the HTTP check task type.
const Name = "http-check"

// maxCheckedBody is how much of a response body is kept to check
// bodyContains and json; the rest is read, counted and dropped.
const maxCheckedBody = 10 << 20

// Decl declares the http-check task type.
var Decl = plan.TaskType{
	Name:    Name,
	Summary: "Sends one HTTP request and checks the status, body, JSON fields, headers and TLS certificate of the response.",
	Params: []plan.Param{
		{Name: "url", Type: plan.TypeString, Required: true, Doc: "Absolute http:// or https:// URL."},
		{Name: "method", Type: plan.TypeString, Default: "GET", Doc: "HTTP method."},
		{Name: "headers", Type: plan.TypeStringMap, Doc: "Request headers (`Host` sets the virtual host)."},
		{Name: "body", Type: plan.TypeString, Doc: "Request body."},
		{Name: "expectStatus", Type: plan.TypeInt, Default: 200, Doc: "Expected status code of the final response; 0 accepts any."},
		{Name: "bodyContains", Type: plan.TypeString, Doc: "Text the response body must contain (the first 10 MiB are searched)."},
		{Name: "json", Type: plan.TypeStringMap, Doc: "JSON fields the body must hold: path → expected value. A path is dot-separated keys with [n] for array items (`status`, `checks.db`, `items[0].name`, `[0].id`). A string field compares as the string, other values as their JSON text (`true`, `null`, `{\"a\":1}`); numbers compare by value (`1` equals `1.0`)."},
		{Name: "requireHeaders", Type: plan.TypeStringList, Doc: "Response headers that must be present. A missing one does not fail the task: it counts in headers.missing, for a gate to judge."},
		{Name: "timeout", Type: plan.TypeDuration, Default: "10s", Doc: "Limit for the whole exchange, until the body is read."},
		{Name: "insecureSkipVerify", Type: plan.TypeBool, Default: false, Doc: "Accept any TLS certificate (tls.days_left is still reported)."},
		{Name: "caFile", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "PEM file of CA certificates to trust instead of the system's, for services behind a private CA."},
		{Name: "followRedirects", Type: plan.TypeBool, Default: true, Doc: "Follow redirects (up to 10); when false the redirect response itself is checked."},
	},
	Metrics: []plan.Metric{
		{Name: "http.status", Unit: plan.UnitCount, Doc: "Status code of the final response."},
		{Name: "http.latency", Unit: plan.UnitSeconds, Doc: "Time from sending the request (redirects included) until the whole body is read."},
		{Name: "http.bytes", Unit: plan.UnitBytes, Doc: "Size of the response body, as received (after transparent decompression)."},
		{Name: "headers.missing", Unit: plan.UnitCount, Doc: "How many of requireHeaders the response lacks; their names are in the task output."},
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
	requireHeaders  []string
	timeout         time.Duration
	insecure        bool
	roots           *x509.CertPool
	followRedirects bool
}

// HTTPCheck sends one request and checks the response. Status, body and
// JSON mismatches fail the check (all of them listed); connection errors
// are returned as they are, to be retried.
func (a *Activities) HTTPCheck(ctx context.Context, in task.Input) (task.Output, error) {
	check, err := parseHTTPCheck(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	target := check.url.Redacted()
	client, closeClient, err := a.checkClient(check)
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
	body, size, err := readBody(resp.Body, maxCheckedBody)
	latency := time.Since(start)
	if err != nil {
		return a.httpError(ctx, check, out, start, err)
	}

	out.Metrics["http.status"] = float64(resp.StatusCode)
	out.Metrics["http.latency"] = latency.Seconds()
	out.Metrics["http.bytes"] = float64(size)
	var report strings.Builder
	fmt.Fprintf(&report, "%s %s -> %s in %s, %d bytes", check.method, target, resp.Status, latency.Round(time.Microsecond), size)
	if resp.Request != nil && resp.Request.URL.String() != check.url.String() {
		fmt.Fprintf(&report, " (redirected to %s)", resp.Request.URL.Redacted())
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

	problems := check.mismatches(resp.StatusCode, body, size)
	for _, p := range problems {
		report.WriteString("\n" + p)
	}
	out.Output = report.String()

	a.logger.InfoContext(ctx, "http check",
		slog.String("task", in.Task), slog.String("method", check.method), slog.String("url", target),
		slog.Int("status", resp.StatusCode), slog.Duration("latency", latency),
		slog.Int("missing_headers", len(missing)), slog.Int("mismatches", len(problems)))
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
	if file := p.String("caFile"); file != "" {
		pem, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, task.InvalidParams("caFile: %v", err)
		}
		if err != nil {
			return nil, fmt.Errorf("read caFile: %w", err)
		}
		c.roots = x509.NewCertPool()
		if !c.roots.AppendCertsFromPEM(pem) {
			return nil, task.InvalidParams("caFile %s: no PEM certificate found", file)
		}
	}
	return c, nil
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
// same transport and jar, this check's redirect and TLS settings. The
// returned func releases a transport made for this check only.
func (a *Activities) checkClient(c *httpCheck) (*http.Client, func(), error) {
	base := a.HTTPClient
	if base == nil {
		base = http.DefaultClient
	}
	client := *base
	client.Timeout = 0 // the check's own timeout bounds the exchange
	if !c.followRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	if !c.insecure && c.roots == nil {
		return &client, func() {}, nil
	}
	var transport *http.Transport
	switch t := base.Transport.(type) {
	case nil:
		transport = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		transport = t.Clone()
	default:
		return nil, nil, task.InvalidParams("insecureSkipVerify and caFile need an *http.Transport; the worker's HTTP client has a %T", t)
	}
	cfg := transport.TLSClientConfig
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if c.roots != nil {
		cfg.RootCAs = c.roots
	}
	cfg.InsecureSkipVerify = c.insecure
	transport.TLSClientConfig = cfg
	client.Transport = transport
	return &client, transport.CloseIdleConnections, nil
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
	switch {
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
	if len(c.json) == 0 {
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
	return problems
}

// jsonStep is one step of a JSON path: a key or an array index.
type jsonStep struct {
	key   string
	index int // used when key is ""
}

func (s jsonStep) String() string {
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
			if step.key == "" {
				return jsonValue{}, fmt.Errorf("%s: an object, not an array", at)
			}
			next, ok := v[step.key]
			if !ok {
				return jsonValue{}, fmt.Errorf("%s: no such field", at)
			}
			cur = next
		case []any:
			if step.key != "" {
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
		if i > 0 && s.key != "" {
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
