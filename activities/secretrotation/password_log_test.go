package secretrotation_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/secretrotation"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
)

// TestRotatedPasswordNotInServerLog rotates a role's password on a
// server that logs every statement (log_statement = all), then starts a
// second rotation whose test fails, so the rollback sets the first
// password back: neither password is in the server's log, which shows
// the ALTER ROLE statements with SCRAM secrets instead, and the role logs
// in with the password the store holds as current.
func TestRotatedPasswordNotInServerLog(t *testing.T) {
	if _, err := postgres.BinDir(); err != nil {
		t.Skipf("PostgreSQL binaries not installed (apt install postgresql): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Parent: t.TempDir(), Tag: "test/rotation-log",
		Settings: map[string]string{"log_statement": "all"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })

	e := newRotationEnvOn(t, c, "SELECT 1")
	for _, step := range []string{secretrotation.RotateCreate, secretrotation.RotateSet, secretrotation.RotateTest, secretrotation.RotateFinish} {
		e.must(step)
	}
	rotated := e.value(secretstore.Current)
	if rotated == "" || rotated == "old-password-123" || !e.opens(rotated) || e.opens("old-password-123") {
		t.Fatal("the role does not log in with the rotated password alone")
	}

	// A second rotation, rolled back after set: the role gets the
	// rotated password back over a connection made with the new one.
	e.step.ID += "/again"
	e.must(secretrotation.RotateCreate)
	e.must(secretrotation.RotateSet)
	pending := e.value(secretstore.Pending)
	if !e.opens(pending) {
		t.Fatal("set did not change the password")
	}
	e.must(secretrotation.RotateRollback)
	if !e.opens(rotated) || e.opens(pending) {
		t.Fatal("the rollback did not give the role its password back")
	}

	log, err := os.ReadFile(filepath.Join(c.Dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), `ALTER ROLE "app" PASSWORD 'SCRAM-SHA-256$4096:`); n != 3 {
		t.Fatalf("the server logged %d ALTER ROLE statements with a SCRAM secret, want 3 (set, set, rollback):\n%s", n, log)
	}
	for name, pw := range map[string]string{"first": "old-password-123", "rotated": rotated, "pending": pending} {
		if strings.Contains(string(log), pw) {
			t.Errorf("the server log holds the %s password", name)
		}
	}
}
