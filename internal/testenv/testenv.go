// Package testenv decides what a test does when something it needs from
// the machine is missing: outside CI it skips, saying what is missing and
// how to install it; under CI=true it fails, because .ci/run installs
// everything the tests need and a silent skip there would hide a test that
// never ran. Tests only.
package testenv

import (
	"os"
	"testing"
)

// Missing skips tb (or fails it under CI=true) because what is missing;
// how says how to get it.
func Missing(tb testing.TB, what, how string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is missing under CI=true (.ci/run installs it: %s)", what, how)
	}
	tb.Skipf("skipping: %s is missing (%s)", what, how)
}
