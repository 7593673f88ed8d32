package restoredrill

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/awsrds"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
)

// rdsWait bounds each wait for an RDS instance (restores of large
// snapshots take a while); the task's timeout bounds the drill.
const rdsWait = 2 * time.Hour

// rdsInstanceID is the scratch instance's identifier: derived from the
// drill, so a retried or resumed step finds the instance an earlier
// attempt made.
func rdsInstanceID(drill string) string {
	sum := sha256.Sum256([]byte(drill))
	return "shipshape-drill-" + hex.EncodeToString(sum[:8])
}

func (d *Drill) rdsClient(ctx context.Context, s Step) (*awsrds.Client, error) {
	c, err := awsrds.New(ctx, s.Task.Params.Object("target").String("region"))
	if err != nil {
		return nil, err
	}
	if d.rdsPoll > 0 {
		c.MinDelay, c.MaxDelay = d.rdsPoll, 4*d.rdsPoll
	}
	return c, nil
}

// formatRDSPointInTime is the Format of an aws-rds drill's "backup" that
// is the source instance at a point in time, not a snapshot.
const formatRDSPointInTime = "rds-point-in-time"

// selectRDSSnapshot picks the newest available snapshot of the target's
// instance, or the one named; with a recoveryPoint, the point in the
// instance's point-in-time restore window instead.
func (d *Drill) selectRDSSnapshot(ctx context.Context, s Step) (Backup, error) {
	t := s.Task.Params.Object("target")
	c, err := d.rdsClient(ctx, s)
	if err != nil {
		return Backup{}, err
	}
	if s.Task.Params.String("recoveryPoint") != "" && t.String("snapshot") == "" {
		return d.selectRDSPoint(ctx, c, s)
	}
	snap, err := c.NewestSnapshot(ctx, t.String("instance"), t.String("snapshot"))
	if err != nil {
		return Backup{}, temporal.NewNonRetryableApplicationError(err.Error(), task.ErrInvalidParams, nil)
	}
	db := Database(s.Task.Params)
	return Backup{ID: snap.ID, Database: db, Format: "rds-snapshot", Finished: snap.Created,
		Source: pgbackup.Source{Host: snap.Instance, Database: db}}, nil
}

// selectRDSPoint chooses the point in time the drill restores the
// instance to: its latest restorable time, a random instant of its
// window, or the time asked for, which must be inside the window
// (EarliestRestorableTime to LatestRestorableTime). The backup's end is
// the point itself (the latest restorable time for latest), so the RPO
// is measured from it.
func (d *Drill) selectRDSPoint(ctx context.Context, c *awsrds.Client, s Step) (Backup, error) {
	instance := s.Task.Params.Object("target").String("instance")
	rp, err := parseRecoveryPoint(s.Task.Params.String("recoveryPoint"), time.Now())
	if err != nil {
		return Backup{}, task.InvalidParams("recoveryPoint: %v", err)
	}
	w, err := c.RestoreWindow(ctx, instance)
	if errors.Is(err, awsrds.ErrPointInTimeNotEnabled) {
		return Backup{}, task.InvalidParams("recoveryPoint: %v; a drill of its snapshots leaves recoveryPoint out", err)
	}
	if err != nil {
		return Backup{}, err
	}
	db := Database(s.Task.Params)
	b := Backup{Database: db, Format: formatRDSPointInTime, Source: pgbackup.Source{Host: instance, Database: db}}
	window := fmt.Sprintf("the point-in-time restore window of %s runs from %s to %s", instance,
		w.Earliest.Format(time.RFC3339), w.Latest.Format(time.RFC3339))
	switch {
	case rp.latest:
		b.ID, b.Finished = instance+"@latest", w.Latest
		return b, nil
	case rp.random:
		b.Point = w.Earliest
		if span := w.Latest.Sub(w.Earliest); span > 0 {
			b.Point = w.Earliest.Add(time.Duration(rand.Int64N(int64(span)))).Truncate(time.Second)
		}
		if b.Point.Before(w.Earliest) {
			b.Point = w.Earliest
		}
	default:
		b.Point = rp.at.Truncate(time.Second) // RDS restores to the second
	}
	if b.Point.Before(w.Earliest) || b.Point.After(w.Latest) {
		return Backup{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("recovery point %s is %v: %s",
			b.Point.Format(time.RFC3339), errOutsideWindow, window), task.ErrInvalidParams, nil)
	}
	b.ID, b.Finished = instance+"@"+b.Point.Format(time.RFC3339), b.Point
	return b, nil
}

