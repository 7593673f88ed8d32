package httpcheck

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
)

// policies are the security policies a check asks the response to meet.
// A policy that is not met does not fail the check: it counts in
// http.policy.failures and its own http.<policy>.ok, for gates to judge.
type policies struct {
	hsts           *hstsPolicy
	csp            *cspPolicy
	cors           *corsPolicy
	nosniff        bool
	referrerPolicy []string
	encodings      []string
}

// policyResult is one policy's verdict.
type policyResult struct {
	metric string // http.<name>.ok
	name   string // as the output shows it
	ok     bool
	why    string // what is wrong; empty when ok
}

type hstsPolicy struct {
	minMaxAge         time.Duration
	includeSubDomains bool
	preload           bool
}

type cspPolicy struct {
	forbid  []string
	require []string
}

type corsPolicy struct {
	origin  string
	allowed bool
}

func parsePolicies(p task.Params) (policies, error) {
	var ps policies
	if _, ok := p["hsts"]; ok {
		h := p.Object("hsts")
		ps.hsts = &hstsPolicy{includeSubDomains: h.Bool("includeSubDomains"), preload: h.Bool("preload")}
		if text := h.String("minMaxAge"); text != "" {
			d, err := parseAge(text)
			if err != nil {
				return ps, task.InvalidParams("hsts.minMaxAge: %v", err)
			}
			ps.hsts.minMaxAge = d
		}
	}
	if _, ok := p["csp"]; ok {
		c := p.Object("csp")
		ps.csp = &cspPolicy{require: lower(c.Strings("require"))}
		for _, kw := range c.Strings("forbid") {
			ps.csp.forbid = append(ps.csp.forbid, strings.ToLower(strings.Trim(strings.TrimSpace(kw), "'")))
		}
	}
	if _, ok := p["cors"]; ok {
		c := p.Object("cors")
		ps.cors = &corsPolicy{origin: strings.TrimSpace(c.String("origin")), allowed: true}
		if _, set := c["allowed"]; set {
			ps.cors.allowed = c.Bool("allowed")
		}
		if ps.cors.origin == "" {
			return ps, task.InvalidParams("cors.origin: required: the Origin the request is sent with, such as https://app.example.com")
		}
	}
	ps.nosniff = p.Bool("nosniff")
	ps.referrerPolicy = lower(p.Strings("referrerPolicy"))
	ps.encodings = lower(p.Strings("acceptEncoding"))
	for _, e := range ps.encodings {
		if !slices.Contains([]string{"br", "gzip", "deflate", "zstd"}, e) {
			return ps, task.InvalidParams("acceptEncoding: %q: want br, gzip, deflate or zstd", e)
		}
	}
	return ps, nil
}

func (ps policies) any() bool {
	return ps.hsts != nil || ps.csp != nil || ps.cors != nil || ps.nosniff || len(ps.referrerPolicy) > 0 || len(ps.encodings) > 0
}

// prepare sets the request headers the policies need.
func (ps policies) prepare(req *http.Request) {
	if ps.cors != nil {
		req.Header.Set("Origin", ps.cors.origin)
	}
	if len(ps.encodings) > 0 {
		req.Header.Set("Accept-Encoding", strings.Join(ps.encodings, ", "))
	}
}

