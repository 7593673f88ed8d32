package azureposture_test

import (
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/shipshape-dev/shipshape/activities/azureposture"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	azure "github.com/shipshape-dev/shipshape/integrations/azureposture"
	"github.com/shipshape-dev/shipshape/integrations/azureposture/armfake"
	"github.com/shipshape-dev/shipshape/plan"
)

// The tests drive the real ARM SDK clients against armfake, a
// protocol-level fake of Azure Resource Manager (not Azure): bearer
// tokens, api-versions, paging with nextLink, 429 with Retry-After,
// 403 AuthorizationFailed.

const (
	subscription = "6a0f5c2e-1d7b-4f3a-9c8e-2b4d6f8a0c1e"
	deniedKind   = tasktest.Kind("non-retryable TaskFailed")
)

func bools(b bool) *bool { return &b }

// open builds the clients as the worker does, with the fake's
// credential and TLS trust; the task's own options (endpoint, retries)
// are kept.
func open(f *armfake.Server) azureposture.Open {
	return func(sub string, opts *arm.ClientOptions) (*azure.Client, error) {
		opts.Transport = f.Client
		return azure.New(sub, armfake.Credential(), opts)
	}
}

func run(t *testing.T, f *armfake.Server, with map[string]any) (map[string]float64, string, []plan.Table, error) {
	t.Helper()
	with["endpointURL"] = f.URL
	if _, ok := with["subscription"]; !ok {
		with["subscription"] = subscription
	}
	out, err := tasktest.Run(t, azureposture.New(nil, open(f)).Type(), with)
	return out.Metrics, out.Output, out.Tables, err
}

func TestPostgresAgainstFakeARMWithPagingAndThrottling(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.PageSize = 1
	prod := map[string]string{"env": "prod"}
	f.AddPostgres(
		armfake.Postgres{Name: "orders-pg", ResourceGroup: "orders", Tags: prod, RetentionDays: 35, GeoRedundantBackup: true, HA: "ZoneRedundant", AutoGrow: true},
		armfake.Postgres{Name: "scratch-pg", ResourceGroup: "dev", Tags: map[string]string{"env": "dev"}, RetentionDays: 1, PublicAccess: true},
		armfake.Postgres{Name: "billing-pg", ResourceGroup: "billing", Tags: map[string]string{"env": "prod", "team": "pay"}, RetentionDays: 14, HA: "Disabled", AutoGrow: true,
			EarliestRestore: time.Now().Add(-2 * 24 * time.Hour)}, // created two days ago: PITR reaches two days back, not 14
	)
	f.Throttle("Servers_List", 1)
	m, output, tables, err := run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"tags": map[string]any{"env": "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "postgres.backup_retention": 14 * 86400, "postgres.geo_redundant_backup": 0,
		"postgres.high_availability": 0, "postgres.public_network_access": 0, "postgres.storage_autogrow": 1,
	}, 0)
	if w := m["postgres.pitr_window"]; w < 2*86400-120 || w > 2*86400+120 {
		t.Errorf("postgres.pitr_window = %v, want two days (billing-pg's earliest restore point)", w)
	}
	for _, want := range []string{"2 PostgreSQL flexible servers checked", "postgres.backup_retention = 1209600 s (14.0 days) (worst: billing-pg)", "postgres.high_availability = 0 (worst: billing-pg)"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if len(tables) != 3 || tables[1].Title != "PostgreSQL flexible server orders-pg" || tables[2].Title != "PostgreSQL flexible server billing-pg" {
		t.Errorf("tables %+v: want the worst values and one per server", tables)
	}
	// Three pages of one server each, the first throttled once and
	// retried by the SDK after Retry-After; then each selected server's
	// storage (Servers_Get).
	if got := f.Calls(); len(got) != 6 || got[0] != "Servers_List 429" || f.Count("Servers_List") != 4 || f.Count("Servers_Get") != 2 {
		t.Errorf("calls %v, want 1 throttled + 3 pages + 2 gets", got)
	}
}

