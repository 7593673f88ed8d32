package activities

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

	"github.com/shipshape-dev/shipshape/activities/pgbackup"
	"github.com/shipshape-dev/shipshape/integrations/azurepg"
)

// azureScratch is the drill's scratch server, in the source's resource
// group, named after the drill so a retried or resumed step finds it.
func azureScratch(s DrillStep) (source, scratch azurepg.ServerID, err error) {
	source, err = azurepg.ParseServerID(s.Task.Params.Object("target").String("server"))
	if err != nil {
		return source, scratch, temporal.NewNonRetryableApplicationError("target.server: "+err.Error(), ErrInvalidParams, nil)
	}
	scratch = source
	scratch.Name = rdsInstanceID(s.ID) // lower-case letters, digits, hyphens: valid on Azure too
	return source, scratch, nil
}

func (a *Activities) azureClient(subscription string) (*azurepg.Client, error) {
	if a.AzurePG != nil {
		return a.AzurePG(subscription)
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	return azurepg.New(subscription, cred, nil)
}

// selectAzurePoint picks the point in time to restore: the plan's, or 10
// minutes before now (about Azure's latest restorable point).
func (a *Activities) selectAzurePoint(ctx context.Context, s DrillStep) (DrillBackup, error) {
	source, _, err := azureScratch(s)
	if err != nil {
		return DrillBackup{}, err
	}
	point := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	if rp := s.Task.Params.Object("target").String("restorePoint"); rp != "" {
		if point, err = time.Parse(time.RFC3339, rp); err != nil {
			return DrillBackup{}, InvalidParams("target.restorePoint: %v", err)
		}
	}
	c, err := a.azureClient(source.Subscription)
	if err != nil {
		return DrillBackup{}, err
	}
	if _, found, err := c.Get(ctx, source); err != nil {
		return DrillBackup{}, err
	} else if !found {
		return DrillBackup{}, InvalidParams("target.server: %s does not exist", source)
	}
	db := DrillDatabase(s.Task.Params)
	return DrillBackup{ID: "point-in-time " + point.Format(time.RFC3339) + " of " + source.Name, Database: db, Format: "azure-point-in-time",
		Finished: point, Source: pgbackup.Source{Host: source.Name, Database: db}}, nil
}

// provisionAzure restores the source to the point into the drill's
// server (a retried restore finds it), and gives its administrator a new
// random password, kept in the drill directory.
func (a *Activities) provisionAzure(ctx context.Context, s DrillStep) (DrillTarget, error) {
	t := s.Task.Params.Object("target")
	source, scratch, err := azureScratch(s)
	if err != nil {
		return DrillTarget{}, err
	}
	c, err := a.azureClient(source.Subscription)
	if err != nil {
		return DrillTarget{}, err
	}
	if a.AzurePoll > 0 {
		c.PollFrequency = a.AzurePoll
	}
	dir, err := a.makeDrillDir(s.ID)
	if err != nil {
		return DrillTarget{}, err
	}
	location := t.String("location")
	if location == "" {
		src, found, err := c.Get(ctx, source)
		if err != nil {
			return DrillTarget{}, err
		}
		if !found {
			return DrillTarget{}, InvalidParams("target.server: %s does not exist", source)
		}
		location = src.Location
	}
	var phase atomic.Value
	phase.Store("restoring " + source.Name + " into " + scratch.Name)
	defer a.progress(s.Task).Every(ctx, 10*time.Second, func() Progress { return Progress{Done: -1, Message: phase.Load().(string)} })()
	started := time.Now()
	if _, err := c.Restore(ctx, source, scratch, location, s.Backup.Finished, DrillTag(s.ID)); err != nil {
		return DrillTarget{}, err
	}
	restored := time.Since(started)
	phase.Store("setting a new administrator password on " + scratch.Name)
	pw, err := generate(32, defaultAlphabet)
	if err != nil {
		return DrillTarget{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), pw, 0o600); err != nil {
		return DrillTarget{}, err
	}
	srv, err := c.SetPassword(ctx, scratch, string(pw))
	if err != nil {
		return DrillTarget{}, err
	}
	a.logger().Info("drill target provisioned", "drill", s.ID, "server", scratch.Name, "restore", restored)
	return DrillTarget{Kind: TargetAzure, Host: srv.Host, Port: cmp.Or(t.Int("port"), 5432), User: srv.User, Database: s.Backup.Database,
		Dir: scratch.String(), Restored: restored.Seconds()}, nil
}

// teardownAzure deletes the drill's server and waits until it is gone.
func (a *Activities) teardownAzure(ctx context.Context, s DrillStep) (string, error) {
	source, scratch, err := azureScratch(s)
	if err != nil {
		return "", err
	}
	c, err := a.azureClient(source.Subscription)
	if err != nil {
		return "", err
	}
	if a.AzurePoll > 0 {
		c.PollFrequency = a.AzurePoll
	}
	defer a.progress(s.Task).Every(ctx, 10*time.Second, func() Progress { return Progress{Done: -1, Message: "deleting " + scratch.Name} })()
	deleted, err := c.Delete(ctx, scratch)
	if err != nil {
		return "", err
	}
	if !deleted {
		return "torn down: no server " + scratch.Name, nil
	}
	a.logger().Info("drill target torn down", "drill", s.ID, "server", scratch.Name)
	return "torn down: flexible server " + scratch.Name + " deleted", nil
}
