package plan

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseRate reads a rate such as "500/s", "30/m", "10/100ms" or a bare
// number of events per second ("0" for none) and returns it per second.
func ParseRate(text string) (float64, error) {
	s := strings.TrimSpace(text)
	num, per, hasPer := strings.Cut(s, "/")
	num = strings.TrimSpace(num)
	n, err := strconv.ParseFloat(strings.ReplaceAll(num, "_", ""), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("rate %s must be a number per unit of time, such as 500/s or 30/m", short(text))
	}
	if n < 0 {
		return 0, fmt.Errorf("rate %s must not be negative", short(text))
	}
	if !hasPer {
		return n, nil
	}
	per = strings.TrimSpace(per)
	unit := per
	if unit != "" && (unit[0] < '0' || unit[0] > '9') && unit[0] != '.' {
		unit = "1" + unit // "/s" is "/1s"
	}
	d, err := time.ParseDuration(unit)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("rate %s: %q after / must be a unit of time (%s) such as s or 100ms", short(text), per, durationUnitList)
	}
	return n / d.Seconds(), nil
}

// formatRate writes a rate per second for messages: 500/s, 0.5/s.
func formatRate(perSecond float64) string {
	return strconv.FormatFloat(perSecond, 'g', 6, 64) + "/s"
}

// guarded is a parameter value under a Safety rule, kept while a task's
// parameters are read and checked once they all are.
type guarded struct {
	safety Safety
	node   *yaml.Node
	path   string
	value  any
}

// checkSafety applies the Safety rules to the values of one task: hosts
// against spec.allowedHosts and the task's own allow-lists, rates and
// concurrency against spec.limits. It returns the task's allow-list:
// spec.allowedHosts and the valid entries of its allow-hosts parameters.
func (d *decoder) checkSafety(values []guarded, allowNames []string) []string {
	allowed := append([]string(nil), d.allowedHosts...)
	for _, g := range values {
		if g.safety != SafetyAllowHosts {
			continue
		}
		list, _ := g.value.([]any)
		for i, item := range list {
			host, _ := item.(string)
			if msg := checkHostEntry(host); msg != "" {
				d.errorf(deref(g.node).Content[i], index(g.path, i), "%s", msg)
				continue
			}
			allowed = append(allowed, host)
		}
	}
	for _, g := range values {
		switch g.safety {
		case SafetyHost:
			s, _ := g.value.(string)
			d.checkHost(g.node, g.path, s, allowed, allowNames)
		case SafetyHostPort:
			s, _ := g.value.(string)
			d.checkHostPort(g.node, g.path, s, allowed, allowNames)
		case SafetyRate:
			text, _ := g.value.(string)
			rate, err := ParseRate(text)
			if err == nil && d.limits.MaxRate > 0 && rate > d.limits.MaxRate {
				shown := text
				if formatRate(rate) != text {
					shown += " (" + formatRate(rate) + ")"
				}
				d.errorf(g.node, g.path, "rate %s is above spec.limits.maxRate (%s)", shown, formatRate(d.limits.MaxRate))
			}
		case SafetyConcurrency:
			n, _ := g.value.(float64)
			if d.limits.MaxConcurrency > 0 && n > float64(d.limits.MaxConcurrency) {
				d.errorf(g.node, g.path, "%v concurrent requests is above spec.limits.maxConcurrency (%d)", n, d.limits.MaxConcurrency)
			}
		}
	}
	return allowed
}

// checkHost reports a URL that is not absolute http(s), or whose host is
// not allowed.
func (d *decoder) checkHost(n *yaml.Node, path, raw string, allowed, allowNames []string) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorf(n, path, "must be an absolute http:// or https:// URL, got %s", short(raw))
		return
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if !hostAllowed(u.Hostname(), port, allowed) {
		d.notAllowed(n, path, u.Host, allowed, allowNames)
	}
}

// checkHostPort reports a value that is not host:port, or whose host is
// not allowed.
func (d *decoder) checkHostPort(n *yaml.Node, path, raw string, allowed, allowNames []string) {
	text := strings.TrimSpace(raw)
	host, port, err := net.SplitHostPort(text)
	if _, perr := strconv.ParseUint(port, 10, 16); err != nil || host == "" || perr != nil || strings.ContainsAny(host, "/?#@ ") {
		d.errorf(n, path, "must be host:port, such as db.example.com:5432, 127.0.0.1:8443 or [::1]:443, got %s", short(raw))
		return
	}
	if !hostAllowed(host, port, allowed) {
		d.notAllowed(n, path, text, allowed, allowNames)
	}
}

// notAllowed reports a host that no allowed-host entry matches.
func (d *decoder) notAllowed(n *yaml.Node, path, host string, allowed, allowNames []string) {
	where := "spec.allowedHosts"
	for _, name := range allowNames {
		where += " or the task's " + name
	}
	list := "none"
	if len(allowed) > 0 {
		list = formatList(allowed)
	}
	d.errorf(n, path, "host %q is not allowed: list it in %s (allowed: %s)", host, where, list)
}

