package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/otel/trace"

	"github.com/shipshape-dev/shipshape/events"
)

// PublishEventsName is the activity that sends a batch of events.
const PublishEventsName = "PublishEvents"

// EventPublisher sends messages to the event stream. msgID de-duplicates:
// a message whose ID the stream has already stored is dropped.
type EventPublisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// PublishEventsInput is a batch of events in the order they happened.
type PublishEventsInput struct {
	Events []events.Event `json:"events"`
}

// PublishEvents sends a batch of events in order, each with its ID as the
// de-duplication ID, so a retried batch never duplicates an event.
func (a *Activities) PublishEvents(ctx context.Context, in PublishEventsInput) error {
	if a.Events == nil {
		return nil // no event stream configured
	}
	traceParent := traceParent(ctx)
	for _, e := range in.Events {
		e.TraceParent = traceParent
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		if err := a.Events.Publish(ctx, e.NATSSubject(), e.ID, data); err != nil {
			return fmt.Errorf("publish event %s: %w", e.ID, err)
		}
	}
	return nil
}

// traceParent is the W3C traceparent of the span in ctx (the activity's,
// when the worker traces), or "".
func traceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}
