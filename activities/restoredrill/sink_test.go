package restoredrill_test

import (
	"context"
	"sync"
	"time"

	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
)

// testStart is the workflow test clock's start, so recorded times are
// predictable.
var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// eventSink is a fake PublishEvents activity that keeps every batch.
type eventSink struct {
	mu       sync.Mutex
	batches  [][]events.Event
	inflight map[string]int
	// onEvent, when set, sees each event as it is published.
	onEvent func(events.Event)
}

func (s *eventSink) publish(_ context.Context, in taskrun.PublishEventsInput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, append([]events.Event(nil), in.Events...))
	if s.onEvent != nil {
		for _, e := range in.Events {
			s.onEvent(e)
		}
	}
	return nil
}

// all is every event published, batches concatenated in publishing order.
func (s *eventSink) all() []events.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []events.Event
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}
