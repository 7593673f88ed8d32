// Package rollbackdrill is the rollback-drill task type: roll a service
// back to a known-good version and time it. A trigger (an argv, a
// webhook, an Azure App Service slot swap) starts the switch; the
// version and health endpoints are polled until the service reports the
// expected version and is healthy, while a light probe load counts the
// errors users would meet; optionally a second trigger rolls forward
// again, timed the same way.
package rollbackdrill

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/appservice"
	"github.com/shipshape-dev/shipshape/internal/httpclient"
	"github.com/shipshape-dev/shipshape/plan"
)

// Config is what rollback drills share across tasks.
type Config struct {
	Logger *slog.Logger
	// HTTPClient reaches the service's endpoints and webhooks; nil: a
	// default client.
	HTTPClient *http.Client
	// AppService opens the App Service apps of a subscription, for slot
	// swaps; nil: DefaultAzureCredential on Azure's public cloud.
	AppService func(subscription string) (*appservice.Client, error)
}

// Activities runs rollback drills.
type Activities struct {
	cfg Config
}

// New returns the rollback-drill activities.
func New(cfg Config) *Activities {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Activities{cfg: cfg}
}

// Type is the rollback-drill task type, run by a.
func (a *Activities) Type() task.Type { return task.Type{Decl: Decl, Run: a.Drill} }

// drill is one rollback drill, its parameters checked.
type drill struct {
	cfg      Config
	client   *http.Client
	log      *slog.Logger
	ends     endpoints
	timeout  time.Duration
	interval time.Duration
	rate     float64

	rollback, forward        trigger
	hasForward               bool
	expected, forwardVersion string
	// key identifies this task of this run: the same in an attempt that
	// starts again after its worker was lost, so a trigger's receiver
	// can tell a second request for the same switch (idempotencyKey).
	key string
}

// phase is what one switch (the rollback, the roll-forward) measured.
type phase struct {
	name     string // rollback, rollforward
	trigger  trigger
	expected string
	before   sample

	healthy      bool
	duration     time.Duration
	triggerTime  time.Duration
	triggerDone  bool
	unhealthy    time.Duration
	requests     int
	errors       int
	samples      []sample
	events       [][2]string // time, event
	triggerError error
}

// Drill runs the rollback, then the roll-forward when the plan asks for
// one and the rollback's trigger succeeded.
func (a *Activities) Drill(ctx context.Context, in task.Input) (task.Output, error) {
	d, err := a.parse(in)
	if err != nil {
		return task.Output{}, err
	}
	d.log = a.cfg.Logger.With(slog.String("task", in.Task), slog.String("trigger", d.rollback.String()))

	back := d.run(ctx, "rollback", d.rollback, d.expected)
	phases := []*phase{back}
	if ctx.Err() != nil {
		return task.Output{}, fmt.Errorf("rollback drill stopped: %w", ctx.Err())
	}
	if d.hasForward && back.triggerDone && back.triggerError == nil {
		forward := d.run(ctx, "rollforward", d.forward, d.forwardVersion)
		if ctx.Err() != nil {
			return task.Output{}, fmt.Errorf("rollback drill stopped: %w", ctx.Err())
		}
		if !back.healthy && forward.before.good(forward.expected) {
			// The rollback never took: the service is where a
			// roll-forward would take it, and nothing was fired.
			back.event(back.duration, fmt.Sprintf("rollforward not needed: %s", forward.before.state()))
		} else {
			phases = append(phases, forward)
		}
	}
	out := d.output(phases)
	for _, p := range phases {
		if err := p.failure(d.timeout); err != nil {
			if te, ok := task.AsError(err); ok && te.Type == task.ErrInvalidParams {
				return task.Output{}, err
			}
			return task.Output{}, task.CheckFailed(out, "%v", err)
		}
	}
	return out, nil
}