// URLAllowed reports whether an http(s) URL's host, on its port (80 or
// 443 by default), matches an entry of allowed, the way the plan checks a
// URL declared with SafetyHost: task types use it for the URLs they reach
// on their own, such as redirect targets, with their task's allow-list
// (task.Input.AllowedHosts).
func URLAllowed(u *url.URL, allowed []string) bool {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return hostAllowed(u.Hostname(), port, allowed)
}

// hostAllowed reports whether host, reached on port, matches an entry: a
// host name or address ("api.example.com", "127.0.0.1", "[::1]"), which
// allows every port; "host:port", which allows that port; or
// "*.example.com", which allows every subdomain of example.com.
func hostAllowed(host, port string, allowed []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, entry := range allowed {
		entryHost, entryPort := splitHostEntry(entry)
		if entryPort != "" && entryPort != port {
			continue
		}
		if suffix, wild := strings.CutPrefix(entryHost, "*."); wild {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == entryHost {
			return true
		}
	}
	return false
}

// splitHostEntry splits an allowed-host entry into its lower-case host
// (without brackets) and its port, if any.
func splitHostEntry(entry string) (host, port string) {
	entry = strings.ToLower(strings.TrimSpace(entry))
	if h, p, err := net.SplitHostPort(entry); err == nil {
		return strings.TrimSuffix(h, "."), p
	}
	return strings.TrimSuffix(strings.Trim(entry, "[]"), "."), ""
}

// checkHostEntry says what is wrong with an allowed-host entry, or "".
func checkHostEntry(entry string) string {
	e := strings.TrimSpace(entry)
	switch {
	case e == "":
		return "an allowed host must not be empty"
	case strings.Contains(e, "://") || strings.ContainsAny(e, "/?#@ "):
		return fmt.Sprintf("%s is not a host: write a host name or address, such as api.example.com, 127.0.0.1 or localhost:8080", short(entry))
	case e == "*" || strings.Contains(strings.TrimPrefix(e, "*."), "*"):
		return fmt.Sprintf("%s: a wildcard may only start a host name, as in *.example.com", short(entry))
	}
	return ""
}

func (d *decoder) allowedHostList(n *yaml.Node) []string {
	path := "allowedHosts"
	if deref(n).Kind == yaml.ScalarNode && !d.bad[deref(n)] {
		d.errorf(n, path, "must be a list of hosts, got %s: write [%s]", describe(n), deref(n).Value)
		return nil
	}
	items, ok := d.list(n, path, "a list of hosts")
	if !ok {
		return nil
	}
	var out []string
	for i, item := range items {
		s, ok := d.str(item, index(path, i))
		if !ok {
			continue
		}
		if msg := checkHostEntry(s); msg != "" {
			d.errorf(item, index(path, i), "%s", msg)
			continue
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

func (d *decoder) readLimits(n *yaml.Node) Limits {
	var l Limits
	f, ok := d.object(n, "limits", "spec.limits")
	if !ok {
		return l
	}
	if v, ok := optional(f, "maxRate"); ok {
		if text, ok := d.scalar(v, "limits.maxRate", "a rate such as 1000/s"); ok {
			rate, err := ParseRate(text)
			switch {
			case err != nil:
				d.errorf(deref(v), "limits.maxRate", "%s", err)
			case rate <= 0:
				d.errorf(deref(v), "limits.maxRate", "must be more than 0, got %s", short(text))
			default:
				l.MaxRate = rate
			}
		}
	}
	if v, ok := optional(f, "maxConcurrency"); ok {
		if c, ok := d.integer(v, "limits.maxConcurrency"); ok {
			if c < 1 {
				d.errorf(v, "limits.maxConcurrency", "must be at least 1, got %d", c)
			} else {
				l.MaxConcurrency = int(c)
			}
		}
	}
	return l
}

// checkShellScripts refuses ${vars.…} in a shell script (a
// SafetyShellScript value of a task whose shell parameter is true): the
// argv form passes values as arguments, never as code, but a script is
// code, and a var (or `--set`) substituted into it would run.
func (d *decoder) checkShellScripts(values []guarded, params map[string]any) {
	if shell, _ := params["shell"].(bool); !shell {
		return
	}
	for _, g := range values {
		if g.safety != SafetyShellScript {
			continue
		}
		for i, item := range deref(g.node).Content {
			if d.fromVars[deref(item)] {
				d.errorf(item, index(g.path, i), "${vars.…} in a shell script would run the var's value as shell code: "+
					"pass it as an environment variable instead (env: {NAME: \"${vars.NAME}\"}) and write \"$NAME\" in the script")
			}
		}
	}
}
