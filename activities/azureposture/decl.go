// Package azureposture is the azure-posture task type: it reads the real
// configuration of Azure resources of one subscription (PostgreSQL
// flexible servers, storage accounts, App Service apps, key vaults)
// through Azure Resource Manager with azidentity's
// DefaultAzureCredential, and reports each fact as a metric, aggregated
// across the selected resources as its worst value, for gates to judge.
package azureposture

import (
	"time"

	"github.com/shipshape-dev/shipshape/internal/posture"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "azure-posture"

// Services an azure-posture task reads.
const (
	servicePostgres   = "postgresql"
	serviceStorage    = "storage"
	serviceAppService = "appservice"
	serviceKeyVault   = "keyvault"
)

var services = []string{servicePostgres, serviceStorage, serviceAppService, serviceKeyVault}

// Facts are the metrics azure-posture reports and how each aggregates.
var Facts = []posture.Fact{
	posture.Declare("postgres.backup_retention", plan.UnitSeconds, posture.More, "PostgreSQL flexible server: how long backups are kept (backup.backupRetentionDays, in seconds)."),
	posture.Declare("postgres.pitr_window", plan.UnitSeconds, posture.More, "PostgreSQL flexible server: how far back a point-in-time restore can reach now (now − backup.earliestRestoreDate): the retention once the server is older than it, less for a new server. Not reported when Azure states no earliest restore point, so a gate on it fails."),
	posture.Declare("postgres.geo_redundant_backup", plan.UnitCount, posture.More, "PostgreSQL flexible server: 1 when backups are geo-redundant (copied to the paired region), else 0."),
	posture.Declare("postgres.high_availability", plan.UnitCount, posture.More, "PostgreSQL flexible server: 1 when high availability is on (mode ZoneRedundant or SameZone, named in the report), else 0."),
	posture.Declare("postgres.storage_autogrow", plan.UnitCount, posture.More, "PostgreSQL flexible server: 1 when storage grows by itself before it fills up (storage.autoGrow Enabled; the size is in the report), else 0."),
	posture.Declare("postgres.public_network_access", plan.UnitCount, posture.Less, "PostgreSQL flexible server: 1 when it is reachable over public networks (network.publicNetworkAccess Enabled), 0 when only through its virtual network."),
	posture.Declare("storage.min_tls", plan.UnitCount, posture.More, "Storage account: the minimum TLS version it accepts, as a number (TLS1_2 is 1.2); an account that sets none accepts TLS 1.0."),
	posture.Declare("storage.https_only", plan.UnitCount, posture.More, "Storage account: 1 when only HTTPS is accepted (supportsHttpsTrafficOnly), else 0."),
	posture.Declare("storage.encryption", plan.UnitCount, posture.More, "Storage account: 1 when the blob service encrypts at rest (encryption.services.blob.enabled; the key source, Microsoft.Storage or Microsoft.Keyvault, is in the report), else 0."),
	posture.Declare("storage.blob_public_access", plan.UnitCount, posture.Less, "Storage account: 1 when containers may be made public (allowBlobPublicAccess true), else 0."),
	posture.Declare("storage.public_network_access", plan.UnitCount, posture.Less, "Storage account: 1 when reachable over public networks (publicNetworkAccess Enabled or not set), else 0."),
	posture.Declare("storage.blob_soft_delete", plan.UnitCount, posture.More, "Storage account: 1 when blob soft delete is on (blob service deleteRetentionPolicy), else 0."),
	posture.Declare("storage.blob_soft_delete_retention", plan.UnitSeconds, posture.More, "Storage account: how long soft-deleted blobs are kept (deleteRetentionPolicy.days, in seconds); 0 when soft delete is off."),
	posture.Declare("storage.lifecycle.rules", plan.UnitCount, posture.More, "Storage account: enabled rules of its lifecycle management policy (0 without a policy)."),
	posture.Declare("storage.lifecycle.cool_after", plan.UnitSeconds, posture.Less, "Storage account: how soon base blobs move to the Cool tier: the least daysAfterModificationGreaterThan of tierToCool over the enabled lifecycle rules, in seconds. Not reported by an account without such a rule, so a gate on it fails."),
	posture.Declare("storage.lifecycle.cold_after", plan.UnitSeconds, posture.Less, "Storage account: as storage.lifecycle.cool_after, for tierToCold."),
	posture.Declare("storage.lifecycle.archive_after", plan.UnitSeconds, posture.Less, "Storage account: as storage.lifecycle.cool_after, for tierToArchive."),
	posture.Declare("storage.lifecycle.delete_after", plan.UnitSeconds, posture.Less, "Storage account: as storage.lifecycle.cool_after, for delete: how soon base blobs are deleted."),
	posture.Declare("appservice.min_tls", plan.UnitCount, posture.More, "App Service app: the minimum TLS version of its site configuration (minTlsVersion), as a number: 1.2."),
	posture.Declare("appservice.https_only", plan.UnitCount, posture.More, "App Service app: 1 when HTTP requests are redirected to HTTPS (httpsOnly), else 0."),
	posture.Declare("appservice.health_check", plan.UnitCount, posture.More, "App Service app: 1 when a health check path is set (healthCheckPath, named in the report), else 0."),
	posture.Declare("appservice.always_on", plan.UnitCount, posture.More, "App Service app: 1 when Always On keeps it loaded, else 0."),
	posture.Declare("appservice.autoscale", plan.UnitCount, posture.More, "App Service app: 1 when an enabled autoscale setting targets its App Service plan (its instance range is in the report), else 0."),
	posture.Declare("keyvault.soft_delete", plan.UnitCount, posture.More, "Key vault: 1 when soft delete is on (every vault since 2020 unless enableSoftDelete is false), else 0."),
	posture.Declare("keyvault.purge_protection", plan.UnitCount, posture.More, "Key vault: 1 when purge protection is on (deleted objects cannot be purged before the retention ends), else 0."),
	posture.Declare("keyvault.soft_delete_retention", plan.UnitSeconds, posture.More, "Key vault: how long deleted vaults and objects are kept (softDeleteRetentionInDays, 90 days when not set, in seconds); 0 when soft delete is off."),
	posture.Declare("keyvault.secrets.without_expiry", plan.UnitCount, posture.Less, "Key vault, with `secrets`: enabled secrets without an expiry date (certificate-managed secrets left out)."),
	posture.Declare("keyvault.secrets.expires_in", plan.UnitSeconds, posture.More, "Key vault, with `secrets`: time until the first enabled secret expires (negative once one has); not reported by a vault none of whose secrets expires, so a gate on it fails."),
	posture.Declare("keyvault.secrets.rotated_age", plan.UnitSeconds, posture.Less, "Key vault, with `secrets`: age of the oldest current version of an enabled secret (now − its created time): how long since the stalest secret was rotated; not reported by a vault without secrets."),
	posture.Declare("keyvault.keys.without_rotation", plan.UnitCount, posture.Less, "Key vault, with `keys`: enabled keys (certificate-managed ones left out) whose rotation policy has no Rotate action (the default policy only notifies)."),
	posture.Declare("keyvault.keys.rotation_interval", plan.UnitSeconds, posture.Less, "Key vault, with `keys`: the longest time a key goes between automatic rotations (the Rotate action's timeAfterCreate, or its policy's expiryTime less timeBeforeExpiry); not reported by a vault none of whose keys rotates, so a gate on it fails."),
	posture.Declare("resources", plan.UnitCount, posture.More, "How many resources were checked (always at least 1: selecting none is an error)."),
}

// Decl declares the azure-posture task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Reads the configuration of Azure resources of one service (`postgresql` flexible servers, `storage` accounts, `appservice` apps or `keyvault` vaults) in one subscription, " +
		"through Azure Resource Manager with azidentity's DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI), " +
		"and reports each fact as a metric in base units (0/1 for yes/no, seconds for days, TLS versions as 1.2), aggregated across the resources as its WORST value, so a gate holds for every resource: " +
		"`postgres.backup_retention >= 168h`, `storage.lifecycle.cool_after <= 720h`, `appservice.min_tls >= 1.2`. The report has one table per resource and names the worst resource of each fact. " +
		"The task fails when a call is denied (naming the ARM operation and the Azure RBAC action it needs), when no credential is found, when the subscription is unknown, or when the selection finds no resource. " +
		"docs/posture.md lists the least-privilege role.",
	Params: []plan.Param{
		{Name: "service", Type: plan.TypeString, Required: true, Enum: services, Doc: "Which resources to read: `postgresql` (PostgreSQL flexible servers), `storage` (storage accounts), `appservice` (App Service web, API and function apps) or `keyvault` (key vaults)."},
		{Name: "subscription", Type: plan.TypeString, Required: true, Doc: "The subscription ID (a GUID) whose resources are read."},
		selectionParam(),
		{Name: "keys", Type: plan.TypeBool, Default: false, Doc: "With `keyvault`: also list each vault's keys and read their rotation policies through the Key Vault data plane (metadata only) for the keyvault.keys.* facts. Needs Microsoft.KeyVault/vaults/keys/read and keys/rotationpolicy/read (the Key Vault Reader role) or an access policy granting List and Get on keys."},
		{Name: "secrets", Type: plan.TypeBool, Default: false, Doc: "With `keyvault`: also list each vault's secrets through the Key Vault data plane (metadata only, never values) for the keyvault.secrets.* facts. Needs Microsoft.KeyVault/vaults/secrets/readMetadata/action (the Key Vault Reader role) or an access policy granting List on secrets."},
		{Name: "endpointURL", Type: plan.TypeString, Doc: "Azure Resource Manager endpoint to send every call to instead of https://management.azure.com (a sovereign cloud's, Azure Stack Hub's, a test fake); empty: Azure's public cloud."},
		{Name: "maxAttempts", Type: plan.TypeInt, Default: 4, Doc: "Attempts per ARM call by the SDK's retry policy (throttling, 429 with Retry-After, and transient errors are retried with backoff)."},
	},
	Metrics:     posture.Metrics(Facts),
	Timeout:     5 * time.Minute,
	MaxAttempts: 2,
}

// selectionParam is posture's `resources` parameter with a resource
// group.
func selectionParam() plan.Param {
	p := posture.SelectionParam("resource names or resource IDs (/subscriptions/…/resourceGroups/…/providers/…)")
	p.Required = true
	p.Doc = "Which resources to check: `ids` (names or resource IDs), `tags` (a tag filter: every tag must match; the value `*` matches any value), `resourceGroup` (only that resource group; alone: every resource of the service in it). " +
		"A filter matching nothing, or an ID not found, is an error: a gate never passes over zero resources."
	p.Fields = append(p.Fields, plan.Param{Name: "resourceGroup", Type: plan.TypeString, Doc: "Resource group to read (lists only it, so a role assigned on it is enough); empty: the whole subscription."})
	return p
}