// check judges the response h by every policy asked for, in a fixed order.
func (ps policies) check(h http.Header, out map[string]float64) []policyResult {
	var results []policyResult
	add := func(metric, name, why string) {
		results = append(results, policyResult{metric: metric, name: name, ok: why == "", why: why})
	}
	if ps.hsts != nil {
		why, maxAge, known := ps.hsts.check(h.Values("Strict-Transport-Security"))
		if known {
			out["http.hsts.max_age"] = maxAge
		}
		add("http.hsts.ok", "HSTS", why)
	}
	if ps.csp != nil {
		add("http.csp.ok", "CSP", ps.csp.check(h.Values("Content-Security-Policy")))
	}
	if ps.cors != nil {
		add("http.cors.ok", "CORS", ps.cors.check(h))
	}
	if ps.nosniff {
		why := ""
		switch v := h.Values("X-Content-Type-Options"); {
		case len(v) == 0:
			why = "X-Content-Type-Options is missing, want nosniff"
		case !strings.EqualFold(strings.TrimSpace(v[0]), "nosniff"):
			why = fmt.Sprintf("X-Content-Type-Options is %q, want nosniff", shorten(v[0], 80))
		}
		add("http.nosniff.ok", "X-Content-Type-Options", why)
	}
	if len(ps.referrerPolicy) > 0 {
		add("http.referrer_policy.ok", "Referrer-Policy", checkReferrerPolicy(h.Values("Referrer-Policy"), ps.referrerPolicy))
	}
	if len(ps.encodings) > 0 {
		why := ""
		enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
		switch {
		case enc == "":
			why = fmt.Sprintf("no Content-Encoding: the body came uncompressed though %s was accepted", strings.Join(ps.encodings, ", "))
		case !slices.Contains(ps.encodings, enc):
			why = fmt.Sprintf("Content-Encoding %q, want one of %s", shorten(enc, 40), strings.Join(ps.encodings, ", "))
		}
		add("http.content_encoding.ok", "Content-Encoding", why)
	}
	failures := 0
	for _, r := range results {
		out[r.metric] = boolMetric(r.ok)
		if !r.ok {
			failures++
		}
	}
	out["http.policy.failures"] = float64(failures)
	return results
}

