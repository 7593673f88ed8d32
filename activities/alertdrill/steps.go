package alertdrill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/alertmanager"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
)

// Step is the input of every step: the task, the drill's ID (its
// shipshape_drill label) and what firing recorded.
type Step struct {
	Task  task.Input `json:"task"`
	Drill string     `json:"drill"`
	// FiredAt is the alert's startsAt, set by Fire; every re-post keeps it.
	FiredAt time.Time `json:"firedAt,omitzero"`
	// Silences are the IDs of silences that already matched the alert
	// when it fired: they acknowledge nothing.
	Silences []string `json:"silences,omitempty"`
	// AfterSeq is the last stream sequence on the ack subject when the
	// alert fired: only later messages acknowledge it.
	AfterSeq uint64 `json:"afterSeq,omitempty"`
	// Delivered says delivery was already seen: later polls skip it.
	Delivered bool `json:"delivered,omitempty"`
	// Ack is the acknowledgement, for Silence.
	Ack *Ack `json:"ack,omitempty"`
}

// Ack is an acknowledgement: who, how, when.
type Ack struct {
	By  string    `json:"by"`
	Via string    `json:"via"`
	At  time.Time `json:"at"`
	// Silence is the acknowledging silence's ID (via silence).
	Silence string `json:"silence,omitempty"`
	Note    string `json:"note,omitempty"`
}

// PollResult is what one poll saw.
type PollResult struct {
	Delivered bool `json:"delivered"`
	// How says how delivery was seen.
	How string `json:"how,omitempty"`
	// Receivers are the receivers Alertmanager routes the alert to.
	Receivers []string `json:"receivers,omitempty"`
	// State is the alert's state in Alertmanager (active, suppressed,
	// unprocessed), empty when it does not hold it.
	State string `json:"state,omitempty"`
	Ack   *Ack   `json:"ack,omitempty"`
	// Refused are acknowledgements by responders not allowed, as "by
	// (via)".
	Refused []string `json:"refused,omitempty"`
}

// ResolveResult is what the cleanup did.
type ResolveResult struct {
	Message string `json:"message"`
	// Expired are the drill's own silences it expired.
	Expired int `json:"expired"`
}

// client is the Alertmanager the step's task names, with the bearer
// token its tokenEnv names.
func (a *Activities) client(s Step) (*alertmanager.Client, error) {
	token := ""
	if env := s.Task.Params.String("tokenEnv"); env != "" {
		if token = a.cfg.Getenv(env); token == "" {
			return nil, task.InvalidParams("tokenEnv: the environment variable %s is empty where the worker runs", env)
		}
	}
	return alertmanager.New(alertmanager.Config{URL: s.Task.Params.String("alertmanager"), HTTPClient: a.cfg.HTTPClient, BearerToken: token}), nil
}

// keepAlive is how far ahead each post sets the alert's endsAt: beyond a
// few missed polls, so only a drill that stopped re-posting lets its
// alert resolve on its own.
func keepAlive(p task.Params) time.Duration {
	return 3*p.Duration("interval") + time.Minute
}

// labels are the alert's labels: the plan's, then the drill's own.
func (s Step) labels() map[string]string {
	p := s.Task.Params
	l := map[string]string{}
	for k, v := range p.StringMap("labels") {
		l[k] = v
	}
	l["alertname"] = p.String("alertname")
	l["severity"] = p.String("severity")
	l[DrillLabel] = s.Drill
	return l
}

func (s Step) alert(endsAt time.Time) alertmanager.Alert {
	p := s.Task.Params
	ann := map[string]string{
		"summary": "Shipshape alert drill: not an incident",
		"description": fmt.Sprintf("A readiness drill of plan %s (run %s) measuring time to acknowledge. Acknowledge it with a silence matching %s=%q, or on NATS subject %s.",
			s.Task.Plan, s.Task.RunID, DrillLabel, s.Drill, AckSubject(s.Task.RunID)),
	}
	for k, v := range p.StringMap("annotations") {
		ann[k] = v
	}
	return alertmanager.Alert{Labels: s.labels(), Annotations: ann, StartsAt: s.FiredAt, EndsAt: endsAt}
}