func TestSelectionByIDNameAndResourceGroup(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.AddPostgres(
		armfake.Postgres{Name: "orders-pg", ResourceGroup: "orders", RetentionDays: 35, HA: "SameZone"},
		armfake.Postgres{Name: "orders-replica", ResourceGroup: "orders", RetentionDays: 7},
		armfake.Postgres{Name: "billing-pg", ResourceGroup: "billing", RetentionDays: 14},
	)
	id := "/subscriptions/" + subscription + "/resourceGroups/Billing/providers/Microsoft.DBforPostgreSQL/flexibleServers/BILLING-PG"
	m, output, _, err := run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"ids": []any{"orders-pg", id}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "postgres.backup_retention": 14 * 86400, "postgres.high_availability": 0, "postgres.storage_autogrow": 0}, 0)
	if !strings.Contains(output, "worst: billing-pg") {
		t.Errorf("output:\n%s", output)
	}

	m, _, _, err = run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"resourceGroup": "orders"}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "postgres.backup_retention": 7 * 86400}, 0)
	if c := f.Calls(); c[len(c)-3] != "Servers_ListByResourceGroup" {
		t.Errorf("a resource group selection lists %v, want Servers_ListByResourceGroup", c)
	}

	_, _, _, err = run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"ids": []any{"orders-pg", "gone-pg"}}})
	tasktest.MustKind(t, err, deniedKind, "PostgreSQL flexible servers not found in subscription "+subscription+": gone-pg")
	_, _, _, err = run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"tags": map[string]any{"env": "prd"}}})
	tasktest.MustKind(t, err, deniedKind, "the tag filter env=prd matches no PostgreSQL flexible servers")
	_, _, _, err = run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"resourceGroup": "empty"}})
	tasktest.MustKind(t, err, deniedKind, "resource group empty matches no PostgreSQL flexible servers")
}

func TestBadInput(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.AddPostgres(armfake.Postgres{Name: "orders-pg", ResourceGroup: "orders"})
	for name, c := range map[string]struct {
		with map[string]any
		want string
	}{
		"no selection":   {map[string]any{"service": "postgresql", "resources": map[string]any{}}, "give ids"},
		"ids and tags":   {map[string]any{"service": "postgresql", "resources": map[string]any{"ids": []any{"a"}, "tags": map[string]any{"a": "b"}}}, "not both"},
		"subscription":   {map[string]any{"service": "postgresql", "subscription": "my-sub", "resources": map[string]any{"ids": []any{"a"}}}, `subscription "my-sub": want a subscription ID`},
		"resource group": {map[string]any{"service": "postgresql", "resources": map[string]any{"resourceGroup": "a/b"}}, "resources.resourceGroup"},
		"service":        {map[string]any{"service": "cosmos", "resources": map[string]any{"ids": []any{"a"}}}, "service"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := run(t, f, c.with)
			tasktest.MustKind(t, err, tasktest.Invalid, c.want)
		})
	}
	// A subscription that does not exist (or the identity cannot see).
	other := "00000000-0000-0000-0000-000000000000"
	_, _, _, err := run(t, f, map[string]any{"service": "postgresql", "subscription": other, "resources": map[string]any{"ids": []any{"orders-pg"}}})
	tasktest.MustKind(t, err, deniedKind, "subscription "+other+" not found (SubscriptionNotFound)")
}

func TestDeniedCallNamesAction(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.AddPostgres(armfake.Postgres{Name: "orders-pg", ResourceGroup: "orders"})
	f.Deny("Servers_Get")
	_, _, _, err := run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"ids": []any{"orders-pg"}}})
	tasktest.MustKind(t, err, deniedKind, "Servers_Get in subscription "+subscription+" was denied (AuthorizationFailed): the identity needs Microsoft.DBforPostgreSQL/flexibleServers/read")
	f.Deny("Servers_List")
	_, _, _, err = run(t, f, map[string]any{"service": "postgresql", "resources": map[string]any{"ids": []any{"orders-pg"}}})
	tasktest.MustKind(t, err, deniedKind, "Servers_List in subscription "+subscription+" was denied (AuthorizationFailed): the identity needs Microsoft.DBforPostgreSQL/flexibleServers/read",
		"does not have authorization to perform action")
}

func TestNoCredential(t *testing.T) {
	f := armfake.Start(t, subscription)
	// Only the environment credential, with nothing in the environment.
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
	for _, v := range []string{"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"} {
		t.Setenv(v, "")
	}
	out, err := tasktest.Run(t, azureposture.New(nil, nil).Type(), map[string]any{"service": "keyvault", "subscription": subscription,
		"endpointURL": f.URL, "maxAttempts": 1, "resources": map[string]any{"ids": []any{"kv"}}})
	tasktest.MustKind(t, err, deniedKind, "no Azure credential for Vaults_ListBySubscription")
	if len(out.Metrics) != 0 || len(f.Calls()) != 0 {
		t.Errorf("metrics %v, calls %v", out.Metrics, f.Calls())
	}
}

