package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunIDIsChecked checks that starter run refuses a --run-id that is
// not safe as a workflow ID and a path, before it reads the plan or dials
// anything, with the exit code of bad input.
func TestRunIDIsChecked(t *testing.T) {
	for _, id := range []string{"../../x", "a.b.>", "a/b", ".hidden", "-flag", "a..b", "a b", "ä", strings.Repeat("a", 129)} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), []string{"run", "--run-id", id, "no-such-plan.yaml"}, &stdout, &stderr)
		if code != exitInvalid {
			t.Errorf("--run-id %q: exit %d, want %d (stderr: %s)", id, code, exitInvalid, stderr.String())
		}
		if !strings.Contains(stderr.String(), "--run-id") || strings.Contains(stderr.String(), "no-such-plan") {
			t.Errorf("--run-id %q: stderr %q, want the run ID refused", id, stderr.String())
		}
	}
	for _, id := range []string{"codec-check-1", "api-release-20260601-120000-a1b2c3", "v1.2_run", "R2", strings.Repeat("a", 128)} {
		if err := checkRunID(id); err != nil {
			t.Errorf("checkRunID(%q) = %v, want ok", id, err)
		}
	}
}