// via says whether v acknowledges the alert (an empty ackVia: both).
func (s Step) via(v string) bool {
	via := s.Task.Params.Strings("ackVia")
	return len(via) == 0 || slices.Contains(via, v)
}

func (s Step) allowed(by string) bool {
	allowed := s.Task.Params.Strings("allowedResponders")
	return len(allowed) == 0 || slices.Contains(allowed, by)
}

// Fire records what already acknowledges nothing (matching silences, the
// ack subject's last message), then posts the alert.
func (a *Activities) Fire(ctx context.Context, s Step) (Step, error) {
	am, err := a.client(s)
	if err != nil {
		return s, err
	}
	if s.via(ViaNATS) {
		if a.cfg.Stream == nil {
			return s, task.InvalidParams("ackVia: nats: this worker reads no event stream (start it with NATS)")
		}
		seq, err := a.acks(ctx, s, func(natsevents.Message, AckMessage) {})
		if err != nil {
			return s, err
		}
		s.AfterSeq = seq
	}
	silences, err := am.Silences(ctx)
	if err != nil {
		return s, amError(err)
	}
	s.Silences = nil
	for _, sil := range silences {
		if sil.State() != "expired" && matches(sil.Matchers, s.labels()) {
			s.Silences = append(s.Silences, sil.ID)
		}
	}
	s.FiredAt = time.Now().UTC().Truncate(time.Millisecond)
	if err := am.PostAlerts(ctx, []alertmanager.Alert{s.alert(s.FiredAt.Add(keepAlive(s.Task.Params)))}); err != nil {
		return s, amError(err)
	}
	a.cfg.Logger.Info("alert drill fired", "drill", s.Drill, "alertmanager", am.Endpoint("/alerts"))
	return s, nil
}

// Poll re-posts the alert, looks for an acknowledgement and, until it is
// seen, for delivery.
func (a *Activities) Poll(ctx context.Context, s Step) (PollResult, error) {
	var r PollResult
	am, err := a.client(s)
	if err != nil {
		return r, err
	}
	if err := am.PostAlerts(ctx, []alertmanager.Alert{s.alert(time.Now().Add(keepAlive(s.Task.Params)))}); err != nil {
		return r, amError(err)
	}
	if s.via(ViaSilence) {
		if err := a.silenceAck(ctx, am, s, &r); err != nil {
			return r, err
		}
	}
	if s.via(ViaNATS) {
		if a.cfg.Stream == nil {
			return r, task.InvalidParams("ackVia: nats: this worker reads no event stream (start it with NATS)")
		}
		var first *Ack
		if _, err := a.acks(ctx, s, func(m natsevents.Message, ack AckMessage) {
			switch {
			case m.Sequence <= s.AfterSeq || first != nil:
			case ack.Drill != "" && ack.Drill != s.Drill:
			case strings.TrimSpace(ack.Responder) == "":
			case !s.allowed(ack.Responder):
				r.Refused = append(r.Refused, ack.Responder+" (nats)")
			default:
				first = &Ack{By: ack.Responder, Via: ViaNATS, At: m.Time, Note: ack.Note}
			}
		}); err != nil {
			return r, err
		}
		// Acknowledged both ways since the last poll: the earlier counts.
		if first != nil && (r.Ack == nil || first.At.Before(r.Ack.At)) {
			r.Ack = first
		}
	}
	if err := a.delivery(ctx, am, s, &r); err != nil {
		return r, err
	}
	return r, nil
}

// silenceAck finds an active silence, made after the alert fired by
// someone other than the drill, whose matchers match the alert.
func (a *Activities) silenceAck(ctx context.Context, am *alertmanager.Client, s Step, r *PollResult) error {
	silences, err := am.Silences(ctx)
	if err != nil {
		return amError(err)
	}
	// Oldest first: the first acknowledgement counts.
	slices.SortFunc(silences, func(x, y alertmanager.Silence) int { return x.UpdatedAt.Compare(y.UpdatedAt) })
	labels := s.labels()
	for _, sil := range silences {
		if sil.State() != "active" || slices.Contains(s.Silences, sil.ID) || ownSilence(sil, s.Drill) || !matches(sil.Matchers, labels) {
			continue
		}
		if !s.allowed(sil.CreatedBy) {
			r.Refused = append(r.Refused, sil.CreatedBy+" (silence "+sil.ID+")")
			continue
		}
		if r.Ack == nil {
			r.Ack = &Ack{By: sil.CreatedBy, Via: ViaSilence, At: sil.UpdatedAt, Silence: sil.ID, Note: sil.Comment}
		}
	}
	return nil
}

