// Package alertdrill is the alert-drill task type: it fires a synthetic,
// clearly labelled alert into Alertmanager, confirms it reached a
// receiver, and waits durably — workflow timers between short polls, up
// to a timeout — for a person or bot to acknowledge it, by a silence in
// Alertmanager or a message on NATS, measuring the time to acknowledge.
// Whatever happens, the drill resolves its alert and expires the silence
// it made itself, on a disconnected context.
package alertdrill

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "alert-drill"

// The drill's steps, each an activity taking a Step.
const (
	Fire    = "alert-drill.fire"
	Poll    = "alert-drill.poll"
	Silence = "alert-drill.silence"
	Resolve = "alert-drill.resolve"
)

// Ways an alert is acknowledged (the ackVia parameter).
const (
	ViaSilence = "silence"
	ViaNATS    = "nats"
	// DeliveryRouted, DeliveryWebhook and DeliveryStream are what proves
	// the alert reached a receiver (parameter delivery).
	DeliveryRouted  = "routed"
	DeliveryWebhook = "webhook"
	DeliveryStream  = "stream"
)

// DrillLabel is the label that marks the drill's alert, valued with the
// drill's ID (run/phase/task).
const DrillLabel = "shipshape_drill"

// CreatedBy is the createdBy of the silences the drill makes itself.
const CreatedBy = "shipshape"

// AckSubject is the NATS subject acknowledgements of a run's drills are
// published on: shipshape.alerts.<run>.ack, inside the stream's
// shipshape.> subjects.
func AckSubject(runID string) string {
	return events.SubjectPrefix + ".alerts." + runID + ".ack"
}

// AckMessage is the body of a message on AckSubject.
type AckMessage struct {
	// Responder is who acknowledges; checked against allowedResponders.
	Responder string `json:"responder"`
	// Drill, when set, is the drill acknowledged (its shipshape_drill
	// label); empty: every drill of the run that waits.
	Drill string `json:"drill,omitempty"`
	Note  string `json:"note,omitempty"`
}

