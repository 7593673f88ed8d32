package restoredrill_test

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/backup"
	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
)

// TestDrillRecoveryPoint chooses among two stored backups by
// recoveryPoint: latest, a time between them, a duration ago, random,
// and a point before the oldest (an error naming the window); the RPO is
// measured from the chosen point.
func TestDrillRecoveryPoint(t *testing.T) {
	_, src, storeDir := seededBackup(t, "custom")
	time.Sleep(1100 * time.Millisecond)
	// A second run's backup (a run backs up once per task).
	second := &tasktest.Runner{Types: []task.Type{backup.New(slog.New(slog.DiscardHandler), nil).Type()}, Task: "next-night"}
	if _, err := second.Run(t, backup.Name, map[string]any{"source": src, "storage": storeDir, "format": "custom", "jobs": 1}); err != nil {
		t.Fatal(err)
	}
	store, _ := file.New(storeDir)
	list, err := pgbackup.List(context.Background(), store, "app")
	if err != nil || len(list) != 2 {
		t.Fatalf("backups %v, %v", list, err)
	}
	newer, older := list[0], list[1]
	between := older.Finished.Add(newer.Finished.Sub(older.Finished) / 2)

	sel := func(rp string) (restoredrill.Backup, error) {
		d := newDrill(t, map[string]any{"storage": storeDir, "database": "app", "recoveryPoint": rp})
		var b restoredrill.Backup
		err := d.do(restoredrill.Select, &b)
		return b, err
	}
	if b, err := sel("latest"); err != nil || b.ID != newer.ID || !b.Point.IsZero() {
		t.Errorf("latest: %+v, %v", b, err)
	}
	if b, err := sel(between.Format(time.RFC3339Nano)); err != nil || b.ID != older.ID || !b.Point.Equal(between) {
		t.Errorf("between: %+v, %v", b, err)
	}
	if b, err := sel("0s ago"); err != nil || b.ID != newer.ID || b.Point.IsZero() {
		t.Errorf("0s ago: %+v, %v", b, err)
	}
	for range 5 {
		b, err := sel("random")
		if err != nil || b.ID != newer.ID && b.ID != older.ID || b.Point.Before(older.Finished.Truncate(time.Second)) || b.Point.After(time.Now()) || b.Point.Before(b.Finished.Truncate(time.Second)) {
			t.Errorf("random: %+v, %v", b, err)
		}
	}
	_, err = sel("1h")
	tasktest.MustKind(t, err, tasktest.Invalid, "is outside the retention window: the backups of \"app\" run from "+older.Finished.UTC().Format(time.RFC3339))

	// The drill's RPO is the chosen point minus the backup's end.
	d := newRealDrill(t)
	out, err := d.run(t, map[string]any{"storage": storeDir, "database": "app", "recoveryPoint": between.Format(time.RFC3339Nano)})
	if err != nil {
		t.Fatal(err)
	}
	if want := between.Sub(older.Finished).Seconds(); math.Abs(out.Metrics["drill.rpo"]-want) > 0.001 {
		t.Errorf("drill.rpo %v, want %v", out.Metrics["drill.rpo"], want)
	}
}

// TestRecoveryPointParams: recoveryPoint is checked, and conflicts with
// the params that name what to restore.
func TestRecoveryPointParams(t *testing.T) {
	for _, c := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"recoveryPoint": "yesterday"}, "want latest, random"},
		{map[string]any{"recoveryPoint": "2999-01-01T00:00:00Z"}, "in the future"},
		{map[string]any{"recoveryPoint": "random", "backup": "b1"}, "not both"},
	} {
		c.with["storage"], c.with["database"] = "/x", "app"
		probs := restoredrill.Decl.Check(c.with)
		if len(probs) != 1 || probs[0].Param != "recoveryPoint" || !strings.Contains(probs[0].Msg, c.want) {
			t.Errorf("%v: %+v, want %q", c.with, probs, c.want)
		}
	}
	for _, rp := range []string{"latest", "random", "36h", "36h ago", "2026-11-29T06:00:00Z"} {
		if probs := restoredrill.Decl.Check(map[string]any{"storage": "/x", "database": "app", "recoveryPoint": rp}); len(probs) != 0 {
			t.Errorf("%s: %+v", rp, probs)
		}
	}
}