// delivery checks, until it has been seen, that the alert reached its
// receiver: the webhook's record shows it, or Alertmanager routes it.
func (a *Activities) delivery(ctx context.Context, am *alertmanager.Client, s Step, r *PollResult) error {
	alerts, err := am.Alerts(ctx, fmt.Sprintf("%s=%q", DrillLabel, s.Drill))
	if err != nil {
		return amError(err)
	}
	for _, al := range alerts {
		r.State = al.Status.State
		for _, rc := range al.Receivers {
			r.Receivers = append(r.Receivers, rc.Name)
		}
	}
	if s.Delivered {
		r.Delivered = true
		return nil
	}
	receiver := s.Task.Params.String("receiver")
	routed := len(r.Receivers) > 0 && (receiver == "" || slices.Contains(r.Receivers, receiver))
	if receiver != "" && !routed {
		return nil
	}
	webhook := s.Task.Params.String("webhook")
	switch deliveryMode(s.Task.Params) {
	case DeliveryRouted:
		if routed {
			r.Delivered, r.How = true, "routed to "+strings.Join(r.Receivers, ", ")+" (Alertmanager)"
		}
		return nil
	case DeliveryStream:
		return a.streamDelivery(ctx, s, receiver, r)
	}
	body, err := a.get(ctx, webhook)
	if err != nil {
		return err
	}
	escaped := strings.ReplaceAll(s.Drill, "/", `\/`)
	if strings.Contains(body, s.Drill) || strings.Contains(body, escaped) {
		r.Delivered, r.How = true, "received at the webhook"
	}
	return nil
}

// streamDelivery looks on DeliveredSubject for the webhook receiver's
// record (Hook) of this drill's alert, firing, at the given receiver
// (empty: any).
func (a *Activities) streamDelivery(ctx context.Context, s Step, receiver string, r *PollResult) error {
	if a.cfg.Stream == nil {
		return task.InvalidParams("delivery: stream: this worker reads no event stream (start it with NATS)")
	}
	subject := DeliveredSubject(s.Task.RunID)
	err := a.cfg.Stream.Consume(ctx, natsevents.ConsumeOptions{FilterSubject: subject}, func(m natsevents.Message) error {
		var d Delivery
		if err := json.Unmarshal(m.Data, &d); err != nil {
			a.cfg.Logger.Warn("alert drill: malformed delivery record ignored", "subject", m.Subject, "seq", m.Sequence, "error", err.Error())
			return nil
		}
		if r.Delivered || d.Drill != s.Drill || d.Status != "firing" || !d.StartsAt.Equal(s.FiredAt) || receiver != "" && d.Receiver != receiver {
			return nil
		}
		r.Delivered, r.How = true, "received by "+d.Receiver+" (Alertmanager webhook to the worker's hook)"
		return nil
	})
	if err != nil {
		return fmt.Errorf("read deliveries on %s: %w", subject, err)
	}
	return nil
}

// get reads a webhook receiver's record. Messages show its URL without
// a password or query, either of which may hold a token.
func (a *Activities) get(ctx context.Context, rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", task.InvalidParams("webhook: %v", err)
	}
	shown := *u
	shown.RawQuery, shown.Fragment = "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", task.InvalidParams("webhook %s: %v", shown.Redacted(), err)
	}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("webhook GET %s: %w", shown.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", fmt.Errorf("webhook GET %s: %w", shown.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("webhook GET %s: HTTP %d", shown.Redacted(), resp.StatusCode)
	}
	return string(body), nil
}

