package restoredrill

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/azurepg"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
)

// azureScratch is the drill's scratch server, in the source's resource
// group, named after the drill so a retried or resumed step finds it.
func azureScratch(s Step) (source, scratch azurepg.ServerID, err error) {
	source, err = azurepg.ParseServerID(s.Task.Params.Object("target").String("server"))
	if err != nil {
		return source, scratch, temporal.NewNonRetryableApplicationError("target.server: "+err.Error(), task.ErrInvalidParams, nil)
	}
	scratch = source
	scratch.Name = rdsInstanceID(s.ID) // lower-case letters, digits, hyphens: valid on Azure too
	return source, scratch, nil
}

func (d *Drill) azureClient(subscription string) (*azurepg.Client, error) {
	if d.azurePG != nil {
		return d.azurePG(subscription)
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	return azurepg.New(subscription, cred, nil)
}

// selectAzurePoint picks the point in time to restore: the plan's, or 10
// minutes before now (about Azure's latest restorable point).
func (d *Drill) selectAzurePoint(ctx context.Context, s Step) (Backup, error) {
	source, _, err := azureScratch(s)
	if err != nil {
		return Backup{}, err
	}
	now := time.Now()
	latest := now.Add(-10 * time.Minute).UTC().Truncate(time.Second)
	point := latest
	if rp := s.Task.Params.Object("target").String("restorePoint"); rp != "" {
		if point, err = time.Parse(time.RFC3339, rp); err != nil {
			return Backup{}, task.InvalidParams("target.restorePoint: %v", err)
		}
	}
	rp, err := parseRecoveryPoint(s.Task.Params.String("recoveryPoint"), now)
	if err != nil {
		return Backup{}, task.InvalidParams("recoveryPoint: %v", err)
	}
	c, err := d.azureClient(source.Subscription)
	if err != nil {
		return Backup{}, err
	}
	srv, found, err := c.Get(ctx, source)
	if err != nil {
		return Backup{}, err
	} else if !found {
		return Backup{}, task.InvalidParams("target.server: %s does not exist", source)
	}
	var asked time.Time // a point the plan asked for by recoveryPoint
	if !rp.latest {
		// The window: from Azure's earliest restore point (7 days, the
		// default retention, when it does not say) to the latest.
		earliest := srv.EarliestRestore
		if earliest.IsZero() {
			earliest = now.Add(-7 * 24 * time.Hour)
		}
		if _, asked, err = rp.choose([]time.Time{latest, earliest}, latest, "restore points of "+source.Name); err != nil {
			return Backup{}, temporal.NewNonRetryableApplicationError(err.Error(), task.ErrInvalidParams, nil)
		}
		point = asked
	}
	db := Database(s.Task.Params)
	return Backup{ID: "point-in-time " + point.Format(time.RFC3339) + " of " + source.Name, Database: db, Format: "azure-point-in-time",
		Finished: point, Source: pgbackup.Source{Host: source.Name, Database: db}, Point: asked}, nil
}

// provisionAzure restores the source to the point into the drill's
// server (a retried restore finds it), and gives its administrator a new
// random password, kept in the drill directory.
func (d *Drill) provisionAzure(ctx context.Context, s Step) (Target, error) {
	t := s.Task.Params.Object("target")
	source, scratch, err := azureScratch(s)
	if err != nil {
		return Target{}, err
	}
	c, err := d.azureClient(source.Subscription)
	if err != nil {
		return Target{}, err
	}
	if d.azurePoll > 0 {
		c.PollFrequency = d.azurePoll
	}
	dir, err := d.makeDrillDir(s.ID)
	if err != nil {
		return Target{}, err
	}
	location := t.String("location")
	if location == "" {
		src, found, err := c.Get(ctx, source)
		if err != nil {
			return Target{}, err
		}
		if !found {
			return Target{}, task.InvalidParams("target.server: %s does not exist", source)
		}
		location = src.Location
	}
	var phase atomic.Value
	phase.Store("restoring " + source.Name + " into " + scratch.Name)
	defer d.progress(s.Task).Every(ctx, 10*time.Second, func() task.Progress { return task.Progress{Done: -1, Message: phase.Load().(string)} })()
	started := time.Now()
	if _, err := c.Restore(ctx, source, scratch, location, s.Backup.Finished, Tag(s.ID)); err != nil {
		return Target{}, err
	}
	restored := time.Since(started)
	phase.Store("setting a new administrator password on " + scratch.Name)
	pw, err := newPassword()
	if err != nil {
		return Target{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), pw, 0o600); err != nil {
		return Target{}, err
	}
	srv, err := c.SetPassword(ctx, scratch, string(pw))
	if err != nil {
		return Target{}, err
	}
	d.logger.Info("drill target provisioned", "drill", s.ID, "server", scratch.Name, "restore", restored)
	return Target{Kind: TargetAzure, Host: srv.Host, Port: cmp.Or(t.Int("port"), 5432), User: srv.User, Database: s.Backup.Database,
		Dir: scratch.String(), Restored: restored.Seconds()}, nil
}

// teardownAzure deletes the drill's server and waits until it is gone.
func (d *Drill) teardownAzure(ctx context.Context, s Step) (string, error) {
	source, scratch, err := azureScratch(s)
	if err != nil {
		return "", err
	}
	c, err := d.azureClient(source.Subscription)
	if err != nil {
		return "", err
	}
	if d.azurePoll > 0 {
		c.PollFrequency = d.azurePoll
	}
	defer d.progress(s.Task).Every(ctx, 10*time.Second, func() task.Progress { return task.Progress{Done: -1, Message: "deleting " + scratch.Name} })()
	deleted, err := c.Delete(ctx, scratch)
	if err != nil {
		return "", err
	}
	if !deleted {
		return "torn down: no server " + scratch.Name, nil
	}
	d.logger.Info("drill target torn down", "drill", s.ID, "server", scratch.Name)
	return "torn down: flexible server " + scratch.Name + " deleted", nil
}