// provisionRDS restores the snapshot into the drill's instance (a
// retried restore finds the instance), waits for it, and gives its
// master user a new random password, kept in the drill directory.
func (d *Drill) provisionRDS(ctx context.Context, s Step) (Target, error) {
	t := s.Task.Params.Object("target")
	c, err := d.rdsClient(ctx, s)
	if err != nil {
		return Target{}, err
	}
	dir, err := d.makeDrillDir(s.ID)
	if err != nil {
		return Target{}, err
	}
	id := rdsInstanceID(s.ID)
	var phase atomic.Value
	phase.Store("restoring snapshot " + s.Backup.ID + " into " + id)
	defer d.progress(s.Task).Every(ctx, 10*time.Second, func() task.Progress { return task.Progress{Done: -1, Message: phase.Load().(string)} })()
	started := time.Now()
	opts := awsrds.RestoreOptions{Class: t.String("instanceClass"),
		SubnetGroup: t.String("subnetGroup"), SecurityGroups: t.Strings("securityGroups"), Tag: Tag(s.ID)}
	if s.Backup.Format == formatRDSPointInTime {
		phase.Store("restoring " + s.Backup.ID + " into " + id)
		// Point is zero for latest: RDS's latest restorable time then.
		err = c.RestoreToPoint(ctx, s.Backup.Source.Host, id, s.Backup.Point, opts)
		if errors.Is(err, awsrds.ErrInvalidRestore) || errors.Is(err, awsrds.ErrPointInTimeNotEnabled) {
			return Target{}, task.InvalidParams("recoveryPoint: %v", err)
		}
	} else {
		err = c.Restore(ctx, s.Backup.ID, id, opts)
	}
	if err != nil {
		return Target{}, err
	}
	if _, err := c.WaitAvailable(ctx, id, rdsWait); err != nil {
		return Target{}, err
	}
	restored := time.Since(started)
	phase.Store("setting a new master password on " + id)
	pw, err := newPassword()
	if err != nil {
		return Target{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), pw, 0o600); err != nil {
		return Target{}, err
	}
	if err := c.SetPassword(ctx, id, string(pw)); err != nil {
		return Target{}, err
	}
	inst, err := c.WaitAvailable(ctx, id, rdsWait)
	if err != nil {
		return Target{}, err
	}
	d.logger.Info("drill target provisioned", "drill", s.ID, "instance", id, "snapshot", s.Backup.ID, "restore", restored)
	return Target{Kind: TargetAWSRDS, Host: inst.Host, Port: cmp.Or(t.Int("port"), inst.Port), User: inst.User, Database: s.Backup.Database,
		Dir: id, Restored: restored.Seconds()}, nil
}

// teardownRDS deletes the drill's instance, without a final snapshot,
// and waits until it is gone; one that is gone already is fine.
func (d *Drill) teardownRDS(ctx context.Context, s Step) (string, error) {
	c, err := d.rdsClient(ctx, s)
	if err != nil {
		return "", err
	}
	id := rdsInstanceID(s.ID)
	defer d.progress(s.Task).Every(ctx, 10*time.Second, func() task.Progress { return task.Progress{Done: -1, Message: "deleting " + id} })()
	deleted, err := c.Delete(ctx, id, rdsWait)
	if err != nil {
		return "", err
	}
	if !deleted {
		return "torn down: no RDS instance " + id, nil
	}
	d.logger.Info("drill target torn down", "drill", s.ID, "instance", id)
	return fmt.Sprintf("torn down: RDS instance %s deleted", id), nil
}