// failure says why a phase failed, or nil.
func (p *phase) failure(timeout time.Duration) error {
	switch {
	case p.triggerError != nil:
		if te, ok := task.AsError(p.triggerError); ok && te.Type == task.ErrInvalidParams {
			return te
		}
		return fmt.Errorf("%s trigger (%s) failed: %v", p.name, p.trigger, p.triggerError)
	case p.before.good(p.expected):
		return fmt.Errorf("%s: the service reported version %q and was healthy before the trigger: nothing to measure (is %q the version to switch to?)", p.name, p.expected, p.expected)
	case !p.triggerDone:
		return fmt.Errorf("%s: the trigger (%s) was still running after the timeout, %s", p.name, p.trigger, timeout)
	case !p.healthy:
		last := p.before
		if n := len(p.samples); n > 0 {
			last = p.samples[n-1]
		}
		return fmt.Errorf("%s: the service did not report version %q and healthy within the timeout, %s (last seen: %s)", p.name, p.expected, timeout, last.state())
	}
	return nil
}

func (a *Activities) parse(in task.Input) (*drill, error) {
	p := in.Params
	d := &drill{cfg: a.cfg, timeout: p.Duration("timeout"), interval: p.Duration("pollInterval"),
		key: in.RunID + "/" + in.Phase + "/" + in.Task}
	for name, v := range map[string]time.Duration{"timeout": d.timeout, "pollInterval": d.interval, "requestTimeout": p.Duration("requestTimeout")} {
		if v <= 0 {
			return nil, task.InvalidParams("%s %q is not a positive duration", name, p.String(name))
		}
	}
	if rt := p.Duration("requestTimeout"); rt > maxRequestTimeout {
		// A reading is two requests between heartbeats.
		return nil, task.InvalidParams("requestTimeout %s is above %s", rt, maxRequestTimeout)
	}
	var err error
	if d.rate, err = plan.ParseRate(p.String("probeRate")); err != nil {
		return nil, task.InvalidParams("probeRate: %v", err)
	}
	if d.rate > maxProbeRate {
		return nil, task.InvalidParams("probeRate %s is above %v/s: the probe load is a probe, not a load test", p.String("probeRate"), maxProbeRate)
	}
	if d.rollback, err = parseTrigger(p.Object("trigger"), "trigger"); err != nil {
		return nil, err
	}
	if d.expected = p.String("expectedVersion"); d.expected == "" {
		return nil, task.InvalidParams("expectedVersion: required")
	}
	if _, d.hasForward = p["rollForward"].(map[string]any); d.hasForward {
		if d.forward, err = parseTrigger(p.Object("rollForward"), "rollForward"); err != nil {
			return nil, err
		}
		d.forwardVersion = p.String("rollForwardVersion")
		if d.forwardVersion == "" || d.forwardVersion == d.expected {
			return nil, task.InvalidParams("rollForwardVersion: want the version rolled forward to, other than expectedVersion %q", d.expected)
		}
	}

	urlParam := func(name, raw string) (*url.URL, error) {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, task.InvalidParams("%s: want an absolute http:// or https:// URL", name)
		}
		if len(in.AllowedHosts) > 0 && !plan.URLAllowed(u, in.AllowedHosts) {
			return nil, task.InvalidParams("%s: host %q is not allowed (spec.allowedHosts)", name, u.Host)
		}
		return u, nil
	}
	ver := p.Object("version")
	e := endpoints{jsonField: ver.String("jsonField"), headers: p.StringMap("headers"), timeout: p.Duration("requestTimeout")}
	if e.version, err = urlParam("version.url", ver.String("url")); err != nil {
		return nil, err
	}
	if e.jsonField != "" {
		if err := checkJSONField(e.jsonField); err != nil {
			return nil, task.InvalidParams("version.jsonField: %v", err)
		}
	}
	if re := ver.String("regex"); re != "" {
		if e.regex, err = regexp.Compile(re); err != nil {
			return nil, task.InvalidParams("version.regex: %v", err)
		}
	}
	if e.jsonField != "" && e.regex != nil {
		return nil, task.InvalidParams("version: want jsonField or regex, not both")
	}
	e.probe = e.version
	if h := p.Object("health"); h != nil {
		if e.health, err = urlParam("health.url", h.String("url")); err != nil {
			return nil, err
		}
		e.expectStatus, e.bodyContains = h.Int("expectStatus"), h.String("bodyContains")
		if _, set := h["expectStatus"]; !set {
			e.expectStatus = http.StatusOK
		}
		e.probe = e.health
	}
	if raw := p.String("probeURL"); raw != "" {
		if e.probe, err = urlParam("probeURL", raw); err != nil {
			return nil, err
		}
	}
	for _, t := range []trigger{d.rollback, d.forward} {
		if t.kind == "webhook" {
			if _, err := urlParam(t.param+".webhook.url", t.url.String()); err != nil {
				return nil, err
			}
		}
	}
	d.ends = e

	d.client = a.cfg.HTTPClient
	if d.client == nil {
		d.client = &http.Client{}
	}
	if len(in.AllowedHosts) > 0 {
		// Redirects stay on the plan's allow-list.
		c := *d.client
		c.CheckRedirect = httpclient.CheckRedirect(in.AllowedHosts)
		d.client = &c
	}
	return d, nil
}