// acks reads every message on the run's ack subject, in order, passing
// the well-formed ones to fn, and returns the last sequence read.
func (a *Activities) acks(ctx context.Context, s Step, fn func(natsevents.Message, AckMessage)) (uint64, error) {
	var last uint64
	subject := AckSubject(s.Task.RunID)
	err := a.cfg.Stream.Consume(ctx, natsevents.ConsumeOptions{FilterSubject: subject}, func(m natsevents.Message) error {
		last = max(last, m.Sequence)
		var ack AckMessage
		if err := json.Unmarshal(m.Data, &ack); err != nil {
			a.cfg.Logger.Warn("alert drill: malformed acknowledgement ignored", "subject", m.Subject, "seq", m.Sequence, "error", err.Error())
			return nil
		}
		fn(m, ack)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read acknowledgements on %s: %w", subject, err)
	}
	return last, nil
}

// Silence silences the alert after an acknowledgement from NATS, so
// its receivers stop repeating it. Idempotent: a retry finds the silence
// an earlier attempt made.
func (a *Activities) Silence(ctx context.Context, s Step) (string, error) {
	am, err := a.client(s)
	if err != nil {
		return "", err
	}
	silences, err := am.Silences(ctx)
	if err != nil {
		return "", amError(err)
	}
	for _, sil := range silences {
		if sil.State() != "expired" && ownSilence(sil, s.Drill) {
			return sil.ID, nil
		}
	}
	by := ""
	if s.Ack != nil {
		by = " by " + s.Ack.By
	}
	now := time.Now().UTC()
	isEqual := true
	id, err := am.CreateSilence(ctx, alertmanager.Silence{
		Matchers:  []alertmanager.Matcher{{Name: DrillLabel, Value: s.Drill, IsEqual: &isEqual}},
		StartsAt:  now,
		EndsAt:    now.Add(s.Task.Params.Duration("ackTimeout") + time.Hour),
		CreatedBy: CreatedBy,
		Comment:   marker(s.Drill) + ": acknowledged" + by + " on NATS; the drill expires this silence when it ends",
	})
	if err != nil {
		return "", amError(err)
	}
	return id, nil
}

// Resolve resolves the alert (posts it with endsAt now) and expires the
// silences the drill made itself, found by their marker, so a retry or a
// drill resumed on another worker leaves none behind.
func (a *Activities) Resolve(ctx context.Context, s Step) (ResolveResult, error) {
	am, err := a.client(s)
	if err != nil {
		return ResolveResult{}, err
	}
	if s.FiredAt.IsZero() {
		s.FiredAt = time.Now().UTC()
	}
	if err := am.PostAlerts(ctx, []alertmanager.Alert{s.alert(time.Now().UTC())}); err != nil {
		return ResolveResult{}, amError(err)
	}
	silences, err := am.Silences(ctx)
	if err != nil {
		return ResolveResult{}, amError(err)
	}
	res := ResolveResult{Message: "alert resolved"}
	for _, sil := range silences {
		if sil.State() == "expired" || !ownSilence(sil, s.Drill) {
			continue
		}
		if err := am.ExpireSilence(ctx, sil.ID); err != nil {
			return res, amError(err)
		}
		res.Expired++
	}
	if res.Expired > 0 {
		res.Message += fmt.Sprintf("; %d silence(s) of the drill's own expired", res.Expired)
	}
	return res, nil
}

func marker(drill string) string { return "shipshape alert drill " + drill }

// ownSilence says whether the drill made sil.
func ownSilence(sil alertmanager.Silence, drill string) bool {
	return sil.CreatedBy == CreatedBy && strings.HasPrefix(sil.Comment, marker(drill)+":")
}

// matches says whether every matcher matches labels, as Alertmanager
// matches them: a regular expression is anchored at both ends; a label
// that is absent has the empty value.
func matches(ms []alertmanager.Matcher, labels map[string]string) bool {
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		v := labels[m.Name]
		var ok bool
		if m.IsRegex {
			re, err := regexp.Compile("^(?:" + m.Value + ")$")
			if err != nil {
				return false
			}
			ok = re.MatchString(v)
		} else {
			ok = v == m.Value
		}
		if m.IsEqual != nil && !*m.IsEqual {
			ok = !ok
		}
		if !ok {
			return false
		}
	}
	return true
}

// amError classifies an Alertmanager error: a request Alertmanager
// refused (4xx) cannot work on retry; anything else may.
func amError(err error) error {
	var se *alertmanager.StatusError
	if errors.As(err, &se) && !se.Temporary() {
		return &task.Error{Type: task.ErrInvalidParams, Message: "alertmanager: " + err.Error(), NonRetryable: true, Cause: err}
	}
	return err
}
