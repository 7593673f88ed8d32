// Package notifytest holds a run's worth of events and the golden files
// of the Slack messages the notifier posts for them, for the notifier's
// tests and the end-to-end tests of cmd/notifier.
package notifytest

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/events"
)

// event builds an event of the demo run.
func event(seq int64, typ events.Type, subject string, data any) events.Event {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err) // the types are ours and always encode
	}
	return events.Event{
		SpecVersion: events.SpecVersion, ID: "dr-drill-20261125-061500-q1w2/lane/" + string(rune('0'+seq)),
		Source: "/shipshape/runs/dr-drill-20261125-061500-q1w2", Type: typ, Subject: subject,
		Time: time.Date(2026, 11, 25, 6, 15, int(seq), 0, time.UTC), DataContentType: events.ContentType,
		RunID: "dr-drill-20261125-061500-q1w2", Plan: "dr-drill", Sequence: seq, Data: raw,
	}
}

func ptr(v float64) *float64 { return &v }

// DemoRun is a run's events in order: each that deserves a message has a
// golden file with the exact JSON posted for it.
func DemoRun() []events.Event {
	return []events.Event{
		event(1, events.RunStarted, "", events.RunData{Plan: "dr-drill", RunID: "dr-drill-20261125-061500-q1w2", Labels: map[string]string{"team": "platform", "kind": "disaster-recovery"}, Phases: 3, Tasks: 2}),
		event(2, events.PhaseStarted, "backup", events.PhaseData{Phase: "backup", Status: "running"}),
		event(3, events.GateEvaluated, "backup/dump", events.GateData{Phase: "backup", Task: "dump", Metric: "backup.size", Value: ptr(2 << 20), Pass: "> 0", Status: "pass", Weight: 1}),
		event(4, events.PhaseFinished, "backup", events.PhaseData{Phase: "backup", Status: "pass"}),
		event(5, events.GateEvaluated, "drill/restore", events.GateData{Phase: "drill", Task: "restore", Metric: "drill.rto", Value: ptr(1250), Pass: "< 15m", Status: "fail", Weight: 2, Key: true, Reason: "took <longer> than & allowed"}),
		event(6, events.PhaseFinished, "drill", events.PhaseData{Phase: "drill", Status: "fail", Reason: "gate drill.rto failed"}),
		event(7, events.ApprovalRequested, "go-live", events.ApprovalData{Phase: "go-live", Timeout: "4h0m0s"}),
		event(8, events.ApprovalRefused, "go-live", events.ApprovalRefusedData{Phase: "go-live", Approver: "mallory", Decision: "approve", Why: "mallory is not an approver of go-live"}),
		event(9, events.RunFinished, "", events.RunData{Plan: "dr-drill", RunID: "dr-drill-20261125-061500-q1w2", Phases: 3, Tasks: 2, Result: "fail", Score: 66.66}),
	}
}

// Golden is the golden file, under the notify package's directory dir,
// of the exact JSON posted for an event of DemoRun.
func Golden(dir string, ev events.Event) string {
	name := ev.Type.Short()
	if ev.Subject != "" {
		name += "-" + strings.ReplaceAll(ev.Subject, "/", "-")
	}
	return filepath.Join(dir, "testdata", name+".json")
}