func boolMetric(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

// check judges Strict-Transport-Security values: it returns what is
// wrong, and max-age in seconds when it could be read.
func (p *hstsPolicy) check(values []string) (why string, maxAge float64, known bool) {
	if len(values) == 0 {
		return "Strict-Transport-Security is missing", 0, false
	}
	// Browsers read the first header only (RFC 6797 §8.1).
	directives := map[string]string{}
	for _, d := range strings.Split(values[0], ";") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		name, value, _ := strings.Cut(d, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := directives[name]; dup {
			return fmt.Sprintf("Strict-Transport-Security %q is malformed: directive %s appears twice, so browsers ignore the header", shorten(values[0], 80), name), 0, false
		}
		directives[name] = strings.Trim(strings.TrimSpace(value), `"`)
	}
	raw, ok := directives["max-age"]
	if !ok {
		return fmt.Sprintf("Strict-Transport-Security %q has no max-age, so browsers ignore it", shorten(values[0], 80)), 0, false
	}
	secs, err := strconv.ParseUint(raw, 10, 63)
	if err != nil {
		return fmt.Sprintf("Strict-Transport-Security max-age %q is not a number of seconds, so browsers ignore the header", shorten(raw, 40)), 0, false
	}
	maxAge = float64(secs)
	var problems []string
	switch {
	case secs == 0:
		problems = append(problems, "max-age=0 tells browsers to forget HSTS for the host")
	case p.minMaxAge > 0 && float64(secs) < p.minMaxAge.Seconds():
		problems = append(problems, fmt.Sprintf("max-age=%d (%s) is below the minimum %s", secs, formatAge(float64(secs)), formatAge(p.minMaxAge.Seconds())))
	}
	_, subdomains := directives["includesubdomains"]
	_, preload := directives["preload"]
	if p.includeSubDomains && !subdomains {
		problems = append(problems, "includeSubDomains is missing")
	}
	if p.preload {
		if !preload {
			problems = append(problems, "preload is missing")
		}
		const year = 365 * 24 * 3600
		if secs < year {
			problems = append(problems, "preload lists want max-age of at least a year (31536000)")
		}
		if !subdomains && !p.includeSubDomains {
			problems = append(problems, "preload lists want includeSubDomains")
		}
	}
	return strings.Join(problems, "; "), maxAge, true
}

// cspDirective is a directive name: letters, digits and dashes.
var cspDirective = regexp.MustCompile(`^[a-z0-9-]+$`)

// cspKeywords are the CSP source keywords, which must be written quoted.
var cspKeywords = []string{"self", "none", "unsafe-inline", "unsafe-eval", "strict-dynamic", "unsafe-hashes", "report-sample", "unsafe-allow-redirects", "wasm-unsafe-eval", "inline-speculation-rules"}

// check judges Content-Security-Policy values (each may hold several
// policies, comma-separated). A forbidden keyword in the script sources
// of any policy (script-src, else default-src) is a failure; 'unsafe-inline'
// is not one where a nonce or hash makes browsers ignore it.
func (p *cspPolicy) check(values []string) string {
	if len(values) == 0 {
		return "Content-Security-Policy is missing"
	}
	var problems []string
	present := map[string]bool{}
	for _, value := range values {
		for _, policy := range strings.Split(value, ",") {
			directives, err := parseCSP(policy)
			if err != nil {
				return fmt.Sprintf("Content-Security-Policy is malformed: %v", err)
			}
			for name := range directives {
				present[name] = true
			}
			sources, from := directives["script-src"], "script-src"
			if sources == nil {
				sources, from = directives["default-src"], "default-src"
			}
			nonceOrHash := slices.ContainsFunc(sources, func(s string) bool {
				return strings.HasPrefix(s, "'nonce-") || strings.HasPrefix(s, "'sha256-") || strings.HasPrefix(s, "'sha384-") || strings.HasPrefix(s, "'sha512-")
			})
			for _, kw := range p.forbid {
				if !slices.Contains(sources, "'"+kw+"'") && !(kw == "*" && slices.Contains(sources, "*")) {
					continue
				}
				if kw == "unsafe-inline" && nonceOrHash {
					continue
				}
				msg := fmt.Sprintf("%s allows '%s'", from, kw)
				if kw == "*" {
					msg = from + " allows any host (*)"
				}
				if !slices.Contains(problems, msg) {
					problems = append(problems, msg)
				}
			}
		}
	}
	for _, d := range p.require {
		if !present[d] {
			problems = append(problems, d+" is missing")
		}
	}
	return strings.Join(problems, "; ")
}

// parseCSP reads one serialized policy into directive → sources (lower
// case), and says what makes it malformed.
func parseCSP(policy string) (map[string][]string, error) {
	directives := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		fields := strings.Fields(d)
		if len(fields) == 0 {
			continue
		}
		name := strings.ToLower(fields[0])
		if !cspDirective.MatchString(name) {
			return nil, fmt.Errorf("%q is not a directive name", shorten(fields[0], 40))
		}
		if _, dup := directives[name]; dup {
			return nil, fmt.Errorf("directive %s appears twice (browsers ignore all but the first)", name)
		}
		sources := make([]string, 0, len(fields)-1)
		for _, s := range fields[1:] {
			ls := strings.ToLower(s)
			if slices.Contains(cspKeywords, ls) {
				return nil, fmt.Errorf("%s: keyword %s must be quoted ('%s'); unquoted it names a host", name, s, ls)
			}
			if strings.HasPrefix(ls, "'") != strings.HasSuffix(ls, "'") || ls == "'" {
				return nil, fmt.Errorf("%s: unbalanced quote in %q", name, shorten(s, 40))
			}
			for _, r := range s {
				if r < 0x21 || r > 0x7e {
					return nil, fmt.Errorf("%s: %q holds a character that is not printable ASCII", name, shorten(s, 40))
				}
			}
			sources = append(sources, ls)
		}
		directives[name] = sources
	}
	if len(directives) == 0 {
		return nil, fmt.Errorf("policy %q has no directives", shorten(policy, 40))
	}
	return directives, nil
}

