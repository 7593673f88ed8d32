package notify

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/shipshape-dev/shipshape/notify/notifytest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestMessagesGolden renders each event of a run, in order, and compares
// the exact JSON a webhook receives with the golden files.
func TestMessagesGolden(t *testing.T) {
	var run Run
	sent := 0
	for _, ev := range notifytest.DemoRun() {
		if err := run.Observe(ev); err != nil {
			t.Fatal(err)
		}
		msg, ok, err := Message(ev, &run)
		if err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
		if !ok {
			continue
		}
		sent++
		got, _ := json.MarshalIndent(msg, "", "  ")
		file := notifytest.Golden(".", ev)
		if *update {
			if err := os.WriteFile(file, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test ./notify -update)", err)
		}
		if string(want) != string(got)+"\n" {
			t.Errorf("%s differs from %s:\n%s", ev.Type.Short(), file, got)
		}
	}
	if sent != 7 {
		t.Errorf("%d messages, want 7 (run started, 2 phases finished, 1 failed gate, approval requested, approval refused, run finished)", sent)
	}
}