func TestStorageAccounts(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.PageSize = 2
	data := map[string]string{"class": "data"}
	f.AddStorageAccount(
		armfake.StorageAccount{Name: "ordersexports", ResourceGroup: "orders", Tags: data, MinTLS: "TLS1_2", HTTPSOnly: true, AllowBlobPublicAccess: bools(false),
			KeySource: "Microsoft.Keyvault", SoftDeleteDays: 14,
			Lifecycle: []armfake.LifecycleRule{{Name: "tiering", Cool: 30, Archive: 90}, {Name: "purge", Delete: 365}, {Name: "old", Disabled: true, Cool: 1}}},
		armfake.StorageAccount{Name: "scratch", ResourceGroup: "dev"},
		armfake.StorageAccount{Name: "billingarchive", ResourceGroup: "billing", Tags: data, MinTLS: "TLS1_2", HTTPSOnly: true, AllowBlobPublicAccess: bools(true),
			SoftDeleteDays: 7, Lifecycle: []armfake.LifecycleRule{{Name: "cool", Cool: 60}, {Name: "cooler", Cool: 45}}},
	)
	f.Throttle("BlobServices_GetServiceProperties", 1)
	m, output, tables, err := run(t, f, map[string]any{"service": "storage", "resources": map[string]any{"tags": map[string]any{"class": "*"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{
		"resources": 2, "storage.min_tls": 1.2, "storage.https_only": 1, "storage.encryption": 1, "storage.blob_public_access": 1,
		"storage.public_network_access": 1, "storage.blob_soft_delete": 1, "storage.blob_soft_delete_retention": 7 * 86400,
		"storage.lifecycle.rules": 2, "storage.lifecycle.cool_after": 45 * 86400,
	}, 0, "storage.lifecycle.archive_after", "storage.lifecycle.delete_after", "storage.lifecycle.cold_after")
	for _, want := range []string{
		"storage.lifecycle.cool_after = 3888000 s (45.0 days) (worst: billingarchive)",
		"storage.lifecycle.archive_after: not reported by billingarchive",
		"storage.blob_public_access = 1 (worst: billingarchive)",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if len(tables) != 3 || !strings.Contains(tablesText(tables), "rule tiering") || !strings.Contains(tablesText(tables), "Microsoft.Keyvault") {
		t.Errorf("tables %+v", tables)
	}

	m, _, _, err = run(t, f, map[string]any{"service": "storage", "resources": map[string]any{"ids": []any{"ordersexports"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"storage.lifecycle.cool_after": 30 * 86400, "storage.lifecycle.archive_after": 90 * 86400,
		"storage.lifecycle.delete_after": 365 * 86400, "storage.blob_public_access": 0}, 0)

	// An account with nothing set: TLS 1.0, no soft delete, no policy.
	m, output, _, err = run(t, f, map[string]any{"service": "storage", "resources": map[string]any{"ids": []any{"scratch"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"storage.min_tls": 1.0, "storage.https_only": 0, "storage.blob_soft_delete": 0,
		"storage.blob_soft_delete_retention": 0, "storage.lifecycle.rules": 0}, 0, "storage.lifecycle.cool_after")
	if !strings.Contains(output, "storage.lifecycle.cool_after: not reported by scratch") {
		t.Errorf("output:\n%s", output)
	}

	f.Deny("ManagementPolicies_Get")
	_, _, _, err = run(t, f, map[string]any{"service": "storage", "resources": map[string]any{"ids": []any{"scratch"}}})
	tasktest.MustKind(t, err, deniedKind, "ManagementPolicies_Get", "the identity needs Microsoft.Storage/storageAccounts/managementPolicies/read")
	f.Deny("StorageAccounts_List")
	_, _, _, err = run(t, f, map[string]any{"service": "storage", "resources": map[string]any{"ids": []any{"scratch"}}})
	tasktest.MustKind(t, err, deniedKind, "the identity needs Microsoft.Storage/storageAccounts/read")
}

func tablesText(tables []plan.Table) string {
	var b strings.Builder
	for _, t := range tables {
		for _, r := range t.Rows {
			b.WriteString(strings.Join(r, " | ") + "\n")
		}
	}
	return b.String()
}

func TestAppServiceWithAutoscale(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.PageSize = 1
	web := map[string]string{"tier": "web"}
	f.AddWebApp(
		armfake.WebApp{Name: "orders-api", ResourceGroup: "orders", Plan: "orders-plan", Tags: web, HTTPSOnly: true, MinTLS: "1.2", HealthCheckPath: "/healthz", AlwaysOn: true},
		armfake.WebApp{Name: "orders-admin", ResourceGroup: "orders", Plan: "admin-plan", Tags: web, HTTPSOnly: true, MinTLS: "1.0"},
		armfake.WebApp{Name: "old-site", ResourceGroup: "legacy", Plan: "legacy-plan"},
	)
	f.AddAutoscale(
		armfake.Autoscale{Name: "orders-scale", ResourceGroup: "orders", Plan: "orders-plan", Min: 2, Max: 10},
		armfake.Autoscale{Name: "admin-scale", ResourceGroup: "orders", Plan: "admin-plan", Disabled: true, Min: 1, Max: 3},
	)
	f.Throttle("WebApps_GetConfiguration", 1)
	m, output, tables, err := run(t, f, map[string]any{"service": "appservice", "resources": map[string]any{"tags": map[string]any{"tier": "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "appservice.min_tls": 1.0, "appservice.https_only": 1,
		"appservice.health_check": 0, "appservice.always_on": 0, "appservice.autoscale": 0}, 0)
	if !strings.Contains(output, "appservice.autoscale = 0 (worst: orders-admin)") || !strings.Contains(output, "appservice.min_tls = 1 (worst: orders-admin)") {
		t.Errorf("output:\n%s", output)
	}
	if text := tablesText(tables); !strings.Contains(text, "orders-scale: 2 to 10 instances") || !strings.Contains(text, "/healthz") ||
		!strings.Contains(text, "no enabled autoscale setting on plan admin-plan") {
		t.Errorf("tables:\n%s", text)
	}

	// One resource group: the apps and the autoscale settings of their
	// plans' group are listed by resource group.
	m, _, _, err = run(t, f, map[string]any{"service": "appservice", "resources": map[string]any{"resourceGroup": "orders", "ids": []any{"orders-api"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 1, "appservice.min_tls": 1.2, "appservice.health_check": 1, "appservice.always_on": 1, "appservice.autoscale": 1}, 0)
	// Two pages of one each (orders has two apps and two settings).
	if f.Count("WebApps_ListByResourceGroup") != 2 || f.Count("AutoscaleSettings_ListByResourceGroup") != 2 || f.Count("WebApps_List") != 3 {
		t.Errorf("calls %v", f.Calls())
	}

	f.Deny("WebApps_GetConfiguration")
	_, _, _, err = run(t, f, map[string]any{"service": "appservice", "resources": map[string]any{"ids": []any{"old-site"}}})
	tasktest.MustKind(t, err, deniedKind, "WebApps_GetConfiguration", "the identity needs Microsoft.Web/sites/config/read")
	f.Deny("AutoscaleSettings_ListBySubscription")
	_, _, _, err = run(t, f, map[string]any{"service": "appservice", "resources": map[string]any{"ids": []any{"old-site"}}})
	tasktest.MustKind(t, err, deniedKind, "the identity needs Microsoft.Insights/autoscalesettings/read")
}

func TestKeyVaults(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.PageSize = 1
	sec := map[string]string{"env": "prod"}
	f.AddVault(
		armfake.Vault{Name: "orders-kv", ResourceGroup: "orders", Tags: sec, PurgeProtection: true, RetentionDays: 90},
		armfake.Vault{Name: "billing-kv", ResourceGroup: "billing", Tags: sec, PurgeProtection: true, RetentionDays: 7},
		armfake.Vault{Name: "legacy-kv", ResourceGroup: "legacy", Tags: sec, SoftDelete: bools(false)},
	)
	f.Throttle("Vaults_ListBySubscription", 1)
	m, output, _, err := run(t, f, map[string]any{"service": "keyvault", "resources": map[string]any{"ids": []any{"orders-kv", "billing-kv"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "keyvault.soft_delete": 1, "keyvault.purge_protection": 1, "keyvault.soft_delete_retention": 7 * 86400}, 0)
	if !strings.Contains(output, "(7.0 days) (worst: billing-kv)") {
		t.Errorf("output:\n%s", output)
	}
	m, output, _, err = run(t, f, map[string]any{"service": "keyvault", "resources": map[string]any{"tags": map[string]any{"env": "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 3, "keyvault.soft_delete": 0, "keyvault.purge_protection": 0, "keyvault.soft_delete_retention": 0}, 0)
	if !strings.Contains(output, "keyvault.purge_protection = 0 (worst: legacy-kv)") {
		t.Errorf("output:\n%s", output)
	}
	// A vault that sets no retention keeps deleted objects 90 days.
	f.AddVault(armfake.Vault{Name: "new-kv", ResourceGroup: "orders"})
	m, _, _, err = run(t, f, map[string]any{"service": "keyvault", "resources": map[string]any{"ids": []any{"new-kv"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"keyvault.soft_delete": 1, "keyvault.purge_protection": 0, "keyvault.soft_delete_retention": 90 * 86400}, 0)
}

// TestKeyVaultSecrets reads secret metadata through the real azsecrets
// client against armfake's Key Vault data plane (challenge
// authentication, paging, throttling, an RBAC denial).
func TestKeyVaultSecrets(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.PageSize = 1
	now := time.Now()
	day := 24 * time.Hour
	f.AddVault(
		armfake.Vault{Name: "orders-kv", ResourceGroup: "orders", PurgeProtection: true, Secrets: []armfake.Secret{
			{Name: "db-password", Created: now.Add(-10 * day), Expires: now.Add(30 * day)},
			{Name: "api-key", Created: now.Add(-200 * day)},
			{Name: "old-key", Created: now.Add(-900 * day), Disabled: true},
			{Name: "tls-cert", Created: now.Add(-400 * day), Managed: true},
		}},
		armfake.Vault{Name: "billing-kv", ResourceGroup: "billing", Secrets: []armfake.Secret{
			{Name: "stripe-key", Created: now.Add(-20 * day), Expires: now.Add(5 * day)},
		}},
		armfake.Vault{Name: "empty-kv", ResourceGroup: "billing"},
	)
	f.Throttle("GetSecrets", 1)
	m, output, tables, err := run(t, f, map[string]any{"service": "keyvault", "secrets": true, "resources": map[string]any{"ids": []any{"orders-kv", "billing-kv"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "keyvault.secrets.without_expiry": 1,
		"keyvault.secrets.expires_in": 5 * 86400, "keyvault.secrets.rotated_age": 200 * 86400}, 60)
	if !strings.Contains(output, "(worst: billing-kv)") || !strings.Contains(tablesText(tables), "secret api-key") {
		t.Errorf("output:\n%s\ntables:\n%s", output, tablesText(tables))
	}
	// orders-kv: 1 throttled + 4 pages of one secret; billing-kv: 1 page
	// (the challenge round trips before the token are not counted).
	if f.Count("GetSecrets") != 6 || f.Count("GetSecrets 429") != 1 {
		t.Errorf("calls %v", f.Calls())
	}

	m, output, _, err = run(t, f, map[string]any{"service": "keyvault", "secrets": true, "resources": map[string]any{"ids": []any{"empty-kv"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"keyvault.secrets.without_expiry": 0}, 0, "keyvault.secrets.expires_in", "keyvault.secrets.rotated_age")
	if !strings.Contains(output, "keyvault.secrets.expires_in: not reported by empty-kv") {
		t.Errorf("output:\n%s", output)
	}

	_, _, _, err = run(t, f, map[string]any{"service": "storage", "secrets": true, "resources": map[string]any{"ids": []any{"x"}}})
	tasktest.MustKind(t, err, tasktest.Invalid, "secrets: only with service keyvault")

	f.Deny("GetSecrets")
	_, _, _, err = run(t, f, map[string]any{"service": "keyvault", "secrets": true, "resources": map[string]any{"ids": []any{"orders-kv"}}})
	tasktest.MustKind(t, err, deniedKind, "GetSecrets in subscription "+subscription+" was denied (Forbidden): the identity needs Microsoft.KeyVault/vaults/secrets/readMetadata/action (the Key Vault Reader role has it")
}

// TestKeyVaultKeyRotation reads keys and their rotation policies through
// the real azkeys client against armfake's Key Vault data plane (a
// protocol-level fake, not Key Vault: challenge authentication, paging,
// the default notify-only policy of a key without one, an RBAC denial).
func TestKeyVaultKeyRotation(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.PageSize = 1
	f.AddVault(
		armfake.Vault{Name: "orders-kv", ResourceGroup: "orders", Keys: []armfake.Key{
			{Name: "cmk", Policy: &armfake.RotationPolicy{RotateAfterCreate: "P90D"}},
			{Name: "signing", Policy: &armfake.RotationPolicy{RotateBeforeExpiry: "P30D", Expiry: "P1Y"}},
			{Name: "legacy", Disabled: true},
			{Name: "tls-cert", Managed: true},
		}},
		armfake.Vault{Name: "billing-kv", ResourceGroup: "billing", Keys: []armfake.Key{
			{Name: "jwt", Policy: &armfake.RotationPolicy{RotateAfterCreate: "P30D"}},
			{Name: "manual"},
		}},
	)
	m, output, tables, err := run(t, f, map[string]any{"service": "keyvault", "keys": true, "resources": map[string]any{"ids": []any{"orders-kv", "billing-kv"}}})
	if err != nil {
		t.Fatal(err)
	}
	// orders-kv rotates its keys at most every 335 days (signing: a year
	// less 30 days); billing-kv has one key that never rotates.
	tasktest.MustMetrics(t, m, map[string]float64{"resources": 2, "keyvault.keys.without_rotation": 1, "keyvault.keys.rotation_interval": 335 * 86400}, 0)
	text := tablesText(tables)
	for _, want := range []string{"key signing", "2 enabled keys; not rotated: manual", "keyvault.keys.without_rotation = 1 (worst: billing-kv)"} {
		if !strings.Contains(text+output, want) {
			t.Errorf("lacks %q:\n%s\n%s", want, output, text)
		}
	}
	// Policies are read for enabled, unmanaged keys only.
	if n := f.Count("GetKeyRotationPolicy"); n != 4 {
		t.Errorf("GetKeyRotationPolicy served %d times, want 4: %v", n, f.Calls())
	}

	f.AddVault(armfake.Vault{Name: "manual-kv", ResourceGroup: "billing", Keys: []armfake.Key{{Name: "a"}}})
	m, output, _, err = run(t, f, map[string]any{"service": "keyvault", "keys": true, "resources": map[string]any{"ids": []any{"manual-kv"}}})
	if err != nil {
		t.Fatal(err)
	}
	tasktest.MustMetrics(t, m, map[string]float64{"keyvault.keys.without_rotation": 1}, 0, "keyvault.keys.rotation_interval")
	if !strings.Contains(output, "keyvault.keys.rotation_interval: not reported by manual-kv") {
		t.Errorf("output:\n%s", output)
	}

	_, _, _, err = run(t, f, map[string]any{"service": "storage", "keys": true, "resources": map[string]any{"ids": []any{"x"}}})
	tasktest.MustKind(t, err, tasktest.Invalid, "keys: only with service keyvault")

	f.Deny("GetKeyRotationPolicy")
	_, _, _, err = run(t, f, map[string]any{"service": "keyvault", "keys": true, "resources": map[string]any{"ids": []any{"orders-kv"}}})
	tasktest.MustKind(t, err, deniedKind, "GetKeyRotationPolicy in subscription "+subscription+" was denied (Forbidden): the identity needs Microsoft.KeyVault/vaults/keys/rotationpolicy/read (the Key Vault Reader role has it")
}

func TestISODuration(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{"P90D": 90 * day, "P1Y": 365 * day, "P2M": 60 * day, "P1W": 7 * day, "PT12H": 12 * time.Hour, "P1DT1H30M": day + 90*time.Minute} {
		got, err := azureposture.ISODuration(in)
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "90D", "PT", "P1.5D", "P-1D"} {
		if _, err := azureposture.ISODuration(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestThrottlingIsBounded: throttled past maxAttempts, the task fails
// retryably (the engine may try it again later), without the token.
func TestThrottlingIsBounded(t *testing.T) {
	f := armfake.Start(t, subscription)
	f.AddVault(armfake.Vault{Name: "orders-kv", ResourceGroup: "orders"})
	f.Throttle("Vaults_ListBySubscription", 5)
	_, _, _, err := run(t, f, map[string]any{"service": "keyvault", "maxAttempts": 2, "resources": map[string]any{"ids": []any{"orders-kv"}}})
	tasktest.MustKind(t, err, tasktest.Retryable, "Vaults_ListBySubscription", "TooManyRequests")
	if strings.Contains(err.Error(), armfake.Token) {
		t.Errorf("error leaks the token: %v", err)
	}
	if n := f.Count("Vaults_ListBySubscription 429"); n != 2 {
		t.Errorf("%d attempts, want maxAttempts 2: %v", n, f.Calls())
	}
}