// Decl declares the task type: its parameters, metrics and checks.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Fires a synthetic alert into Alertmanager (v2 API), labelled `" + DrillLabel + "=<run>/<phase>/<task>` so nobody mistakes it for an incident, confirms it reached a receiver, then waits — durably, on workflow timers between short polls, up to `ackTimeout` — for a person or bot to acknowledge it: " +
		"a silence in Alertmanager whose matchers match the alert, or a message on NATS subject `shipshape.alerts.<run>.ack` (see [Alert drill acknowledgements](events.md#alert-drill-acknowledgements)), either from an allowed responder. " +
		"The alert is re-posted at each poll (Alertmanager resolves an alert whose endsAt passes). " +
		"Delivered means: with `webhook`, the receiver's record at that URL shows the alert (its body contains the drill's ID); without it, Alertmanager holds the alert routed to `receiver` (or to any receiver) — routed, which is weaker than received. " +
		"Whatever happens (acknowledged, timed out, cancelled) the drill resolves its alert and expires the silence it made itself; silences people made are theirs and stay. A drill nobody acknowledged fails its task, with `alert.acknowledged` 0.",
	Params: []plan.Param{
		{Name: "alertmanager", Type: plan.TypeString, Required: true, Safety: plan.SafetyHost, Doc: "Alertmanager's base URL, e.g. `http://alertmanager:9093` (the API is below it at `/api/v2`)."},
		{Name: "tokenEnv", Type: plan.TypeString, Doc: "Environment variable of the worker holding a bearer token for Alertmanager (behind an authenticating proxy); its value never appears in events, reports or logs. Basic auth goes in the URL (`http://user:password@host:9093`), which messages show redacted."},
		{Name: "alertname", Type: plan.TypeString, Default: "ShipshapeAlertDrill", Doc: "The alert's `alertname` label."},
		{Name: "severity", Type: plan.TypeString, Default: "warning", Doc: "The alert's `severity` label; make it what routes to the people drilled (e.g. `critical` to page)."},
		{Name: "labels", Type: plan.TypeStringMap, Doc: "More labels, so Alertmanager's routes send the drill where the real alerts go (`team: payments`). Not `alertname`, `severity` or `" + DrillLabel + "`."},
		{Name: "annotations", Type: plan.TypeStringMap, Doc: "More annotations; the drill sets `summary` and `description` (saying it is a drill and how to acknowledge it) unless given here."},
		{Name: "receiver", Type: plan.TypeString, Doc: "The Alertmanager receiver the alert must be routed to (by name) to count as delivered; empty: any."},
		{Name: "webhook", Type: plan.TypeString, Safety: plan.SafetyHost, Doc: "A URL showing what the webhook receiver got (an HTTP GET of a receiver's log or inbox): the alert counts as delivered once its body contains the drill's ID. Empty: delivered means routed, as Alertmanager reports it."},
		{Name: "delivery", Type: plan.TypeString, Enum: []string{DeliveryRouted, DeliveryWebhook, DeliveryStream}, Doc: "What proves the alert reached a receiver: `routed`, Alertmanager routes it to the receiver (it says nothing of the notification's fate); `webhook`, the record at `webhook` contains the drill's ID; `stream`, the worker's own webhook receiver (`/hooks/alertmanager` on its `--metrics-addr`, or any POST handler recording on `shipshape.alerts.<run>.delivered`) got Alertmanager's notification: point a receiver's webhook_config at it. Empty: `webhook` when `webhook` is set, else `routed`."},
		{Name: "ackVia", Type: plan.TypeStringList, Doc: "What acknowledges the alert: `silence` (an active silence in Alertmanager matching the alert's labels, made after it fired; its `createdBy` is the responder) and `nats` (a message on `shipshape.alerts.<run>.ack`, read from the worker's event stream). Empty: both."},
		{Name: "allowedResponders", Type: plan.TypeStringList, Doc: "The only responders whose acknowledgement counts (a silence's `createdBy`, a NATS message's `responder`), compared exactly as approvals compare approvers; others are reported and ignored. Empty: anyone."},
		{Name: "ackTimeout", Type: plan.TypeDuration, Default: "15m", Doc: "How long to wait for an acknowledgement after firing. The task's `timeout` must be at least this: validation refuses a shorter one."},
		{Name: "interval", Type: plan.TypeDuration, Default: "10s", Doc: "How often the drill re-posts the alert and looks for delivery and acknowledgement (a workflow timer between polls); at least 1s, and at most 900 polls per `ackTimeout` (each poll adds 11 events to the drill's history, which stays below Temporal's 10,240-event warning): for a wait of a day, poll every 2 minutes."},
		{Name: "silenceOnAck", Type: plan.TypeBool, Default: true, Doc: "On an acknowledgement from NATS, silence the alert (createdBy `" + CreatedBy + "`) so its receivers stop repeating it, as a pager's acknowledge does; the drill expires that silence at the end."},
	},
	Metrics: []plan.Metric{
		{Name: "alert.delivered", Unit: plan.UnitCount, Doc: "1 when the alert reached its receiver (see `webhook`), else 0."},
		{Name: "alert.tta", Unit: plan.UnitSeconds, Doc: "Time to acknowledge: from firing to the acknowledging silence's creation (Alertmanager's `updatedAt`) or the NATS message's storage time. Absent when nobody acknowledged."},
		{Name: "alert.acknowledged", Unit: plan.UnitCount, Doc: "1 when an allowed responder acknowledged within `ackTimeout`, else 0."},
		{Name: "alert.refused", Unit: plan.UnitCount, Doc: "Acknowledgements ignored because their responder is not in `allowedResponders`."},
	},
	Timeout:     time.Hour,
	MaxAttempts: 3,
	Workflow:    true,
	Check:       check,
	// The wait for an acknowledgement must fit in the task's timeout:
	// validation refuses a timeout shorter than ackTimeout.
	Runs: func(with map[string]any) (time.Duration, string) {
		return task.Params(with).Duration("ackTimeout"), "ackTimeout"
	},
}

// maxPolls bounds the polls of one drill: each adds 11 events to its
// history (activity, timer and two workflow tasks), so 900 stay below
// Temporal's warning at 10,240 events.
const maxPolls = 900

