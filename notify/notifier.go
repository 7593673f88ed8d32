// Package notify turns Shipshape's events into Slack messages: run
// started, phase finished, gate failed, approval needed (with the run so
// far), run finished with its score. Messages go to incoming webhooks,
// routed by the plan's labels.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/slack"
)

// Poster posts a message to an incoming webhook (slack.Client).
type Poster interface {
	Post(ctx context.Context, webhook string, msg slack.Message) (attempts int, err error)
}

// Route sends the messages of runs whose labels match to a webhook.
type Route struct {
	// Match are labels a run must carry, all of them; empty matches
	// every run.
	Match map[string]string `yaml:"match"`
	// Webhook is the incoming-webhook URL, or WebhookEnv the environment
	// variable holding it (better: a webhook URL is a secret).
	Webhook    string `yaml:"webhook"`
	WebhookEnv string `yaml:"webhookEnv"`
	// Events limits the event types sent (short names, "run.finished");
	// empty: every type the notifier turns into a message.
	Events []string `yaml:"events"`
	// Name names the route in logs and metrics (default: route N).
	Name string `yaml:"name"`
}

// Config is the notifier's routing: the first route that matches a run
// gets its messages; a run no route matches goes to Default, if set.
type Config struct {
	Routes  []Route `yaml:"routes"`
	Default *Route  `yaml:"default"`
}

// LoadConfig reads a routing file (YAML) and resolves webhookEnv.
func LoadConfig(file string) (Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Config{}, err
	}
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w", file, err)
	}
	return cfg, cfg.resolve(file)
}

// resolve fills in webhooks from the environment and checks the routes.
func (c *Config) resolve(file string) error {
	var errs []error
	fix := func(r *Route, where string) {
		if r.Name == "" {
			r.Name = where
		}
		if r.WebhookEnv != "" {
			r.Webhook = os.Getenv(r.WebhookEnv)
			if r.Webhook == "" {
				errs = append(errs, fmt.Errorf("%s: %s: webhookEnv %s is not set", file, where, r.WebhookEnv))
			}
		}
		if r.Webhook == "" && r.WebhookEnv == "" {
			errs = append(errs, fmt.Errorf("%s: %s: give webhook or webhookEnv", file, where))
		}
		for _, e := range r.Events {
			if !slices.Contains(events.Types, events.Type("dev.shipshape."+e)) {
				errs = append(errs, fmt.Errorf("%s: %s: unknown event type %q", file, where, e))
			}
		}
	}
	for i := range c.Routes {
		fix(&c.Routes[i], fmt.Sprintf("routes[%d]", i))
	}
	if c.Default != nil {
		fix(c.Default, "default")
	}
	return errors.Join(errs...)
}

// route picks the route for a run's labels.
func (c *Config) route(labels map[string]string) *Route {
	for i := range c.Routes {
		r := &c.Routes[i]
		ok := true
		for k, v := range r.Match {
			if labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	return c.Default
}

// Stats count what a notifier did.
type Stats struct {
	Posted, Skipped, Duplicates, Unrouted, DeadLetters, Failures int
}

// Notifier turns events into messages and posts them. Feed it events in
// stream order (Handle); it is safe for one goroutine at a time.
type Notifier struct {
	cfg    Config
	poster Poster
	log    *slog.Logger
	// Rounds is how many times a message is given to the poster (which
	// retries on its own) before it counts as a dead letter; Backoff is
	// the wait between rounds, doubled each time.
	Rounds  int
	Backoff time.Duration
	// OnResult, if set, is told each outcome: "posted", "dead-letter", …
	OnResult func(route, outcome string)

	mu    sync.Mutex
	runs  map[string]*runState
	order []string // run IDs, oldest first, for eviction
	stats Stats
}

type runState struct {
	run  Run
	seen map[string]bool // event IDs handled
}

// maxRuns bounds the runs the notifier remembers.
const maxRuns = 1000

// New returns a notifier posting with poster by cfg's routes.
func New(cfg Config, poster Poster, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{cfg: cfg, poster: poster, log: log, Rounds: 3, Backoff: 5 * time.Second, runs: map[string]*runState{}}
}

// Stats returns the counts so far.
func (n *Notifier) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Handle handles one event envelope. It returns an error only when ctx
// ends; a message Slack keeps refusing is logged and counted as a dead
// letter, so one bad message never holds the stream up.
func (n *Notifier) Handle(ctx context.Context, body []byte) error {
	var ev events.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		n.count("", "skipped")
		n.log.Warn("not a Shipshape event; skipped", "error", err)
		return nil
	}
	st := n.state(ev.RunID)
	if st.seen[ev.ID] {
		n.count("", "duplicate")
		return nil
	}
	if err := st.run.Observe(ev); err != nil {
		n.log.Warn("event data not understood; skipped", "event", ev.ID, "error", err)
		n.count("", "skipped")
		st.seen[ev.ID] = true
		return nil
	}
	msg, ok, err := Message(ev, &st.run)
	if err != nil || !ok {
		n.count("", "skipped")
		st.seen[ev.ID] = true
		return nil
	}
	r := n.cfg.route(st.run.Labels)
	if r == nil {
		n.count("", "unrouted")
		st.seen[ev.ID] = true
		return nil
	}
	if len(r.Events) > 0 && !slices.Contains(r.Events, ev.Type.Short()) {
		n.count(r.Name, "skipped")
		st.seen[ev.ID] = true
		return nil
	}
	wait := n.Backoff
	for round := 1; ; round++ {
		_, err := n.poster.Post(ctx, r.Webhook, msg)
		if err == nil {
			n.count(r.Name, "posted")
			st.seen[ev.ID] = true
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n.count(r.Name, "failure")
		if errors.Is(err, slack.ErrRejected) || round >= n.Rounds {
			n.count(r.Name, "dead-letter")
			st.seen[ev.ID] = true
			n.log.Error("message dropped: Slack keeps failing", "route", r.Name, "event", ev.ID, "type", ev.Type.Short(), "error", err)
			return nil
		}
		n.log.Warn("posting failed; trying again", "route", r.Name, "event", ev.ID, "round", round, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (n *Notifier) state(runID string) *runState {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.runs[runID]
	if st == nil {
		st = &runState{seen: map[string]bool{}}
		n.runs[runID] = st
		n.order = append(n.order, runID)
		if len(n.order) > maxRuns {
			delete(n.runs, n.order[0])
			n.order = n.order[1:]
		}
	}
	return st
}

func (n *Notifier) count(route, outcome string) {
	n.mu.Lock()
	switch outcome {
	case "posted":
		n.stats.Posted++
	case "skipped":
		n.stats.Skipped++
	case "duplicate":
		n.stats.Duplicates++
	case "unrouted":
		n.stats.Unrouted++
	case "dead-letter":
		n.stats.DeadLetters++
	case "failure":
		n.stats.Failures++
	}
	n.mu.Unlock()
	if n.OnResult != nil {
		n.OnResult(route, outcome)
	}
}
