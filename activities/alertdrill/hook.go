package alertdrill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/alertmanager"
)

// DeliveredSubject is where the webhook receiver (Hook) records each
// drill alert Alertmanager notified it of: shipshape.alerts.<run>.delivered.
func DeliveredSubject(runID string) string {
	return events.SubjectPrefix + ".alerts." + runID + ".delivered"
}

// Delivery is the body of a message on DeliveredSubject: Alertmanager
// notified a receiver of a drill's alert.
type Delivery struct {
	// Drill is the alert's shipshape_drill label.
	Drill string `json:"drill"`
	// Receiver is the Alertmanager receiver notified; Status the alert's
	// status in the notification (firing or resolved).
	Receiver string `json:"receiver"`
	Status   string `json:"status"`
	// StartsAt is the alert's start, which is when the drill fired it:
	// a drill started again (a new attempt) fires anew and does not count
	// an earlier attempt's delivery.
	StartsAt   time.Time `json:"startsAt"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// HookPublisher is where Hook records deliveries (natsevents.Client).
type HookPublisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// maxNotification bounds a webhook body: Alertmanager sends a group of
// alerts, far below it.
const maxNotification = 1 << 20

// Hook is a webhook receiver for Alertmanager (point a webhook_config's
// url at it): each drill alert in a notification, one carrying the
// shipshape_drill label, is recorded on DeliveredSubject, so that a drill
// with `delivery: stream` sees its alert reached a receiver. Other alerts
// are acknowledged and ignored. It answers 5xx when the stream is down,
// and Alertmanager retries.
func Hook(pub HookPublisher, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST an Alertmanager webhook notification", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxNotification+1))
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > maxNotification {
			http.Error(w, fmt.Sprintf("notification larger than %d bytes", maxNotification), http.StatusRequestEntityTooLarge)
			return
		}
		var n alertmanager.Notification
		if err := json.Unmarshal(body, &n); err != nil {
			http.Error(w, "not an Alertmanager webhook notification: "+err.Error(), http.StatusBadRequest)
			return
		}
		recorded := 0
		for _, a := range n.Alerts {
			drill := a.Labels[DrillLabel]
			run, _, ok := strings.Cut(drill, "/")
			if !ok || !subjectToken(run) {
				continue
			}
			d := Delivery{Drill: drill, Receiver: n.Receiver, Status: a.Status, StartsAt: a.StartsAt, ReceivedAt: time.Now().UTC()}
			data, err := json.Marshal(d)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			// One message per drill alert, receiver and status: a
			// notification Alertmanager repeats or retries is dropped by
			// JetStream's duplicate window.
			sum := sha256.Sum256([]byte(drill + "\x00" + n.Receiver + "\x00" + a.Status + "\x00" + a.StartsAt.UTC().Format(time.RFC3339Nano)))
			if err := pub.Publish(r.Context(), DeliveredSubject(run), "delivered-"+hex.EncodeToString(sum[:12]), data); err != nil {
				logger.Warn("alert hook: delivery not recorded", "drill", drill, "error", err.Error())
				http.Error(w, "event stream unavailable", http.StatusServiceUnavailable)
				return
			}
			recorded++
		}
		logger.Debug("alert hook", "receiver", n.Receiver, "alerts", len(n.Alerts), "drills", recorded)
		w.WriteHeader(http.StatusNoContent)
	})
}

// subjectToken says whether s can be one token of a NATS subject.
func subjectToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ". *>\t\r\n")
}