// check judges the CORS headers answering a request sent with p.origin.
func (p *corsPolicy) check(h http.Header) string {
	allow := strings.TrimSpace(h.Get("Access-Control-Allow-Origin"))
	creds := strings.EqualFold(strings.TrimSpace(h.Get("Access-Control-Allow-Credentials")), "true")
	var problems []string
	if allow == "*" && creds {
		problems = append(problems, "Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true")
	}
	switch {
	case p.allowed && allow == "":
		problems = append(problems, fmt.Sprintf("no Access-Control-Allow-Origin for origin %s", p.origin))
	case p.allowed && allow != "*" && allow != p.origin:
		problems = append(problems, fmt.Sprintf("Access-Control-Allow-Origin is %q, want origin %s echoed", shorten(allow, 80), p.origin))
	case !p.allowed && (allow == "*" || allow == p.origin):
		problems = append(problems, fmt.Sprintf("origin %s is allowed (Access-Control-Allow-Origin: %s), want it refused", p.origin, allow))
	}
	if allow != "" && allow != "*" && !varyHas(h, "Origin") {
		problems = append(problems, "Access-Control-Allow-Origin names an origin without Vary: Origin, so caches may serve it to other origins")
	}
	return strings.Join(problems, "; ")
}

func varyHas(h http.Header, name string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, name) {
				return true
			}
		}
	}
	return false
}

// referrerPolicies are the values Referrer-Policy may hold.
var referrerPolicies = []string{"no-referrer", "no-referrer-when-downgrade", "same-origin", "origin", "strict-origin",
	"origin-when-cross-origin", "strict-origin-when-cross-origin", "unsafe-url"}

// checkReferrerPolicy judges Referrer-Policy: browsers apply the last
// value they know, of all the headers' comma-separated values.
func checkReferrerPolicy(values, allowed []string) string {
	if len(values) == 0 {
		return fmt.Sprintf("Referrer-Policy is missing, want one of %s", strings.Join(allowed, ", "))
	}
	effective := ""
	for _, v := range values {
		for _, token := range strings.Split(v, ",") {
			if t := strings.ToLower(strings.TrimSpace(token)); slices.Contains(referrerPolicies, t) {
				effective = t
			}
		}
	}
	switch {
	case effective == "":
		return fmt.Sprintf("Referrer-Policy %q names no policy browsers know", shorten(strings.Join(values, ", "), 80))
	case !slices.Contains(allowed, effective):
		return fmt.Sprintf("Referrer-Policy is %s, want one of %s", effective, strings.Join(allowed, ", "))
	}
	return ""
}

// parseAge reads a minimum age: days ("180d"), a Go duration ("4320h"),
// or a bare number of seconds.
func parseAge(text string) (time.Duration, error) {
	s := strings.TrimSpace(text)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || math.IsInf(n, 0) {
			return 0, fmt.Errorf("%q: want a number of days such as 180d, a duration such as 4320h, or seconds", text)
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	if n, err := strconv.ParseUint(s, 10, 63); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a number of days such as 180d, a duration such as 4320h, or seconds", text)
	}
	return d, nil
}

// formatAge writes seconds as days for messages.
func formatAge(secs float64) string {
	return strconv.FormatFloat(secs/86400, 'f', -1, 64) + "d"
}

func lower(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// cookieProblems names what each Set-Cookie lacks: Secure, HttpOnly, and a
// SameSite of Lax or Strict (None only with Secure). Cookie values are
// never shown.
func cookieProblems(cookies []*http.Cookie) []string {
	var out []string
	for _, c := range cookies {
		var missing []string
		if !c.Secure {
			missing = append(missing, "Secure")
		}
		if !c.HttpOnly {
			missing = append(missing, "HttpOnly")
		}
		switch c.SameSite {
		case http.SameSiteLaxMode, http.SameSiteStrictMode:
		case http.SameSiteNoneMode:
			if !c.Secure {
				missing = append(missing, "SameSite=None needs Secure")
			}
		default:
			missing = append(missing, "SameSite")
		}
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("cookie %s lacks %s", shorten(c.Name, 60), strings.Join(missing, ", ")))
		}
	}
	return out
}
