package azureposture

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	azure "github.com/shipshape-dev/shipshape/integrations/azureposture"
	"github.com/shipshape-dev/shipshape/internal/posture"
)

// readPostgres lists the flexible servers and reads the selected ones.
func readPostgres(ctx context.Context, arm postgresReader, p params, now time.Time) ([]posture.Resource, error) {
	servers, err := arm.PostgresServers(ctx, p.resourceGroup)
	if err != nil {
		return nil, err
	}
	var out []posture.Resource
	for i, s := range servers {
		aliases, ok := chosen(p, s.Resource)
		if !ok {
			continue
		}
		progress(ctx, i, len(servers), "flexible server "+s.Name)
		r := newResource(s.Resource, aliases, "PostgreSQL flexible server")
		storage, err := arm.PostgresStorage(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		r.SetBool("postgres.storage_autogrow", storage.AutoGrow)
		if storage.SizeGB > 0 {
			r.Note("postgres.storage_autogrow", fmt.Sprintf("%d GB %s", storage.SizeGB, storage.Tier))
		}
		r.Set("postgres.backup_retention", days(s.BackupRetentionDays))
		if !s.EarliestRestore.IsZero() {
			r.Set("postgres.pitr_window", max(now.Sub(s.EarliestRestore), 0).Seconds())
			r.Note("postgres.pitr_window", "earliest restore point "+s.EarliestRestore.UTC().Format(time.RFC3339))
		} else {
			r.Note("postgres.pitr_window", "Azure states no earliest restore point")
		}
		r.SetBool("postgres.geo_redundant_backup", s.GeoRedundantBackup)
		r.SetBool("postgres.high_availability", s.HighAvailability != "" && !strings.EqualFold(s.HighAvailability, "Disabled"))
		r.Note("postgres.high_availability", s.HighAvailability)
		if s.PublicNetworkAccess != "" {
			r.SetBool("postgres.public_network_access", strings.EqualFold(s.PublicNetworkAccess, "Enabled"))
		} else {
			r.Note("postgres.public_network_access", "not stated by Azure")
		}
		out = append(out, r)
	}
	return out, nil
}

// tlsVersion reads "TLS1_2" or "1.2" as 1.2.
func tlsVersion(s string) (float64, bool) {
	s = strings.ReplaceAll(strings.TrimPrefix(strings.ToUpper(s), "TLS"), "_", ".")
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// readStorage lists the storage accounts and reads the selected ones'
// blob service properties and lifecycle policy.
func readStorage(ctx context.Context, arm storageReader, p params) ([]posture.Resource, error) {
	accounts, err := arm.StorageAccounts(ctx, p.resourceGroup)
	if err != nil {
		return nil, err
	}
	var out []posture.Resource
	for i, a := range accounts {
		aliases, ok := chosen(p, a.Resource)
		if !ok {
			continue
		}
		progress(ctx, i, len(accounts), "storage account "+a.Name)
		r := newResource(a.Resource, aliases, "Storage account")
		if v, ok := tlsVersion(a.MinimumTLSVersion); ok {
			r.Set("storage.min_tls", v)
		} else {
			r.Set("storage.min_tls", 1.0)
			r.Note("storage.min_tls", "minimumTlsVersion not set: TLS 1.0 is accepted")
		}
		r.SetBool("storage.https_only", a.HTTPSOnly)
		r.SetBool("storage.encryption", a.BlobEncryption)
		if a.KeySource != "" {
			r.Note("storage.encryption", a.KeySource)
		}
		r.SetBool("storage.blob_public_access", a.AllowBlobPublicAccess)
		r.SetBool("storage.public_network_access", a.PublicNetworkAccess == "" || strings.EqualFold(a.PublicNetworkAccess, "Enabled"))

		blob, err := arm.BlobService(ctx, a.ResourceGroup, a.Name)
		if err != nil {
			return nil, err
		}
		r.SetBool("storage.blob_soft_delete", blob.SoftDelete)
		r.Set("storage.blob_soft_delete_retention", days(blob.SoftDeleteRetentionDays))

		rules, found, err := arm.Lifecycle(ctx, a.ResourceGroup, a.Name)
		if err != nil {
			return nil, err
		}
		if !found {
			r.Note("storage.lifecycle.rules", "no lifecycle management policy")
		}
		lifecycle(&r, rules)
		out = append(out, r)
	}
	return out, nil
}

// lifecycle sets the lifecycle facts: per action, the least days after
// modification over the enabled rules, and which rule gives it.
func lifecycle(r *posture.Resource, rules []azure.LifecycleRule) {
	enabled := 0
	for _, rule := range rules {
		if !rule.Enabled {
			continue
		}
		enabled++
		for metric, d := range map[string]*float64{
			"storage.lifecycle.cool_after": rule.Cool, "storage.lifecycle.cold_after": rule.Cold,
			"storage.lifecycle.archive_after": rule.Archive, "storage.lifecycle.delete_after": rule.Delete,
		} {
			if d == nil {
				continue
			}
			if v, ok := r.Facts[metric]; !ok || days(*d) < v {
				r.Set(metric, days(*d))
				r.Note(metric, "rule "+rule.Name)
			}
		}
	}
	r.Set("storage.lifecycle.rules", float64(enabled))
	for metric, action := range map[string]string{"storage.lifecycle.cool_after": "tierToCool", "storage.lifecycle.cold_after": "tierToCold",
		"storage.lifecycle.archive_after": "tierToArchive", "storage.lifecycle.delete_after": "delete"} {
		if _, ok := r.Facts[metric]; !ok {
			r.Note(metric, "no enabled rule with "+action+" after modification")
		}
	}
}

// readAppService lists the apps, reads the selected ones' configuration
// and whether an enabled autoscale setting targets each one's plan.
func readAppService(ctx context.Context, arm appServiceReader, p params) ([]posture.Resource, error) {
	apps, err := arm.WebApps(ctx, p.resourceGroup)
	if err != nil {
		return nil, err
	}
	type selectedApp struct {
		app     azure.WebApp
		aliases []string
	}
	var picked []selectedApp
	planGroups := map[string]bool{}
	for _, a := range apps {
		if aliases, ok := chosen(p, a.Resource); ok {
			picked = append(picked, selectedApp{a, aliases})
			if g := azure.ResourceGroupOf(a.PlanID); g != "" {
				planGroups[g] = true
			}
		}
	}
	if len(picked) == 0 {
		return nil, nil
	}
	// Autoscale settings: the whole subscription's, or (when the task
	// reads one resource group) those of the plans' resource groups.
	var settings []azure.Autoscale
	groups := []string{""}
	if p.resourceGroup != "" {
		groups = groups[:0]
		for g := range planGroups {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		got, err := arm.AutoscaleSettings(ctx, g)
		if err != nil {
			return nil, err
		}
		settings = append(settings, got...)
	}

	var out []posture.Resource
	for i, s := range picked {
		a := s.app
		progress(ctx, i, len(picked), "app "+a.Name)
		r := newResource(a.Resource, s.aliases, "App Service app")
		cfg, err := arm.SiteConfig(ctx, a.ResourceGroup, a.Name)
		if err != nil {
			return nil, err
		}
		if v, ok := tlsVersion(cfg.MinTLSVersion); ok {
			r.Set("appservice.min_tls", v)
		} else {
			r.Note("appservice.min_tls", "minTlsVersion not stated by Azure")
		}
		r.SetBool("appservice.https_only", a.HTTPSOnly)
		r.SetBool("appservice.health_check", cfg.HealthCheckPath != "")
		r.Note("appservice.health_check", cfg.HealthCheckPath)
		r.SetBool("appservice.always_on", cfg.AlwaysOn)
		on := false
		for _, set := range settings {
			if set.Enabled && a.PlanID != "" && strings.EqualFold(set.Target, a.PlanID) {
				on = true
				r.Note("appservice.autoscale", fmt.Sprintf("%s: %d to %d instances", set.Name, set.MinInstances, set.MaxInstances))
			}
		}
		r.SetBool("appservice.autoscale", on)
		if !on {
			r.Note("appservice.autoscale", "no enabled autoscale setting on plan "+planName(a.PlanID))
		}
		out = append(out, r)
	}
	return out, nil
}

// progress reports reading the i-th of n resources.
func progress(ctx context.Context, i, n int, what string) {
	task.Report(ctx, task.Progress{Done: float64(i) / float64(max(n, 1)), Message: "reading " + what})
}

func planName(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// readVaults lists the key vaults and keeps the selected ones; with
// secrets, it lists each one's secrets too.
func readVaults(ctx context.Context, arm vaultReader, p params, now time.Time) ([]posture.Resource, error) {
	vaults, err := arm.Vaults(ctx, p.resourceGroup)
	if err != nil {
		return nil, err
	}
	var out []posture.Resource
	for _, v := range vaults {
		aliases, ok := chosen(p, v.Resource)
		if !ok {
			continue
		}
		r := newResource(v.Resource, aliases, "Key vault")
		r.SetBool("keyvault.soft_delete", v.SoftDelete)
		r.SetBool("keyvault.purge_protection", v.PurgeProtection)
		r.Set("keyvault.soft_delete_retention", days(v.RetentionDays))
		if p.secrets {
			progress(ctx, len(out), len(vaults), "secrets of "+v.Name)
			secrets, err := arm.Secrets(ctx, v.URI)
			if err != nil {
				return nil, err
			}
			secretFacts(&r, secrets, now)
		}
		if p.keys {
			progress(ctx, len(out), len(vaults), "keys of "+v.Name)
			keys, err := arm.Keys(ctx, v.URI)
			if err != nil {
				return nil, err
			}
			if err := keyFacts(&r, keys); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// secretFacts sets the keyvault.secrets facts of a vault's secrets:
// enabled ones, certificate-managed ones left out.
func secretFacts(r *posture.Resource, secrets []azure.Secret, now time.Time) {
	without, checked := 0, 0
	for _, s := range secrets {
		if !s.Enabled || s.Managed {
			continue
		}
		checked++
		if s.Expires.IsZero() {
			without++
		} else if v, ok := r.Facts["keyvault.secrets.expires_in"]; !ok || s.Expires.Sub(now).Seconds() < v {
			r.Set("keyvault.secrets.expires_in", s.Expires.Sub(now).Seconds())
			r.Note("keyvault.secrets.expires_in", "secret "+s.Name)
		}
		created := s.Created
		if created.IsZero() {
			created = s.Updated
		}
		if created.IsZero() {
			continue
		}
		if v, ok := r.Facts["keyvault.secrets.rotated_age"]; !ok || now.Sub(created).Seconds() > v {
			r.Set("keyvault.secrets.rotated_age", now.Sub(created).Seconds())
			r.Note("keyvault.secrets.rotated_age", "secret "+s.Name)
		}
	}
	r.Set("keyvault.secrets.without_expiry", float64(without))
	r.Note("keyvault.secrets.without_expiry", fmt.Sprintf("%d enabled secrets", checked))
	if _, ok := r.Facts["keyvault.secrets.expires_in"]; !ok {
		r.Note("keyvault.secrets.expires_in", "no enabled secret expires")
	}
	if _, ok := r.Facts["keyvault.secrets.rotated_age"]; !ok {
		r.Note("keyvault.secrets.rotated_age", "no enabled secrets")
	}
}

// keyFacts sets the keyvault.keys facts of a vault's keys: enabled ones,
// certificate-managed ones left out.
func keyFacts(r *posture.Resource, keys []azure.Key) error {
	without, checked := 0, 0
	var unrotated []string
	for _, k := range keys {
		if !k.Enabled || k.Managed {
			continue
		}
		checked++
		var every time.Duration
		switch {
		case k.RotateAfterCreate != "":
			d, err := isoDuration(k.RotateAfterCreate)
			if err != nil {
				return task.Failed(task.Output{}, true, "azure-posture: key %s of %s: rotation policy timeAfterCreate: %v", k.Name, r.ID, err)
			}
			every = d
		case k.RotateBeforeExpiry != "" && k.Expiry != "":
			before, err := isoDuration(k.RotateBeforeExpiry)
			if err != nil {
				return task.Failed(task.Output{}, true, "azure-posture: key %s of %s: rotation policy timeBeforeExpiry: %v", k.Name, r.ID, err)
			}
			expiry, err := isoDuration(k.Expiry)
			if err != nil {
				return task.Failed(task.Output{}, true, "azure-posture: key %s of %s: rotation policy expiryTime: %v", k.Name, r.ID, err)
			}
			every = expiry - before
		default:
			without++
			unrotated = append(unrotated, k.Name)
			continue
		}
		if v, ok := r.Facts["keyvault.keys.rotation_interval"]; !ok || every.Seconds() > v {
			r.Set("keyvault.keys.rotation_interval", every.Seconds())
			r.Note("keyvault.keys.rotation_interval", "key "+k.Name)
		}
	}
	r.Set("keyvault.keys.without_rotation", float64(without))
	note := fmt.Sprintf("%d enabled keys", checked)
	if len(unrotated) > 0 {
		note += "; not rotated: " + strings.Join(unrotated, ", ")
	}
	r.Note("keyvault.keys.without_rotation", note)
	if _, ok := r.Facts["keyvault.keys.rotation_interval"]; !ok {
		r.Note("keyvault.keys.rotation_interval", "no enabled key rotates automatically")
	}
	return nil
}

var isoPeriod = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// isoDuration reads an ISO 8601 duration as Key Vault writes them (P90D,
// P1Y, P2M, PT12H); a year counts 365 days and a month 30.
func isoDuration(s string) (time.Duration, error) {
	m := isoPeriod.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || s == "P" || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration (like P90D)", s)
	}
	day := 24 * time.Hour
	units := []time.Duration{365 * day, 30 * day, 7 * day, day, time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, u := range units {
		if m[i+1] != "" {
			n, err := strconv.Atoi(m[i+1])
			if err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
			d += time.Duration(n) * u
		}
	}
	return d, nil
}