var (
	labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func check(with map[string]any) []plan.ParamProblem {
	p := task.Params(with)
	var problems []plan.ParamProblem
	for _, v := range p.Strings("ackVia") {
		if v != ViaSilence && v != ViaNATS {
			problems = append(problems, plan.ParamProblem{Param: "ackVia", Msg: fmt.Sprintf("%q is neither silence nor nats", v)})
		}
	}
	interval, timeout := p.Duration("interval"), p.Duration("ackTimeout")
	if interval < time.Second {
		problems = append(problems, plan.ParamProblem{Param: "interval", Msg: "must be at least 1s"})
	}
	if timeout <= 0 {
		problems = append(problems, plan.ParamProblem{Param: "ackTimeout", Msg: "must be positive"})
	} else if interval >= time.Second && timeout/interval > maxPolls {
		problems = append(problems, plan.ParamProblem{Param: "interval", Msg: fmt.Sprintf("%s polls %d times in ackTimeout %s; at most %d (the drill's history): make it at least %s",
			interval, timeout/interval, timeout, maxPolls, (timeout/maxPolls).Round(time.Second)+time.Second)})
	}
	for _, name := range sortedKeys(p.StringMap("labels")) {
		switch {
		case !labelName.MatchString(name):
			problems = append(problems, plan.ParamProblem{Param: "labels." + name, Msg: "not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"})
		case name == "alertname" || name == "severity" || name == DrillLabel:
			problems = append(problems, plan.ParamProblem{Param: "labels." + name, Msg: "set by the drill: use the " + name + " parameter"})
		}
	}
	if env := p.String("tokenEnv"); env != "" && !envName.MatchString(env) {
		problems = append(problems, plan.ParamProblem{Param: "tokenEnv", Msg: fmt.Sprintf("%q is not an environment variable name", env)})
	}
	if p.String("alertname") == "" {
		problems = append(problems, plan.ParamProblem{Param: "alertname", Msg: "must not be empty"})
	}
	switch webhook := p.String("webhook"); p.String("delivery") {
	case DeliveryWebhook:
		if webhook == "" {
			problems = append(problems, plan.ParamProblem{Param: "webhook", Msg: "delivery: webhook needs the URL of the receiver's record"})
		}
	case DeliveryRouted, DeliveryStream:
		if webhook != "" {
			problems = append(problems, plan.ParamProblem{Param: "webhook", Msg: "only with delivery: webhook, not " + p.String("delivery")})
		}
	}
	return problems
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Stream reads the event stream: acknowledgements published on NATS
// (natsevents.Client).
type Stream interface {
	Consume(ctx context.Context, opts natsevents.ConsumeOptions, fn func(natsevents.Message) error) error
}

var _ Stream = (*natsevents.Client)(nil)

// Config is what the drill's activities use.
type Config struct {
	Logger *slog.Logger
	// HTTPClient reaches Alertmanager and the webhook; nil: a client with
	// a 30-second timeout.
	HTTPClient *http.Client
	// Stream is where NATS acknowledgements are read; nil: a drill that
	// asks for them fails, saying the worker reads no event stream.
	Stream Stream
	// Events records deliveries from the webhook receiver (Hook) on the
	// event stream; nil: the worker serves no receiver.
	Events HookPublisher
	// Getenv reads tokenEnv; nil: os.Getenv.
	Getenv func(string) string
}

// Activities are the drill's steps.
type Activities struct {
	cfg Config
}

// New returns the drill's steps.
func New(cfg Config) *Activities {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return &Activities{cfg: cfg}
}

// Type is the task type: its declaration, the Workflow and its steps.
func (a *Activities) Type() task.Type {
	return task.Type{Decl: Decl, Workflow: Workflow, Activities: map[string]any{
		Fire:    a.Fire,
		Poll:    a.Poll,
		Silence: a.Silence,
		Resolve: a.Resolve,
	}}
}

// Hooks are the HTTP endpoints the worker serves for the task type, by
// name: the Alertmanager webhook receiver (Hook), when the worker has an
// event stream to record deliveries on.
func (a *Activities) Hooks() map[string]http.Handler {
	if a.cfg.Events == nil {
		return nil
	}
	return map[string]http.Handler{"alertmanager": Hook(a.cfg.Events, a.cfg.Logger)}
}

// deliveryMode is the delivery parameter, or what it means when empty.
func deliveryMode(p task.Params) string {
	if m := p.String("delivery"); m != "" {
		return m
	}
	if p.String("webhook") != "" {
		return DeliveryWebhook
	}
	return DeliveryRouted
}