// run runs one switch: the trigger, with the endpoints polled and the
// probe load sent from its start until the service is healthy on the
// expected version (and the trigger done), or the timeout.
func (d *drill) run(ctx context.Context, name string, t trigger, expected string) *phase {
	p := &phase{name: name, trigger: t, expected: expected}
	p.before = d.sample(ctx, time.Now())
	p.before.at = 0
	if p.before.good(expected) {
		return p
	}
	d.log.InfoContext(ctx, name+" started", slog.String("before", p.before.state()), slog.String("expected", expected))
	// Heartbeats go through the activity's own ctx: the SDK sends a
	// throttled heartbeat later with the ctx it was given, and one ended
	// by this phase's timeout would cancel the whole activity.
	runCtx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := time.Now()
	p.event(0, fmt.Sprintf("%s trigger started (%s); before it: %s", name, t, p.before.state()))
	probe := d.startProbe(runCtx, d.rate)
	fired := make(chan error, 1)
	go func() { fired <- d.fire(runCtx, t, d.key+"/"+name) }()

	ticker := time.NewTicker(d.interval)
	defer ticker.Stop()
	var goodSince time.Duration = -1
	last := p.before.state()
	for {
		s := d.sample(runCtx, start)
		if runCtx.Err() != nil {
			break // a reading cut off by the timeout says nothing
		}
		p.samples = append(p.samples, s)
		if st := s.state(); st != last {
			p.event(s.at, st)
			last = st
		}
		if s.good(expected) {
			if goodSince < 0 {
				goodSince = s.at
			}
		} else {
			goodSince = -1
		}
		task.Report(ctx, task.Progress{
			Done:    min(time.Since(start).Seconds()/d.timeout.Seconds(), 1),
			Message: fmt.Sprintf("%s to %s: %s", name, expected, s.state()),
			Metrics: map[string]float64{name + ".duration": time.Since(start).Seconds()},
		})
		if p.triggerDone && goodSince >= 0 {
			p.healthy, p.duration = true, goodSince
			p.event(goodSince, fmt.Sprintf("healthy on version %s", expected))
			break
		}
		select {
		case err := <-fired:
			p.triggerDone, p.triggerTime = true, time.Since(start)
			if err != nil {
				p.triggerError = err
				p.event(p.triggerTime, fmt.Sprintf("trigger failed: %v", err))
			} else {
				p.event(p.triggerTime, "trigger done")
				continue // read the endpoints again at once
			}
		case <-ticker.C:
			continue
		case <-runCtx.Done():
		}
		break
	}
	if !p.triggerDone {
		// The timeout ended it; its context is cancelled: wait for it to
		// stop (a command gets its grace period) so nothing outlives us.
		err := <-fired
		switch {
		case err == nil: // done just as the timeout ended
			p.triggerDone, p.triggerTime = true, time.Since(start)
		case runCtx.Err() == nil:
			p.triggerDone, p.triggerTime, p.triggerError = true, time.Since(start), err
		}
	}
	elapsed := time.Since(start)
	if !p.healthy {
		p.duration = elapsed
		if runCtx.Err() != nil && p.triggerError == nil {
			p.event(elapsed, "timeout")
		}
	}
	p.requests, p.errors = probe.finish()
	p.unhealthy = unhealthyTime(p.samples, elapsed)
	d.log.InfoContext(ctx, name+" finished", slog.Bool("healthy", p.healthy), slog.Duration("duration", p.duration))
	return p
}

func (p *phase) event(at time.Duration, what string) {
	p.events = append(p.events, [2]string{fmt.Sprintf("%.3f", at.Seconds()), what})
}

// unhealthyTime sums the time from each reading that found the service
// down (unhealthy, or its version endpoint not answering) to the next
// one (to end for the last).
func unhealthyTime(samples []sample, end time.Duration) time.Duration {
	var total time.Duration
	for i, s := range samples {
		if s.up() {
			continue
		}
		next := end
		if i+1 < len(samples) {
			next = samples[i+1].at
		}
		total += max(next-s.at, 0)
	}
	return total
}

// maxRequestTimeout bounds requestTimeout: a reading of the version and
// health endpoints must fit well within the heartbeat timeout.
const maxRequestTimeout = 10 * time.Second

// maxSeriesPoints bounds the readings drawn per phase.
const maxSeriesPoints = 500

// output gathers the metrics, the summary, the timeline and the series.
func (d *drill) output(phases []*phase) task.Output {
	out := task.Output{Metrics: map[string]float64{}}
	summary := plan.Table{Title: "Rollback drill", Kind: plan.TableSummary,
		Columns: []string{"phase", "trigger", "before", "expected version", "healthy", "duration", "unhealthy", "trigger took", "probe errors"}}
	timeline := plan.Table{Title: "Rollback timeline", Columns: []string{"phase", "seconds", "event"}}
	var lines []string
	for _, p := range phases {
		ratio := 0.0
		if p.requests > 0 {
			ratio = float64(p.errors) / float64(p.requests)
		}
		healthy := 0.0
		if p.healthy {
			healthy = 1
		}
		values := map[string]float64{
			".duration": p.duration.Seconds(), ".healthy": healthy, ".unhealthy_time": p.unhealthy.Seconds(),
			".trigger.duration": p.triggerTime.Seconds(), ".probe.requests": float64(p.requests),
			".probe.errors": float64(p.errors), ".probe.error_ratio": ratio,
		}
		for k, v := range values {
			out.Metrics[p.name+k] = v
		}
		yes := "no"
		if p.healthy {
			yes = "yes"
		}
		summary.Rows = append(summary.Rows, []string{p.name, p.trigger.String(), p.before.state(), p.expected, yes,
			seconds(p.duration), seconds(p.unhealthy), seconds(p.triggerTime), fmt.Sprintf("%d of %d", p.errors, p.requests)})
		for _, e := range p.events {
			timeline.Rows = append(timeline.Rows, []string{p.name, e[0], e[1]})
		}
		if len(p.samples) > 0 {
			out.Series = append(out.Series, series(p))
		}
		if p.healthy {
			lines = append(lines, fmt.Sprintf("%s to %s: healthy after %s (trigger %s), unhealthy %s, %d of %d probe requests failed",
				p.name, p.expected, seconds(p.duration), seconds(p.triggerTime), seconds(p.unhealthy), p.errors, p.requests))
		} else {
			lines = append(lines, fmt.Sprintf("%s to %s: not healthy on that version after %s", p.name, p.expected, seconds(p.duration)))
		}
	}
	out.Tables = []plan.Table{summary, timeline}
	out.Output = strings.Join(lines, "\n")
	return out
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// series draws a phase's readings: up (healthy, the version endpoint
// answering), and on the expected version, 1 or 0, against the seconds since the trigger's start.
func series(p *phase) plan.Series {
	samples := p.samples
	if n := len(samples); n > maxSeriesPoints {
		// Every k-th reading, and the last.
		k := (n + maxSeriesPoints - 1) / maxSeriesPoints
		var kept []sample
		for i := 0; i < n; i += k {
			kept = append(kept, samples[i])
		}
		if kept[len(kept)-1].at != samples[n-1].at {
			kept = append(kept, samples[n-1])
		}
		samples = kept
	}
	title := strings.ToUpper(p.name[:1]) + p.name[1:]
	s := plan.Series{Title: title + ": health and version", XLabel: "seconds since the trigger", Unit: plan.UnitCount,
		Lines: []plan.Line{{Name: "healthy"}, {Name: "on version " + p.expected}}}
	for _, r := range samples {
		s.X = append(s.X, r.at.Seconds())
		s.Lines[0].Values = append(s.Lines[0].Values, b2f(r.up()))
		s.Lines[1].Values = append(s.Lines[1].Values, b2f(r.versionErr == "" && r.version == p.expected))
	}
	return s
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
